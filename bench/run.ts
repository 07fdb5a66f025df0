/**
 * `npm run bench [-- --quick]`: Tandem on SQLite, Tandem on PostgreSQL (a private cluster the
 * bench starts) and bare Hocuspocus + its SQLite extension, the same scenarios in the same run
 * (all server processes up, each scenario run on one after the other, only one under load at a
 * time). Prints one table on stdout (progress goes to stderr) and writes it as JSON to
 * bench/results/. Exits non-zero only when the bench itself fails (a scenario threw), never
 * because a target is missed.
 *
 * Then the cluster scenarios (cluster.ts): two Tandem nodes on a PostgreSQL and a Redis of their
 * own, run after the servers above have stopped, in a table of their own.
 *
 * Options for diagnosis: --only=capacity,fanout,rss,coldOpen,durability,connections,firstPaint,routing,search,cluster
 * (`--only=cluster`: the cluster scenarios alone, no other server started)
 * --servers=tandem,postgres,reference (any of them; the cluster runs unless --only leaves it out)
 * --rounds=N (cold open)  --agent-threads=N (scenarios 6 and C2), and
 * BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the server processes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
	capacity,
	coldOpen,
	crashDatabaseMidStream,
	fanout,
	killAfterAcks,
	killMidStream,
	manyConnections,
	progress,
	rssPerTicket,
	setRetryDeadline,
	type CapacityResult,
	type ColdOpenResult,
	type ConnectionsResult,
	type DatabaseCrashRound,
	type DurabilityRound,
	type LatencyResult,
	type RssResult
} from './load';
import { execFileSync } from 'node:child_process';
import { firstPaint, type FirstPaintResult } from './first-paint';
import { routingLatency, type RoutingResult } from './routing';
import { searchBench, type SearchBenchResult } from './search';
import { runCluster, type ClusterPlan, type ClusterResults } from './cluster';
import { clusterRows, renderClusterTable } from './cluster-table';
import { fmt, renderColumns, type Status } from './table';
import { destroyClusters, killAllChildren, notes, PostgresTandemServer, ReferenceServer, ROOT, TandemServer, type ServerHandle } from './servers';

const QUICK = process.argv.includes('--quick');
/** The servers a run can measure, by their name in `--servers=`. */
const SERVER_KINDS = { tandem: TandemServer, postgres: PostgresTandemServer, reference: ReferenceServer };
type ServerKind = keyof typeof SERVER_KINDS;

/** For diagnosis: `--only=capacity,coldOpen` runs a subset, `--servers=tandem` one server. */
const option = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]?.split(',');
const ONLY = option('only');
const SERVERS = option('servers') ?? Object.keys(SERVER_KINDS);
/** The cluster group runs in a full run and when --only names it; the servers when --only names any of their scenarios. */
const RUNS_CLUSTER = !ONLY || ONLY.includes('cluster');
const RUNS_SERVERS = !ONLY || ONLY.some((key) => key !== 'cluster');

