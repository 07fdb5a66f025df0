/**
 * The Redis through which the nodes of a cluster share their rate limits and sign-in throttles
 * (DESIGN.md, "Cluster"), so that a client cannot multiply its allowance by the number of nodes.
 * A connection of its own: its commands fail at once while Redis is out of reach (no offline
 * queue) and wait at most COMMAND_TIMEOUT_MS for an answer, since a sign-in waits on them.
 *
 * While Redis is out of reach, each limiter counts in its node's memory instead (`run`): clients
 * are still limited, per node (at most N times the allowance on N nodes), and nobody is locked out
 * for want of a shared store. Every call tries Redis first, so the limiters share again as soon as
 * it answers; what a node counted in memory meanwhile stays there, unmerged.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../log';

/** A Lua script run atomically in Redis with its keys and arguments; resolves to its reply. */
export type Script = (keys: string[], args: number[]) => Promise<unknown>;

/** How long a limiter waits for Redis before it counts in memory instead. */
const COMMAND_TIMEOUT_MS = 1000;
/** Redis waits between attempts to reach Redis again, at most (as the bus). */
const MAX_RETRY_DELAY_MS = 2000;

export class LimitsRedis {
	private readonly redis: Redis;
	/** Redis failed a command since it last answered one (logged once per outage). */
	private lost = false;

	constructor(url: string, private readonly logger: Logger) {
		this.redis = new Redis(url, {
			connectionName: 'tandem-limits',
			enableOfflineQueue: false,
			maxRetriesPerRequest: 0,
			commandTimeout: COMMAND_TIMEOUT_MS,
			retryStrategy: (attempt: number) => Math.min(100 * attempt, MAX_RETRY_DELAY_MS),
			lazyConnect: true
		});
		// Failed commands are reported by `run`; ioredis's own report of each reconnection attempt is not needed.
		this.redis.on('error', () => {});
	}

	/** Connects; a Redis out of reach at the start is reached later (the limiters count in memory meanwhile). */
	async connect(): Promise<void> {
		await this.redis.connect().catch((error: Error) => this.outOfReach(error));
	}

	/**
	 * The Redis key of `id` (a client's address, an email address…) in `namespace`: hashed, so a
	 * hostile id of any length makes a key of fixed length.
	 */
	key(namespace: string, id: string): string {
		return `tandem:${namespace}:${createHash('sha256').update(id).digest('base64url')}`;
	}

	/** `lua` as a command of this connection (sent in full once, then by its hash). */
	script(lua: string): Script {
		const name = `tandem_${createHash('sha1').update(lua).digest('hex')}`;
		this.redis.defineCommand(name, { lua });
		const command = (this.redis as unknown as Record<string, (...args: (string | number)[]) => Promise<unknown>>)[name]!;
		return (keys, args) => command.call(this.redis, keys.length, ...keys, ...args);
	}

	/** Deletes `keys`. */
	async forget(keys: string[]): Promise<void> {
		if (keys.length > 0) await this.redis.del(...keys);
	}

	/** `shared` (which uses this Redis), or `local` (the node's memory) when Redis fails it. */
	async run<T>(shared: () => Promise<T>, local: () => Promise<T>): Promise<T> {
		let result: T;
		try {
			result = await shared();
		} catch (error) {
			this.outOfReach(error as Error);
			return local();
		}
		if (this.lost) {
			this.lost = false;
			this.logger.info('redis reached again: rate limits and sign-in throttles are shared again');
		}
		return result;
	}

	async close(): Promise<void> {
		this.redis.disconnect();
	}

	private outOfReach(error: Error) {
		if (!this.lost) this.logger.warn({ err: error.message }, 'redis out of reach: rate limits and sign-in throttles count per node meanwhile');
		this.lost = true;
	}
}

/** A script's reply that is a wait in milliseconds, checked: Redis is trusted, but a bug must not pass as "allowed". */
export function waitOf(reply: unknown): number {
	if (typeof reply !== 'number' || !Number.isSafeInteger(reply) || reply < 0) throw new Error(`a limiter script answered ${String(reply)}, not a wait`);
	return reply;
}
