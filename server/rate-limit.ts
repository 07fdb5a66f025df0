/**
 * A fixed-window request counter per key (a visitor, a client address): at most `limit` requests
 * in each `windowMs`. In memory, per process: enough to stop one noisy client flooding tickets.
 */
const PRUNE_ABOVE = 100_000;

export class RateLimit {
	private readonly windows = new Map<string, { start: number; count: number }>();

	constructor(
		private readonly limit: number,
		private readonly windowMs: number,
		private readonly now: () => number = Date.now
	) {}

	/** Counts a request: 0 when it is allowed, else the milliseconds until the key may try again. */
	take(key: string): number {
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
