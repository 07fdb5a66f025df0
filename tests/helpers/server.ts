/**
 * Test harness: a real Tandem server process on a loopback port chosen by the OS, with its own
 * data directory; helpers to reach it over HTTP and websockets.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import { inject } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { bundled, isBuilt } from '../../scripts/build-if-needed.js';
import { waitFor } from '../../scripts/local-servers/loopback';
import type { Engine } from '../../server/storage/store';
import { exactAcknowledgements } from '../../src/lib/provider-socket';
import { newId, ticketDocumentName, type Entry } from '../../src/lib/ticket';
import { createDatabaseAt } from './postgres';

export { waitFor };

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Folders tempDataDir made for the running test file: removed when it ends (tests/setup/leftovers.ts). */
const madeDataDirs = new Set<string>();

export function tempDataDir(prefix = 'tandem-test-'): string {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
	madeDataDirs.add(dir);
	return dir;
}

export function removeTempDataDirs(): void {
	for (const dir of madeDataDirs) fs.rmSync(dir, { recursive: true, force: true });
	madeDataDirs.clear();
}

let builtChecked = false;
/**
 * The arguments to `node` that run the server or the CLI as built by scripts/build-if-needed.js
 * (plain JavaScript, so a process starts without compiling TypeScript). A build older than its
 * sources fails the test rather than running old code: `npm test` builds first.
 */
export function entryArgs(entry: 'server' | 'cli'): string[] {
	if (!builtChecked && !isBuilt()) throw new Error('the build is older than the sources: run `node scripts/build-if-needed.js` (`npm test` does)');
	builtChecked = true;
	return [bundled(entry)];
}

/** The engine the servers of this run store on: the `postgres` test project sets TANDEM_TEST_ENGINE (vite.config.ts). */
export const TEST_ENGINE: Engine = process.env.TANDEM_TEST_ENGINE === 'postgres' ? 'postgres' : 'sqlite';

/** The PostgreSQL database of each data directory, made when the directory is first used. */
const databases = new Map<string, Promise<string>>();

/**
 * The environment that puts a data directory's database on the run's engine: none on SQLite (the
 * file in the directory); on PostgreSQL, DATABASE_URL of a fresh database on the run's server, the
 * same one for every use of the directory (fixtures, servers restarted on it, the CLI, tests/helpers/db.ts).
 */
export async function databaseEnv(dataDir: string): Promise<Record<string, string>> {
	if (TEST_ENGINE === 'sqlite') return {};
	const key = path.resolve(dataDir);
	let url = databases.get(key);
	if (!url) {
		url = createDatabaseAt(inject('postgresUrl'), 'server');
		databases.set(key, url);
	}
	return { DATABASE_URL: await url };
}

export interface RunningServer {
	url: string;
	wsUrl: string;
	dataDir: string;
	process: ChildProcess;
	/** Everything the process printed so far. */
	output: () => string;
	/** SIGTERM and wait for exit. */
	stop: () => Promise<number | null>;
	/** SIGKILL and wait for exit. */
	kill: () => Promise<void>;
}

/**
 * Server processes still running when the test process exits (a test that never stopped its
 * server, or one cut short by a timeout) are killed with it: nobody reads their output any more,
 * and a server left behind keeps its port and files, or blocks for good writing its logs.
 */
const running = new Map<ChildProcess, RunningServer['kill']>();
process.once('exit', () => {
	for (const child of running.keys()) child.kill('SIGKILL');
});

/**
 * Kills the servers still running and waits for them to exit: after every test file
 * (tests/setup/leftovers.ts), since a worker runs many files (isolate is off) and may itself end
 * by a signal, which skips the `exit` handler above.
 */
export async function killLeftoverServers(): Promise<void> {
	await Promise.all([...running.values()].map((kill) => kill()));
}

export async function startServer(options: { dataDir?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunningServer> {
	const dataDir = options.dataDir ?? tempDataDir();
	const child = spawn(process.execPath, entryArgs('server'), {
		cwd: ROOT,
		env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, SEED: '0', LOG_LEVEL: 'info', SMTP_PORT: '0', ...(await databaseEnv(dataDir)), ...options.env },
		stdio: ['ignore', 'pipe', 'pipe']
	});
	let output = '';
	const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
	const kill = async () => {
		child.kill('SIGKILL');
		await exited;
	};
	running.set(child, kill);
	child.once('exit', () => running.delete(child));
	const url = await new Promise<string>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`server did not start in time:\n${output}`)), options.timeoutMs ?? 30_000);
		const onData = (chunk: Buffer) => {
			output += chunk.toString();
			for (const line of output.split('\n')) {
				if (!line.startsWith('{')) continue;
				try {
					const record = JSON.parse(line);
					if (record.msg === 'listening') {
						clearTimeout(timer);
						resolve(record.url);
					}
				} catch {
					/* a partial line: wait for the rest */
				}
			}
		};
		child.stdout!.on('data', onData);
		child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
		void exited.then((code) => {
			clearTimeout(timer);
			reject(new Error(`server exited with ${code}:\n${output}`));
		});
	});
	// A server that dies on its own is a finding: its last words go to the test output.
	let stopping = false;
	void exited.then((code) => {
		if (!stopping && code !== 0 && child.signalCode !== 'SIGKILL') console.error(`server on ${url} exited with ${code}:\n${output.split('\n').slice(-30).join('\n')}`);
	});
	return {
		url,
		wsUrl: url.replace(/^http/, 'ws') + '/collab',
		dataDir,
		process: child,
		output: () => output,
		stop: async () => {
			stopping = true;
			child.kill('SIGTERM');
			return exited;
		},
		kill
	};
}

