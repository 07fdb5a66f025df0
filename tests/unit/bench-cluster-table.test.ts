/**
 * The bench's table helpers and the cluster table's judging (bench/table.ts,
 * bench/cluster-table.ts): the bench itself is not in `npm test`, its arithmetic is.
 */
import { describe, expect, it } from 'vitest';
import type { ClusterPlan, ClusterResults } from '../../bench/cluster';
import { clusterRows, renderClusterTable } from '../../bench/cluster-table';
import { fmt, renderColumns } from '../../bench/table';

const PLAN = {
	capacity: { tickets: 20, window: 8, warmupMs: 0, measureMs: 0, attempts: 1 },
	fanout: { tickets: 20, agentsPerTicket: 2, rate: 200, durationMs: 0, attempts: 1 },
	connections: { tickets: 1000, agentsPerTicket: 10, connectRate: 500, botSockets: 20, rate: 500, durationMs: 0, attempts: 1, agentThreads: 2 },
	failover: { tickets: 20, agentsPerTicket: 4, rate: 100, killAfterMs: 0, afterMs: 0 }
} satisfies ClusterPlan;

const latency = (p99: number, n = 100, expected = 100) => ({ n, expected, p50: p99 / 2, p95: p99, p99, max: p99, ackP50: 1, ackP99: 2, loadGenCpuPct: 50, loadGenLoopDelayP99: 5, serverCpuPct: 100, otherCpuPct: 0, attempts: 1 });
const capacityOf = (entriesPerSec: number) => ({ entriesPerSec, serverCpuMsPerEntry: 1, serverCpuPct: 150, databaseCpuPct: 40, loadGenCpuPct: 30, otherCpuPct: 2, perSecond: [], messagesPerEntry: 2, cpuPartsPct: { 'node A': 60, 'node B': 50, PostgreSQL: 40, Redis: 2 }, acked: 1, window: 8, attempts: 1 });
const failoverOf = (o: Partial<NonNullable<ClusterResults['failover']>> = {}) => ({ clients: 100, moved: 50, resynced: 50, p50: 600, p99: 900, max: 950, complete: 50, acked: 700, survived: 700, duplicated: 0, ackedAfterKill: 400, ...o });

function judged(results: ClusterResults) {
	const rows = clusterRows(results, PLAN);
	return (start: string) => {
		const found = rows.find((r) => r.metric.startsWith(start));
		if (!found) throw new Error(`no row ${start}`);
		return found;
	};
}

describe('fmt', () => {
	const cases: [number | null, string][] = [
		[null, '—'],
		[NaN, 'n/a'],
		[0, '0'],
		[15, '15'],
		[10_000, '10,000'],
		[2133.6, '2,134'],
		[265.4, '265'],
		[17.23, '17.2'],
		[1.234, '1.23'],
		[0.4723, '0.472']
	];
	it.each(cases)('writes %s as %s: counts whole, large numbers grouped, small ones to about three digits', (value, text) => {
		expect(fmt(value)).toBe(text);
	});
});

describe('renderColumns', () => {
	it('aligns text left and the numeric columns right, under a rule as wide as each column', () => {
		const text = renderColumns(['metric', 'value'], [['a long metric', '1'], ['b', '1,000']], new Set([1]));
		expect(text.split('\n')).toEqual(['metric         value', '-------------  -----', 'a long metric      1', 'b              1,000']);
	});
});

describe('clusterRows', () => {
	it('judges 2 nodes against 1 at 1.3×', () => {
		expect(judged({ errors: {}, capacityOne: capacityOf(1000), capacityTwo: capacityOf(1300) })('(C1) capacity, 2 nodes / 1 node')).toMatchObject({ value: 1.3, status: 'met' });
		expect(judged({ errors: {}, capacityOne: capacityOf(1000), capacityTwo: capacityOf(1290) })('(C1) capacity, 2 nodes / 1 node').status).toBe('MISSED');
	});

	it('lists the CPU of every part of the server side', () => {
		const rows = clusterRows({ errors: {}, capacityTwo: capacityOf(1300) }, PLAN).map((r) => r.metric.trim());
		for (const part of ['node A', 'node B', 'PostgreSQL', 'Redis']) expect(rows).toContain(`of which ${part}`);
	});

	const connections = (p99: number, open = 10_000) => ({ ...latency(p99), connections: open, refused: 10_000 - open, tickets: 1000, rate: 500, agentThreads: 2, connectSeconds: 30, serverRssKb: 1024 });

	it('judges the connections p99 under 50 ms and names their count', () => {
		expect(judged({ errors: {}, connections: connections(49.9) })('(C2) 10,000 connections across 2 nodes: fan-out p99').status).toBe('met');
		expect(judged({ errors: {}, connections: connections(50) })('(C2) 10,000 connections across 2 nodes: fan-out p99').status).toBe('MISSED');
	});

	it('says so when fewer than all the connections opened', () => {
		expect(judged({ errors: {}, connections: connections(10) })('    agent connections open').status).toBe('met');
		const fewer = judged({ errors: {}, connections: connections(10, 9_000) });
		expect(fewer('    agent connections open').status).toBe('MISSED');
		expect(fewer('    agent connections refused').value).toBe(1000);
	});

	it('judges the cross-node p99 against twice the same-node one', () => {
		expect(judged({ errors: {}, sameNode: latency(10), crossNode: latency(19) })('(C3) across nodes / same node').status).toBe('met');
		expect(judged({ errors: {}, sameNode: latency(10), crossNode: latency(20) })('(C3) across nodes / same node').status).toBe('MISSED');
	});

	it('judges the failover: p99 under 2 s, every client back, every acknowledged entry kept, none twice', () => {
		const ok = judged({ errors: {}, failover: failoverOf() });
		expect(['(C4) failover: kill → synced on node A, p99', "    node B's clients", '(C4) failover: acknowledged entries kept', '(C4) failover: entries stored twice'].map((m) => ok(m).status)).toEqual(['met', 'met', 'met', 'met']);
		expect(judged({ errors: {}, failover: failoverOf({ p99: 2000 }) })('(C4) failover: kill → synced on node A, p99').status).toBe('MISSED');
		expect(judged({ errors: {}, failover: failoverOf({ resynced: 49 }) })("    node B's clients").status).toBe('MISSED');
		expect(judged({ errors: {}, failover: failoverOf({ survived: 699 }) })('(C4) failover: acknowledged entries kept').status).toBe('MISSED');
		expect(judged({ errors: {}, failover: failoverOf({ duplicated: 1 }) })('(C4) failover: entries stored twice').status).toBe('MISSED');
	});

	it('says "no data" for a scenario that failed, and a node nobody was on is no data, not 100%', () => {
		const failed = judged({ errors: { failover: 'boom' } });
		expect(failed('(C1) capacity, 2 nodes / 1 node')).toMatchObject({ value: null, status: 'no data' });
		expect(failed('(C4) failover: kill → synced on node A, p99').status).toBe('no data');
		expect(judged({ errors: {}, failover: failoverOf({ moved: 0, resynced: 0, complete: 0 }) })("    node B's clients").status).toBe('no data');
	});

	it('renders one line a row with its target and status', () => {
		const text = renderClusterTable(clusterRows({ errors: {}, sameNode: latency(10), crossNode: latency(31) }, PLAN));
		expect(text).toMatch(/^\(C3\) across nodes \/ same node, p99 +3\.10 +< 2\.0 +MISSED$/m);
		expect(text.split('\n')[0]).toMatch(/^metric +value +target +status$/);
	});
});
