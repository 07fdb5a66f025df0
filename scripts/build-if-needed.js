// Builds what `npm start` and the tests run when it is missing or older than its sources: the
// SvelteKit app (build/handler.js, vite) and the server process and CLI as plain JavaScript
// (build/tandem/*.js, esbuild), so a process starts without compiling TypeScript first.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { constants } from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const output = path.join(root, 'build', 'handler.js');
// The app bundles some server/ modules (errors, types) as well as its own sources.
const inputs = ['src', 'server', 'static', 'svelte.config.js', 'vite.config.ts', 'package-lock.json'];
/** The server's entry points and where their bundles go (`node build/tandem/server.js`). */
export const ENTRIES = { server: 'server/index.ts', cli: 'server/cli.ts' };
const bundleDir = path.join(root, 'build', 'tandem');
const bundleInputs = ['src/lib', 'server', 'drizzle', 'package-lock.json'];
/** @param {keyof typeof ENTRIES} entry */
export const bundled = (entry) => path.join(bundleDir, `${entry}.js`);

/** @param {string} target @returns {number} */
function newest(target) {
	const stat = fs.statSync(target, { throwIfNoEntry: false });
	if (!stat) return 0;
	if (!stat.isDirectory()) return stat.mtimeMs;
	return Math.max(0, ...fs.readdirSync(target).map((name) => newest(path.join(target, name))));
}

/** @param {string} file @param {string[]} sources */
const isCurrent = (file, sources) => (fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0) >= Math.max(...sources.map((s) => newest(path.join(root, s))));

const bundlesAreCurrent = () => Object.keys(ENTRIES).every((entry) => isCurrent(path.join(bundleDir, `${entry}.js`), bundleInputs));

/** Whether both builds are newer than their sources (tests refuse to run a stale server). */
export const isBuilt = () => isCurrent(output, inputs) && bundlesAreCurrent();

/** Builds when needed. A SIGTERM or SIGINT during the build is passed to it, so no build outlives its caller. */
export async function buildIfNeeded() {
	await buildAppIfNeeded();
	// After the app: vite empties build/ when it builds.
	if (!bundlesAreCurrent()) await bundleServer();
}

/**
 * Packages the bundles import from node_modules rather than inline: native ones, those the
 * SvelteKit app imports too, whose objects cross between the two in one process (a Y.Doc, a zod
 * schema, a drizzle table) and must come from one copy, and node-postgres, which drizzle (not
 * inlined) imports itself: with two copies, the type parsers set on ours (bigint as a number)
 * would not be the ones drizzle's queries use.
 */
const NOT_INLINED = ['better-sqlite3', '@node-rs/*', 'pg-native', 'bufferutil', 'utf-8-validate', 'pg-*'].concat(
	['pg', 'yjs', 'lib0', 'y-protocols', 'zod', 'zod-openapi', 'drizzle-orm', '@hocuspocus/provider', '@sveltejs/kit', 'svelte', 'ulid', 'sanitize-html', 'markdown-it', '@oslojs/crypto', '@oslojs/encoding'].flatMap((name) => [name, `${name}/*`])
);

/**
 * One file per entry, with the project's modules and most packages inlined: a server then starts
 * in 1.2–1.3 s of CPU instead of 1.45–1.6 s (fewer files to resolve, read and compile), which the
 * test suite pays for every server and CLI it starts. Names are kept because errors are told apart
 * by their class names; `require` is provided for the CommonJS packages inlined into an ES module.
 */
async function bundleServer() {
	const { build } = await import('esbuild');
	await build({
		entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, file]) => [name, path.join(root, file)])),
		outdir: bundleDir,
		bundle: true,
		platform: 'node',
		format: 'esm',
		target: 'node20',
		external: NOT_INLINED,
		banner: { js: "import { createRequire as __tandemCreateRequire } from 'node:module'; const require = __tandemCreateRequire(import.meta.url);" },
		keepNames: true,
		sourcemap: 'linked',
		logLevel: 'warning'
	});
}

async function buildAppIfNeeded() {
	if (isCurrent(output, inputs)) return;
	const built = fs.existsSync(output);
	console.log(built ? 'Sources changed: rebuilding the web app…' : 'Building the web app (first start)…');
	const build = spawn(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], {
		cwd: root,
		stdio: 'inherit'
	});
	const forward = (/** @type {NodeJS.Signals} */ signal) => build.kill(signal);
	process.on('SIGTERM', forward);
	process.on('SIGINT', forward);
	const [code, signal] = await once(build, 'exit');
	process.off('SIGTERM', forward);
	process.off('SIGINT', forward);
	if (code !== 0) {
		console.error(signal ? `The build was stopped (${signal}).` : 'The build failed; see above.');
		process.exit(code ?? 128 + constants.signals[/** @type {NodeJS.Signals} */ (signal)]);
	}
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildIfNeeded();
