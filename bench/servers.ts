/**
 * The servers under test (Tandem on SQLite, Tandem on PostgreSQL, the reference), each a child
 * process on a loopback port chosen by the OS, behind one handle type: start, restart, SIGKILL,
 * CPU time and RSS, tickets and connections. Scenarios (load.ts) only ever see a `ServerHandle`.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { bundled } from '../scripts/build-if-needed.js';
import { appendEntry, initTicket, newId, ticketDocumentName } from '../src/lib/ticket';
import { prepare, type Fixture } from '../tests/helpers/fixtures';
import { startPostgres, type Postgres } from '../tests/helpers/postgres';
import { BODY, makeEntry, Peer, type PeerOptions } from './load';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------------------------------------
// Child processes: every one is killed when the bench exits, however it exits.

const children = new Set<ChildProcess>();
/** Children started in a process group of their own (nginx: its workers die with the group). */
const groups = new Set<ChildProcess>();
const dataDirs = new Set<string>();

/**
 * Kills `child` (and, for one started `detached`, its process group) when the bench exits, as it
 * does the servers: for the cluster's Redis and nginx.
 */
export function killAtExit(child: ChildProcess, options: { group?: boolean } = {}): void {
	const set = options.group ? groups : children;
	set.add(child);
	child.once('exit', () => set.delete(child));
}

/** A new data directory, removed when the bench exits. */
export function tempDir(prefix: string): string {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
	dataDirs.add(dir);
	return dir;
}

/** Kills every server process and removes their data directories. Synchronous: safe in 'exit'. */
export function killAllChildren(): void {
	for (const child of children) {
		if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
	}
	for (const leader of groups) {
		try {
			process.kill(-leader.pid!, 'SIGKILL');
		} catch {
			/* the group is gone */
		}
	}
	for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
	dataDirs.clear();
}

process.on('exit', killAllChildren);

// ---------------------------------------------------------------------------------------------
// /proc readers

const CLK_TCK = (() => {
	try {
		return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
	} catch {
		return 100;
	}
})();

/** Fields of /proc/<pid>/stat after "pid (comm) ": [0] is field 3 (state), [11] field 14 (utime). */
const statFields = (pid: number) => {
	const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
	return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
};

