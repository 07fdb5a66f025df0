/**
 * Rate limits and sign-in throttles (issue #15): one behaviour table run against the in-memory
 * limiters (one process) and the Redis ones (two nodes, each with its own connection to a real
 * Redis, taking turns), on one injected clock. Then what only the Redis ones do: short keys that
 * expire, attempts at once from both nodes counted one by one, and counting in each node's memory
 * while Redis is down, together again once it is back. No server: it runs once, in the `sqlite`
 * project.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryLoginThrottle, RedisLoginThrottle, type BackoffRule, type LoginThrottle } from '../../server/auth/throttle';
import { LimitsRedis } from '../../server/cluster/limits-redis';
import { createLogger } from '../../server/log';
import { MemoryRateLimit, RedisRateLimit, type RateLimit } from '../../server/rate-limit';
import { startRedis, type RedisServer } from '../helpers/redis';
import { waitFor } from '../helpers/server';

let redis: RedisServer;
/** Redis as the test sees it: keys, their time to live. */
let inspect: Redis;
const connections: LimitsRedis[] = [];
/** Two nodes' connections to Redis. */
let nodes: [LimitsRedis, LimitsRedis];

async function connectNode(logger = createLogger('silent')): Promise<LimitsRedis> {
	const node = new LimitsRedis(redis.url, logger);
	connections.push(node);
	await node.connect();
	return node;
}

beforeAll(async () => {
	redis = await startRedis();
	inspect = new Redis(redis.url, { lazyConnect: true, enableOfflineQueue: false });
	await inspect.connect();
	nodes = [await connectNode(), await connectNode()];
});
afterAll(async () => {
	inspect?.disconnect();
	await Promise.all(connections.map((c) => c.close()));
	await redis?.destroy();
});

let names = 0;
/** A limiter name of its own, so no test sees another's keys. */
const unique = (what: string) => `${what}-${++names}`;

function testClock() {
	let now = 1_700_000_000_000;
	return { now: () => now, advance: (ms: number) => void (now += ms) };
}

const MINUTE = 60_000;
type Kind = 'guess' | 'address';
const RULES: Record<Kind, BackoffRule> = {
	guess: { freeFailures: 3, baseDelayMs: 1000, maxDelayMs: 8000 },
	address: { freeFailures: 5, baseDelayMs: 1000, maxDelayMs: 8000 }
};

/** A limiter as each of two nodes sees it: one process's twice, or one on each node's connection. */
interface Implementation {
	rateLimit(limit: number, windowMs: number, now: () => number): [RateLimit, RateLimit];
	throttle(rules: Record<Kind, BackoffRule>, now: () => number): [LoginThrottle<Kind>, LoginThrottle<Kind>];
}

const implementations: Record<string, Implementation> = {
	memory: {
		rateLimit: (limit, windowMs, now) => twice(new MemoryRateLimit(limit, windowMs, now)),
		throttle: (rules, now) => twice(new MemoryLoginThrottle(rules, now))
	},
	redis: {
		rateLimit(limit, windowMs, now) {
			const name = unique('rate');
			return [new RedisRateLimit(nodes[0], name, limit, windowMs, now), new RedisRateLimit(nodes[1], name, limit, windowMs, now)];
		},
		throttle(rules, now) {
			const name = unique('throttle');
			return [new RedisLoginThrottle(nodes[0], name, rules, now), new RedisLoginThrottle(nodes[1], name, rules, now)];
		}
	}
};

const twice = <T>(limiter: T): [T, T] => [limiter, limiter];

/** The waits of `count` attempts made one after the other. */
async function attempts(throttle: LoginThrottle<Kind>, keys: Partial<Record<Kind, string>>, count: number): Promise<number[]> {
	const waits: number[] = [];
	for (let i = 0; i < count; i++) waits.push(await throttle.attempt(keys));
	return waits;
}

describe.each(Object.keys(implementations))('%s rate limit', (implementation) => {
	const make = (limit: number) => {
		const clock = testClock();
		return { clock, limits: implementations[implementation]!.rateLimit(limit, MINUTE, clock.now) };
	};

	it('allows `limit` requests in a window, then says how long until it ends, refused requests not counting', async () => {
		const { clock, limits: [a, b] } = make(3);
		expect([await a.take('kim'), await b.take('kim'), await a.take('kim')]).toEqual([0, 0, 0]);
		clock.advance(10_000);
		expect(await b.take('kim')).toBe(50_000);
		clock.advance(49_999);
		expect(await a.take('kim')).toBe(1);
		clock.advance(1);
		expect(await b.take('kim')).toBe(0);
		expect(await a.take('kim')).toBe(0);
	});

	it('counts each key on its own', async () => {
		const { limits: [a, b] } = make(1);
		expect(await a.take('kim')).toBe(0);
		expect(await b.take('kim')).toBe(MINUTE);
		expect(await b.take('lou')).toBe(0);
	});

	it('allows exactly `limit` of many requests at once', async () => {
		const { limits } = make(25);
		const waits = await Promise.all(Array.from({ length: 80 }, (_, i) => limits[i % 2]!.take('kim')));
		expect(waits.filter((w) => w === 0)).toHaveLength(25);
	});
});

