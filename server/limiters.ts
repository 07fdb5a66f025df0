/**
 * Where a process's rate limits and sign-in throttles count: in memory for one process (the
 * default), in Redis for a node of a cluster, so that its nodes count together (DESIGN.md,
 * "Cluster"; server/cluster/limits-redis.ts for what happens while Redis is out of reach).
 */
import { MemoryLoginThrottle, RedisLoginThrottle, type BackoffRule, type LoginThrottle } from './auth/throttle';
import { LimitsRedis } from './cluster/limits-redis';
import type { Config } from './config';
import type { Logger } from './log';
import { MemoryRateLimit, RedisRateLimit, type RateLimit } from './rate-limit';

export class Limiters {
	/** `shared`: the cluster's Redis; null counts in memory. */
	constructor(private readonly shared: LimitsRedis | null = null) {}

	/** This process's: shared through the cluster's Redis for a node (connected, or reached later). */
	static async of(cluster: Config['cluster'], logger: Logger): Promise<Limiters> {
		if (!cluster) return new Limiters();
		const redis = new LimitsRedis(cluster.redisUrl, logger);
		await redis.connect();
		return new Limiters(redis);
	}

	/** `name`: what the limit counts, unique among the process's limits (it names the keys in Redis). */
	rateLimit(name: string, limit: number, windowMs: number): RateLimit {
		return this.shared ? new RedisRateLimit(this.shared, name, limit, windowMs) : new MemoryRateLimit(limit, windowMs);
	}

	/** `name`: what the throttle counts, unique among the process's throttles (it names the keys in Redis). */
	loginThrottle<Kind extends string>(name: string, rules: Record<Kind, BackoffRule>): LoginThrottle<Kind> {
		return this.shared ? new RedisLoginThrottle(this.shared, name, rules) : new MemoryLoginThrottle(rules);
	}

	async close(): Promise<void> {
		await this.shared?.close();
	}
}
