/**
 * The load generator: provider clients (`Peer`), and the scenarios, each one function taking a
 * `ServerHandle` so that Tandem and the reference run exactly the same code.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { HocuspocusProvider, HocuspocusProviderWebsocket, type HocuspocusProviderWebsocketConfiguration } from '@hocuspocus/provider';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { exactAcknowledgements } from '../src/lib/provider-socket';
import { appendEntries, entryIndex, newId, type Entry } from '../src/lib/ticket';
import { otherCpuMeter, type LoadTarget, type PostgresTandemServer, type ServerHandle, type Ticket } from './servers';

// ---------------------------------------------------------------------------------------------
// Small tools

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Logs progress on stderr; stdout carries only the result table. */
export const progress = (message: string) => process.stderr.write(`[bench] ${message}\n`);

/** Waits until `check()` holds, polling; throws after `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs: number, everyMs = 10): Promise<void> {
	const deadline = performance.now() + timeoutMs;
	while (!check()) {
		if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
		await sleep(everyMs);
	}
}

/** Runs `fn` over `items` with at most `concurrency` at a time; results in order. */
export async function pool<T, R>(items: T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
	const results = new Array<R>(items.length);
	let next = 0;
	const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
		while (next < items.length) {
			const i = next++;
			results[i] = await fn(items[i], i);
		}
	});
	await Promise.all(workers);
	return results;
}

/**
 * Opens `items` with `open` at no more than `perSecond` a second (and at most `concurrency` at a
 * time): connection storms would otherwise measure how fast a server accepts, and bunch the
 * clients' periodic awareness renewals into the measurement.
 */
export function paced<T, R>(items: T[], perSecond: number, concurrency: number, open: (item: T, index: number) => Promise<R>): Promise<R[]> {
	const t0 = performance.now();
	return pool(items, concurrency, async (item, i) => {
		await sleep(t0 + (i * 1000) / perSecond - performance.now());
		return open(item, i);
	});
}

/**
 * Wall-clock time in ms with sub-ms resolution, comparable with `Date.now()` (which entries'
 * `createdAt` come from): re-anchored on a millisecond edge of `Date.now()` before each
 * measurement, so clock slewing cannot accumulate over the run.
 */
let clockOffset = Date.now() - performance.now();
export function calibrateClock(): void {
	const start = Date.now();
	while (Date.now() === start) {
		/* spin to the next millisecond edge (at most 1 ms) */
	}
	clockOffset = Date.now() - performance.now();
}
export const wallNow = () => clockOffset + performance.now();

/** Percentiles by nearest rank. */
export class Latencies {
	private readonly values: number[] = [];

	add(ms: number) {
		this.values.push(ms);
	}

	get count() {
		return this.values.length;
	}

	summary() {
		const sorted = [...this.values].sort((a, b) => a - b);
		const at = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);
		return { n: sorted.length, p50: at(50), p95: at(95), p99: at(99), max: sorted.length ? sorted[sorted.length - 1] : NaN };
	}
}

/** This process's CPU use between two calls, as a percentage of one core. */
export function cpuMeter() {
	const cpu0 = process.cpuUsage();
	const t0 = performance.now();
	return () => {
		const used = process.cpuUsage(cpu0);
		return ((used.user + used.system) / 1000 / (performance.now() - t0)) * 100;
	};
}

/** CPU use of each part of the server side (LoadTarget.cpuParts) between two calls, % of a core; undefined without parts. */
export function partsMeter(server: LoadTarget): () => Record<string, number> | undefined {
	const parts0 = server.cpuParts?.();
	const t0 = performance.now();
	return () => {
		if (!parts0) return undefined;
		const elapsed = performance.now() - t0;
		return Object.fromEntries(Object.entries(server.cpuParts!()).map(([part, ms]) => [part, ((ms - parts0[part]!) / elapsed) * 100]));
	};
}

/** Above this much CPU used by other processes (% of a core), a measurement counts as disturbed. */
export const DISTURBED_PCT = 25;

/**
 * Other work on this shared machine (builds, test runs) can take a core away mid-measurement.
 * Measures up to `attempts` times until other processes stay under DISTURBED_PCT, and returns
 * the least disturbed measurement, saying how many were taken.
 */
export async function leastDisturbed<R extends { otherCpuPct: number }>(attempts: number, measure: () => Promise<R>): Promise<R & { attempts: number }> {
	let best: R | null = null;
	let n = 0;
	while (n < attempts) {
		n++;
		const result = await measure();
		if (!best || result.otherCpuPct < best.otherCpuPct) best = result;
		if (result.otherCpuPct <= DISTURBED_PCT) break;
		const again = n < attempts && performance.now() < retryDeadline;
		progress(`  disturbed: other processes used ${result.otherCpuPct.toFixed(0)}% of a core${again ? '; measuring again' : ''}`);
		if (!again) break;
	}
	return { ...best!, attempts: n };
}

/** Repeated measurements stop once the run has used this much time (performance.now(), ms). */
let retryDeadline = Infinity;
export function setRetryDeadline(ms: number): void {
	retryDeadline = ms;
}

