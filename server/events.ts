/** The event log: what happened to tickets and accounts, and who did it. */
import { and, asc, eq, gt } from 'drizzle-orm';
import { events } from '../drizzle/schema';
import type { Db } from './storage/database';

export interface NewEvent {
	ticketId?: string | null;
	userId?: string | null;
	actor: string;
	type: string;
	data?: Record<string, unknown>;
	createdAt?: number;
}

export class Events {
	constructor(private readonly db: Db) {}

	record(event: NewEvent): void {
		this.recordMany([event]);
	}

	recordMany(list: NewEvent[]): void {
		if (!list.length) return;
		const now = Date.now();
		this.db
			.insert(events)
			.values(
				list.map((event) => ({
					ticketId: event.ticketId ?? null,
					userId: event.userId ?? null,
					actor: event.actor,
					type: event.type,
					data: event.data ?? {},
					createdAt: event.createdAt ?? now
				}))
			)
			.run();
	}

	forTicket(ticketId: string, after = 0, limit = 200) {
		return this.db
			.select()
			.from(events)
			.where(and(eq(events.ticketId, ticketId), gt(events.id, after)))
			.orderBy(asc(events.id))
			.limit(limit)
			.all();
	}
}
