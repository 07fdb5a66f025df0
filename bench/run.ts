/**
 * `npm run bench [-- --quick]`: Tandem against bare Hocuspocus + its SQLite extension, the same
 * scenarios in the same run (both server processes up, each scenario run on one and then on the
 * other, only one under load at a time). Prints one table on stdout (progress goes to stderr) and
 * writes it as JSON to bench/results/. Exits non-zero only when the bench itself fails (a
 * scenario threw), never because a target is missed.
 *
 * Options for diagnosis: --only=capacity,fanout,rss,coldOpen,durability,connections,firstPaint,routing
 * --servers=tandem|reference  --rounds=N (cold open)  --agent-threads=N (scenario 6), and
 * BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the server processes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
	capacity,
	coldOpen,
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
	type DurabilityRound,
	type LatencyResult,
	type RssResult
} from './load';
import { execFileSync } from 'node:child_process';
import { firstPaint, type FirstPaintResult } from './first-paint';
import { routingLatency, type RoutingResult } from './routing';
import { killAllChildren, notes, ReferenceServer, ROOT, TandemServer, type ServerHandle } from './servers';

const QUICK = process.argv.includes('--quick');
/** For diagnosis: `--only=capacity,coldOpen` runs a subset, `--servers=tandem` one server. */
const option = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]?.split(',');
const ONLY = option('only');
const SERVERS = option('servers') ?? ['tandem', 'reference'];

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
	durability: { entries: 1000, window: 8, streamRate: 200, killAfterMs: QUICK ? 1000 : 2500 },
	connections: QUICK
		? { tickets: 50, agentsPerTicket: 10, connectRate: 500, botSockets: 5, rate: 50, durationMs: 3000, attempts: ATTEMPTS, agentThreads: AGENT_THREADS }
		: // 15 s: every agent's awareness renewal (each 15 s, y-protocols) falls inside the window.
			{ tickets: 500, agentsPerTicket: 10, connectRate: 500, botSockets: 20, rate: 500, durationMs: 15_000, attempts: 2, agentThreads: AGENT_THREADS }
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
 * Both servers run side by side (the idle one uses no CPU to speak of) and each scenario runs on
 * one, then at once on the other, so that slow drifts in the machine's load hit both alike.
 */
async function runAll(servers: ServerHandle[]): Promise<Map<ServerHandle, ServerResults>> {
	const results = new Map(servers.map((s) => [s, { errors: {} } as ServerResults]));
	const d = PLAN.durability;
	const scenarios: { [K in keyof Omit<ServerResults, 'errors' | 'seconds'>]: (s: ServerHandle) => Promise<NonNullable<ServerResults[K]>> } = {
		capacity: (s) => capacity(s, PLAN.capacity),
		fanout: (s) => fanout(s, PLAN.fanout),
		rss: (s) => rssPerTicket(s, PLAN.rss),
		coldOpen: (s) => coldOpen(s, PLAN.coldOpen),
		durability: async (s) => [
			await killAfterAcks(s, { entries: d.entries, window: d.window, killDelayMs: 0 }),
			await killAfterAcks(s, { entries: d.entries, window: d.window, killDelayMs: 100 }),
			await killMidStream(s, { rate: d.streamRate, killAfterMs: d.killAfterMs })
		],
		// (The durability rounds leave a freshly started process behind.)
		connections: (s) => manyConnections(s, PLAN.connections),
		firstPaint: (s) => firstPaint(s as TandemServer, PLAN.firstPaint),
		routing: () => routingLatency(PLAN.routing)
	};
	/** Scenarios that only Tandem can run (the reference has no user interface). */
	const tandemOnly = new Set<string>(['firstPaint', 'routing']);
	try {
		await Promise.all(servers.map((server) => server.start()));
		for (const [key, run] of Object.entries(scenarios) as [keyof typeof scenarios, (s: ServerHandle) => Promise<never>][]) {
			for (const server of servers) {
				if (tandemOnly.has(key) && !(server instanceof TandemServer)) continue;
				await step(server, results.get(server)!, key, () => run(server));
			}
		}
	} finally {
		for (const server of servers) {
			await server.stop();
			server.cleanup();
		}
	}
	return results;
}

// ---------------------------------------------------------------------------------------------
// The table

interface Row {
	metric: string;
	tandem: number | null;
	reference: number | null;
	ratio: number | null;
	target: string;
	status: 'met' | 'MISSED' | 'no data' | '';
}

type Judge = (tandem: number, reference: number, ratio: number) => boolean;