/**
 * Calls `send(i)` `rate` times a second for `durationMs` (open loop: late ticks catch up, sends
 * never wait for acknowledgements). Stops early when `stop()` returns true. Returns how many it sent.
 */
export async function openLoop(rate: number, durationMs: number, send: (i: number) => void, stop: () => boolean = () => false): Promise<number> {
	const start = performance.now();
	let sent = 0;
	for (;;) {
		const elapsed = performance.now() - start;
		if (elapsed >= durationMs || stop()) break;
		const due = Math.floor((elapsed * rate) / 1000);
		while (sent < due) send(sent++);
		await sleep(1);
	}
	return sent;
}

// ---------------------------------------------------------------------------------------------
// Entries and clients

export const BODY = 'Hello, I ordered a blue kettle last week and the tracking page has not moved since Tuesday. Could you check where it is? '.padEnd(200, '.');

/** A customer's chat message in the contract shape, as the channel bot relays it. */
export function makeEntry(requesterId: string, body = BODY): Entry {
	return {
		id: newId(),
		kind: 'message',
		channel: 'chat',
		direction: 'in',
		visibility: 'public',
		authorType: 'customer',
		authorId: requesterId,
		body,
		createdAt: Date.now()
	};
}

/** `reconnect`: the provider's retry settings (its defaults otherwise). */
export function newSocket(wsUrl: string, reconnect: Partial<HocuspocusProviderWebsocketConfiguration> = {}): HocuspocusProviderWebsocket {
	const socket = new HocuspocusProviderWebsocket({ url: wsUrl, WebSocketPolyfill: WebSocket as never, ...reconnect });
	exactAcknowledgements(socket);
	return socket;
}

export interface PeerOptions {
	/** Share this socket (the provider is attached to it); otherwise the peer opens its own. */
	socket?: HocuspocusProviderWebsocket;
	timeoutMs?: number;
	/** Record when the document first holds this many conversation entries while synced. */
	expectEntries?: number;
	/** How the peer's own socket reconnects (newSocket). */
	reconnect?: Partial<HocuspocusProviderWebsocketConfiguration>;
}

/**
 * One provider on one document. Its writes are tracked one update at a time: the server
 * acknowledges updates of a connection in order, each by one SyncStatus that brings
 * `unsyncedChanges` down by one, so the oldest unacknowledged update is the one acknowledged.
 */
export class Peer {
	readonly doc = new Y.Doc();
	readonly provider: HocuspocusProvider;
	/** performance.now() when the provider was created, when it was first synced, and when it first held `expectEntries`. */
	readonly openedAt = performance.now();
	syncedAt = NaN;
	fullAt = NaN;
	closeReason: string | null = null;
	/** Entries acknowledged so far. */
	acked = 0;
	/** Messages received from the server so far. */
	received = 0;
	/** Told of each acknowledged update's entries, and how long the acknowledgement took (ms). */
	onAck: ((entries: Entry[], ms: number) => void) | null = null;
	private readonly pending: { entries: Entry[]; sentAt: number }[] = [];
	private unsynced = 0;

	private constructor(
		docName: string,
		token: string | null,
		readonly socket: HocuspocusProviderWebsocket,
		private readonly ownsSocket: boolean,
		expectEntries: number
	) {
		const index = entryIndex(this.doc); // maintained incrementally from here on
		this.provider = new HocuspocusProvider({
			websocketProvider: socket,
			name: docName,
			document: this.doc,
			token,
			onAuthenticationFailed: ({ reason }) => (this.closeReason ??= `authentication failed: ${reason}`),
			onClose: ({ event }) => {
				if (event?.reason) this.closeReason ??= event.reason;
			}
		});
		const markFull = () => {
			if (Number.isNaN(this.fullAt) && this.provider.isSynced && index.count >= expectEntries) this.fullAt = performance.now();
		};
		this.provider.on('synced', () => {
			if (Number.isNaN(this.syncedAt)) this.syncedAt = performance.now();
			markFull();
		});
		if (expectEntries > 0) index.listeners.add(markFull);
		this.provider.on('message', () => this.received++);
		this.provider.on('unsyncedChanges', ({ number }: { number: number }) => {
			const acks = this.unsynced - number;
			this.unsynced = number;
			const now = performance.now();
			for (let i = 0; i < acks; i++) {
				const sent = this.pending.shift();
				if (!sent) continue; // the handshake's own acknowledgement
				this.acked += sent.entries.length;
				this.onAck?.(sent.entries, now - sent.sentAt);
			}
		});
		this.provider.attach();
	}

	/** Opens a provider and waits until it is synced with nothing unacknowledged. */
	static async open(wsUrl: string, docName: string, token: string | null, options: PeerOptions = {}): Promise<Peer> {
		const socket = options.socket ?? newSocket(wsUrl, options.reconnect);
		const peer = new Peer(docName, token, socket, !options.socket, options.expectEntries ?? 0);
		try {
			await peer.acknowledged(options.timeoutMs ?? 30_000, `sync of ${docName}`);
		} catch (error) {
			peer.destroy();
			throw error;
		}
		return peer;
	}

	/** Appends `entries` in one update (one transaction) through the ticket module. */
	append(entries: Entry[]): void {
		const sentAt = performance.now();
		appendEntries(this.doc, entries);
		this.pending.push({ entries, sentAt });
	}

