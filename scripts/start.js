// `npm start`: build the web app if needed, then run the server (migrations and demo data on start).
// package.json runs this with `exec`, so the SIGTERM or SIGINT npm passes on reaches this process
// rather than a shell that would die of it and leave the server running.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

// The build is a child process: a stop during it is passed on, so no build outlives `npm start`.
const build = spawn(process.execPath, [fileURLToPath(new URL('./build-if-needed.js', import.meta.url))], { stdio: 'inherit' });
const forward = (/** @type {NodeJS.Signals} */ signal) => build.kill(signal);
process.on('SIGTERM', forward);
process.on('SIGINT', forward);
const code = await new Promise((resolve) => build.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0))));
process.off('SIGTERM', forward);
process.off('SIGINT', forward);
if (code !== 0) process.exit(code);

register();
await import('../server/index.ts');