/** Everything the scenarios are told. --quick: shorter windows, and scenario 6 at a tenth of its size. */
/** Worker threads hosting scenario 6's agents (`--agent-threads=0`: all in the main thread). */
const AGENT_THREADS = Number(option('agent-threads')?.[0] ?? (QUICK ? 0 : 2));
const ATTEMPTS = QUICK ? 1 : 3; // measurements, when other processes disturb one (see leastDisturbed)
const PLAN = {
	capacity: { tickets: 20, window: 8, warmupMs: QUICK ? 1000 : 2000, measureMs: QUICK ? 2000 : 10_000, attempts: ATTEMPTS },
	fanout: { tickets: 20, agentsPerTicket: 2, rate: 200, durationMs: QUICK ? 2500 : 10_000, attempts: ATTEMPTS },
	rss: { tickets: 20, entries: 1050, agentsPerTicket: 2, settleMs: QUICK ? 500 : 1000 },
	coldOpen: { entries: 10_000, rounds: Number(option('rounds')?.[0] ?? (QUICK ? 1 : 3)) },
	firstPaint: { entries: 10_000, rounds: QUICK ? 1 : 3 },
	// In-process and a few seconds: the same scale in --quick.
	routing: { agents: 100, items: 1000 },
	// Generated into a database of its own: 100,000 tickets and 1,000,000 entries (a tenth in --quick).
	search: { tickets: QUICK ? 10_000 : 100_000, entriesPerTicket: 10, queryRounds: QUICK ? 2 : 5, lagSeconds: QUICK ? 3 : 10 },
	durability: { entries: 1000, window: 8, streamRate: 200, killAfterMs: QUICK ? 1000 : 2500, databaseDownMs: QUICK ? 1000 : 2000 },
	connections: QUICK
		? { tickets: 50, agentsPerTicket: 10, connectRate: 500, botSockets: 5, rate: 50, durationMs: 3000, attempts: ATTEMPTS, agentThreads: AGENT_THREADS }
		: // 15 s: every agent's awareness renewal (each 15 s, y-protocols) falls inside the window.
			{ tickets: 500, agentsPerTicket: 10, connectRate: 500, botSockets: 20, rate: 500, durationMs: 15_000, attempts: 2, agentThreads: AGENT_THREADS }
};
/** The cluster scenarios: capacity and fan-out as above; scenario 6 at twice the connections; a failover. */
const CLUSTER_PLAN: ClusterPlan = {
	capacity: PLAN.capacity,
	fanout: PLAN.fanout,
	// Opened at half scenario 6's pace, for at most twice the time that takes: what a node refuses
	// or does not open by then is counted, and the rest measured.
	connections: (() => {
		const c = { ...PLAN.connections, tickets: PLAN.connections.tickets * 2, connectRate: PLAN.connections.connectRate / 2, attempts: 1 };
		return { ...c, openWithinMs: ((2 * c.tickets * c.agentsPerTicket) / c.connectRate) * 1000 };
	})(),
	failover: QUICK ? { tickets: 10, agentsPerTicket: 2, rate: 50, killAfterMs: 1000, afterMs: 2000 } : { tickets: 20, agentsPerTicket: 4, rate: 100, killAfterMs: 3000, afterMs: 4000 }
};

interface ServerResults {
	capacity?: CapacityResult;
	fanout?: LatencyResult;
	rss?: RssResult;
	coldOpen?: ColdOpenResult;
	durability?: DurabilityRound[];
	connections?: ConnectionsResult;
	firstPaint?: FirstPaintResult;
	routing?: RoutingResult;
	search?: SearchBenchResult;
	seconds?: number;
	errors: Record<string, string>;
}

// ---------------------------------------------------------------------------------------------
// Running

async function step<K extends keyof Omit<ServerResults, 'errors' | 'seconds'>>(
	server: ServerHandle,
	results: ServerResults,
	key: K,
	run: () => Promise<NonNullable<ServerResults[K]>>
): Promise<void> {
	if (ONLY && !ONLY.includes(key)) return;
	const t0 = performance.now();
	progress(`${server.name}: ${key}…`);
	try {
		results[key] = await run();
		progress(`${server.name}: ${key} done in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(results[key])}`);
	} catch (error) {
		results.errors[key] = (error as Error).message;
		progress(`${server.name}: ${key} FAILED: ${(error as Error).stack}\n--- server output (tail) ---\n${server.tail().slice(-3000)}`);
		if (!server.alive) await server.start();
	} finally {
		results.seconds = (results.seconds ?? 0) + (performance.now() - t0) / 1000;
	}
}

/**
 * The servers run side by side (the idle ones use no CPU to speak of) and each scenario runs on
 * one, then at once on the next, so that slow drifts in the machine's load hit all alike.
 */