	/** Updates sent and not acknowledged yet. */
	get inFlight(): number {
		return this.pending.length;
	}

	get entryCount(): number {
		return entryIndex(this.doc).count;
	}

	has(entryId: string): boolean {
		return entryIndex(this.doc).byId.has(entryId);
	}

	/** Conversation entries beyond the first with the same id (the bench writes no side conversations). */
	get duplicatedEntries(): number {
		const index = entryIndex(this.doc);
		return index.count - index.byId.size;
	}

	/** Calls `listener` with the entries each transaction adds to this peer's document. */
	onEntries(listener: (entries: Entry[]) => void): void {
		entryIndex(this.doc).listeners.add(listener);
	}

	/** Resolves once synced with every local change acknowledged; rejects if the server closed the document. */
	acknowledged(timeoutMs = 30_000, what = 'acknowledgement'): Promise<void> {
		const provider = this.provider;
		return new Promise((resolve, reject) => {
			const check = () => {
				if (provider.isSynced && provider.unsyncedChanges === 0) finish();
			};
			// The close reason is set by the provider's own close handler: look once it has run.
			const closed = () =>
				setImmediate(() => {
					if (this.closeReason) finish(new Error(`${what}: the server closed the document (${this.closeReason})`));
				});
			const timer = setTimeout(() => finish(new Error(`${what}: timed out after ${timeoutMs} ms (${provider.unsyncedChanges} unacknowledged)`)), timeoutMs);
			const finish = (error?: Error) => {
				clearTimeout(timer);
				provider.off('synced', check);
				provider.off('unsyncedChanges', check);
				provider.off('close', closed);
				provider.off('authenticationFailed', closed);
				if (error) reject(error);
				else resolve();
			};
			provider.on('synced', check);
			provider.on('unsyncedChanges', check);
			provider.on('close', closed);
			provider.on('authenticationFailed', closed);
			check();
		});
	}

	destroy(): void {
		this.onAck = null;
		this.provider.destroy();
		if (this.ownsSocket) this.socket.destroy();
	}
}

export function destroyAll(peers: Iterable<Peer>): void {
	for (const peer of peers) peer.destroy();
}

// ---------------------------------------------------------------------------------------------
// Building blocks shared by the scenarios

export function createTickets(server: LoadTarget, count: number, concurrency = 4): Promise<Ticket[]> {
	return pool(
		Array.from({ length: count }, () => null),
		concurrency,
		() => server.createTicket()
	);
}

/**
 * Keeps up to `window` updates of `size` entries in flight on `bot` until `total` entries are
 * acknowledged (or `stop()`); resolves with the acknowledged entries' ids.
 */
export function pump(
	bot: Peer,
	ticket: Ticket,
	o: { total: number; window: number; size?: number; stop?: () => boolean; onAck?: (acked: number) => void; timeoutMs?: number }
): Promise<string[]> {
	const size = o.size ?? 1;
	const ids: string[] = [];
	let queued = 0;
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			bot.onAck = null;
			reject(new Error(`${ids.length} of ${o.total} entries acknowledged after ${o.timeoutMs ?? 120_000} ms (${bot.closeReason ?? 'no close reason'})`));
		}, o.timeoutMs ?? 120_000);
		const fill = () => {
			while (bot.inFlight < o.window && queued < o.total && !o.stop?.()) {
				const n = Math.min(size, o.total - queued);
				bot.append(Array.from({ length: n }, () => makeEntry(ticket.requesterId)));
				queued += n;
			}
			if (bot.inFlight === 0) {
				clearTimeout(timer);
				resolve(ids);
			}
		};
		bot.onAck = (entries) => {
			for (const e of entries) ids.push(e.id);
			o.onAck?.(ids.length);
			fill();
		};
		fill();
	});
}

/** Appends `entries` more entries to `ticket` as its bot, in batches, and waits for every ack. */
export async function fillTicket(server: ServerHandle, ticket: Ticket, entries: number, batch: number, bot = 0): Promise<void> {
	const peer = await server.connect(ticket.docName, { role: 'bot', index: bot });
	try {
		await pump(peer, ticket, { total: entries, window: 4, size: batch });
		await peer.acknowledged(30_000);
	} finally {
		peer.destroy();
	}
}

// ---------------------------------------------------------------------------------------------
// (1) CPU per accepted entry and capacity

export interface CapacityResult {
	entriesPerSec: number;
	serverCpuMsPerEntry: number;
	serverCpuPct: number;
	/** The part of serverCpuPct a separate database process used (PostgreSQL), else null. */
	databaseCpuPct: number | null;
	loadGenCpuPct: number;
	/** CPU used by other processes on the machine meanwhile, % of a core (noise). */
	otherCpuPct: number;
	/** Acknowledged entries/s in each second of the measurement. */
	perSecond: number[];
	/** Messages the writing bot received per acknowledged entry (its SyncStatus and the echoed update, merged or not). */
	messagesPerEntry: number;
	/** On a cluster: each part's share of serverCpuPct (nodes, database, Redis). */
	cpuPartsPct?: Record<string, number>;
	acked: number;
	window: number;
	attempts: number;
}

