/**
 * A cluster for a test: nodes of Tandem on one PostgreSQL database (its own, on the run's
 * PostgreSQL) and one Redis (its own), each node with a data directory of its own, as on
 * separate machines.
 */
import { inject } from 'vitest';
import { prepare, type Fixture } from './fixtures';
import { createDatabaseAt } from './postgres';
import { startRedis, type RedisServer } from './redis';
import { servers, tempDataDir, type RunningServer } from './server';

export const METRICS_TOKEN = 'cluster-metrics-token';

export interface TestCluster {
	fx: Fixture;
	nodes: RunningServer[];
	redis: RedisServer;
	databaseUrl: string;
	/** Starts one more node of the cluster. */
	boot(env?: Record<string, string>): Promise<RunningServer>;
	destroy(): Promise<void>;
}

export async function startCluster(options: {
	/** Nodes started at once (0: none, `boot` starts them). */
	nodes: number;
	spec: Parameters<typeof prepare>[1];
	env?: Record<string, string>;
	/** Start the nodes one after the other (the first is then the leader). */
	inTurn?: boolean;
}): Promise<TestCluster> {
	const pool = servers();
	const redis = await startRedis();
	const databaseUrl = await createDatabaseAt(inject('postgresUrl'), 'cluster');
	const firstDir = tempDataDir();
	const fx = await prepare(firstDir, options.spec, { databaseUrl });
	const env = { DATABASE_URL: databaseUrl, REDIS_URL: redis.url, METRICS_TOKEN, ...options.env };
	const boot = (extra: Record<string, string> = {}, dataDir = tempDataDir()) => pool.boot(dataDir, { ...env, ...extra });
	const dirs = options.nodes ? [firstDir, ...Array.from({ length: options.nodes - 1 }, () => tempDataDir())] : [];
	const nodes: RunningServer[] = [];
	if (options.inTurn) for (const dir of dirs) nodes.push(await boot({}, dir));
	else nodes.push(...(await Promise.all(dirs.map((dir) => boot({}, dir)))));
	return {
		fx,
		nodes,
		redis,
		databaseUrl,
		boot: (extra) => boot(extra),
		async destroy() {
			await pool.cleanup();
			await redis.destroy();
		}
	};
}

/** A node's /healthz role: 'leader' or 'follower' (null: it does not answer). */
export async function roleOf(node: { url: string }): Promise<string | null> {
	try {
		return ((await (await fetch(`${node.url}/healthz`)).json()) as { role: string }).role;
	} catch {
		return null;
	}
}

/** One counter, gauge or histogram count of a node's /metrics (NaN: not there). */
export async function metric(node: { url: string }, series: string): Promise<number> {
	const text = await (await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
	const line = text.split('\n').find((l) => l.startsWith(`${series} `));
	return line === undefined ? NaN : Number(line.slice(series.length + 1));
}
