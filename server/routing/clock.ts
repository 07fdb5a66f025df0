/** Time for the routing modules, injected so tests can move it by hand. */
export interface Clock {
	now(): number;
	setTimeout(run: () => void, ms: number): unknown;
	clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
	now: () => Date.now(),
	setTimeout(run, ms) {
		// Routing timers never keep the process alive on their own.
		return setTimeout(run, ms).unref();
	},
	clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout)
};