/**
 * `tickets` bots, one per ticket, each keeping `window` single-entry updates in flight; after a
 * warm-up, one measurement window (another if other processes disturbed it, see leastDisturbed).
 */
export async function capacity(server: LoadTarget, o: { tickets: number; window: number; warmupMs: number; measureMs: number; attempts: number }): Promise<CapacityResult> {
	const tickets = await createTickets(server, o.tickets);
	const bots = await pool(tickets, 8, (t, i) => server.connect(t.docName, { role: 'bot', index: i }));
	let acked = 0;
	let running = true;
	const longest = o.warmupMs + o.attempts * o.measureMs + 60_000;
	const done = Promise.all(bots.map((bot, i) => pump(bot, tickets[i], { total: Infinity, window: o.window, stop: () => !running, onAck: () => acked++, timeoutMs: longest })));
	done.catch(() => {}); // awaited below; a failure must not surface as an unhandled rejection before that
	const received = () => bots.reduce((sum, bot) => sum + bot.received, 0);
	const measure = async () => {
		const cpu0 = server.cpuMs();
		const database0 = server.databaseCpuMs();
		const received0 = received();
		const acked0 = acked;
		const t0 = performance.now();
		const loadGen = cpuMeter();
		const others = otherCpuMeter(server);
		const parts = partsMeter(server);
		const perSecond: number[] = [];
		for (let slice = t0, sliceAcked = acked0; slice < t0 + o.measureMs - 50; ) {
			await sleep(Math.min(1000, t0 + o.measureMs - slice));
			const now = performance.now();
			perSecond.push(Math.round(((acked - sliceAcked) * 1000) / (now - slice)));
			slice = now;
			sliceAcked = acked;
		}
		const cpu = server.cpuMs() - cpu0;
		const database = server.databaseCpuMs();
		const n = acked - acked0;
		const seconds = (performance.now() - t0) / 1000;
		return {
			entriesPerSec: n / seconds,
			serverCpuMsPerEntry: cpu / n,
			serverCpuPct: cpu / 10 / seconds,
			databaseCpuPct: database === null || database0 === null ? null : (database - database0) / 10 / seconds,
			loadGenCpuPct: loadGen(),
			otherCpuPct: others(),
			perSecond,
			messagesPerEntry: (received() - received0) / n,
			cpuPartsPct: parts(),
			acked: n,
			window: o.window
		};
	};
	try {
		await sleep(o.warmupMs);
		const result = await leastDisturbed(o.attempts, measure);
		running = false;
		await Promise.race([done, sleep(15_000).then(() => Promise.reject(new Error('capacity: acknowledgements stopped')))]);
		return result;
	} finally {
		running = false;
		destroyAll(bots);
	}
}

// ---------------------------------------------------------------------------------------------
// (2) Fan-out latency bot → agents at a fixed rate

export interface LatencyResult {
	n: number;
	expected: number;
	p50: number;
	p95: number;
	p99: number;
	max: number;
	/** Time from a bot's append to its acknowledgement, ms. */
	ackP50: number;
	ackP99: number;
	loadGenCpuPct: number;
	/** The load generator's own event-loop delay p99 (ms): how late it may have seen arrivals. */
	loadGenLoopDelayP99: number;
	serverCpuPct: number;
	/** On a cluster: each part's share of serverCpuPct (nodes, database, Redis). */
	cpuPartsPct?: Record<string, number>;
	otherCpuPct: number;
	/** Measurements taken (more than one when other processes disturbed the first). */
	attempts: number;
}

/** Agents that record, for each entry arriving in their document, arrival − createdAt (ms). */
export interface Observers {
	readonly count: number;
	/** The documents of agents not connected: refused, timed out or not tried in time (only when told to count them, see LocalObservers.open). */
	readonly refused: string[];
	/** Records entries created from now on. */
	start(): Promise<void>;
	/** What was recorded since the last collect, and the hosts' event-loop delay p99 (ms). */
	collect(): Promise<{ latencies: number[]; loopDelayP99: number }>;
	/** Stops recording. */
	end(): Promise<void>;
	close(): Promise<void>;
}

/** Records arrivals in its peers' documents, hosted by this thread. */
export class LocalObservers implements Observers {
	private since = Infinity;
	private latencies: number[] = [];
	private readonly loop = monitorEventLoopDelay({ resolution: 5 });
	private readonly peers: Peer[] = [];
	readonly refused: string[] = [];

	constructor(peers: Peer[] = []) {
		for (const peer of peers) this.add(peer);
	}

	/**
	 * Adds the peer `open` opens on `docName`. With a deadline (performance.now(), ms), a connection
	 * the server refused or that timed out is counted instead of failing the run, and one not begun
	 * by the deadline is not tried (and counted): the most that open. Without one, a failure throws.
	 */
	async open(docName: string, open: () => Promise<Peer>, deadline: number | null): Promise<void> {
		if (deadline !== null && performance.now() > deadline) {
			this.refused.push(docName);
			return;
		}
		try {
			this.add(await open());
		} catch (error) {
			if (deadline === null) throw error;
			this.refused.push(docName);
		}
	}