/**
 * Servers and peers that a test starts, so that none outlives it: `boot` starts a server on a data
 * directory, `connect` a peer of one of its tickets, and `cleanup` (give it to `afterEach`)
 * destroys the peers and kills the servers.
 */
export function servers() {
	const running: RunningServer[] = [];
	const peers: Peer[] = [];
	return {
		async boot(dataDir: string, env: Record<string, string> = {}) {
			const server = await startServer({ dataDir, env });
			running.push(server);
			return server;
		},
		async connect(server: { wsUrl: string }, ticketId: string, token: string, options: { doc?: Y.Doc; waitSynced?: boolean } = {}) {
			const peer = await connectPeer(server, ticketId, token, options);
			peers.push(peer);
			return peer;
		},
		/** Destroys one peer now (its document stays, to reconnect with or read). */
		disconnect(peer: Peer) {
			peer.destroy();
			peers.splice(peers.indexOf(peer), 1);
		},
		async cleanup() {
			for (const peer of peers.splice(0)) peer.destroy();
			for (const server of running.splice(0)) await server.kill().catch(() => {});
		}
	};
}

export interface Api {
	request(method: string, path: string, body?: unknown, init?: { raw?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any }>;
}

export function api(server: { url: string }, token?: string): Api {
	return {
		async request(method, route, body, init = {}) {
			const headers: Record<string, string> = { ...init.headers };
			if (token) headers.authorization = `Bearer ${token}`;
			if (body !== undefined || init.raw !== undefined) headers['content-type'] = 'application/json';
			const response = await fetch(server.url + route, {
				method,
				headers,
				body: init.raw ?? (body === undefined ? undefined : JSON.stringify(body))
			});
			const text = await response.text();
			let parsed: unknown = text;
			try {
				parsed = JSON.parse(text);
			} catch {
				/* not JSON */
			}
			return { status: response.status, body: parsed };
		}
	};
}

/** A ticket a bot starts on email for a customer of a new address, as `POST /api/v1/tickets` answers it. */
export async function emailTicket(server: { url: string }, botToken: string, subject = 'Refund for order 1142'): Promise<{ id: string; entries: Entry[]; requesterId: string }> {
	const res = await api(server, botToken).request('POST', '/api/v1/tickets', {
		subject,
		requester: { email: `pat+${newId().toLowerCase()}@example.com`, name: 'Pat' },
		channel: 'email',
		body: 'I was charged twice.'
	});
	if (res.status !== 201) throw new Error(`the ticket was not created: ${res.status} ${JSON.stringify(res.body)}`);
	return res.body;
}

export interface Peer {
	doc: Y.Doc;
	provider: HocuspocusProvider;
	socket: HocuspocusProviderWebsocket;
	/** Resolves once the server acknowledged every local change (unsyncedChanges back to 0). */
	acknowledged(timeoutMs?: number): Promise<void>;
	/** The reason the server gave when it closed this document, if it did. */
	closeReason(): string | null;
	destroy(): void;
}

/**
 * A Hocuspocus provider peer of a ticket document, authenticated with `token` (an empty one: by the
 * session cookie in `headers`). `headers` go with the websocket upgrade, as a browser's would.
 */
export async function connectPeer(
	server: { wsUrl: string },
	ticketId: string,
	token: string,
	options: { doc?: Y.Doc; waitSynced?: boolean; headers?: Record<string, string> } = {}
): Promise<Peer> {
	const doc = options.doc ?? new Y.Doc();
	const headers = options.headers ?? {};
	class WebSocketWithHeaders extends WebSocket {
		constructor(address: string, protocols?: string | string[]) {
			super(address, protocols, { headers });
			// A socket destroyed while still connecting (a peer reconnecting to a server that was
			// killed) reports the abort as an 'error' event after the provider stopped listening:
			// without a listener of its own, that is an uncaught exception in the test process.
			this.on('error', () => {});
		}
	}
	const socket = new HocuspocusProviderWebsocket({ url: server.wsUrl, WebSocketPolyfill: WebSocketWithHeaders as never });
	exactAcknowledgements(socket);
	let reason: string | null = null;
	const provider = new HocuspocusProvider({
		websocketProvider: socket,
		name: ticketDocumentName(ticketId),
		document: doc,
		token,
		onAuthenticationFailed: ({ reason: r }) => {
			reason = r;
		},
		onClose: ({ event }) => {
			if (event?.reason) reason = event.reason;
		}
	});
	provider.attach();
	const peer: Peer = {
		doc,
		provider,
		socket,
		acknowledged: (timeoutMs = 10_000) => waitFor(() => provider.unsyncedChanges === 0 && provider.isSynced, 'acknowledgement', timeoutMs).then(() => undefined),
		closeReason: () => reason,
		destroy: () => {
			provider.destroy();
			socket.destroy();
		}
	};
	if (options.waitSynced !== false) {
		await waitFor(() => provider.isSynced || reason, `sync of ${ticketId}`);
		if (reason && !provider.isSynced) throw new Error(`refused: ${reason}`);
	}
	return peer;
}

/** The SMTP port the server logged (`{msg: 'smtp listening', port}`). */
export function smtpPort(server: { output(): string }): number {
	for (const line of server.output().split('\n')) {
		if (!line.startsWith('{')) continue;
		const record = JSON.parse(line);
		if (record.msg === 'smtp listening') return record.port;
	}
	throw new Error(`no smtp listening line in:\n${server.output()}`);
}