describe.each(Object.keys(implementations))('%s sign-in throttle', (implementation) => {
	const make = (rules = RULES) => {
		const clock = testClock();
		return { clock, throttles: implementations[implementation]!.throttle(rules, clock.now) };
	};
	it('lets the free failures through, then doubles the wait with each further failure, up to the longest', async () => {
		const { clock, throttles: [a, b] } = make();
		const amy = { guess: 'amy' };
		expect([await a.attempt(amy), await b.attempt(amy), await a.attempt(amy)]).toEqual([0, 0, 0]);
		expect(await b.attempt(amy)).toBe(1000);
		for (const wait of [2000, 4000, 8000, 8000]) {
			clock.advance(999);
			expect(await a.attempt(amy)).toBe(1);
			clock.advance(1);
			expect(await b.attempt(amy)).toBe(0);
			expect(await a.attempt(amy)).toBe(wait);
			clock.advance(wait - 1000);
		}
	});

	it('forgives earlier failures after a quiet spell as long as the longest wait', async () => {
		const { clock, throttles: [a, b] } = make();
		await attempts(a, { guess: 'amy' }, 3);
		clock.advance(8001);
		expect(await attempts(b, { guess: 'amy' }, 3)).toEqual([0, 0, 0]);
		expect(await a.attempt({ guess: 'amy' })).toBe(1000);
	});

	it('counts nothing for an attempt that must wait, on none of its keys, each kind by its own rule', async () => {
		const { throttles: [a, b] } = make();
		expect(await attempts(a, { guess: 'amy', address: 'ip' }, 3)).toEqual([0, 0, 0]);
		// amy's guesses wait: the address is not counted meanwhile.
		expect(await b.attempt({ guess: 'amy', address: 'ip' })).toBe(1000);
		expect(await b.attempt({ guess: 'amy', address: 'ip' })).toBe(1000);
		// Five free failures for the address: two more, at other accounts.
		expect(await a.attempt({ guess: 'bob', address: 'ip' })).toBe(0);
		expect(await b.attempt({ guess: 'cat', address: 'ip' })).toBe(0);
		expect(await a.attempt({ guess: 'dan', address: 'ip' })).toBe(1000);
		// The same id as another kind is another key.
		expect(await b.attempt({ guess: 'ip' })).toBe(0);
		expect(await b.attempt({ address: 'amy' })).toBe(0);
	});

	it('takes one failure back on retract, and forgets forgiven keys', async () => {
		const { clock, throttles: [a, b] } = make();
		const amy = { guess: 'amy' };
		await attempts(a, amy, 3);
		await b.retract(amy);
		expect(await a.attempt(amy)).toBe(0);
		expect(await b.attempt(amy)).toBe(1000);
		clock.advance(1000);
		expect(await a.attempt(amy)).toBe(0);
		// Four failures: 2 s to wait; one taken back: 1 s from now.
		clock.advance(500);
		await b.retract(amy);
		expect(await a.attempt(amy)).toBe(1000);
		await b.forgive(amy);
		expect(await attempts(a, amy, 3)).toEqual([0, 0, 0]);
		expect(await b.attempt(amy)).toBe(1000);
		// Nothing to take back or forget: nothing happens.
		await a.retract({ guess: 'nobody' });
		await a.forgive({ guess: 'nobody' });
		expect(await b.attempt({ guess: 'nobody' })).toBe(0);
	});

	it('lets exactly the free failures through of many attempts at once', async () => {
		const { throttles } = make();
		const waits = await Promise.all(Array.from({ length: 60 }, (_, i) => throttles[i % 2]!.attempt({ guess: 'amy', address: 'ip' })));
		expect(waits.filter((w) => w === 0)).toHaveLength(3);
	});
});