	add(peer: Peer): void {
		this.peers.push(peer);
		peer.onEntries((entries) => {
			const now = wallNow();
			for (const e of entries) if (e.createdAt >= this.since) this.latencies.push(now - e.createdAt);
		});
	}

	get count() {
		return this.peers.length;
	}

	async start() {
		calibrateClock();
		this.latencies = [];
		this.loop.reset();
		this.loop.enable();
		this.since = Date.now();
	}

	async collect() {
		const latencies = this.latencies;
		this.latencies = [];
		return { latencies, loopDelayP99: this.loop.percentile(99) / 1e6 };
	}

	async end() {
		this.since = Infinity;
		this.loop.disable();
	}

	async close() {
		destroyAll(this.peers);
	}
}

/**
 * Agents spread over worker threads (bench/agents-worker.ts), each with its own event loop, so
 * that thousands of sockets do not queue behind one another in the thread that measures.
 * Threads of this process share its clock.
 */
export class WorkerObservers implements Observers {
	private constructor(
		private readonly workers: Worker[],
		readonly count: number,
		readonly refused: string[]
	) {}

	/** `openWithinMs`: see LocalObservers.open (its deadline, from each worker's start). */
	static async open(agents: { wsUrl: string; docName: string; token: string | null }[], threads: number, perSecond: number, openWithinMs: number | null = null): Promise<WorkerObservers> {
		const shares = Array.from({ length: threads }, (_, w) => agents.filter((_, i) => i % threads === w));
		const workers: Worker[] = [];
		const refused: string[] = [];
		try {
			await Promise.all(
				shares.map(async (share) => {
					const worker = new Worker(WORKER_BOOTSTRAP, { eval: true, workerData: { agents: share, perSecond: perSecond / threads, openWithinMs } });
					workers.push(worker);
					// Its share at its pace (or until its deadline), and up to a minute more for the last ones (Peer.open's timeout).
					const readyMs = (openWithinMs ?? (share.length / (perSecond / threads)) * 1000) + 90_000;
					refused.push(...((await reply(worker, 'ready', readyMs)).refused as string[]));
				})
			);
		} catch (error) {
			await Promise.all(workers.map((w) => w.terminate()));
			throw error;
		}
		return new WorkerObservers(workers, agents.length - refused.length, refused);
	}

	async start() {
		await Promise.all(this.workers.map((w) => ask(w, { type: 'start' }, 'started')));
	}

	async collect() {
		const parts = await Promise.all(this.workers.map((w) => ask(w, { type: 'collect' }, 'collected')));
		return {
			latencies: parts.flatMap((p) => p.latencies as number[]),
			loopDelayP99: Math.max(...parts.map((p) => p.loopDelayP99 as number))
		};
	}

	async end() {
		await Promise.all(this.workers.map((w) => ask(w, { type: 'end' }, 'ended')));
	}

	async close() {
		await Promise.all(
			this.workers.map(async (w) => {
				await ask(w, { type: 'close' }, 'closed').catch(() => {});
				await w.terminate();
			})
		);
	}
}

/** On Node 20 a worker's .ts entry is resolved before `--import tsx` could apply: register tsx, then import it. */
const WORKER_BOOTSTRAP = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./agents-worker.ts', import.meta.url).href)}); })`;

type WorkerReply = { type: string; [key: string]: unknown };

function reply(worker: Worker, type: string, timeoutMs = 30_000): Promise<WorkerReply> {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => finish(new Error(`agents worker: no '${type}' within ${timeoutMs} ms`)), timeoutMs);
		const onMessage = (message: WorkerReply) => {
			if (message.type === 'error') finish(new Error(`agents worker: ${String(message.message)}`));
			else if (message.type === type) finish(undefined, message);
		};
		const onError = (error: Error) => finish(error);
		const finish = (error?: Error, message?: WorkerReply) => {
			clearTimeout(timer);
			worker.off('message', onMessage);
			worker.off('error', onError);
			if (error) reject(error);
			else resolve(message!);
		};
		worker.on('message', onMessage);
		worker.on('error', onError);
	});
}

function ask(worker: Worker, message: { type: string }, answer: string): Promise<WorkerReply> {
	const answered = reply(worker, answer);
	worker.postMessage(message);
	return answered;
}

/**
 * Bots write `rate` entries/s in total, round-robin over the tickets; every agent records
 * arrival − createdAt for each entry its document receives. Repeated if disturbed.
 */
