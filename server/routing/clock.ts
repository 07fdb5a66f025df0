/** Time for the routing modules, injected so tests can move it by hand. */
export interface Clock {
	now(): number;
	/** `run` may return a promise: its failure is reported like a throw. */
	setTimeout(run: () => void | Promise<void>, ms: number): unknown;
	clearTimeout(handle: unknown): void;
}

/**
 * The real clock. A timer's failure (an offer expiring, an agent turning away, the SLA sweep) is
 * reported to `onError`: thrown from a timer it would end the whole process.
 */
export function systemClock(onError: (error: unknown) => void): Clock {
	return {
		now: () => Date.now(),
		setTimeout(run, ms) {
			const guarded = () => void Promise.resolve().then(run).catch(onError);
			// Routing timers never keep the process alive on their own.
			return setTimeout(guarded, ms).unref();
		},
		clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout)
	};
}
