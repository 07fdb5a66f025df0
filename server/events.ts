/** The event log: what happened to tickets and accounts, and who did it. */
import { and, asc, eq, gt } from 'drizzle-orm';
import type Database from 'better-sqlite3';
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
	// Events are written after most changes: the statement is prepared once.
	private readonly insert: Database.Statement<[string | null, string | null, string, string, string, number]>;

	constructor(private readonly db: Db) {
		this.insert = db.$client.prepare('INSERT INTO events (ticket_id, user_id, actor, type, data, created_at) VALUES (?, ?, ?, ?, ?, ?)');
	}

	record(event: NewEvent): void {
		this.recordMany([event]);
	}

	recordMany(list: NewEvent[]): void {
		if (!list.length) return;
		const now = Date.now();
		const write = () => {
			for (const e of list) this.insert.run(e.ticketId ?? null, e.userId ?? null, e.actor, e.type, JSON.stringify(e.data ?? {}), e.createdAt ?? now);
		};
		if (list.length === 1 || this.db.$client.inTransaction) write();
		else this.db.$client.transaction(write)();
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
