/**
 * What a node tells Prometheus (`GET /metrics`, prom-client): its connections and loaded tickets,
 * updates accepted and refused by reason, how long an acknowledgement and a log commit take, the
 * cluster's catch-ups and Redis lag, the outbox and the routing queues. Counters and histograms are
 * fed where things happen; the rest is read when Prometheus asks.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { httpUrl } from './config';
import { listenError } from './lifecycle';
import type { Logger } from './log';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Store } from './storage/store';

/** Seconds: from a millisecond to ten seconds, the range an acknowledgement or a commit can take. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

export interface MetricsSources {
	store: Store;
	connections(): number;
	documents(): number;
	/** Whether this node runs the once-only work (a single process always does). */
	leader(): boolean;
}

export class Metrics {
	readonly registry = new Registry();
	readonly updatesAccepted = new Counter({ name: 'tandem_updates_accepted_total', help: 'Peer updates stored and acknowledged', registers: [this.registry] });
	readonly updatesRefused = new Counter({ name: 'tandem_updates_refused_total', help: 'Peer updates refused, by reason', labelNames: ['reason'] as const, registers: [this.registry] });
	readonly ackSeconds = new Histogram({
		name: 'tandem_ack_seconds',
		help: 'From a peer update reaching the server to its acknowledgement being sent (checked and committed)',
		buckets: LATENCY_BUCKETS,
		registers: [this.registry]
	});
	readonly logCommitSeconds = new Histogram({ name: 'tandem_log_commit_seconds', help: 'One transaction of the update log (a group commit or a server-side write)', buckets: LATENCY_BUCKETS, registers: [this.registry] });
	readonly catchUps = new Counter({ name: 'tandem_catch_ups_total', help: 'Reads of the update log for rows a cluster node did not get through Redis', registers: [this.registry] });
	readonly redisLagSeconds = new Histogram({ name: 'tandem_redis_lag_seconds', help: 'From a row published by one node to its arrival on another', buckets: LATENCY_BUCKETS, registers: [this.registry] });

	/** `served`: someone may read the metrics (a token or a port is set), so the process's own (CPU, memory, event loop) are gathered too. */
	constructor(served: boolean) {
		if (served) collectDefaultMetrics({ register: this.registry, prefix: 'tandem_' });
	}

	/** Gauges read from the process and the database when Prometheus asks. */
	watch({ store, connections, documents, leader }: MetricsSources): void {
		const registers = [this.registry];
		new Gauge({ name: 'tandem_connections', help: 'Open document connections on this node', registers, collect() { this.set(connections()); } });
		new Gauge({ name: 'tandem_documents_loaded', help: 'Ticket documents loaded on this node', registers, collect() { this.set(documents()); } });
		new Gauge({ name: 'tandem_leader', help: '1 on the node that runs the once-only work (routing passes, timers, sweeps)', registers, collect() { this.set(leader() ? 1 : 0); } });
		new Gauge({
			name: 'tandem_outbox_rows',
			help: 'Outbound messages by status: queued (waiting or retrying) and failed (given up)',
			labelNames: ['status'] as const,
			registers,
			async collect() {
				const rows = await store.all<{ status: string; n: number | string }>(sql`SELECT status, count(*) AS n FROM outbox WHERE status IN ('queued', 'failed') GROUP BY status`);
				this.reset();
				for (const status of ['queued', 'failed']) this.set({ status }, Number(rows.find((r) => r.status === status)?.n ?? 0));
			}
		});
		new Gauge({
			name: 'tandem_routing_items',
			help: 'Work items waiting for an agent (queued) or offered to one, by channel',
			labelNames: ['status', 'channel'] as const,
			registers,
			async collect() {
				const rows = await store.all<{ status: string; channel: string; n: number | string }>(
					sql`SELECT status, channel, count(*) AS n FROM work_items WHERE status IN ('queued', 'offered') GROUP BY status, channel`
				);
				this.reset();
				for (const row of rows) this.set({ status: row.status, channel: row.channel }, Number(row.n));
			}
		});
	}

	/** The text Prometheus reads. */
	async exposition(): Promise<{ contentType: string; body: string }> {
		return { contentType: this.registry.contentType, body: await this.registry.metrics() };
	}
}

/**
 * Whether a request on the main port may read the metrics: only with METRICS_TOKEN as its bearer
 * token ('off' without one: the endpoint does not exist there).
 */
export function metricsAccess(token: string | null, authorization: string | null): 'allowed' | 'unauthorized' | 'off' {
	if (token === null) return 'off';
	const given = /^Bearer (.+)$/.exec(authorization ?? '')?.[1] ?? '';
	// Compared as digests: equal lengths, so the comparison says nothing of the token's.
	const digest = (value: string) => createHash('sha256').update(value).digest();
	return timingSafeEqual(digest(given), digest(token)) ? 'allowed' : 'unauthorized';
}

/** The metrics on a port of their own (METRICS_PORT), answering only `GET /metrics`. */
export async function serveMetrics(metrics: Metrics, { host, port }: { host: string; port: number }, logger: Logger): Promise<{ url: string; close(): Promise<void> }> {
	const server = http.createServer((request, response) => {
		if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
			response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
			return;
		}
		metrics.exposition().then(
			({ contentType, body }) => response.writeHead(200, { 'content-type': contentType }).end(body),
			(error: unknown) => {
				logger.error({ err: (error as Error).message }, 'metrics could not be gathered');
				response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics could not be gathered\n');
			}
		);
	});
	await new Promise<void>((resolve, reject) => {
		server.once('error', (error) => reject(listenError('METRICS_PORT', host, port, error)));
		server.listen(port, host, resolve);
	});
	const url = `${httpUrl(host, (server.address() as AddressInfo).port)}/metrics`;
	logger.info({ url }, 'metrics listening');
	return { url, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
