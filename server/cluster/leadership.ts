/**
 * Which node does the work that must happen once (DESIGN.md, "Cluster"): routing's timers (offer
 * expiry and the passes after it), status decay, SLA sweeps. The node holding the store's leader
 * lock leads — on PostgreSQL a session advisory lock, which the server lets go when the holder's
 * connection or process dies; on SQLite the one process always does. The others try for it every
 * `checkMs`, and the leader checks as often that it still holds it (its connection may have
 * broken, and another node may hold the lock by then).
 *
 * Until a leader notices it lost the lock, two nodes may do the same work for a moment: that only
 * does it twice, never twice over, since every decision is a transaction that locks what it
 * reads (server/routing/router.ts).
 */
import type { Logger } from '../log';
import type { HeldLock, Store } from '../storage/store';

const LEADER_LOCK = 'tandem:leader';

/** Told when this node starts or stops leading; awaited before the next change. */
export type LeadershipListener = (leading: boolean) => Promise<void> | void;

export class Leadership {
	private held: HeldLock | null = null;
	private readonly listeners = new Set<LeadershipListener>();
	private timer: NodeJS.Timeout | null = null;
	/** Checks run one after the other: a change is told in full before the next check. */
	private turn: Promise<void> = Promise.resolve();
	private closed = false;

	constructor(
		private readonly store: Pick<Store, 'holdLock'>,
		private readonly settings: { checkMs: number; logger: Logger }
	) {}

	get leading(): boolean {
		return this.held !== null;
	}

	onChange(listener: LeadershipListener): () => void {
		this.listeners.add(listener);
		return () => this.listeners.delete(listener);
	}

	/**
	 * Runs a worker while this node leads: started now if it does, and each time it starts to;
	 * closed when it stops. Returns the stop for good.
	 */
	whileLeading(start: () => { close(): Promise<void> }): { close(): Promise<void> } {
		let running: { close(): Promise<void> } | null = this.leading ? start() : null;
		const unsubscribe = this.onChange(async (leading) => {
			if (leading) return void (running ??= start());
			const stopping = running;
			running = null;
			await stopping?.close();
		});
		return {
			async close() {
				unsubscribe();
				await running?.close();
				running = null;
			}
		};
	}

	/** Tries for the lock now (a sole node leads from its first moment), then every `checkMs`. */
	async start(): Promise<void> {
		await this.check();
		this.timer = setInterval(() => void this.check(), this.settings.checkMs);
		this.timer.unref();
	}

	/** Stops leading (the work stops before the lock goes) and stops trying. */
	async close(): Promise<void> {
		this.closed = true;
		if (this.timer) clearInterval(this.timer);
		await this.turn;
		await this.stepDown();
	}

	private check(): Promise<void> {
		this.turn = this.turn.then(() => this.step()).catch((error: unknown) => this.settings.logger.error({ err: error }, 'checking the leadership failed'));
		return this.turn;
	}

	private async step(): Promise<void> {
		if (this.closed) return;
		if (this.held) {
			if (await this.held.check()) return;
			this.settings.logger.warn('lost the leader lock (its database connection broke); no longer leading');
			await this.stepDown();
			return;
		}
		try {
			this.held = await this.store.holdLock(LEADER_LOCK);
		} catch (error) {
			// The database is out of reach: nobody can decide anything; try again at the next check.
			this.settings.logger.debug({ err: error }, 'could not try for the leader lock');
			return;
		}
		if (!this.held) return;
		this.settings.logger.info('leading: routing timers, status decay and SLA sweeps run on this node');
		try {
			await this.tell(true);
		} catch (error) {
			// Half started (the database went away while rebuilding): let another node, or the next check, start afresh.
			this.settings.logger.error({ err: error }, 'starting to lead failed; letting the lock go');
			await this.stepDown();
		}
	}

	private async stepDown(): Promise<void> {
		const held = this.held;
		if (!held) return;
		this.held = null;
		// The work stops before the lock is let go: the next leader never overlaps this one's timers.
		await this.tell(false).catch((error: unknown) => this.settings.logger.error({ err: error }, 'stopping the leader’s work failed'));
		await held.release();
	}

	private async tell(leading: boolean): Promise<void> {
		for (const listener of [...this.listeners]) await listener(leading);
	}
}

/** Work that runs while this node leads: `follow` starts it with the leadership, `close` stops it for good. */
export abstract class LeaderWork {
	private leading: { close(): Promise<void> } | null = null;

	follow(leadership: Pick<Leadership, 'whileLeading'>): void {
		this.leading ??= leadership.whileLeading(() => this.start());
	}

	async close(): Promise<void> {
		await this.leading?.close();
		this.leading = null;
	}

	/** Starts the work now; the answer's `close` stops it. */
	abstract start(): { close(): Promise<void> };
}