async function runAll(servers: Map<ServerKind, ServerHandle>): Promise<Map<ServerHandle, ServerResults>> {
	const results = new Map([...servers.values()].map((s) => [s, { errors: {} } as ServerResults]));
	const d = PLAN.durability;
	const scenarios: { [K in keyof Omit<ServerResults, 'errors' | 'seconds'>]: (s: ServerHandle) => Promise<NonNullable<ServerResults[K]>> } = {
		capacity: (s) => capacity(s, PLAN.capacity),
		fanout: (s) => fanout(s, PLAN.fanout),
		rss: (s) => rssPerTicket(s, PLAN.rss),
		coldOpen: (s) => coldOpen(s, PLAN.coldOpen),
		durability: async (s) => [
			await killAfterAcks(s, { entries: d.entries, window: d.window, killDelayMs: 0 }),
			await killAfterAcks(s, { entries: d.entries, window: d.window, killDelayMs: 100 }),
			await killMidStream(s, { rate: d.streamRate, killAfterMs: d.killAfterMs }),
			...(s instanceof PostgresTandemServer ? [await crashDatabaseMidStream(s, { rate: d.streamRate, crashAfterMs: d.killAfterMs, downMs: d.databaseDownMs })] : [])
		],
		// (The durability rounds leave a freshly started process behind.)
		connections: (s) => manyConnections(s, PLAN.connections),
		firstPaint: (s) => firstPaint(s as TandemServer, PLAN.firstPaint),
		routing: () => routingLatency(PLAN.routing),
		search: (s) => searchBench({ ...PLAN.search, databaseUrl: (s as TandemServer).databaseUrl })
	};
	/**
	 * Scenarios only some servers run: the reference has no user interface, and routing runs in
	 * this process on a SQLite file of its own (its column is Tandem on SQLite's).
	 */
	const runsOn: Partial<Record<keyof typeof scenarios, (s: ServerHandle) => boolean>> = {
		firstPaint: (s) => s instanceof TandemServer,
		routing: (s) => s === servers.get('tandem'),
		// In-process, on the SQLite file or PostgreSQL cluster of the server it stands for.
		search: (s) => s instanceof TandemServer
	};
	try {
		await Promise.all([...servers.values()].map((server) => server.start()));
		for (const [key, run] of Object.entries(scenarios) as [keyof typeof scenarios, (s: ServerHandle) => Promise<never>][]) {
			for (const server of servers.values()) {
				if (runsOn[key] && !runsOn[key](server)) continue;
				await step(server, results.get(server)!, key, () => run(server));
			}
		}
	} finally {
		for (const server of servers.values()) {
			await server.stop();
			await server.cleanup();
		}
	}
	return results;
}

// ---------------------------------------------------------------------------------------------
// The table


/** One metric on the three servers: Tandem on SQLite against the reference, PostgreSQL against SQLite. */
interface Row {
	metric: string;
	tandem: number | null;
	postgres: number | null;
	reference: number | null;
	/** Tandem on SQLite / reference. */
	ratio: number | null;
	target: string;
	status: Status;
	/** Tandem on PostgreSQL / Tandem on SQLite. */
	postgresRatio: number | null;
	postgresTarget: string;
	postgresStatus: Status;
}

/** Judges a value against its comparison (`base`) and their ratio. */
type Judge = (value: number, base: number, ratio: number) => boolean;
interface Target {
	target: string;
	judge: Judge;
}
const target = (text: string, judge: Judge): Target => ({ target: text, judge });

function compare(value: number | null, base: number | null, goal?: Target): { ratio: number | null; status: Status } {
	const ratio = value !== null && base !== null && base !== 0 ? value / base : null;
	if (!goal) return { ratio, status: '' };
	// A judge that reads only the value needs no comparison.
	if (value === null || (base === null && goal.judge.length > 1)) return { ratio, status: 'no data' };
	return { ratio, status: goal.judge(value, base ?? NaN, ratio ?? NaN) ? 'met' : 'MISSED' };
}

/** `values`: Tandem on SQLite, Tandem on PostgreSQL, the reference. */
function row(metric: string, values: (number | undefined)[], sqliteGoal?: Target, postgresGoal?: Target): Row {
	const [tandem, postgres, reference] = values.map((v) => v ?? null);
	const sqlite = compare(tandem, reference, sqliteGoal);
	const pg = compare(postgres, tandem, postgresGoal);
	return {
		metric,
		tandem,
		postgres,
		reference,
		ratio: sqlite.ratio,
		target: sqliteGoal?.target ?? '',
		status: sqlite.status,
		postgresRatio: pg.ratio,
		postgresTarget: postgresGoal?.target ?? '',
		postgresStatus: pg.status
	};
}

