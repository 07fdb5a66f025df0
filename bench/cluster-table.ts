/**
 * The cluster scenarios' table (cluster.ts): one value a metric, judged against its target where
 * the issue sets one. Pure: the unit tests judge made-up results with it.
 */
import type { ClusterPlan, ClusterResults } from './cluster';
import { fmt, renderColumns, type Status } from './table';

export interface ClusterRow {
	metric: string;
	value: number | null;
	target: string;
	status: Status;
}

/** A row; with `goal`, judged (no value: 'no data'). */
function row(metric: string, value: number | undefined, goal?: { target: string; met: (value: number) => boolean }): ClusterRow {
	const v = value === undefined || Number.isNaN(value) ? null : value;
	return { metric, value: v, target: goal?.target ?? '', status: goal ? (v === null ? 'no data' : goal.met(v) ? 'met' : 'MISSED') : '' };
}

const ratio = (a?: number, b?: number) => (a === undefined || b === undefined || b === 0 ? undefined : a / b);
const percent = (part?: number, whole?: number) => (part === undefined || whole === undefined ? undefined : whole === 0 ? NaN : (100 * part) / whole);

/** The CPU rows of a measurement: the server side in total and by part, the load generator, the rest of the machine. */
function cpuRows(label: string, r?: { serverCpuPct: number; cpuPartsPct?: Record<string, number>; loadGenCpuPct: number; otherCpuPct: number }): ClusterRow[] {
	return [
		row(`    ${label}: server side (nodes, PostgreSQL, Redis) CPU, % of a core`, r?.serverCpuPct),
		...Object.entries(r?.cpuPartsPct ?? {}).map(([part, pct]) => row(`      of which ${part}`, pct)),
		row(`    ${label}: load generator CPU, % of a core`, r?.loadGenCpuPct),
		row(`    ${label}: other processes on the machine, % of a core`, r?.otherCpuPct)
	];
}

export function clusterRows(r: ClusterResults, plan: ClusterPlan): ClusterRow[] {
	const c = plan.connections;
	const conns = c.tickets * c.agentsPerTicket;
	const f = r.failover;
	const fanoutLabel = `@${plan.fanout.rate}/s, ${plan.fanout.agentsPerTicket} agents/ticket`;
	return [
		row(`(C1) capacity, 1 node, acked entries/s (${plan.capacity.tickets} bots, ${plan.capacity.window} in flight each)`, r.capacityOne?.entriesPerSec),
		row('(C1) capacity, 2 nodes (bot i on node i mod 2), acked entries/s', r.capacityTwo?.entriesPerSec),
		row('(C1) capacity, 2 nodes / 1 node', ratio(r.capacityTwo?.entriesPerSec, r.capacityOne?.entriesPerSec), { target: '>= 1.3', met: (x) => x >= 1.3 }),
		...cpuRows('1 node', r.capacityOne),
		...cpuRows('2 nodes', r.capacityTwo),
		row(`(C2) ${fmt(conns)} connections across 2 nodes, ${c.tickets} tickets @${c.rate}/s: fan-out p50, ms`, r.connections?.p50),
		row(`(C2) ${fmt(conns)} connections across 2 nodes: fan-out p99, ms`, r.connections?.p99, { target: '< 50 ms', met: (x) => x < 50 }),
		row('    agent connections open during the stream', r.connections?.connections, { target: fmt(conns), met: (x) => x === conns }),
		row('    agent connections refused, timed out or not opened in the time allowed', r.connections?.refused),
		row('    deliveries seen / expected, %', percent(r.connections?.n, r.connections?.expected)),
		row('    time to open them, s', r.connections?.connectSeconds),
		row('    nodes RSS with all connections open, MiB', r.connections && r.connections.serverRssKb / 1024),
		row('    load generator event-loop delay p99, ms', r.connections?.loadGenLoopDelayP99),
		...cpuRows('stream', r.connections),
		row(`(C3) fan-out ${fanoutLabel}, writer and readers on node A: p50, ms`, r.sameNode?.p50),
		row('(C3) same node: p99, ms', r.sameNode?.p99),
		row('(C3) writer on node A, readers on node B: p50, ms', r.crossNode?.p50),
		row('(C3) across nodes: p99, ms', r.crossNode?.p99),
		row('(C3) across nodes / same node, p99', ratio(r.crossNode?.p99, r.sameNode?.p99), { target: '< 2.0', met: (x) => x < 2 }),
		row('    deliveries seen / expected, same node, %', percent(r.sameNode?.n, r.sameNode?.expected)),
		row('    deliveries seen / expected, across nodes, %', percent(r.crossNode?.n, r.crossNode?.expected)),
		row('    server side CPU during the stream, across nodes / same node', ratio(r.crossNode?.serverCpuPct, r.sameNode?.serverCpuPct)),
		row(`(C4) failover: SIGKILL of node B, ${f?.clients ?? '?'} clients through nginx: on node B`, f?.moved),
		row('(C4) failover: kill → synced on node A, p50, ms', f?.p50),
		row('(C4) failover: kill → synced on node A, p99, ms', f?.p99, { target: '< 2000 ms', met: (x) => x < 2000 }),
		row('    kill → synced, slowest, ms', f?.max),
		row("    node B's clients synced again, %", percent(f?.resynced, f?.moved), { target: '100%', met: (x) => x === 100 }),
		row('    of them holding every entry acknowledged before the kill when synced, %', percent(f?.complete, f?.moved)),
		row('(C4) failover: acknowledged entries kept, %', percent(f?.survived, f?.acked), { target: '100%', met: (x) => x === 100 }),
		row('(C4) failover: entries stored twice', f?.duplicated, { target: '0', met: (x) => x === 0 }),
		row('    entries acknowledged to the writers', f?.acked),
		row('    entries acknowledged after the kill', f?.ackedAfterKill)
	];
}

export function renderClusterTable(rows: ClusterRow[]): string {
	return renderColumns(
		['metric', 'value', 'target', 'status'],
		rows.map((r) => [r.metric, fmt(r.value), r.target, r.status]),
		new Set([1])
	);
}
