/**
 * The ticket index: one row per ticket, projected from its document, for lists, filters and
 * search. Derived data: `cli reindex` rebuilds it from the documents.
 */
import { and, desc, eq, inArray, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import type * as Y from 'yjs';
import { entryIndex, readFields, type TicketFields } from '../src/lib/ticket';
import { events, tickets } from '../drizzle/schema';
import { ApiError } from './errors';
import type { Db } from './storage/database';

export type TicketRow = typeof tickets.$inferSelect;

const PREVIEW_LENGTH = 160;

/** Which tickets a caller may see (mirrors ticketAccess in auth/policy.ts). */
export type Visibility = { all: true } | { channels: string[] } | { userId: string; groupIds: string[] };

export interface TicketFilters {
	visibility: Visibility;
	status?: string;
	assigneeId?: string;
	groupId?: string;
	q?: string;
	limit: number;
	cursor?: string;
}

/** Fields whose changes are recorded as events. */
const TRACKED_FIELDS = ['subject', 'status', 'priority', 'assigneeId', 'groupId'] as const;

export class TicketIndex {
	constructor(private readonly db: Db) {}

	get(id: string): TicketRow | null {
		return this.db.select().from(tickets).where(eq(tickets.id, id)).get() ?? null;
	}

	exists(id: string): boolean {
		return !!this.db.select({ id: tickets.id }).from(tickets).where(eq(tickets.id, id)).get();
	}

	/** Writes the row for a ticket from its document; records field changes as events. */
	project(ticketId: string, doc: Y.Doc, actor = 'system', now = Date.now(), alongside?: () => void): TicketRow {
		const fields = readFields(doc);
		const index = entryIndex(doc);
		const previous = this.get(ticketId);
		const row: TicketRow = {
			id: ticketId,
			subject: fields.subject,
			status: fields.status,
			priority: fields.priority,
			assigneeId: fields.assigneeId,
			groupId: fields.groupId,
			requesterId: fields.requesterId,
			channel: fields.channel,
			tags: fields.tags,
			createdAt: fields.createdAt || now,
			updatedAt: now,
			entryCount: index.count,
			lastPublicPreview: index.lastPublic ? preview(index.lastPublic.body) : null,
			lastPublicAt: index.lastPublic?.createdAt ?? null
		};
		if (previous && sameProjection(previous, row)) {
			alongside?.();
			return previous;
		}
		this.db.transaction((tx) => {
			alongside?.();
			tx.insert(tickets).values(row).onConflictDoUpdate({ target: tickets.id, set: row }).run();
			if (previous) {
				for (const name of TRACKED_FIELDS) {
					if (previous[name] !== row[name]) {
						tx.insert(events)
							.values({ ticketId, actor, type: 'field.changed', data: { field: name, from: previous[name], to: row[name] }, createdAt: now })
							.run();
					}
				}
			}
		});
		return row;
	}

	list(filters: TicketFilters): { tickets: TicketRow[]; next: string | null } {
		const conditions: SQL[] = [];
		const v = filters.visibility;
		if ('channels' in v) conditions.push(inArray(tickets.channel, v.channels));
		if ('userId' in v) {
			conditions.push(or(eq(tickets.assigneeId, v.userId), isNull(tickets.groupId), inArray(tickets.groupId, v.groupIds))!);
		}
		if (filters.status) conditions.push(eq(tickets.status, filters.status));
		if (filters.assigneeId) conditions.push(eq(tickets.assigneeId, filters.assigneeId));
		if (filters.groupId) conditions.push(eq(tickets.groupId, filters.groupId));
		if (filters.q) {
			const pattern = `%${filters.q.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
			conditions.push(
				or(sql`${tickets.subject} LIKE ${pattern} ESCAPE '\\'`, sql`${tickets.lastPublicPreview} LIKE ${pattern} ESCAPE '\\'`)!
			);
		}
		const cursor = filters.cursor ? decodeCursor(filters.cursor) : null;
		if (cursor) {
			conditions.push(or(lt(tickets.updatedAt, cursor.updatedAt), and(eq(tickets.updatedAt, cursor.updatedAt), lt(tickets.id, cursor.id)))!);
		}
		const rows = this.db
			.select()
			.from(tickets)
			.where(conditions.length ? and(...conditions) : undefined)
			.orderBy(desc(tickets.updatedAt), desc(tickets.id))
			.limit(filters.limit + 1)
			.all();
		const page = rows.slice(0, filters.limit);
		const last = page[page.length - 1];
		return { tickets: page, next: rows.length > filters.limit && last ? encodeCursor(last) : null };
	}

	allIds(): string[] {
		return this.db.select({ id: tickets.id }).from(tickets).all().map((r) => r.id);
	}
}

function encodeCursor(row: TicketRow): string {
	return Buffer.from(`${row.updatedAt}:${row.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { updatedAt: number; id: string } {
	const [time, id] = Buffer.from(cursor, 'base64url').toString().split(':');
	const updatedAt = Number(time);
	if (!id || !Number.isSafeInteger(updatedAt)) throw new ApiError(400, 'invalid_field', 'cursor: not a cursor from this API', 'cursor');
	return { updatedAt, id };
}

function preview(body: string): string {
	const flat = body.replace(/\s+/g, ' ').trim();
	return flat.length > PREVIEW_LENGTH ? flat.slice(0, PREVIEW_LENGTH - 1) + '…' : flat;
}

function sameProjection(a: TicketRow, b: TicketRow): boolean {
	const keys = Object.keys(b).filter((k) => k !== 'updatedAt') as (keyof TicketRow)[];
	return keys.every((k) => JSON.stringify(a[k]) === JSON.stringify(b[k]));
}

export type { TicketFields };
