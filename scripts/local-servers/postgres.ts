/**
 * PostgreSQL from the machine's package, in a folder of its own (its data, socket and log) on a
 * loopback port, as in ../../shared/STACK.md: for `npm run cluster` and the test harness. initdb
 * refuses root, so as root the folder belongs to the `postgres` user and every tool runs as it;
 * as anyone else, as ourselves. The superuser is `tandem`, trusted without a password (loopback only).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { accepts, waitFor } from './loopback';
import { postgresBinDir } from './packages';

export interface LocalPostgres {
	port: number;
	/** The connection URL of `database` (default `postgres`). */
	url(database?: string): string;
	/** Starts the stopped server again on the same port, with the same data. */
	start(): Promise<void>;
	/** `fast` shuts down cleanly; `immediate` is a crash (recovery at the next start). */
	stop(mode?: 'fast' | 'immediate'): Promise<void>;
	/** The server's process id while it runs. */
	pid(): number | null;
}

const asRoot = process.getuid?.() === 0;

/**
 * Starts PostgreSQL on `port` with its data in `dir`/data, made by initdb unless it is there from
 * an earlier run. `fsync: false` (tests) skips flushing to disk: a test server meets process
 * crashes, never a power cut, and a commit still waits for its WAL to reach the OS.
 */
export async function startPostgres(dir: string, port: number, options: { fsync?: boolean } = {}): Promise<LocalPostgres> {
	const bin = postgresBinDir();
	const fsync = options.fsync ?? true;
	const data = path.join(dir, 'data');
	const tool = (name: string, args: string[]) => {
		const [command, commandArgs] = asRoot ? ['runuser', ['-u', 'postgres', '--', path.join(bin, name), ...args]] : [path.join(bin, name), args];
		try {
			execFileSync(command, commandArgs, { stdio: 'pipe' });
		} catch (error) {
			const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
			throw new Error(`PostgreSQL's ${name} failed${stderr ? `: ${stderr}` : ''}${asRoot ? ` (run as root, it runs as the postgres user, who must be able to reach ${dir}: every folder above it open to others, chmod o+x)` : ''}`);
		}
	};
	fs.mkdirSync(dir, { recursive: true });
	if (asRoot) execFileSync('chown', ['postgres', dir]);
	if (!fs.existsSync(path.join(data, 'PG_VERSION'))) {
		tool('initdb', ['-D', data, '-A', 'trust', '-U', 'tandem', '-E', 'UTF8', '--locale', 'C.UTF-8', ...(fsync ? [] : ['--no-sync'])]);
	}
	// pg_ctl hands these to a shell: the socket folder is quoted.
	const settings = `-p ${port} -k '${dir}' -c listen_addresses=127.0.0.1${fsync ? '' : ' -c fsync=off'}`;
	const start = async () => {
		tool('pg_ctl', ['-D', data, '-o', settings, '-l', path.join(dir, 'log'), '-w', 'start']);
		await waitFor(() => accepts(port), `PostgreSQL on port ${port}`);
	};
	const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
		try {
			tool('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']);
		} catch {
			return; // not running
		}
		await waitFor(async () => !(await accepts(port)), `PostgreSQL to stop on port ${port}`);
	};
	await start();
	return {
		port,
		url: (database = 'postgres') => `postgres://tandem@127.0.0.1:${port}/${database}`,
		start,
		stop,
		pid() {
			const pidFile = path.join(data, 'postmaster.pid');
			return fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]) : null;
		}
	};
}