async function measureFanout(
	server: LoadTarget,
	tickets: Ticket[],
	bots: Peer[],
	observers: Observers,
	o: { agentsPerTicket: number; rate: number; durationMs: number; attempts: number }
): Promise<LatencyResult> {
	/** Agents listening on each ticket: the ones not connected expect nothing. */
	const missing = new Map<string, number>();
	for (const docName of observers.refused) missing.set(docName, (missing.get(docName) ?? 0) + 1);
	const listening = tickets.map((t) => o.agentsPerTicket - (missing.get(t.docName) ?? 0));
	let acks = new Latencies();
	for (const bot of bots) bot.onAck = (_entries, ms) => acks.add(ms);
	return leastDisturbed(o.attempts, async () => {
		acks = new Latencies();
		await observers.start();
		const loadGen = cpuMeter();
		const others = otherCpuMeter(server);
		const parts = partsMeter(server);
		const loopDelay = monitorEventLoopDelay({ resolution: 5 });
		loopDelay.enable();
		const cpu0 = server.cpuMs();
		const t0 = performance.now();
		const sent = await openLoop(o.rate, o.durationMs, (i) => {
			const k = i % tickets.length;
			bots[k].append([makeEntry(tickets[k].requesterId)]);
		});
		const serverCpuPct = ((server.cpuMs() - cpu0) / (performance.now() - t0)) * 100;
		const loadGenCpuPct = loadGen();
		const otherCpuPct = others();
		const cpuPartsPct = parts();
		loopDelay.disable();
		let expected = 0;
		for (let i = 0; i < sent; i++) expected += listening[i % tickets.length];
		// Collect until every delivery is in (bounded).
		const latencies = new Latencies();
		let observersLoopDelayP99 = 0;
		for (const deadline = performance.now() + 10_000; ; ) {
			const part = await observers.collect();
			for (const ms of part.latencies) latencies.add(ms);
			observersLoopDelayP99 = Math.max(observersLoopDelayP99, part.loopDelayP99);
			if (latencies.count >= expected || performance.now() > deadline) break;
			await sleep(50);
		}
		await observers.end();
		const ack = acks.summary();
		return {
			...latencies.summary(),
			expected,
			ackP50: ack.p50,
			ackP99: ack.p99,
			loadGenCpuPct,
			loadGenLoopDelayP99: Math.max(loopDelay.percentile(99) / 1e6, observersLoopDelayP99),
			serverCpuPct,
			cpuPartsPct,
			otherCpuPct
		};
	});
}

export async function fanout(server: LoadTarget, o: { tickets: number; agentsPerTicket: number; rate: number; durationMs: number; attempts: number }): Promise<LatencyResult> {
	const tickets = await createTickets(server, o.tickets);
	const peers: Peer[] = [];
	try {
		const bots = await pool(tickets, 8, (t, i) => server.connect(t.docName, { role: 'bot', index: i }));
		peers.push(...bots);
		const pairs = tickets.flatMap((t) => Array.from({ length: o.agentsPerTicket }, (_, j) => ({ t, j })));
		const agents = await pool(pairs, 16, ({ t, j }) => server.connect(t.docName, { role: 'agent', index: j }));
		peers.push(...agents);
		return await measureFanout(server, tickets, bots, new LocalObservers(agents), o);
	} finally {
		destroyAll(peers);
	}
}

// ---------------------------------------------------------------------------------------------
// (3) RSS per open ticket

export interface RssResult {
	perTicketKb: number;
	beforeKb: number;
	afterKb: number;
	tickets: number;
	entriesPerTicket: number;
}

/**
 * `tickets` tickets of `entries` entries, built beforehand; in a freshly restarted server (warmed
 * by one other ticket opened and closed), RSS before and after opening every ticket with a bot
 * and `agentsPerTicket` agents.
 */
export async function rssPerTicket(server: ServerHandle, o: { tickets: number; entries: number; agentsPerTicket: number; settleMs: number }): Promise<RssResult> {
	const tickets = await createTickets(server, o.tickets + 1);
	// Every ticket starts with the customer's first message.
	await pool(tickets, 8, (t, i) => fillTicket(server, t, o.entries - 1, 150, i));
	await server.restart();
	const open = (t: Ticket, i: number) =>
		Promise.all([
			server.connect(t.docName, { role: 'bot', index: i }),
			...Array.from({ length: o.agentsPerTicket }, (_, j) => server.connect(t.docName, { role: 'agent', index: j }))
		]);
	const warm = tickets.pop()!;
	destroyAll(await open(warm, 0));
	await sleep(o.settleMs);
	const beforeKb = server.rssKb();
	const peers = (await pool(tickets, 4, open)).flat();
	try {
		for (const p of peers) if (p.entryCount !== o.entries) throw new Error(`a peer holds ${p.entryCount} entries, not ${o.entries}`);
		await sleep(o.settleMs);
		const afterKb = server.rssKb();
		return { perTicketKb: (afterKb - beforeKb) / tickets.length, beforeKb, afterKb, tickets: tickets.length, entriesPerTicket: o.entries };
	} finally {
		destroyAll(peers);
	}
}

// ---------------------------------------------------------------------------------------------
// (4) Cold open of a large ticket

export interface ColdOpenResult {
	/** Median over the rounds, ms. */
	syncedMs: number;
	fullMs: number;
	rounds: { syncedMs: number; fullMs: number }[];
	entries: number;
}

/** A ticket of `entries` entries; each round restarts the server and opens it as an agent. */
export async function coldOpen(server: ServerHandle, o: { entries: number; rounds: number }): Promise<ColdOpenResult> {
	const [ticket] = await createTickets(server, 1);
	await fillTicket(server, ticket, o.entries - 1, 100);
	const rounds: { syncedMs: number; fullMs: number }[] = [];
	for (let r = 0; r < o.rounds; r++) {
		await server.restart();
		const peer = await server.connect(ticket.docName, { role: 'agent', index: 0 }, { expectEntries: o.entries });
		try {
			await until(() => !Number.isNaN(peer.fullAt), `${o.entries} entries`, 30_000);
			rounds.push({ syncedMs: peer.syncedAt - peer.openedAt, fullMs: peer.fullAt - peer.openedAt });
		} finally {
			peer.destroy();
		}
	}
	const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
	return { syncedMs: median(rounds.map((r) => r.syncedMs)), fullMs: median(rounds.map((r) => r.fullMs)), rounds, entries: o.entries };
}

