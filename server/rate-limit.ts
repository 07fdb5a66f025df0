/**
 * A fixed-window request counter per key (a visitor, a client address): at most `limit` requests
 * in each `windowMs`, the window starting at the key's first request. Enough to stop one noisy
 * client flooding tickets. In memory for one process; shared through Redis by a cluster's nodes.
 */
import { waitOf, type LimitsRedis, type Script } from './cluster/limits-redis';

export interface RateLimit {
	/** Counts a request: 0 when it is allowed, else the milliseconds until the key may try again. */
	take(key: string): Promise<number>;
}

const PRUNE_ABOVE = 100_000;

export class MemoryRateLimit implements RateLimit {
	private readonly windows = new Map<string, { start: number; count: number }>();

	constructor(
		private readonly limit: number,
		private readonly windowMs: number,
		private readonly now: () => number = Date.now
	) {}

	async take(key: string): Promise<number> {
		const now = this.now();
		let window = this.windows.get(key);
		if (!window || now - window.start >= this.windowMs) {
			if (this.windows.size > PRUNE_ABOVE) this.prune(now);
			window = { start: now, count: 0 };
			this.windows.set(key, window);
		}
		if (window.count >= this.limit) return window.start + this.windowMs - now;
		window.count++;
		return 0;
	}

	private prune(now: number) {
		for (const [key, window] of this.windows) if (now - window.start >= this.windowMs) this.windows.delete(key);
	}
}

/**
 * MemoryRateLimit's `take` in one script, so requests to several nodes at once are counted one by
 * one. The key (a hash: start, count) lives as long as its window. ARGV: now, limit, windowMs.
 */
const TAKE = `
local now, limit, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local start, count = unpack(redis.call('HMGET', KEYS[1], 'start', 'count'))
start, count = tonumber(start), tonumber(count)
if not start or now - start >= window then
	start, count = now, 0
	redis.call('HSET', KEYS[1], 'start', start, 'count', count)
	redis.call('PEXPIRE', KEYS[1], math.ceil(window))
end
if count >= limit then return math.ceil(start + window - now) end
redis.call('HINCRBY', KEYS[1], 'count', 1)
return 0
`;

/**
 * The rate limit of every node of a cluster, counted in Redis under `tandem:rate:<name>:…`; in the
 * node's memory while Redis is out of reach (server/cluster/limits-redis.ts says why). Windows
 * follow the nodes' clocks (`now`), which must agree to well within a window.
 */
export class RedisRateLimit implements RateLimit {
	private readonly takeScript: Script;
	private readonly local: MemoryRateLimit;

	constructor(
		private readonly redis: LimitsRedis,
		private readonly name: string,
		private readonly limit: number,
		private readonly windowMs: number,
		private readonly now: () => number = Date.now
	) {
		this.takeScript = redis.script(TAKE);
		this.local = new MemoryRateLimit(limit, windowMs, now);
	}

	take(key: string): Promise<number> {
		return this.redis.run(
			async () => waitOf(await this.takeScript([this.redis.key(`rate:${this.name}`, key)], [this.now(), this.limit, this.windowMs])),
			() => this.local.take(key)
		);
	}
}
