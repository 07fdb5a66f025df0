/**
 * Wakes snoozed tickets: when their time comes, or earlier when the customer writes. Runs on the
 * leader, so each ticket is woken once, by a change through the server like any other (recorded
 * as a `field.changed` event by the system) that every node's streams carry back into the views.
 * The views leave a snoozed ticket out only until its time (ticket-index.ts), so a wake delayed
 * by a change of leader never hides a ticket longer than asked.
 */
import { and, isNotNull, lte, min } from 'drizzle-orm';
import { SYSTEM } from './auth/principal';
import { LeaderWork } from './cluster/leadership';
import type { Logger } from './log';
import type { Store } from './storage/store';
import type { TicketIndex, TicketRow } from './ticket-index';
import type { Tickets } from './tickets';

export interface SnoozeAlarmSettings {
	/** The longest the alarm sleeps before it looks at the table again (clock changes, missed rows). */
	maxSleepMs?: number;
}

/** Wakes tickets while this node leads (`follow`). */
export class SnoozeAlarm extends LeaderWork {
	constructor(
		private readonly deps: { store: Store; index: TicketIndex; tickets: Pick<Tickets, 'patch'>; logger: Logger },
		private readonly settings: SnoozeAlarmSettings = {}
	) {
		super();
	}

	/** Starts waking tickets; `close` stops. */
	start(): { close(): Promise<void> } {
		let timer: ReturnType<typeof setTimeout> | null = null;
		let closed = false;
		let waking: Promise<void> = Promise.resolve();
		/** Each snoozed ticket as last seen: its time, and its newest public message (a newer one from the customer wakes it). */
		const seen = new Map<string, { until: number; lastPublicAt: number | null }>();

		const wake = (ids: string[]) => {
			waking = waking.then(async () => {
				for (const id of ids) {
					if (closed) return;
					seen.delete(id);
					await this.deps.tickets.patch(id, { snoozedUntil: null }, SYSTEM).catch((error: unknown) => this.deps.logger.error({ err: error, ticketId: id }, 'waking a snoozed ticket failed'));
				}
			});
			return waking;
		};

		const arm = async () => {
			if (closed) return;
			if (timer) clearTimeout(timer);
			const { tickets } = this.deps.store.tables;
			const now = Date.now();
			const due = await this.deps.store.db.select({ id: tickets.id }).from(tickets).where(and(isNotNull(tickets.snoozedUntil), lte(tickets.snoozedUntil, now)));
			if (due.length) await wake(due.map((row) => row.id));
			const [next] = await this.deps.store.db.select({ at: min(tickets.snoozedUntil) }).from(tickets);
			if (closed) return;
			const sleep = Math.min(next?.at == null ? Infinity : next.at - Date.now(), this.settings.maxSleepMs ?? 60_000);
			timer = setTimeout(rearm, Math.max(0, sleep));
			timer.unref();
		};

		const rearm = () => void arm().catch((error: unknown) => this.deps.logger.error({ err: error }, 'the snooze alarm failed'));

		const follow = (row: TicketRow) => {
			if (row.snoozedUntil === null) return void seen.delete(row.id);
			const before = seen.get(row.id);
			seen.set(row.id, { until: row.snoozedUntil, lastPublicAt: row.lastPublicAt });
			const customerWrote = !!before && row.awaitingSince !== null && (row.lastPublicAt ?? 0) > (before.lastPublicAt ?? 0);
			if (customerWrote || row.snoozedUntil <= Date.now()) void wake([row.id]);
			else if (before?.until !== row.snoozedUntil) rearm();
		};

		const load = async () => {
			const { tickets } = this.deps.store.tables;
			const snoozed = await this.deps.store.db
				.select({ id: tickets.id, until: tickets.snoozedUntil, lastPublicAt: tickets.lastPublicAt })
				.from(tickets)
				.where(isNotNull(tickets.snoozedUntil));
			for (const { id, until, lastPublicAt } of snoozed) if (!seen.has(id)) seen.set(id, { until: until!, lastPublicAt });
			await arm();
		};

		// Every node's rows: a ticket snoozed or written to on another node is followed here.
		const unwatch = this.deps.index.feed.watch(follow);
		void load().catch((error: unknown) => this.deps.logger.error({ err: error }, 'the snooze alarm could not start'));
		return {
			close: async () => {
				closed = true;
				unwatch();
				if (timer) clearTimeout(timer);
				await waking;
			}
		};
	}
}
