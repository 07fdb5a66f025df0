// Builds the SvelteKit app when build/ is missing or older than its sources.
import { spawnSync } from 'node:child_process';
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

function buildIfNeeded() {
	const built = fs.statSync(output, { throwIfNoEntry: false })?.mtimeMs ?? 0;
	const changed = Math.max(...inputs.map((input) => newest(path.join(root, input))));
	if (built >= changed) return;
	console.log(built ? 'Sources changed: rebuilding the web app…' : 'Building the web app (first start)…');
	const result = spawnSync(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], {
		cwd: root,
		stdio: 'inherit'
	});
	if (result.status !== 0) {
		console.error('The build failed; see above.');
		process.exit(result.status ?? 1);
	}
}

if (process.argv[1] === fileURLToPath(import.meta.url)) buildIfNeeded();
