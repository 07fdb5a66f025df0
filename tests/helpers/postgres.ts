/**
 * Test harness: a real PostgreSQL (Debian's `postgresql` package) in a temp directory on a free
 * loopback port, as in ../shared/STACK.md. initdb refuses root, so the cluster belongs to the
 * `postgres` user; we connect as the superuser `tandem` with trust authentication (loopback only).
 * One cluster per suite (initdb takes a couple of seconds), a database per test file.
 * A missing installation fails loudly: suites that need PostgreSQL are never skipped.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { accepts, freePort } from './ports';
import { waitFor } from './server';

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

/** Debian installs one directory per major version; the newest one is used. */
function binDir(): string {
	const root = '/usr/lib/postgresql';
	const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb'))) : [];
	if (!versions.length) throw new Error('PostgreSQL is not installed: `apt-get install -y postgresql` (the .ci/run script does)');
	versions.sort((a, b) => Number(b) - Number(a));
	return path.join(root, versions[0]!, 'bin');
}

export async function startPostgres(): Promise<Postgres> {
	const bin = binDir();
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-pg-'));
	execFileSync('chown', ['postgres', dir]);
	const data = path.join(dir, 'data');
	const port = await freePort();
	const asPostgres = (tool: string, args: string[]) => execFileSync('runuser', ['-u', 'postgres', '--', path.join(bin, tool), ...args], { stdio: 'pipe' });
	asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'tandem', '--no-sync', '-E', 'UTF8', '--locale', 'C.UTF-8']);
	const start = async () => {
		// fsync off: a test cluster meets process crashes (`pg_ctl stop -m immediate`, SIGKILL), never a
		// power cut, and a commit still waits for its WAL to be written to the OS (synchronous_commit is
		// on), as SQLite's WAL with synchronous=NORMAL does; fsyncs would only slow the suite down.
		asPostgres('pg_ctl', ['-D', data, '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, '-l', path.join(dir, 'log'), '-w', 'start']);
		await waitFor(() => accepts(port), `PostgreSQL on port ${port}`);
	};
	const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
		try {
			asPostgres('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']);
		} catch {
			return; // not running
		}
		await waitFor(async () => !(await accepts(port)), `PostgreSQL to stop on port ${port}`);
	};
	await start();

	const url = (database = 'postgres') => `postgres://tandem@127.0.0.1:${port}/${database}`;
	return {
		port,
		url,
		createDatabase: (prefix = 'tandem') => createDatabaseAt(url(), prefix),
		stop,
		start,
		async destroy() {
			await stop('fast');
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