function buildRows(t: ServerResults, p: ServerResults, r: ServerResults): Row[] {
	/** A metric's values on the three servers. */
	const of = (metric: (s: ServerResults) => number | undefined) => [metric(t), metric(p), metric(r)];
	const pct = (d?: DurabilityRound) => (d ? (d.acked ? (100 * d.survived) / d.acked : NaN) : undefined);
	const duplicated = (s: ServerResults) => s.durability?.reduce((sum, d) => sum + d.duplicated, 0);
	const databaseCrash = p.durability?.[3] as DatabaseCrashRound | undefined;
	const conns = PLAN.connections.tickets * PLAN.connections.agentsPerTicket;
	const keptAll = target('100%', (a) => a === 100);
	const rows: Row[] = [
		row('(1) server CPU per accepted entry, ms (PostgreSQL: server + database)', of((s) => s.capacity?.serverCpuMsPerEntry), target('ratio <= 1.0', (_a, _b, x) => x <= 1.0)),
		row(
			`(1) capacity, acked entries/s (20 bots, ${PLAN.capacity.window} in flight each)`,
			of((s) => s.capacity?.entriesPerSec),
			target('ratio >= 1.0', (_a, _b, x) => x >= 1.0),
			target('PG/SQLite >= 0.5', (_a, _b, x) => x >= 0.5)
		),
		row('    server CPU during capacity, % of a core', of((s) => s.capacity?.serverCpuPct)),
		row('    of which the database processes, % of a core', of((s) => s.capacity?.databaseCpuPct ?? undefined)),
		row('    load generator CPU during capacity, % of a core', of((s) => s.capacity?.loadGenCpuPct)),
		row('    messages to the writing bot per entry', of((s) => s.capacity?.messagesPerEntry)),
		row('    other processes on the machine during capacity, % of a core', of((s) => s.capacity?.otherCpuPct)),
		row('(2) fan-out p50 @200/s, 2 agents/ticket, ms', of((s) => s.fanout?.p50)),
		row('(2) fan-out p95, ms', of((s) => s.fanout?.p95)),
		row('(2) fan-out p99, ms', of((s) => s.fanout?.p99), target('ratio <= 1.0 or Tandem < 5 ms', (a, _b, x) => x <= 1.0 || a < 5)),
		row('    deliveries seen / expected, %', of((s) => pct2(s.fanout))),
		row('    bot append → acknowledgement p99 @200/s, ms', of((s) => s.fanout?.ackP99), undefined, target('< 10 ms', (a) => a < 10)),
		row('    server CPU per entry at 200/s incl. fan-out, ms', of((s) => cpuPerEntry(s.fanout))),
		row('    other processes on the machine during fan-out, % of a core', of((s) => s.fanout?.otherCpuPct)),
		row('(3) RSS per open ticket (1,050 entries, bot + 2 agents), KiB', of((s) => s.rss?.perTicketKb), target('ratio <= 1.0', (_a, _b, x) => x <= 1.0)),
		row('(4) cold open 10,000 entries: to synced, ms', of((s) => s.coldOpen?.syncedMs), target('ratio <= 0.5', (_a, _b, x) => x <= 0.5)),
		row('(4) cold open 10,000 entries: to synced with 10,000 entries, ms', of((s) => s.coldOpen?.fullMs), target('ratio <= 0.5', (_a, _b, x) => x <= 0.5)),
		...[0, 1, 2].map((i) =>
			row(
				`(5) durability: ${t.durability?.[i]?.name ?? p.durability?.[i]?.name ?? r.durability?.[i]?.name ?? `round ${i + 1}`}, acked kept %`,
				of((s) => pct(s.durability?.[i])),
				target('Tandem 100%', (a) => a === 100),
				keptAll
			)
		),
		row(`(5) durability: ${databaseCrash?.name ?? 'database crash mid-stream'}, acked kept %`, [undefined, pct(databaseCrash), undefined], undefined, keptAll),
		row('    entries acknowledged before the crash', [undefined, databaseCrash?.ackedBeforeCrash, undefined]),
		row('    entries acknowledged after the database was back, to a reconnected writer', [undefined, databaseCrash?.ackedAfterRestart, undefined]),
		row('(5) durability: entries stored twice, all rounds', of(duplicated), target('Tandem 0', (a) => a === 0), target('0', (a) => a === 0)),
		row(`(6) ${conns} connections/${PLAN.connections.tickets} tickets @${PLAN.connections.rate}/s: fan-out p50, ms`, of((s) => s.connections?.p50)),
		row(`(6) ${conns} connections: fan-out p99, ms`, of((s) => s.connections?.p99), target('Tandem p99 < 50 ms', (a) => a < 50)),
		row('(7) first paint, 10,000-entry ticket in Chromium: newest entry visible, ms', of((s) => s.firstPaint?.median), target('Tandem < 300 ms', (a) => a < 300)),
		row('    deliveries seen / expected, %', of((s) => pct2(s.connections))),
		row('    worker threads hosting the agents', of((s) => s.connections?.agentThreads)),
		row(`    time to open ${conns} connections, s`, of((s) => s.connections?.connectSeconds)),
		row('    server RSS with all connections open, MiB', of((s) => mib(s.connections?.serverRssKb))),
		row('    load generator CPU during the stream, % of a core', of((s) => s.connections?.loadGenCpuPct)),
		row('    load generator event-loop delay p99, ms', of((s) => s.connections?.loadGenLoopDelayP99)),
		row('    other processes on the machine during the stream, % of a core', of((s) => s.connections?.otherCpuPct)),
		row(`(8) routing decision, ${PLAN.routing.agents} agents, ${PLAN.routing.items} items: p99, ms`, of((s) => s.routing?.p99)),
		row('    routing decision p50, ms', of((s) => s.routing?.p50)),
		row('    routing decisions measured', of((s) => s.routing?.decisions)),
		row('    routing offers made', of((s) => s.routing?.offers)),
		row(`(9) search ${fmt(PLAN.search.tickets)} tickets, ${fmt(PLAN.search.tickets * PLAN.search.entriesPerTicket)} entries: words p95, ms`, of((s) => s.search?.queries.words.p95), target('< 100 ms', (a) => a < 100), target('< 100 ms', (a) => a < 100)),
		row('(9) search: phrases p95, ms', of((s) => s.search?.queries.phrases.p95), target('< 100 ms', (a) => a < 100), target('< 100 ms', (a) => a < 100)),
		row('(9) search: operator mixes p95, ms', of((s) => s.search?.queries.operators.p95), target('< 100 ms', (a) => a < 100), target('< 100 ms', (a) => a < 100)),
		row('    search: words p50 / max, ms', of((s) => s.search?.queries.words.p50)),
		row('    search: slowest query, ms', of((s) => s.search && Math.max(s.search.queries.words.max, s.search.queries.phrases.max, s.search.queries.operators.max))),
		row('(9) search index lag @200 entries/s: p99, ms', of((s) => s.search?.lag.p99), target('< 1000 ms', (a) => a < 1000), target('< 1000 ms', (a) => a < 1000)),
		row('    search index lag p50, ms', of((s) => s.search?.lag.p50)),
		row('    search: generating the tickets and entries, s', of((s) => s.search?.generateSeconds))
	];
	return rows;
}