// ---------------------------------------------------------------------------------------------
// (5) Durability under SIGKILL, and (on PostgreSQL) a crash of the database

export interface DurabilityRound {
	name: string;
	acked: number;
	survived: number;
	/** Sent but not acknowledged before the kill, and present after the restart anyway. */
	unackedSurvived: number;
	/** Entries stored more than once (each extra copy counts). */
	duplicated: number;
}

/** Restarts the killed server and counts which of `ids` a fresh client sees, and entries it sees twice. */
async function survivors(server: ServerHandle, ticket: Ticket, ids: string[]): Promise<{ peer: Peer; survived: number; duplicated: number }> {
	await server.waitExit();
	await server.start();
	const peer = await server.connect(ticket.docName, { role: 'agent', index: 0 });
	return { peer, survived: ids.filter((id) => peer.has(id)).length, duplicated: peer.duplicatedEntries };
}

/** `entries` acknowledged (up to `window` in flight), then SIGKILL `killDelayMs` after the last ack. */
export async function killAfterAcks(server: ServerHandle, o: { entries: number; window: number; killDelayMs: number }): Promise<DurabilityRound> {
	const [ticket] = await createTickets(server, 1);
	const bot = await server.connect(ticket.docName, { role: 'bot', index: 0 });
	let ids: string[];
	try {
		ids = await pump(bot, ticket, {
			total: o.entries,
			window: o.window,
			onAck: (n) => {
				if (n < o.entries) return;
				if (o.killDelayMs === 0) server.killNow();
				else setTimeout(() => server.killNow(), o.killDelayMs);
			}
		});
		await server.waitExit();
	} finally {
		bot.destroy();
	}
	const { peer, survived, duplicated } = await survivors(server, ticket, ids);
	peer.destroy();
	return { name: `kill ${o.killDelayMs} ms after ack #${o.entries}`, acked: ids.length, survived, unackedSurvived: 0, duplicated };
}

/** A steady stream at `rate`/s from one bot, SIGKILLed after `killAfterMs`. */
export async function killMidStream(server: ServerHandle, o: { rate: number; killAfterMs: number }): Promise<DurabilityRound> {
	const [ticket] = await createTickets(server, 1);
	const bot = await server.connect(ticket.docName, { role: 'bot', index: 0 });
	const acked: string[] = [];
	const sent: string[] = [];
	let ackedAtKill: string[] = [];
	bot.onAck = (entries) => acked.push(...entries.map((e) => e.id));
	try {
		let killed = false;
		setTimeout(() => {
			ackedAtKill = [...acked];
			server.killNow();
			killed = true;
		}, o.killAfterMs);
		await openLoop(
			o.rate,
			o.killAfterMs * 3,
			() => {
				const entry = makeEntry(ticket.requesterId);
				bot.append([entry]);
				sent.push(entry.id);
			},
			() => killed
		);
		await server.waitExit();
	} finally {
		bot.destroy();
	}
	const ackedSet = new Set(ackedAtKill);
	const { peer, survived, duplicated } = await survivors(server, ticket, ackedAtKill);
	const unackedSurvived = sent.filter((id) => !ackedSet.has(id) && peer.has(id)).length;
	peer.destroy();
	return { name: `${o.rate}/s stream, kill at ${o.killAfterMs} ms`, acked: ackedAtKill.length, survived, unackedSurvived, duplicated };
}

export interface DatabaseCrashRound extends DurabilityRound {
	/** Why the server closed the writing bot's document while the database was down, if it did. */
	closeReason: string | null;
	/** Entries acknowledged when the crash was over (pg_ctl returned; answers already on their way may follow). */
	ackedBeforeCrash: number;
	/** Entries acknowledged to the bot that reconnected once the database was back: writes resumed. */
	ackedAfterRestart: number;
}

/**
 * A steady stream at `rate`/s from one bot; at `crashAfterMs` the database crashes (`pg_ctl stop
 * -m immediate`) under the running server and stays down `downMs` while the bot keeps writing.
 * Once it has started again (crash recovery), the bot reconnects, as the workspace does when told
 * `storage-unavailable` (a reload), and streams for `crashAfterMs` more. Then the server is
 * SIGKILLed and started afresh, so that a fresh client sees what the database holds: every entry
 * acknowledged at any time must be there, once.
 */
