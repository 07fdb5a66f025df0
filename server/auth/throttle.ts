/**
 * Sign-in throttling with exponential backoff, per key (Auth counts per account and client address
 * together, and per client address): after a few free failures, each further failure doubles the
 * wait before the next attempt (capped). An attempt counts as a failure from the moment it starts,
 * so guesses sent at once cannot all slip in while the password check runs; a success then takes
 * its count back.
 * In memory: a restart forgives, which is acceptable for backoff (it is not a lockout).
 */
export interface ThrottleSettings {
	freeFailures: number;
	baseDelayMs: number;
	maxDelayMs: number;
	now?: () => number;
}

interface Entry {
	failures: number;
	lastFailure: number;
	blockedUntil: number;
}

export const DEFAULT_THROTTLE: ThrottleSettings = { freeFailures: 3, baseDelayMs: 1000, maxDelayMs: 15 * 60_000 };

export class LoginThrottle {
	private readonly entries = new Map<string, Entry>();
	private readonly now: () => number;

	constructor(private readonly settings: ThrottleSettings = DEFAULT_THROTTLE) {
		this.now = settings.now ?? Date.now;
	}

	/** Milliseconds until any of `keys` may try again (0: allowed now). */
	wait(keys: string[]): number {
		const now = this.now();
		return Math.max(0, ...keys.map((key) => (this.entries.get(key)?.blockedUntil ?? 0) - now));
	}

	fail(keys: string[]): void {
		const now = this.now();
		for (const key of keys) {
			let entry = this.entries.get(key);
			// A quiet spell as long as the longest wait forgives earlier failures.
			if (!entry || now - entry.lastFailure > this.settings.maxDelayMs) entry = { failures: 0, lastFailure: now, blockedUntil: 0 };
			entry.failures++;
			entry.lastFailure = now;
			this.block(entry, now);
			this.entries.set(key, entry);
		}
		if (this.entries.size > 100_000) this.prune(now);
	}

	/** Takes back one failure counted for an attempt that succeeded. */
	retract(keys: string[]): void {
		const now = this.now();
		for (const key of keys) {
			const entry = this.entries.get(key);
			if (!entry) continue;
			entry.failures--;
			entry.blockedUntil = 0;
			this.block(entry, now);
		}
	}

	/** Forgets `keys` entirely (the account and address that just signed in). */
	forgive(keys: string[]): void {
		for (const key of keys) this.entries.delete(key);
	}

	private block(entry: Entry, now: number) {
		const over = entry.failures - this.settings.freeFailures;
		if (over >= 0) entry.blockedUntil = Math.max(entry.blockedUntil, now + Math.min(this.settings.maxDelayMs, this.settings.baseDelayMs * 2 ** over));
	}

	private prune(now: number) {
		for (const [key, entry] of this.entries) if (now - entry.lastFailure > this.settings.maxDelayMs) this.entries.delete(key);
	}
}
