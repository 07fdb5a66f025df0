/**
 * Access is live (DESIGN.md, Trust model): whatever may take access away — a session ended, a user
 * disabled, regrouped or given another role, a token revoked or rescoped — moves the access epoch,
 * a counter the database keeps with triggers (drizzle/migrations/0009_access_epoch.sql), so a
 * write from any process or database handle counts (the CLI, a second server, a script). Open
 * sockets and streams subscribe here and re-check their principals when it moves: at once for a
 * change made in this process (`changed()`), within one poll interval for the others.
 *
 * Caches of what access depends on (the accounts directory) are reloaded before anyone re-checks.
 * A new user or group takes no access away, so it moves no epoch: the poll also watches how many
 * users and groups there are (neither is ever deleted without moving the epoch), so that the
 * directory learns of them within one poll too.
 */
import { eq, sql } from 'drizzle-orm';
import type { Logger } from '../log';
import type { Store } from '../storage/store';

/** A re-check; one that returns a promise is awaited (so a change is enforced when `changed()` resolves). */
type Listener = () => void | Promise<void>;

export class AccessChanges {
	private readonly listeners = new Set<Listener>();
	private readonly caches: (() => Promise<void>)[] = [];
	/** The epoch and the numbers of users and groups, as last seen. */
	private seen: string | null = null;

	constructor(
		private readonly store: Store,
		private readonly logger: Logger
	) {}

	/**
	 * Keeps a cache current: `reload` runs (and is awaited) whenever the access epoch or the users
	 * or groups may have moved, before the listeners are told.
	 */
	keep(reload: () => Promise<void>): void {
		this.caches.push(reload);
	}

	/** Reads where things stand, then loads the caches: a change after this is seen by the next poll. */
	async load(): Promise<void> {
		this.seen = await this.mark();
		for (const reload of this.caches) await reload();
	}

	/**
	 * Told after this process committed a write that may take access away (never from inside a
	 * transaction: the re-checks would read it): reloads the caches and re-checks at once.
	 */
	async changed(): Promise<void> {
		await this.load();
		await this.notify();
	}

	/** Reloads and re-checks when another process or handle moved the epoch since it was last seen. */
	async poll(): Promise<void> {
		const mark = await this.mark();
		if (mark === this.seen) return;
		await this.changed();
	}

	/**
	 * Polls every `intervalMs` until closed; a poll still running when the next is due is not
	 * doubled. While the database does not answer, that is said once, and once more when it does.
	 */
	start(intervalMs: number): { close(): Promise<void> } {
		let polling: Promise<void> | null = null;
		let failures = 0;
		const timer = setInterval(() => {
			polling ??= this.poll()
				.then(() => {
					if (failures > 0) this.logger.info({ failures }, 'access epoch poll works again');
					failures = 0;
				})
				.catch((error) => {
					if (failures++ === 0) this.logger.error({ err: (error as Error).message }, 'access epoch poll failed; retrying, quietly until it works again');
				})
				.finally(() => (polling = null));
		}, intervalMs);
		return {
			close: async () => {
				clearInterval(timer);
				await polling;
			}
		};
	}

	/** Calls `listener` after every change; returns the unsubscribe function. */
	subscribe(listener: Listener): () => void {
		this.listeners.add(listener);
		return () => this.listeners.delete(listener);
	}

	private async mark(): Promise<string> {
		const { accessEpoch, users, groups } = this.store.tables;
		// Polled a few times a second: one statement.
		const [row] = await this.store.db
			.select({ epoch: accessEpoch.epoch, users: sql`(SELECT count(*) FROM ${users})`, groups: sql`(SELECT count(*) FROM ${groups})` })
			.from(accessEpoch)
			.where(eq(accessEpoch.id, 1));
		return row ? `${row.epoch}:${String(row.users)}:${String(row.groups)}` : '';
	}

	private async notify(): Promise<void> {
		// One failing re-check must not keep the others from running.
		const rechecks = await Promise.allSettled([...this.listeners].map(async (listener) => listener()));
		for (const recheck of rechecks) {
			if (recheck.status === 'rejected') this.logger.error({ err: (recheck.reason as Error).message }, 'access re-check failed');
		}
	}
}