export async function crashDatabaseMidStream(server: PostgresTandemServer, o: { rate: number; crashAfterMs: number; downMs: number }): Promise<DatabaseCrashRound> {
	const [ticket] = await createTickets(server, 1);
	const acked = new Set<string>();
	const sent: string[] = [];
	/** Streams from a new connection of the ticket's bot for `durationMs` (and `whileRunning`). */
	const stream = async (durationMs: number, whileRunning: () => Promise<void> = async () => {}) => {
		const bot = await server.connect(ticket.docName, { role: 'bot', index: 0 });
		bot.onAck = (entries) => entries.forEach((e) => acked.add(e.id));
		try {
			const sending = openLoop(o.rate, durationMs, () => {
				const entry = makeEntry(ticket.requesterId);
				bot.append([entry]);
				sent.push(entry.id);
			});
			await whileRunning();
			await sending;
			// A bot the server closed (storage-unavailable) gets no more acknowledgements.
			if (!bot.closeReason) await bot.acknowledged(10_000, 'the stream').catch((error: Error) => progress(`  ${error.message}`));
			return bot.closeReason;
		} finally {
			bot.destroy();
		}
	};
	let ackedBeforeCrash = 0;
	const closeReason = await stream(o.crashAfterMs + o.downMs, async () => {
		await sleep(o.crashAfterMs);
		await server.crashDatabase();
		ackedBeforeCrash = acked.size;
		await sleep(o.downMs);
		await server.startDatabase();
	});
	const ackedAtRestart = acked.size;
	await stream(o.crashAfterMs).catch((error: Error) => progress(`  no writes after the database restart: ${error.message}`));
	server.killNow();
	const { peer, survived, duplicated } = await survivors(server, ticket, [...acked]);
	const unackedSurvived = sent.filter((id) => !acked.has(id) && peer.has(id)).length;
	peer.destroy();
	return {
		name: `database crash (pg_ctl stop -m immediate) at ${o.crashAfterMs} ms of a ${o.rate}/s stream, down ${o.downMs} ms`,
		acked: acked.size,
		survived,
		unackedSurvived,
		duplicated,
		closeReason,
		ackedBeforeCrash,
		ackedAfterRestart: acked.size - ackedAtRestart
	};
}

// ---------------------------------------------------------------------------------------------
// (6) Many idle connections with a steady stream

export interface ConnectionsResult extends LatencyResult {
	/** Agent connections open during the measurement. */
	connections: number;
	/** Agent connections refused, timed out or not tried in time (counted only with `openWithinMs`; otherwise a refusal fails the run). */
	refused: number;
	tickets: number;
	rate: number;
	/** Worker threads hosting the agents (0: this thread). */
	agentThreads: number;
	connectSeconds: number;
	serverRssKb: number;
}

/**
 * `tickets` × `agentsPerTicket` agent sockets (one each), bots multiplexed over `botSockets`
 * shared sockets, then `rate` entries/s spread over the tickets; fan-out latency at every agent.
 */
export async function manyConnections(
	server: LoadTarget,
	o: {
		tickets: number;
		agentsPerTicket: number;
		/** Agent connections opened per second. */
		connectRate: number;
		botSockets: number;
		rate: number;
		durationMs: number;
		attempts: number;
		agentThreads: number;
		/**
		 * Measure with the agents that opened within this long (ms), counting those the server
		 * refused, that timed out or that were not tried by then, instead of failing.
		 */
		openWithinMs?: number;
	}
): Promise<ConnectionsResult> {
	const openWithinMs = o.openWithinMs ?? null;
	const tickets = await createTickets(server, o.tickets, 8);
	const bots: Peer[] = [];
	const sockets: HocuspocusProviderWebsocket[] = [];
	let observers: Observers | null = null;
	try {
		const t0 = performance.now();
		const pairs = tickets.flatMap((t) => Array.from({ length: o.agentsPerTicket }, (_, j) => ({ t, j })));
		if (o.agentThreads > 0) {
			const agents = pairs.map(({ t, j }) => ({ docName: t.docName, ...server.endpoint({ role: 'agent', index: j }) }));
			observers = await WorkerObservers.open(agents, o.agentThreads, o.connectRate, openWithinMs);
		} else {
			const local = new LocalObservers();
			observers = local;
			let opened = 0;
			const deadline = openWithinMs === null ? null : performance.now() + openWithinMs;
			await paced(pairs, o.connectRate, 256, async ({ t, j }) => {
				await local.open(t.docName, () => server.connect(t.docName, { role: 'agent', index: j }, { timeoutMs: 60_000 }), deadline);
				if (++opened % 1000 === 0) progress(`  ${opened} agent connections`);
			});
		}
		// Opened once the agents are in: a socket without documents would be closed and reopened meanwhile.
		// Bot socket k goes where bot k is placed (on a cluster, spread over the nodes).
		for (let k = 0; k < o.botSockets; k++) sockets.push(newSocket(server.endpoint({ role: 'bot', index: k }).wsUrl));
		await pool(tickets, 32, async (t, i) => {
			bots[i] = await server.connect(t.docName, { role: 'bot', index: i % o.botSockets }, { socket: sockets[i % o.botSockets], timeoutMs: 60_000 });
		});
		const connectSeconds = (performance.now() - t0) / 1000;
		await sleep(500);
		const serverRssKb = server.rssKb();
		const result = await measureFanout(server, tickets, bots, observers, o);
		return { ...result, connections: observers.count, refused: observers.refused.length, tickets: tickets.length, rate: o.rate, agentThreads: o.agentThreads, connectSeconds, serverRssKb };
	} finally {
		destroyAll(bots.filter(Boolean));
		for (const socket of sockets) socket.destroy();
		await observers?.close();
	}
}
