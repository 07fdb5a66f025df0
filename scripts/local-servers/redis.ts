/**
 * Redis from the machine's package, in the foreground on a loopback port, saving nothing (Redis
 * only rings the doorbell between nodes: nothing in it needs keeping), its log in `dir`, as in
 * ../../shared/STACK.md: for `npm run cluster` and the test harness.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { accepts, waitFor } from './loopback';
import { redisServerBinary } from './packages';

/**
 * Starts redis-server and resolves once it accepts connections. `detached`: in a process group of
 * its own, so a Ctrl-C in the terminal reaches only whoever stops it in order.
 */
export async function startRedisServer(dir: string, port: number, options: { detached?: boolean } = {}): Promise<ChildProcess> {
	const binary = redisServerBinary();
	const log = path.join(dir, 'redis.log');
	const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', log], {
		stdio: 'ignore',
		detached: options.detached ?? false
	});
	let failed: Error | null = null;
	child.once('error', (error) => (failed = error));
	const ended = () => failed !== null || child.exitCode !== null || child.signalCode !== null;
	await waitFor(() => ended() || accepts(port), `Redis on port ${port}`);
	if (ended()) {
		const said = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').slice(-10).join('\n') : '';
		throw new Error(`redis-server ${failed ? `did not start: ${String(failed)}` : `exited with ${child.exitCode ?? child.signalCode}`}${said ? `:\n${said}` : ''}`);
	}
	return child;
}