function row(metric: string, tandem: number | undefined, reference: number | undefined, target = '', judge?: Judge): Row {
	const t = tandem ?? null;
	const r = reference ?? null;
	const ratio = t !== null && r !== null && r !== 0 ? t / r : null;
	let status: Row['status'] = '';
	if (judge && t !== null && (r !== null || judge.length === 1)) status = judge(t, r ?? NaN, ratio ?? NaN) ? 'met' : 'MISSED';
	else if (judge) status = 'no data';
	return { metric, tandem: t, reference: r, ratio, target, status };
}

function buildRows(t: ServerResults, r: ServerResults): Row[] {
	const pct = (d?: DurabilityRound) => (d ? (d.acked ? (100 * d.survived) / d.acked : NaN) : undefined);
	const conns = PLAN.connections.tickets * PLAN.connections.agentsPerTicket;
	const rows: Row[] = [
		row('(1) server CPU per accepted entry, ms', t.capacity?.serverCpuMsPerEntry, r.capacity?.serverCpuMsPerEntry, 'ratio <= 1.0', (_a, _b, x) => x <= 1.0),
		row(`(1) capacity, acked entries/s (20 bots, ${PLAN.capacity.window} in flight each)`, t.capacity?.entriesPerSec, r.capacity?.entriesPerSec, 'ratio >= 1.0', (_a, _b, x) => x >= 1.0),
		row('    server CPU during capacity, % of a core', t.capacity?.serverCpuPct, r.capacity?.serverCpuPct),
		row('    load generator CPU during capacity, % of a core', t.capacity?.loadGenCpuPct, r.capacity?.loadGenCpuPct),
		row('    messages to the writing bot per entry', t.capacity?.messagesPerEntry, r.capacity?.messagesPerEntry),
		row('    other processes on the machine during capacity, % of a core', t.capacity?.otherCpuPct, r.capacity?.otherCpuPct),
		row('(2) fan-out p50 @200/s, 2 agents/ticket, ms', t.fanout?.p50, r.fanout?.p50),
		row('(2) fan-out p95, ms', t.fanout?.p95, r.fanout?.p95),
		row('(2) fan-out p99, ms', t.fanout?.p99, r.fanout?.p99, 'ratio <= 1.0 or Tandem < 5 ms', (a, _b, x) => x <= 1.0 || a < 5),
		row('    deliveries seen / expected, %', pct2(t.fanout), pct2(r.fanout)),
		row('    bot append → acknowledgement p99, ms', t.fanout?.ackP99, r.fanout?.ackP99),
		row('    server CPU per entry at 200/s incl. fan-out, ms', cpuPerEntry(t.fanout), cpuPerEntry(r.fanout)),
		row('    other processes on the machine during fan-out, % of a core', t.fanout?.otherCpuPct, r.fanout?.otherCpuPct),
		row('(3) RSS per open ticket (1,050 entries, bot + 2 agents), KiB', t.rss?.perTicketKb, r.rss?.perTicketKb, 'ratio <= 1.0', (_a, _b, x) => x <= 1.0),
		row('(4) cold open 10,000 entries: to synced, ms', t.coldOpen?.syncedMs, r.coldOpen?.syncedMs, 'ratio <= 0.5', (_a, _b, x) => x <= 0.5),
		row('(4) cold open 10,000 entries: to synced with 10,000 entries, ms', t.coldOpen?.fullMs, r.coldOpen?.fullMs, 'ratio <= 0.5', (_a, _b, x) => x <= 0.5),
		...[0, 1, 2].map((i) =>
			row(`(5) durability: ${t.durability?.[i]?.name ?? r.durability?.[i]?.name ?? `round ${i + 1}`}, acked kept %`, pct(t.durability?.[i]), pct(r.durability?.[i]), 'Tandem 100%', (a) => a === 100)
		),
		row(`(6) ${conns} connections/${PLAN.connections.tickets} tickets @${PLAN.connections.rate}/s: fan-out p50, ms`, t.connections?.p50, r.connections?.p50),
		row(`(6) ${conns} connections: fan-out p99, ms`, t.connections?.p99, r.connections?.p99, 'Tandem p99 < 50 ms', (a) => a < 50),
		row('(7) first paint, 10,000-entry ticket in Chromium: newest entry visible, ms', t.firstPaint?.median, undefined, 'Tandem < 300 ms', (a) => a < 300),
		row('    deliveries seen / expected, %', pct2(t.connections), pct2(r.connections)),
		row('    worker threads hosting the agents', t.connections?.agentThreads, r.connections?.agentThreads),
		row(`    time to open ${conns} connections, s`, t.connections?.connectSeconds, r.connections?.connectSeconds),
		row('    server RSS with all connections open, MiB', mib(t.connections?.serverRssKb), mib(r.connections?.serverRssKb)),
		row('    load generator CPU during the stream, % of a core', t.connections?.loadGenCpuPct, r.connections?.loadGenCpuPct),
		row('    load generator event-loop delay p99, ms', t.connections?.loadGenLoopDelayP99, r.connections?.loadGenLoopDelayP99),
		row('    other processes on the machine during the stream, % of a core', t.connections?.otherCpuPct, r.connections?.otherCpuPct),
		row(`(8) routing decision, ${PLAN.routing.agents} agents, ${PLAN.routing.items} items: p99, ms`, t.routing?.p99, undefined),
		row('    routing decision p50, ms', t.routing?.p50, undefined),
		row('    routing decisions measured', t.routing?.decisions, undefined),
		row('    routing offers made', t.routing?.offers, undefined)
	];
	return rows;
}