const cpuPerEntry = (l?: LatencyResult) => (l ? (l.serverCpuPct * 10) / PLAN.fanout.rate : undefined);
const pct2 = (l?: LatencyResult) => (l ? (100 * l.n) / Math.max(1, l.expected) : undefined);
const mib = (kb?: number) => (kb === undefined ? undefined : kb / 1024);

function renderTable(rows: Row[]): string {
	const header = ['metric', 'Tandem', 'Tandem PG', 'reference', 'ratio', 'target', 'status', 'PG/SQLite', 'PG target', 'PG status'];
	const numeric = new Set([1, 2, 3, 4, 7]);
	const ratio = (x: number | null) => (x === null ? '—' : x.toFixed(2));
	const cells = rows.map((r) => [
		r.metric,
		fmt(r.tandem),
		fmt(r.postgres),
		fmt(r.reference),
		ratio(r.ratio),
		r.target,
		r.status,
		ratio(r.postgresRatio),
		r.postgresTarget,
		r.postgresStatus
	]);
	return renderColumns(header, cells, numeric);
}

// ---------------------------------------------------------------------------------------------

/** Which code was measured: the commit and the files changed in the working tree. */
function sources() {
	const git = (...args: string[]) => {
		try {
			return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
		} catch {
			return '';
		}
	};
	return { commit: git('rev-parse', 'HEAD'), changed: git('status', '--porcelain', '--untracked-files=no').split('\n').filter(Boolean) };
}

function machine() {
	const cpus = os.cpus();
	return {
		cpuModel: cpus[0]?.model ?? 'unknown',
		cores: cpus.length,
		memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
		node: process.version,
		platform: `${os.platform()} ${os.release()}`,
		loadAverage1m: Math.round(os.loadavg()[0] * 100) / 100
	};
}

/** The cluster group, after the servers have stopped; a cluster that did not start is a scenario error. */
async function clusterGroup(): Promise<ClusterResults> {
	// Its own allowance of repeated measurements, whatever the servers used.
	setRetryDeadline(performance.now() + (QUICK ? 30_000 : 120_000));
	try {
		return await runCluster(CLUSTER_PLAN);
	} catch (error) {
		progress(`cluster: FAILED to start: ${(error as Error).stack}`);
		return { errors: { start: (error as Error).message } };
	}
}