describe('the Redis limiters', () => {
	/** The keys under `tandem:`, each with its time to live in ms. */
	async function keysInRedis(): Promise<Map<string, number>> {
		const keys = await inspect.keys('tandem:*');
		return new Map(await Promise.all(keys.map(async (key) => [key, await inspect.pttl(key)] as const)));
	}

	it('keep each key under a short name, whatever the id, for as long as it can matter', async () => {
		await inspect.flushall();
		const hostile = `${'x'.repeat(1024 * 1024)}@example.com`;
		const { now } = testClock();
		const [limit] = implementations.redis!.rateLimit(5, MINUTE, now);
		const [throttle] = implementations.redis!.throttle(RULES, now);
		expect(await limit!.take(hostile)).toBe(0);
		expect(await attempts(throttle!, { guess: hostile, address: 'ip' }, 4)).toEqual([0, 0, 0, 1000]);
		const keys = await keysInRedis();
		expect(keys.size).toBe(3);
		for (const [key, ttl] of keys) {
			expect(key.length).toBeLessThan(100);
			expect(key).toMatch(/^tandem:(rate|throttle):/);
			// A window of the rate limit; the longest wait (the quiet spell that forgives) for the throttle.
			expect(ttl).toBeGreaterThan(0);
			expect(ttl).toBeLessThanOrEqual(key.startsWith('tandem:rate:') ? MINUTE : 8001);
		}
	});

	it('count every one of many failures at once from two nodes', async () => {
		await inspect.flushall();
		const rules = { guess: { freeFailures: 1000, baseDelayMs: 1000, maxDelayMs: MINUTE }, address: RULES.address };
		const throttles = implementations.redis!.throttle(rules, Date.now);
		await Promise.all(Array.from({ length: 90 }, (_, i) => throttles[i % 2]!.attempt({ guess: 'amy' })));
		const [key] = (await keysInRedis()).keys();
		expect(await inspect.hget(key!, 'failures')).toBe('90');
	});

	/** Waits until a request counted through `from` is seen through `to` (each probe a key of its own). */
	async function sharingAgain(from: LimitsRedis, to: LimitsRedis) {
		const name = unique('probe');
		const [probeFrom, probeTo] = [from, to].map((node) => new RedisRateLimit(node, name, 1, MINUTE));
		let probes = 0;
		await waitFor(async () => {
			const key = `probe-${++probes}`;
			return (await probeFrom!.take(key)) === 0 && (await probeTo!.take(key)) > 0;
		}, 'the nodes to count together again');
	}

	it('count in memory when Redis does not answer in time, and in Redis again once it does', async () => {
		const { now } = testClock();
		const throttle = new RedisLoginThrottle(nodes[0], unique('frozen'), RULES, now);
		redis.pause();
		try {
			// Redis stays frozen meanwhile: each attempt gave up waiting for it and counted in memory.
			const waits = await Promise.all(Array.from({ length: 4 }, () => throttle.attempt({ guess: 'amy' })));
			expect(waits.sort((x, y) => x - y)).toEqual([0, 0, 0, 1000]);
		} finally {
			redis.resume();
		}
		await sharingAgain(nodes[0], nodes[1]);
	});

	it('count in each node’s memory while Redis is down, still limiting, and together again once it is back', async () => {
		const logs: { msg: string }[] = [];
		const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
		const a = await connectNode(logger);
		const b = await connectNode(logger);
		const name = unique('outage');
		const { now } = testClock();
		const limit = (node: LimitsRedis) => new RedisRateLimit(node, name, 2, MINUTE, now);
		const throttle = (node: LimitsRedis) => new RedisLoginThrottle(node, name, RULES, now);
		const [limitA, limitB, throttleA, throttleB] = [limit(a), limit(b), throttle(a), throttle(b)];

		await redis.stop();
		// Each node limits on its own: two requests on A, then a wait; B has its own two.
		expect([await limitA.take('kim'), await limitA.take('kim')]).toEqual([0, 0]);
		expect(await limitA.take('kim')).toBeGreaterThan(0);
		expect([await limitB.take('kim'), await limitB.take('kim')]).toEqual([0, 0]);
		expect(await limitB.take('kim')).toBeGreaterThan(0);
		expect(await attempts(throttleA, { guess: 'amy' }, 4)).toEqual([0, 0, 0, 1000]);
		expect(await throttleB.attempt({ guess: 'amy' })).toBe(0);
		// A node that starts meanwhile counts in memory too, and reaches Redis once it is back.
		const c = await connectNode(logger);
		expect(await attempts(throttle(c), { guess: 'amy' }, 4)).toEqual([0, 0, 0, 1000]);
		// Said once per node, not once per request.
		expect(logs.filter((l) => l.msg.startsWith('redis out of reach'))).toHaveLength(3);

		await redis.start();
		await sharingAgain(a, b);
		await sharingAgain(c, a);
		// Redis came back empty: the counts start over, together.
		expect([await limitA.take('kim'), await limitB.take('kim')]).toEqual([0, 0]);
		expect(await limitA.take('kim')).toBeGreaterThan(0);
		expect(await attempts(throttleB, { guess: 'amy' }, 3)).toEqual([0, 0, 0]);
		expect(await throttleA.attempt({ guess: 'amy' })).toBe(1000);
		expect(logs.filter((l) => l.msg.startsWith('redis reached again'))).toHaveLength(3);
	});
});
