/** The event log: what happened to tickets and accounts, and who did it. */
import { and, asc, eq, gt } from 'drizzle-orm';
import type { Store } from './storage/store';

export interface NewEvent {
	ticketId?: string | null;
	userId?: string | null;
	actor: string;
	type: string;
	data?: Record<string, unknown>;
	createdAt?: number;
}

export class Events {
	constructor(private readonly store: Store) {}

	async record(event: NewEvent): Promise<void> {
		await this.recordMany([event]);
	}

	/**
	 * Written through `store.db`: inside a caller's transaction the events are part of it (and rolled
	 * back with it); outside, the one statement writes all of them or none.
	 */
	async recordMany(list: NewEvent[]): Promise<void> {
		if (!list.length) return;
		const now = Date.now();
		await this.store.db.insert(this.store.tables.events).values(
			list.map((e) => ({ ticketId: e.ticketId ?? null, userId: e.userId ?? null, actor: e.actor, type: e.type, data: e.data ?? {}, createdAt: e.createdAt ?? now }))
		);
	}

	async forTicket(ticketId: string, after = 0, limit = 200) {
		const { events } = this.store.tables;
		return this.store.db
			.select()
			.from(events)
			.where(and(eq(events.ticketId, ticketId), gt(events.id, after)))
			.orderBy(asc(events.id))
			.limit(limit);
	}
}
