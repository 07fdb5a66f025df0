/**
 * Test harness: a real PostgreSQL (Debian's `postgresql` package) in a temp directory on a free
 * loopback port, started as `npm run cluster` starts its own (scripts/local-servers/postgres.ts):
 * we connect as the superuser `tandem` with trust authentication (loopback only). One cluster per suite (initdb takes a couple of seconds), a database per test file.
 * A missing installation fails loudly: suites that need PostgreSQL are never skipped.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '../../scripts/local-servers/loopback';
import { startPostgres as startLocalPostgres } from '../../scripts/local-servers/postgres';

export interface Postgres {
	port: number;
	/** The connection URL of `database` (default `postgres`). */
	url(database?: string): string;
	/** Creates an empty database with a fresh name and returns its URL. */
	createDatabase(prefix?: string): Promise<string>;
	/** `fast` shuts down cleanly; `immediate` is a crash (recovery at the next start). */
	stop(mode?: 'fast' | 'immediate'): Promise<void>;
	/** Starts the stopped cluster again on the same port, with the same data. */
	start(): Promise<void>;
	/** Stops it and removes its directory. */
	destroy(): Promise<void>;
}

export async function startPostgres(): Promise<Postgres> {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-pg-'));
	const postgres = await startLocalPostgres(dir, await freePort(), { fsync: false });
	return {
		port: postgres.port,
		url: postgres.url,
		createDatabase: (prefix = 'tandem') => createDatabaseAt(postgres.url(), prefix),
		stop: postgres.stop,
		start: postgres.start,
		async destroy() {
			await postgres.stop('fast');
			fs.rmSync(dir, { recursive: true, force: true });
		}
	};
}

let made = 0;
/** Creates an empty database with a fresh name on the server of `adminUrl` and returns its URL. */
export async function createDatabaseAt(adminUrl: string, prefix = 'tandem'): Promise<string> {
	const name = `${prefix}_${process.pid}_${++made}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
	const client = new pg.Client({ connectionString: adminUrl });
	await client.connect();
	try {
		await client.query(`CREATE DATABASE "${name}"`);
	} finally {
		await client.end();
	}
	const url = new URL(adminUrl);
	url.pathname = `/${name}`;
	return url.toString();
}