const cpuPerEntry = (l?: LatencyResult) => (l ? (l.serverCpuPct * 10) / PLAN.fanout.rate : undefined);
const pct2 = (l?: LatencyResult) => (l ? (100 * l.n) / Math.max(1, l.expected) : undefined);
const mib = (kb?: number) => (kb === undefined ? undefined : kb / 1024);

function fmt(value: number | null): string {
	if (value === null) return '—';
	if (Number.isNaN(value)) return 'n/a';
	if (value === 0) return '0';
	const abs = Math.abs(value);
	if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
	if (abs >= 100) return value.toFixed(0);
	if (abs >= 10) return value.toFixed(1);
	return value.toFixed(abs >= 1 ? 2 : 3);
}

function renderTable(rows: Row[]): string {
	const header = ['metric', 'Tandem', 'reference', 'ratio', 'target', 'status'];
	const cells = rows.map((r) => [r.metric, fmt(r.tandem), fmt(r.reference), r.ratio === null ? '—' : r.ratio.toFixed(2), r.target, r.status]);
	const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
	const line = (c: string[]) => c.map((v, i) => (i === 0 || i >= 4 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ').trimEnd();
	return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
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

async function main(): Promise<number> {
	const started = new Date();
	const t0 = performance.now();
	// Measuring again after a disturbance must not push the run past its time limit.
	setRetryDeadline(performance.now() + (QUICK ? 30_000 : 200_000));
	const atStart = machine();
	progress(`${QUICK ? 'quick' : 'full'} run on ${JSON.stringify(atStart)}`);
	const servers: ServerHandle[] = [];
	if (SERVERS.includes('tandem')) servers.push(await TandemServer.create());
	if (SERVERS.includes('reference')) servers.push(await ReferenceServer.create());
	const results = await runAll(servers);
	const skipped: ServerResults = { errors: {} };
	const tandem = results.get(servers.find((s) => s instanceof TandemServer)!) ?? skipped;
	const reference = results.get(servers.find((s) => s instanceof ReferenceServer)!) ?? skipped;
	const rows = buildRows(tandem, reference);
	const seconds = (performance.now() - t0) / 1000;

	const table = renderTable(rows);
	console.log(table);
	const errors = { tandem: tandem.errors, reference: reference.errors };
	const failed = Object.keys(tandem.errors).length + Object.keys(reference.errors).length > 0;
	if (failed) console.log(`\nscenario errors: ${JSON.stringify(errors)}`);
	for (const note of notes) console.log(`note: ${note}`);
	console.log(`\n${QUICK ? 'quick' : 'full'} run: ${seconds.toFixed(1)} s (Tandem ${tandem.seconds?.toFixed(1)} s, reference ${reference.seconds?.toFixed(1)} s)`);

	const dir = path.join(ROOT, 'bench', 'results');
	fs.mkdirSync(dir, { recursive: true });
	const report = { startedAt: started.toISOString(), mode: QUICK ? 'quick' : 'full', seconds, machine: { ...atStart, loadAverage1mAtEnd: machine().loadAverage1m }, sources: sources(), notes, plan: PLAN, rows, table, results: { tandem, reference } };
	const json = JSON.stringify(report, null, 2) + '\n';
	// A diagnostic run of a subset is kept apart and never becomes latest.json.
	const partial = ONLY !== undefined || SERVERS.length < 2;
	const file = path.join(dir, `${started.toISOString().replace(/:/g, '-')}${partial ? '-partial' : ''}.json`);
	fs.writeFileSync(file, json);
	if (!partial) fs.writeFileSync(path.join(dir, 'latest.json'), json);
	progress(`wrote ${path.relative(ROOT, file)}${partial ? '' : ' and bench/results/latest.json'}`);
	return failed ? 1 : 0;
}

const bail = (code: number) => {
	killAllChildren();
	process.exit(code);
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
// Every wait is bounded; this is the last resort.
setTimeout(
	() => {
		console.error('bench: overall time limit exceeded');
		bail(1);
	},
	(QUICK ? 5 : 15) * 60_000
).unref();

main().then(bail, (error) => {
	console.error('bench crashed:', error);
	bail(1);
});
