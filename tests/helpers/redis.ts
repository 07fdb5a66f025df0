/**
 * Test harness: a real Redis (Debian's `redis-server` package) in the foreground on a free loopback
 * port, as in ../shared/STACK.md, with nothing saved to disk. A missing installation fails
 * loudly: suites that need Redis are never skipped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { accepts, freePort } from './ports';
import { waitFor } from './server';

export interface RedisServer {
	port: number;
	url: string;
	/** Kills it (SIGKILL: what a crashed Redis looks like to its clients). */
	stop(): Promise<void>;
	/** Starts it again on the same port, empty. */
	start(): Promise<void>;
	/** Freezes it (SIGSTOP): connections stay open, commands go unanswered, as across a broken network. */
	pause(): void;
	/** Lets a paused Redis run again (SIGCONT): it answers what it was sent meanwhile. */
	resume(): void;
	destroy(): Promise<void>;
}

const BINARY = '/usr/bin/redis-server';

export async function startRedis(): Promise<RedisServer> {
	if (!fs.existsSync(BINARY)) throw new Error('Redis is not installed: `apt-get install -y redis-server` (the .ci/run script does)');
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-redis-'));
	const port = await freePort();
	let child: ChildProcess | null = null;
	let output = '';
	const start = async () => {
		output = '';
		const started = spawn(BINARY, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
		child = started;
		started.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
		started.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
		await waitFor(() => started.exitCode !== null || accepts(port), `Redis on port ${port}`);
		if (started.exitCode !== null) throw new Error(`redis-server exited with ${started.exitCode}:\n${output}`);
	};
	const stop = async () => {
		const running = child;
		child = null;
		if (!running || running.exitCode !== null) return;
		const exited = new Promise((resolve) => running.once('exit', resolve));
		running.kill('SIGKILL');
		await exited;
	};
	await start();
	return {
		port,
		url: `redis://127.0.0.1:${port}`,
		stop,
		start,
		pause: () => void child?.kill('SIGSTOP'),
		resume: () => void child?.kill('SIGCONT'),
		async destroy() {
			await stop();
			fs.rmSync(dir, { recursive: true, force: true });
		}
	};
}
