/**
 * Test harness: a real Redis (Debian's `redis-server` package) in the foreground on a free loopback
 * port, started as `npm run cluster` starts its own (scripts/local-servers/redis.ts), with nothing
 * saved to disk. A missing installation fails loudly: suites that need Redis are never skipped.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/local-servers/loopback';
import { startRedisServer } from '../../scripts/local-servers/redis';

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

export async function startRedis(): Promise<RedisServer> {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-redis-'));
	const port = await freePort();
	let child: ChildProcess | null = null;
	const start = async () => {
		child = await startRedisServer(dir, port);
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
