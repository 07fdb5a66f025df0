/**
 * Sign-in throttling with exponential backoff, per key (Auth counts per account and client address
 * together, and per client address: two kinds of key, each with its own rule): after a few free
 * failures, each further failure doubles the wait before the next attempt (capped). An attempt
 * counts as a failure from the moment it starts, so guesses sent at once cannot all slip in while
 * the password check runs; a success then takes its count back.
 * In memory for one process (a restart forgives, which is acceptable for backoff: it is not a
 * lockout); shared through Redis by a cluster's nodes.
 */
import { waitOf, type LimitsRedis, type Script } from '../cluster/limits-redis';

/** How failures of one kind of key back off. */
export interface BackoffRule {
	freeFailures: number;
	baseDelayMs: number;
	maxDelayMs: number;
}

/** The keys of one attempt, by kind. */
export type ThrottleKeys<Kind extends string> = Partial<Record<Kind, string>>;

export interface LoginThrottle<Kind extends string> {
	/**
	 * Counts an attempt as a failure of each key, unless one of them must still wait: then counts
	 * nothing and returns the milliseconds to wait (0: go ahead). Atomic: of attempts at once,
	 * however many nodes they reach, only those the backoff allows go ahead.
	 */
	attempt(keys: ThrottleKeys<Kind>): Promise<number>;
	/** Takes back one failure counted for an attempt that succeeded. */
	retract(keys: ThrottleKeys<Kind>): Promise<void>;
	/** Forgets `keys` entirely (the account and address that just signed in). */
	forgive(keys: ThrottleKeys<Kind>): Promise<void>;
}

interface Entry {
	failures: number;
	lastFailure: number;
	blockedUntil: number;
}

const PRUNE_ABOVE = 100_000;

/** The keys given, with their kinds. */
function present<Kind extends string>(keys: ThrottleKeys<Kind>): [Kind, string][] {
	return (Object.entries(keys) as [Kind, string | undefined][]).filter((named): named is [Kind, string] => named[1] !== undefined);
}

export class MemoryLoginThrottle<Kind extends string> implements LoginThrottle<Kind> {
	private readonly entries = new Map<Kind, Map<string, Entry>>();

	constructor(
		private readonly rules: Record<Kind, BackoffRule>,
		private readonly now: () => number = Date.now
	) {
		for (const kind of Object.keys(rules) as Kind[]) this.entries.set(kind, new Map());
	}

	async attempt(keys: ThrottleKeys<Kind>): Promise<number> {
		const now = this.now();
		const named = present(keys);
		const wait = Math.max(0, ...named.map(([kind, key]) => (this.entries.get(kind)!.get(key)?.blockedUntil ?? 0) - now));
		if (wait > 0) return wait;
		for (const [kind, key] of named) {
			const rule = this.rules[kind];
			const entries = this.entries.get(kind)!;
			let entry = entries.get(key);
			// A quiet spell as long as the longest wait forgives earlier failures.
			if (!entry || now - entry.lastFailure > rule.maxDelayMs) entry = { failures: 0, lastFailure: now, blockedUntil: 0 };
			entry.failures++;
			entry.lastFailure = now;
			block(rule, entry, now);
			entries.set(key, entry);
			if (entries.size > PRUNE_ABOVE) prune(entries, rule, now);
		}
		return 0;
	}

	async retract(keys: ThrottleKeys<Kind>): Promise<void> {
		const now = this.now();
		for (const [kind, key] of present(keys)) {
			const entry = this.entries.get(kind)!.get(key);
			if (!entry) continue;
			entry.failures--;
			entry.blockedUntil = 0;
			block(this.rules[kind], entry, now);
		}
	}

	async forgive(keys: ThrottleKeys<Kind>): Promise<void> {
		for (const [kind, key] of present(keys)) this.entries.get(kind)!.delete(key);
	}
}

function block(rule: BackoffRule, entry: Entry, now: number) {
	const over = entry.failures - rule.freeFailures;
	if (over >= 0) entry.blockedUntil = Math.max(entry.blockedUntil, now + Math.min(rule.maxDelayMs, rule.baseDelayMs * 2 ** over));
}