async function main(): Promise<number> {
	const started = new Date();
	const t0 = performance.now();
	// Measuring again after a disturbance must not push the run past its time limit.
	setRetryDeadline(performance.now() + (QUICK ? 30_000 : 200_000));
	const atStart = machine();
	progress(`${QUICK ? 'quick' : 'full'} run on ${JSON.stringify(atStart)}`);
	const servers = new Map<ServerKind, ServerHandle>();
	if (RUNS_SERVERS) {
		for (const kind of Object.keys(SERVER_KINDS) as ServerKind[]) {
			if (SERVERS.includes(kind)) servers.set(kind, await SERVER_KINDS[kind].create());
		}
	}
	const results = await runAll(servers);
	const of = (kind: ServerKind): ServerResults => results.get(servers.get(kind)!) ?? { errors: {} };
	const [tandem, postgres, reference] = [of('tandem'), of('postgres'), of('reference')];
	const rows = RUNS_SERVERS ? buildRows(tandem, postgres, reference) : [];
	const cluster = RUNS_CLUSTER ? await clusterGroup() : null;
	const clusterTableRows = cluster ? clusterRows(cluster, CLUSTER_PLAN) : [];
	const seconds = (performance.now() - t0) / 1000;

	const table = RUNS_SERVERS ? renderTable(rows) : '';
	if (table) console.log(table);
	const clusterTable = cluster ? renderClusterTable(clusterTableRows) : '';
	if (clusterTable) console.log(`${table ? '\n' : ''}The cluster: 2 nodes on one PostgreSQL and one Redis\n\n${clusterTable}`);
	const errors = { tandem: tandem.errors, postgres: postgres.errors, reference: reference.errors, cluster: cluster?.errors ?? {} };
	const failed = Object.values(errors).some((e) => Object.keys(e).length > 0);
	if (failed) console.log(`\nscenario errors: ${JSON.stringify(errors)}`);
	for (const note of notes) console.log(`note: ${note}`);
	const took = (r?: { seconds?: number }) => r?.seconds?.toFixed(1) ?? '—';
	console.log(
		`\n${QUICK ? 'quick' : 'full'} run: ${seconds.toFixed(1)} s (Tandem ${took(tandem)} s, Tandem on PostgreSQL ${took(postgres)} s, reference ${took(reference)} s, cluster ${took(cluster ?? undefined)} s)`
	);

	const dir = path.join(ROOT, 'bench', 'results');
	fs.mkdirSync(dir, { recursive: true });
	const report = {
		startedAt: started.toISOString(),
		mode: QUICK ? 'quick' : 'full',
		seconds,
		machine: { ...atStart, loadAverage1mAtEnd: machine().loadAverage1m },
		sources: sources(),
		notes,
		plan: PLAN,
		rows,
		table,
		results: { tandem, postgres, reference },
		cluster: cluster && { plan: CLUSTER_PLAN, rows: clusterTableRows, table: clusterTable, results: cluster }
	};
	const json = JSON.stringify(report, null, 2) + '\n';
	// A diagnostic run of a subset is kept apart and never becomes latest.json.
	const partial = ONLY !== undefined || Object.keys(SERVER_KINDS).some((kind) => !SERVERS.includes(kind));
	const file = path.join(dir, `${started.toISOString().replace(/:/g, '-')}${partial ? '-partial' : ''}.json`);
	fs.writeFileSync(file, json);
	if (!partial) fs.writeFileSync(path.join(dir, 'latest.json'), json);
	progress(`wrote ${path.relative(ROOT, file)}${partial ? '' : ' and bench/results/latest.json'}`);
	return failed ? 1 : 0;
}

const bail = (code: number) => {
	killAllChildren();
	// The PostgreSQL clusters are daemons, not children: stopped through pg_ctl.
	void destroyClusters()
		.catch((error) => console.error('bench: could not stop a PostgreSQL cluster:', error))
		.finally(() => process.exit(code));
};
process.on('SIGINT', () => bail(130));
process.on('SIGTERM', () => bail(143));
process.on('uncaughtException', (error) => {
	console.error('bench crashed:', error);
	bail(1);
});
process.on('unhandledRejection', (error) => {
	console.error('bench crashed (unhandled rejection):', error);
	bail(1);
});
// Every wait is bounded; this is the last resort (three servers, PostgreSQL's slow on a busy machine).
setTimeout(
	() => {
		console.error('bench: overall time limit exceeded');
		bail(1);
	},
	(QUICK ? 20 : 40) * 60_000
).unref();

main().then(bail, (error) => {
	console.error('bench crashed:', error);
	bail(1);
});