/** CPU time (user + system) the process has used so far, in ms. */
export function cpuMs(pid: number): number {
	const fields = statFields(pid);
	return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/**
 * CPU time the process, its descendants and their ended children have used so far, in ms:
 * PostgreSQL's postmaster and its backends (a backend that ended counts in its parent's cutime).
 */
export function treeCpuMs(pid: number): number {
	let ticks = 0;
	for (const p of processTree(pid)) {
		try {
			const fields = statFields(p);
			ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
		} catch {
			/* the process ended meanwhile */
		}
	}
	return (ticks * 1000) / CLK_TCK;
}

/** CPU time all processes on the machine have used so far (/proc/stat), in ms. */
export function machineBusyMs(): number {
	const [, ...ticks] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
	// user nice system idle iowait irq softirq steal ...: everything but idle and iowait.
	const busy = ticks.slice(0, 8).reduce((sum, v, i) => (i === 3 || i === 4 ? sum : sum + Number(v)), 0);
	return (busy * 1000) / CLK_TCK;
}

/**
 * CPU used by everything except the server (its `cpuMs`: on PostgreSQL, the database too) and this
 * bench process between two calls, as a percentage of one core: other work on the machine that
 * may have disturbed a measurement.
 */
export function otherCpuMeter(server: { cpuMs(): number }): () => number {
	const t0 = performance.now();
	const all0 = machineBusyMs();
	const server0 = server.cpuMs();
	const self0 = process.cpuUsage();
	return () => {
		const self = process.cpuUsage(self0);
		const other = machineBusyMs() - all0 - (server.cpuMs() - server0) - (self.user + self.system) / 1000;
		return Math.max(0, (other / (performance.now() - t0)) * 100);
	};
}

function childPids(pid: number): number[] {
	const out: number[] = [];
	let tasks: string[] = [];
	try {
		tasks = fs.readdirSync(`/proc/${pid}/task`);
	} catch {
		return out;
	}
	for (const tid of tasks) {
		try {
			const text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
			if (text) out.push(...text.split(/\s+/).map(Number));
		} catch {
			/* the task ended meanwhile */
		}
	}
	return out;
}

/** The process and all its descendants. */
function processTree(pid: number): number[] {
	const tree: number[] = [];
	for (const queue = [pid]; queue.length; ) {
		const p = queue.shift()!;
		tree.push(p);
		queue.push(...childPids(p));
	}
	return tree;
}

/** Resident set size of the process and all its descendants, in KiB. */
export function treeRssKb(pid: number): number {
	let total = 0;
	for (const p of processTree(pid)) {
		try {
			const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'));
			if (match) total += Number(match[1]);
		} catch {
			/* the process ended meanwhile */
		}
	}
	return total;
}

// ---------------------------------------------------------------------------------------------
// One server process

export interface Launch {
	args: string[];
	env: Record<string, string>;
	/** The port, once the process has printed it. */
	findPort(output: string): number | null;
}

class ServerProcess {
	private output = '';
	readonly exited: Promise<void>;

	private constructor(
		readonly child: ChildProcess,
		readonly port: number
	) {
		this.exited = new Promise((resolve) => {
			if (child.exitCode !== null || child.signalCode !== null) resolve();
			else child.once('exit', () => resolve());
		});
	}

	static async spawn(launch: Launch, timeoutMs = 30_000): Promise<ServerProcess> {
		// For diagnosis, e.g. BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
		const extra = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
		const child = spawn(process.execPath, [...extra, ...launch.args], {
			cwd: ROOT,
			env: { ...process.env, ...launch.env },
			stdio: ['ignore', 'pipe', 'pipe']
		});
		killAtExit(child);
		let output = '';
		const collect = (chunk: Buffer) => (output += chunk.toString());
		child.stdout!.on('data', collect);
		child.stderr!.on('data', collect);
		const port = await new Promise<number>((resolve, reject) => {
			const finish = (error: Error | null, port?: number) => {
				clearTimeout(timer);
				child.off('exit', onExit);
				child.stdout!.off('data', onStdout);
				if (error) reject(error);
				else resolve(port!);
			};
			const timer = setTimeout(() => {
				child.kill('SIGKILL');
				finish(new Error(`server did not start within ${timeoutMs} ms:\n${output}`));
			}, timeoutMs);
			const onExit = (code: number | null, signal: string | null) => finish(new Error(`server exited (${code ?? signal}) before listening:\n${output}`));
			const onStdout = () => {
				const port = launch.findPort(output);
				if (port !== null) finish(null, port);
			};
			child.once('exit', onExit);
			child.stdout!.on('data', onStdout);
		});
		child.stdout!.off('data', collect);
		child.stderr!.off('data', collect);
		const proc = new ServerProcess(child, port);
		proc.output = output;
		// Keep draining the pipes (a full pipe would block the server), keeping a short tail.
		const keep = (chunk: Buffer) => (proc.output = (proc.output + chunk.toString()).slice(-20_000));
		child.stdout!.on('data', keep);
		child.stderr!.on('data', keep);
		return proc;
	}

	get pid(): number {
		return this.child.pid!;
	}

	get alive(): boolean {
		return this.child.exitCode === null && this.child.signalCode === null;
	}

	tail(): string {
		return this.output;
	}

	/** SIGKILL, sent synchronously. */
	killNow(): void {
		if (this.alive) this.child.kill('SIGKILL');
	}

	/** SIGTERM (graceful: the server stores and closes), SIGKILL after `timeoutMs`. */
	async stop(timeoutMs = 15_000): Promise<void> {
		if (!this.alive) return;
		this.child.kill('SIGTERM');
		const timer = setTimeout(() => this.killNow(), timeoutMs);
		await this.exited;
		clearTimeout(timer);
	}
}

// ---------------------------------------------------------------------------------------------
// Server handles: what the scenarios use

/** Things the report should mention (e.g. a stale build). */
export const notes: string[] = [];

export type Who = { role: 'bot' | 'agent'; index: number };

export interface Ticket {
	docName: string;
	/** The customer the ticket's bot writes as. */
	requesterId: string;
}

export const BOTS = 20;
export const AGENTS = 10;

export abstract class ServerHandle {
	abstract readonly name: string;
	protected proc: ServerProcess | null = null;

	protected constructor(readonly dataDir: string) {}

	protected abstract launch(): Launch;
	protected abstract token(who: Who): string | null;
	/** A new ticket, as its channel would create it; not loaded in the server afterwards. */
	abstract createTicket(): Promise<Ticket>;

	get pid(): number {
		return this.process.pid;
	}

	get port(): number {
		return this.process.port;
	}

	get wsUrl(): string {
		return `ws://127.0.0.1:${this.port}${this.wsPath}`;
	}

	protected get wsPath(): string {
		return '';
	}

	get alive(): boolean {
		return !!this.proc?.alive;
	}

	private get process(): ServerProcess {
		if (!this.proc) throw new Error(`${this.name} is not running`);
		return this.proc;
	}

	/** Starts the process on the existing data (a fresh process; same data directory). */
	async start(): Promise<void> {
		if (this.proc?.alive) throw new Error(`${this.name} is already running`);
		this.proc = await ServerProcess.spawn(this.launch());
		process.stderr.write(`[bench] ${this.name} started: pid ${this.proc.pid}, port ${this.proc.port}\n`);
	}

	/** Graceful stop (SIGTERM), then a fresh process on the same data. */
	async restart(): Promise<void> {
		await this.stop();
		await this.start();
	}

	/** SIGKILL now, synchronously: for killing at an exact moment. */
	killNow(): void {
		this.process.killNow();
	}

	async waitExit(): Promise<void> {
		await this.proc?.exited;
	}

	async stop(): Promise<void> {
		await this.proc?.stop();
	}

	cpuMs(): number {
		return cpuMs(this.pid);
	}

	/** CPU time of a database in processes of its own so far (ms; part of cpuMs), or null without one. */
	databaseCpuMs(): number | null {
		return null;
	}

	rssKb(): number {
		return treeRssKb(this.pid);
	}

	tail(): string {
		return this.proc?.tail() ?? '';
	}

	/** Where and with which token `who` connects (for clients in other threads). */
	endpoint(who: Who): { wsUrl: string; token: string | null } {
		return { wsUrl: this.wsUrl, token: this.token(who) };
	}

	/** A provider on `docName` as `who`, synced and with nothing unacknowledged. */
	connect(docName: string, who: Who, options: PeerOptions = {}): Promise<Peer> {
		return Peer.open(this.wsUrl, docName, this.token(who), options);
	}

	/** Removes the data directory (the process must be stopped). */
	async cleanup(): Promise<void> {
		fs.rmSync(this.dataDir, { recursive: true, force: true });
		dataDirs.delete(this.dataDir);
	}
}

/**
 * What the load scenarios (load.ts) drive: one server, or the nodes of a cluster with each client
 * placed on one of them (cluster.ts). CPU time is the whole server side's: every process doing
 * the work of an entry.
 */
export type LoadTarget = Pick<ServerHandle, 'createTicket' | 'connect' | 'endpoint' | 'cpuMs' | 'databaseCpuMs' | 'rssKb'> & {
	/** CPU time so far of each part of the server side (a cluster's nodes, database, Redis), ms. */
	cpuParts?(): Record<string, number>;
};

let customerCount = 0;

/**
 * Tandem: `server/index.ts` with its own data directory, bots and agents prepared beforehand; on
 * the SQLite file in the directory, or on the PostgreSQL database `databaseUrl`.
 */
export class TandemServer extends ServerHandle {
	readonly name: string = 'Tandem';

	protected constructor(
		dataDir: string,
		private readonly fixture: Fixture,
		readonly databaseUrl: string | null
	) {
		super(dataDir);
	}

	static async create(): Promise<TandemServer> {
		const { dataDir, fixture } = await TandemServer.prepare(null);
		return new TandemServer(dataDir, fixture, null);
	}

	/** Builds the web app if its sources changed, and prepares a data directory and database. */
	protected static async prepare(databaseUrl: string | null): Promise<{ dataDir: string; fixture: Fixture }> {
		// Its output goes to stderr: stdout is for the table.
		const built = spawnSync(process.execPath, ['scripts/build-if-needed.js'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
		if (built.status !== 0) {
			// The realtime path does not depend on the web app; an earlier build still serves the API.
			if (!fs.existsSync(path.join(ROOT, 'build', 'handler.js')) || !fs.existsSync(bundled('server'))) throw new Error('building the web app or the server failed, and there is no earlier build');
			notes.push('the web app or the server did not build from the current sources; the earlier build in build/ was used');
			process.stderr.write(`[bench] WARNING: ${notes[notes.length - 1]}\n`);
		}
		const dataDir = tempDir('tandem-bench-');
		const users = Object.fromEntries(Array.from({ length: AGENTS }, (_, i) => [`agent${i}`, { role: 'agent' as const }]));
		const bots = Object.fromEntries(Array.from({ length: BOTS }, (_, i) => [`bot${i}`, ['chat']]));
		const fixture = await prepare(dataDir, { users, bots }, { databaseUrl });
		return { dataDir, fixture };
	}

	protected launch(): Launch {
		return {
			args: [bundled('server')],
			env: {
				PORT: '0',
				HOST: '127.0.0.1',
				DATA_DIR: this.dataDir,
				SEED: '0',
				LOG_LEVEL: 'warn',
				SMTP_PORT: '0',
				// Empty means unset: the SQLite server stays on its file whatever the shell exports.
				DATABASE_URL: this.databaseUrl ?? ''
			},
			// At LOG_LEVEL=warn the JSON 'listening' line is not printed; the banner always is.
			findPort: (output) => {
				const match = /running at http:\/\/127\.0\.0\.1:(\d+)/.exec(output) ?? /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(output);
				return match ? Number(match[1]) : null;
			}
		};
	}

	protected override get wsPath(): string {
		return '/collab';
	}

	protected token(who: Who): string {
		return who.role === 'bot'
			? this.fixture.tokens[`bot${who.index % BOTS}`].token
			: this.fixture.users[`agent${who.index % AGENTS}`].token;
	}

	get url(): string {
		return `http://127.0.0.1:${this.port}`;
	}

	/** A session token of one of the prepared agents, for a browser's cookie. */
	agentSessionToken(index: number): string {
		return this.token({ role: 'agent', index });
	}

	/** The id of the ticket's newest entry in display order (over the HTTP API). */
	async newestEntryId(ticketId: string): Promise<string> {
		const response = await fetch(`${this.url}/api/v1/tickets/${ticketId}`, {
			headers: { authorization: `Bearer ${this.token({ role: 'bot', index: 0 })}` },
			signal: AbortSignal.timeout(30_000)
		});
		const body = (await response.json()) as { entries: { id: string }[] };
		return body.entries[body.entries.length - 1].id;
	}

	async createTicket(): Promise<Ticket> {
		const n = ++customerCount;
		const response = await fetch(`http://127.0.0.1:${this.port}/api/v1/tickets`, {
			method: 'POST',
			headers: { authorization: `Bearer ${this.token({ role: 'bot', index: 0 })}`, 'content-type': 'application/json' },
			body: JSON.stringify({ subject: `Parcel ${n}`, requester: { email: `customer${n}@bench.test` }, channel: 'chat', body: BODY }),
			signal: AbortSignal.timeout(30_000)
		});
		const body = (await response.json()) as { id: string; requesterId: string };
		if (response.status !== 201) throw new Error(`POST /api/v1/tickets answered ${response.status}: ${JSON.stringify(body)}`);
		return { docName: ticketDocumentName(body.id), requesterId: body.requesterId };
	}
}

/** PostgreSQL clusters the bench started, destroyed when it ends (destroyClusters). */
const clusters = new Set<Postgres>();

/** Stops and removes every PostgreSQL cluster the bench started. */
export async function destroyClusters(): Promise<void> {
	for (const cluster of clusters) {
		clusters.delete(cluster);
		await cluster.destroy();
	}
}

/** A private PostgreSQL cluster of the bench's and the fresh database Tandem runs on. */
export interface BenchPostgres {
	cluster: Postgres;
	databaseUrl: string;
	/** CPU time of the cluster's processes so far (the postmaster's tree), in ms. */
	cpuMs(): number;
}

/** Starts a private PostgreSQL cluster (tests/helpers/postgres.ts), destroyed when the bench ends, with a fresh database. */
export async function startBenchPostgres(): Promise<BenchPostgres> {
	const cluster = await startPostgres();
	clusters.add(cluster);
	const databaseUrl = await cluster.createDatabase('bench');
	const client = new pg.Client({ connectionString: databaseUrl });
	await client.connect();
	try {
		const { rows } = await client.query<{ setting: string }>(`SELECT setting FROM pg_settings WHERE name = 'data_directory'`);
		const dataDirectory = rows[0]!.setting;
		process.stderr.write(`[bench] PostgreSQL ${(await client.query('SHOW server_version')).rows[0].server_version} on port ${cluster.port}, data in ${dataDirectory}\n`);
		// postmaster.pid names the cluster's root process (a restarted cluster has a new one).
		const postmaster = () => Number(fs.readFileSync(path.join(dataDirectory, 'postmaster.pid'), 'utf8').split('\n')[0]);
		return { cluster, databaseUrl, cpuMs: () => treeCpuMs(postmaster()) };
	} finally {
		await client.end();
	}
}

/** Stops and removes a cluster startBenchPostgres started. */
export async function destroyBenchPostgres(database: BenchPostgres): Promise<void> {
	clusters.delete(database.cluster);
	await database.cluster.destroy();
}

/**
 * Tandem on PostgreSQL: the same server with DATABASE_URL on a fresh database of a private
 * cluster (startBenchPostgres), which the durability scenario crashes and starts again.
 * Its CPU time is the server's and the database's together: both do the work of an entry.
 */
export class PostgresTandemServer extends TandemServer {
	override readonly name = 'Tandem on PostgreSQL';

	private constructor(
		dataDir: string,
		fixture: Fixture,
		private readonly database: BenchPostgres
	) {
		super(dataDir, fixture, database.databaseUrl);
	}

	static override async create(): Promise<PostgresTandemServer> {
		const database = await startBenchPostgres();
		const { dataDir, fixture } = await TandemServer.prepare(database.databaseUrl);
		return new PostgresTandemServer(dataDir, fixture, database);
	}

	override databaseCpuMs(): number {
		return this.database.cpuMs();
	}

	override cpuMs(): number {
		return super.cpuMs() + this.databaseCpuMs();
	}

	/** `pg_ctl stop -m immediate`: the database crashes under the running server. */
	crashDatabase(): Promise<void> {
		return this.database.cluster.stop('immediate');
	}

	/** Starts the crashed database again (crash recovery), on the same port. */
	startDatabase(): Promise<void> {
		return this.database.cluster.start();
	}

	override async cleanup(): Promise<void> {
		await super.cleanup();
		await destroyBenchPostgres(this.database);
	}
}

/** The reference: bare Hocuspocus + the SQLite extension (bench/reference-server.ts). */
export class ReferenceServer extends ServerHandle {
	readonly name = 'reference';

	private constructor(dataDir: string) {
		super(dataDir);
	}

	static async create(): Promise<ReferenceServer> {
		return new ReferenceServer(tempDir('reference-bench-'));
	}

	protected launch(): Launch {
		return {
			args: ['--import', 'tsx', 'bench/reference-server.ts', path.join(this.dataDir, 'reference.sqlite')],
			env: {},
			findPort: (output) => {
				const match = /"port":(\d+)/.exec(output);
				return match ? Number(match[1]) : null;
			}
		};
	}

	protected token(): null {
		return null;
	}

	/** The same document Tandem's ticket creation writes (fields + first message), by a client. */
	async createTicket(): Promise<Ticket> {
		const n = ++customerCount;
		const ticket = { docName: ticketDocumentName(newId()), requesterId: newId() };
		const peer = await this.connect(ticket.docName, { role: 'bot', index: 0 });
		try {
			const now = Date.now();
			// One update, like Tandem's own ticket creation: the fields and the first message.
			peer.doc.transact(() => {
				initTicket(peer.doc, {
					subject: `Parcel ${n}`,
					status: 'new',
					priority: 'normal',
					assigneeId: null,
					groupId: null,
					requesterId: ticket.requesterId,
					channel: 'chat',
					createdAt: now,
					tags: []
				});
				appendEntry(peer.doc, makeEntry(ticket.requesterId, BODY));
			});
			await peer.acknowledged();
		} finally {
			peer.destroy();
		}
		return ticket;
	}
}
