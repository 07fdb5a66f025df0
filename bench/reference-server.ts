/**
 * The obvious alternative to Tandem, for the benchmark: bare Hocuspocus with its SQLite extension,
 * library defaults otherwise (any document name, no auth, no validation, debounced whole-document
 * stores). Only two settings differ from the defaults, neither touching the data path: it listens
 * on loopback, and it skips the start banner so that its stdout is just the one JSON line with its
 * port.
 *
 * Usage: node --import tsx bench/reference-server.ts <database file>
 */
import { SQLite } from '@hocuspocus/extension-sqlite';
import { Server } from '@hocuspocus/server';

const database = process.argv[2];
if (!database) {
	console.error('usage: reference-server.ts <database file>');
	process.exit(2);
}

const server = new Server({
	port: 0,
	address: '127.0.0.1',
	quiet: true,
	extensions: [new SQLite({ database })]
});
await server.listen();
console.log(JSON.stringify({ msg: 'listening', port: server.address.port, pid: process.pid }));
