/**
 * The repository's folders, found from this module's location by walking up to package.json: the
 * same whether the server runs from its sources (server/*.ts through tsx) or from the bundle the
 * build writes (build/server/*.js, scripts/build-if-needed.js), where every module shares one file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
	for (let dir = from; ; dir = path.dirname(dir)) {
		if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
		if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
	}
}

export const ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));
export const MIGRATIONS = { sqlite: path.join(ROOT, 'drizzle', 'migrations'), postgres: path.join(ROOT, 'drizzle', 'migrations-pg') };
/** The SvelteKit app built by `vite build` (adapter-node's handler). */
export const SVELTEKIT_HANDLER = path.join(ROOT, 'build', 'handler.js');
