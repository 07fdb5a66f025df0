// `npm start`: build the web app and the server if needed, then run the server (migrations and demo
// data on start). package.json runs this with `exec`, so the SIGTERM or SIGINT npm passes on reaches
// this process (and a build in progress) rather than a shell that would die of it and leave the server running.
import { pathToFileURL } from 'node:url';
import { bundled, buildIfNeeded } from './build-if-needed.js';

await buildIfNeeded();
// Stack traces name the TypeScript sources.
process.setSourceMapsEnabled(true);
await import(pathToFileURL(bundled('server')).href);
