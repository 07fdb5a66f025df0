/**
 * `channel simulate` against a real server: the simulator (a child process) sends a signed message
 * that opens a ticket, then receives the agent's signed reply through the outbox and prints it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { prepare, type Fixture } from '../helpers/fixtures';
import { ROOT, api, databaseEnv, entryArgs, startServer, tempDataDir, type RunningServer } from '../helpers/server';

const LINE_TIMEOUT = 30_000;

/** A port that was free a moment ago: opened on 0, read, closed. */
async function reservePort(): Promise<number> {
	const server = net.createServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const port = (server.address() as net.AddressInfo).port;
	await new Promise<void>((resolve) => server.close(() => resolve()));
	return port;
}

/** A child process whose stdout is read as JSON lines, awaited one match at a time. */
function jsonLines(child: ChildProcess) {
	const lines: Record<string, any>[] = [];
	const waiters: (() => void)[] = [];
	let buffer = '';
	let stderr = '';
	child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
	child.stdout!.on('data', (chunk: Buffer) => {
		buffer += chunk.toString();
		let newline: number;
		while ((newline = buffer.indexOf('\n')) >= 0) {
			const line = buffer.slice(0, newline).trim();
			buffer = buffer.slice(newline + 1);
			if (line) lines.push(JSON.parse(line));
		}
		for (const wake of waiters.splice(0)) wake();
	});
	const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
	return {
		lines,
		exited,
		stderr: () => stderr,
		/** The first line with key `key`, waiting for it (fails on timeout or exit). */
		next(key: string, timeoutMs = LINE_TIMEOUT): Promise<any> {
			return new Promise((resolve, reject) => {
				const timer = setTimeout(() => reject(new Error(`no "${key}" line within ${timeoutMs} ms; got ${JSON.stringify(lines)}\n${stderr}`)), timeoutMs);
				const check = () => {
					const found = lines.find((l) => key in l);
					if (found) {
						clearTimeout(timer);
						resolve(found[key]);
						return;
					}
					waiters.push(check);
				};
				void exited.then((code) => {
					if (!lines.some((l) => key in l)) {
						clearTimeout(timer);
						reject(new Error(`simulator exited with ${code} before a "${key}" line:\n${stderr}`));
					}
				});
				check();
			});
		}
	};
}

describe('channel simulate', () => {
	let dataDir: string;
	let fx: Fixture;
	let server: RunningServer;
	let port: number;
	let channel: { id: string; secret: string };
	let child: ChildProcess | undefined;

	beforeAll(async () => {
		dataDir = tempDataDir();
		port = await reservePort();
		fx = await prepare(dataDir, { users: { ann: { role: 'agent' } } });
		const created = await runCli(dataDir, 'channel', 'add', '--kind', 'social', '--name', 'Chirp', '--outbound-url', `http://127.0.0.1:${port}/`, '--json');
		expect(created.code, created.stderr).toBe(0);
		channel = JSON.parse(created.stdout);
		server = await startServer({ dataDir });
	});
	afterAll(async () => {
		if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
		await server?.kill();
	});

	it('sends a signed message, prints the delivered reply, and exits 0 on SIGTERM', async () => {
		child = spawn(
			process.execPath,
			[...entryArgs('cli'), 'channel', 'simulate', '--channel', channel.id, '--url', server.url, '--port', String(port), '--from', 'chirper-7', '--name', 'Robin Park', '--say', 'Hello from Chirp'],
			{ cwd: ROOT, env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...(await databaseEnv(dataDir)) }, stdio: ['ignore', 'pipe', 'pipe'] }
		);
		const sim = jsonLines(child);
		expect(await sim.next('listening')).toBe(port);
		const sent = await sim.next('sent');
		expect(sent).toEqual({ ticketId: expect.any(String), entryId: expect.any(String) });

		const ann = api(server, fx.users.ann.token);
		const detail = await ann.request('GET', `/api/v1/tickets/${sent.ticketId}`);
		expect(detail.status).toBe(200);
		expect(detail.body.channel).toBe('social');
		expect(detail.body.entries).toEqual([expect.objectContaining({ id: sent.entryId, channel: 'social', direction: 'in', body: 'Hello from Chirp' })]);

		const reply = await ann.request('POST', `/api/v1/tickets/${sent.ticketId}/entries`, {
			kind: 'message',
			channel: 'social',
			visibility: 'public',
			body: 'Hi Robin, how can we help?'
		});
		expect(reply.status).toBe(201);
		const delivered = await sim.next('delivered');
		expect(delivered).toEqual({ eventId: reply.body.id, to: { id: 'chirper-7' }, text: 'Hi Robin, how can we help?', ticketId: sent.ticketId });

		// A delivery that is not signed with the channel secret is refused.
		const forged = await fetch(`http://127.0.0.1:${port}/`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', 'x-tandem-timestamp': String(Math.floor(Date.now() / 1000)), 'x-tandem-signature': `sha256=${'0'.repeat(64)}` },
			body: JSON.stringify({ eventId: 'forged', to: { id: 'chirper-7' }, text: 'x', ticketId: sent.ticketId })
		});
		expect(forged.status).toBe(401);

		child.kill('SIGTERM');
		expect(await sim.exited, sim.stderr()).toBe(0);
		expect(sim.lines.filter((l) => 'delivered' in l)).toHaveLength(1);
	});
});
