/**
 * Access is live (DESIGN.md, Trust model): whatever may take access away — a session ended, a user
 * disabled, regrouped or given another role, a token revoked or rescoped — moves the access epoch,
 * a counter the database keeps with triggers (drizzle/migrations/0009_access_epoch.sql), so a
 * write from any process or database handle counts (the CLI, a second server, a script). Open
 * sockets and streams subscribe here and re-check their principals when it moves: at once for a
 * change made in this process (`changed()`), within one poll interval for the others.
 */
import { eq } from 'drizzle-orm';
import { accessEpoch } from '../../drizzle/schema';
import type { Logger } from '../log';
import type { Db } from '../storage/database';

type Listener = () => void;

export class AccessChanges {
	private readonly listeners = new Set<Listener>();
	// Polled a few times a second: prepared once.
	private readonly selectEpoch;
	private seen: number;

	constructor(
		db: Db,
		private readonly logger: Logger
	) {
		this.selectEpoch = db.select({ epoch: accessEpoch.epoch }).from(accessEpoch).where(eq(accessEpoch.id, 1)).prepare();
		this.seen = this.epoch();
	}

	/** Told after this process committed a write that may take access away: re-checks at once. */
	changed(): void {
		this.seen = this.epoch();
		this.notify();
	}

	/** Re-checks when another process or handle moved the epoch since it was last seen. */
	poll(): void {
		const epoch = this.epoch();
		if (epoch === this.seen) return;
		this.seen = epoch;
		this.notify();
	}

	/** Polls every `intervalMs` until closed. */
	start(intervalMs: number): { close(): Promise<void> } {
		const timer = setInterval(() => {
			try {
				this.poll();
			} catch (error) {
				this.logger.error({ err: (error as Error).message }, 'access epoch poll failed');
			}
		}, intervalMs);
		return { close: async () => clearInterval(timer) };
	}

	/** Calls `listener` after every change; returns the unsubscribe function. */
	subscribe(listener: Listener): () => void {
		this.listeners.add(listener);
		return () => this.listeners.delete(listener);
	}

	private epoch(): number {
		return this.selectEpoch.get()?.epoch ?? 0;
	}

	private notify(): void {
		for (const listener of [...this.listeners]) {
			// One failing re-check must not keep the others from running.
			try {
				listener();
			} catch (error) {
				this.logger.error({ err: (error as Error).message }, 'access re-check failed');
			}
		}
	}
}
