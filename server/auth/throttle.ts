/**
 * Sign-in throttling with exponential backoff, per account and per client address: after a few
 * free failures, each further failure doubles the wait before the next attempt (capped).
 * In memory: a restart forgives, which is acceptable for backoff (not a lockout).
 */
export interface ThrottleSettings {
	freeFailures: number;
	baseDelayMs: number;
	maxDelayMs: number;
	now?: () => number;
}

interface Record {
	failures: number;
	blockedUntil: number;
}

export class LoginThrottle {
	private readonly records = new Map<string, Record>();
	private readonly now: () => number;

	constructor(private readonly settings: ThrottleSettings = { freeFailures: 3, baseDelayMs: 1000, maxDelayMs: 15 * 60_000 }) {
		this.now = settings.now ?? Date.now;
	}

	/** Milliseconds until any of `keys` may try again (0: allowed now). */
	wait(keys: string[]): number {
		const now = this.now();
		return Math.max(0, ...keys.map((key) => (this.records.get(key)?.blockedUntil ?? 0) - now));
	}

	fail(keys: string[]): void {
		const now = this.now();
		for (const key of keys) {
			const record = this.records.get(key) ?? { failures: 0, blockedUntil: 0 };
			record.failures++;
			const over = record.failures - this.settings.freeFailures;
			if (over > 0) record.blockedUntil = now + Math.min(this.settings.maxDelayMs, this.settings.baseDelayMs * 2 ** (over - 1));
			this.records.set(key, record);
		}
		if (this.records.size > 100_000) this.prune(now);
	}

	succeed(keys: string[]): void {
		for (const key of keys) this.records.delete(key);
	}

	private prune(now: number) {
		for (const [key, record] of this.records) if (record.blockedUntil < now - this.settings.maxDelayMs) this.records.delete(key);
	}
}
