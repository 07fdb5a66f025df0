// `npm start`: build the web app if needed, then run the server (migrations and demo data on start).
import { register } from 'tsx/esm/api';
import { buildIfNeeded } from './build-if-needed.js';

buildIfNeeded();
register();
await import('../server/index.ts');
