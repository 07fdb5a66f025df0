// `npm start`: build the web app if needed, then run the server (migrations and demo data on start).
// package.json runs this with `exec`, so the SIGTERM or SIGINT npm passes on reaches this process
// (and a build in progress) rather than a shell that would die of it and leave the server running.
import { register } from 'tsx/esm/api';
import { buildIfNeeded } from './build-if-needed.js';

await buildIfNeeded();
register();
await import('../server/index.ts');
