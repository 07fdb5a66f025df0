// Builds the SvelteKit app when build/ is missing or older than its sources.
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

/** @param {string} target @returns {number} */
function newest(target) {
	const stat = fs.statSync(target, { throwIfNoEntry: false });
	if (!stat) return 0;
	if (!stat.isDirectory()) return stat.mtimeMs;
	return Math.max(0, ...fs.readdirSync(target).map((name) => newest(path.join(target, name))));
}

/** Builds when needed. A SIGTERM or SIGINT during the build is passed to it, so no build outlives its caller. */
export async function buildIfNeeded() {
	const built = fs.statSync(output, { throwIfNoEntry: false })?.mtimeMs ?? 0;
	const changed = Math.max(...inputs.map((input) => newest(path.join(root, input))));
	if (built >= changed) return;
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