function prune(entries: Map<string, Entry>, rule: BackoffRule, now: number) {
	for (const [key, entry] of entries) if (now - entry.lastFailure > rule.maxDelayMs) entries.delete(key);
}

/**
 * MemoryLoginThrottle's entries as Redis hashes (failures, last, blocked), each kept while it can
 * matter: until its wait has passed and a quiet spell would forgive it. ARGV: now, then for each
 * key its rule's free failures, base delay and longest delay.
 */
const ENTRIES = `
local now = tonumber(ARGV[1])
local function rule(i) return tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1]) end
local function save(key, failures, last, blocked, free, base, max)
	local over = failures - free
	if over >= 0 then blocked = math.max(blocked, now + math.min(max, base * 2 ^ over)) end
	redis.call('HSET', key, 'failures', failures, 'last', last, 'blocked', blocked)
	redis.call('PEXPIRE', key, math.ceil(math.max(last + max, blocked) - now) + 1)
end
`;

/** MemoryLoginThrottle's `attempt` in one script: every key checked, then every key counted, atomically. */
const ATTEMPT = `${ENTRIES}
local wait = 0
for _, key in ipairs(KEYS) do wait = math.max(wait, (tonumber(redis.call('HGET', key, 'blocked')) or 0) - now) end
if wait > 0 then return math.ceil(wait) end
for i, key in ipairs(KEYS) do
	local free, base, max = rule(i)
	local failures, last, blocked = unpack(redis.call('HMGET', key, 'failures', 'last', 'blocked'))
	failures, last, blocked = tonumber(failures), tonumber(last), tonumber(blocked)
	if not failures or now - last > max then failures, blocked = 0, 0 end
	save(key, failures + 1, now, blocked, free, base, max)
end
return 0
`;

/** MemoryLoginThrottle's `retract`. */
const RETRACT = `${ENTRIES}
for i, key in ipairs(KEYS) do
	local failures, last = unpack(redis.call('HMGET', key, 'failures', 'last'))
	if failures then
		local free, base, max = rule(i)
		save(key, tonumber(failures) - 1, tonumber(last), 0, free, base, max)
	end
end
return 0
`;

/**
 * The sign-in throttle of every node of a cluster, in Redis under `tandem:throttle:<name>:<kind>:…`;
 * in the node's memory while Redis is out of reach (server/cluster/limits-redis.ts says why).
 * Waits follow the nodes' clocks (`now`), which must agree to well within the base delay.
 */
export class RedisLoginThrottle<Kind extends string> implements LoginThrottle<Kind> {
	private readonly attemptScript: Script;
	private readonly retractScript: Script;
	private readonly local: MemoryLoginThrottle<Kind>;

	constructor(
		private readonly redis: LimitsRedis,
		private readonly name: string,
		private readonly rules: Record<Kind, BackoffRule>,
		private readonly now: () => number = Date.now
	) {
		this.attemptScript = redis.script(ATTEMPT);
		this.retractScript = redis.script(RETRACT);
		this.local = new MemoryLoginThrottle(rules, now);
	}

	attempt(keys: ThrottleKeys<Kind>): Promise<number> {
		return this.redis.run(async () => waitOf(await this.attemptScript(...this.scriptArgs(keys))), () => this.local.attempt(keys));
	}

	retract(keys: ThrottleKeys<Kind>): Promise<void> {
		return this.redis.run(
			async () => void (await this.retractScript(...this.scriptArgs(keys))),
			() => this.local.retract(keys)
		);
	}

	forgive(keys: ThrottleKeys<Kind>): Promise<void> {
		return this.redis.run(() => this.redis.forget(this.redisKeys(keys)), () => this.local.forgive(keys));
	}

	private redisKeys(keys: ThrottleKeys<Kind>): string[] {
		return present(keys).map(([kind, key]) => this.redis.key(`throttle:${this.name}:${kind}`, key));
	}

	private scriptArgs(keys: ThrottleKeys<Kind>): [string[], number[]] {
		const rules = present(keys).map(([kind]) => this.rules[kind]);
		return [this.redisKeys(keys), [this.now(), ...rules.flatMap((rule) => [rule.freeFailures, rule.baseDelayMs, rule.maxDelayMs])]];
	}
}
