/**
 * The ticket index: one row per ticket, projected from its document, for lists, filters and
 * search. Derived data: `cli reindex` rebuilds it from the documents.
 */
import type Database from 'better-sqlite3';
import { and, desc, eq, gte, inArray, isNull, notInArray, or, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import { z } from 'zod';
import type * as Y from 'yjs';
import { entryIndex, PRIORITIES, readFields, replyTimes, type Priority, type Status, type TicketFields } from '../src/lib/ticket';
import { RECENT_MS, TICKET_SORTS, VIEW_IDS, type TicketSort, type ViewId } from '../src/lib/api/views';
import { tickets } from '../drizzle/schema';
import type { Events } from './events';
import type { TicketScope } from './auth/policy';
import type { Principal, UserPrincipal } from './auth/principal';
import { ApiError } from './errors';
import type { Db } from './storage/database';

export type TicketRow = typeof tickets.$inferSelect;

/** Told of every index row written, once its transaction has committed. */
export type TicketChangeListener = (row: TicketRow) => void;

const PREVIEW_LENGTH = 160;

export interface TicketFilters {
	/** Whose list: only tickets this principal may see are listed. */
	viewer: Principal;
	view?: ViewId;
	status?: string;
	assigneeId?: string;
	groupId?: string;
	q?: string;
	sort: TicketSort;
	limit: number;
	cursor?: string;
}

/** Fields whose changes are recorded as events. */
const TRACKED_FIELDS = ['subject', 'status', 'priority', 'assigneeId', 'groupId'] as const;

export class TicketIndex {
	private readonly listeners = new Set<TicketChangeListener>();
	// The projection runs after every change to every open ticket: its statements are prepared once.
	private readonly selectRow;
	private readonly upsertRow: Database.Statement<Record<string, unknown>>;
	private readonly nextNumber: Database.Statement<[], { value: number }>;

	constructor(
		private readonly db: Db,
		private readonly events: Events
	) {
		this.selectRow = db.select().from(tickets).where(eq(tickets.id, sql.placeholder('id'))).prepare();
		this.upsertRow = db.$client.prepare(
			`INSERT INTO tickets (id, number, subject, status, priority, assignee_id, group_id, requester_id, channel, tags, created_at, updated_at, entry_count, last_public_preview, last_public_at, first_reply_at, awaiting_since, parent_id)
			 VALUES (@id, @number, @subject, @status, @priority, @assigneeId, @groupId, @requesterId, @channel, @tags, @createdAt, @updatedAt, @entryCount, @lastPublicPreview, @lastPublicAt, @firstReplyAt, @awaitingSince, @parentId)
			 ON CONFLICT (id) DO UPDATE SET number = excluded.number, subject = excluded.subject, status = excluded.status, priority = excluded.priority,
			   assignee_id = excluded.assignee_id, group_id = excluded.group_id, requester_id = excluded.requester_id, channel = excluded.channel,
			   tags = excluded.tags, created_at = excluded.created_at, updated_at = excluded.updated_at, entry_count = excluded.entry_count,
			   last_public_preview = excluded.last_public_preview, last_public_at = excluded.last_public_at,
			   first_reply_at = excluded.first_reply_at, awaiting_since = excluded.awaiting_since, parent_id = excluded.parent_id`
		);
		// Plain SQL both SQLite and PostgreSQL run: the row is created on first use, continuing
		// after the highest number in the index; PostgreSQL's row lock orders concurrent takers.
		this.nextNumber = db.$client.prepare(
			`INSERT INTO sequences (name, value) VALUES ('ticket_number', (SELECT COALESCE(MAX(number), 0) + 1 FROM tickets))
			 ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1
			 RETURNING value`
		);
	}

	/**
	 * Takes the next ticket number. Call it inside the transaction that creates the ticket: if that
	 * rolls back, so does the number; once it commits, no other ticket can get it.
	 */
	takeNumber(): number {
		return this.nextNumber.get()!.value;
	}

	/**
	 * Calls `listener` with each row written from now on, after its transaction committed. A
	 * listener that throws is unsubscribed: one broken subscriber cannot stop the projection.
	 */
	onChange(listener: TicketChangeListener): () => void {
		this.listeners.add(listener);
		return () => this.listeners.delete(listener);
	}

	/** How many listeners are subscribed (streams open): a leak shows here. */
	listenerCount(): number {
		return this.listeners.size;
	}

	get(id: string): TicketRow | null {
		return this.selectRow.get({ id }) ?? null;
	}

	byNumber(number: number): TicketRow | null {
		return this.db.select().from(tickets).where(eq(tickets.number, number)).get() ?? null;
	}

	exists(id: string): boolean {
		return !!this.db.select({ id: tickets.id }).from(tickets).where(eq(tickets.id, id)).get();
	}

	/**
	 * Writes the row for a ticket from its document; records field changes as events.
	 * `numberBefore` is the number a rebuild found on the row it removed: a ticket from before
	 * numbers were in documents keeps the one the migration gave it.
	 */
	project(ticketId: string, doc: Y.Doc, actor = 'system', now = Date.now(), alongside?: () => void, numberBefore?: number | null): TicketRow {
		const fields = readFields(doc);
		const index = entryIndex(doc);
		const previous = this.get(ticketId);
		// For SLA timers: the first reply, and since when the customer waits (kept from the row
		// before, as the index knows only the newest public message).
		const last = index.lastPublic;
		const fromCustomer = last?.authorType === 'customer';
		const exact = previous ? null : replyTimes(doc);
		const row: TicketRow = {
			id: ticketId,
			number: fields.number ?? previous?.number ?? numberBefore ?? null,
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
			lastPublicAt: index.lastPublic?.createdAt ?? null,
			// Kept up incrementally; a first projection (a new ticket, a reindex) reads the conversation.
			firstReplyAt: exact ? exact.firstReplyAt : (previous!.firstReplyAt ?? (last && !fromCustomer ? last.createdAt : null)),
			awaitingSince: exact ? exact.awaitingSince : last && fromCustomer ? (previous!.awaitingSince ?? last.createdAt) : null,
			parentId: fields.parentId ?? null
		};
		if (previous && sameProjection(previous, row)) {
			alongside?.();
			return previous;
		}
		this.db.$client.transaction(() => {
			alongside?.();
			this.upsertRow.run({ ...row, tags: JSON.stringify(row.tags) });
			if (previous) {
				this.events.recordMany(
					TRACKED_FIELDS.filter((name) => previous[name] !== row[name]).map((name) => ({
						ticketId,
						actor,
						type: 'field.changed',
						data: { field: name, from: previous[name], to: row[name] },
						createdAt: now
					}))
				);
			}
		})();
		this.announce(row);
		return row;
	}

	list(filters: TicketFilters): { tickets: TicketRow[]; next: string | null } {
		const conditions: (SQL | undefined)[] = [visibleTo(filters.viewer)];
		if (filters.view) conditions.push(viewCondition(filters.view, filters.viewer));
		if (filters.status) conditions.push(eq(tickets.status, filters.status));
		if (filters.assigneeId) conditions.push(eq(tickets.assigneeId, filters.assigneeId));
		if (filters.groupId) conditions.push(eq(tickets.groupId, filters.groupId));
		if (filters.q) {
			const pattern = `%${filters.q.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
			const number = ticketNumberIn(filters.q);
			conditions.push(
				or(
					sql`${tickets.subject} LIKE ${pattern} ESCAPE '\\'`,
					sql`${tickets.lastPublicPreview} LIKE ${pattern} ESCAPE '\\'`,
					number === null ? undefined : eq(tickets.number, number)
				)!
			);
		}
		// Keyset pagination: every order ends with the id, so the key of the last row listed says
		// exactly where the next page starts, and rows written in between neither repeat nor vanish.
		const keys = [...ORDERS[filters.sort].keys, tickets.id];
		if (filters.cursor) {
			const after = decodeCursor(filters.cursor, filters.sort).map((value) => sql`${value}`);
			conditions.push(sql`(${sql.join(keys, sql`, `)}) < (${sql.join(after, sql`, `)})`);
		}
		const rows = this.db
			.select()
			.from(tickets)
			.where(and(...conditions))
			.orderBy(...keys.map((key) => desc(key)))
			.limit(filters.limit + 1)
			.all();
		const page = rows.slice(0, filters.limit);
		const last = page[page.length - 1];
		return { tickets: page, next: rows.length > filters.limit && last ? encodeCursor(filters.sort, last) : null };
	}

	/** How many tickets each view holds for `viewer`, counted in one query. */
	countViews(viewer: Principal): Record<ViewId, number> {
		const now = Date.now();
		const counts = Object.fromEntries(
			VIEW_IDS.map((view) => [view, sql<number>`count(*) FILTER (WHERE ${viewCondition(view, viewer, now)})`])
		);
		return this.db.select(counts).from(tickets).where(visibleTo(viewer)).get() as Record<ViewId, number>;
	}

	/** A requester's tickets that `viewer` may see, most recently updated first. */
	ofRequester(requesterId: string, viewer: Principal, limit: number) {
		return this.db
			.select({ id: tickets.id, number: tickets.number, subject: tickets.subject, status: tickets.status, channel: tickets.channel, updatedAt: tickets.updatedAt })
			.from(tickets)
			.where(and(eq(tickets.requesterId, requesterId), visibleTo(viewer)))
			.orderBy(desc(tickets.updatedAt), desc(tickets.id))
			.limit(limit)
			.all();
	}

	/** The scope (channel, group, assignee) of each of a customer's tickets: what the policy decides their visibility by. */
	requesterScopes(requesterId: string): TicketScope[] {
		return this.db
			.select({ channel: tickets.channel, groupId: tickets.groupId, assigneeId: tickets.assigneeId })
			.from(tickets)
			.where(eq(tickets.requesterId, requesterId))
			.all();
	}

	/** The child tickets of a ticket, oldest first. */
	childrenOf(parentId: string): TicketRow[] {
		return this.db.select().from(tickets).where(eq(tickets.parentId, parentId)).orderBy(tickets.createdAt, tickets.id).all();
	}

	allIds(): string[] {
		return this.db.select({ id: tickets.id }).from(tickets).all().map((r) => r.id);
	}

	/**
	 * Tells the listeners of a row just written. Inside a caller's transaction (a new ticket, a
	 * reindex) they hear of it once that transaction has committed: better-sqlite3 transactions
	 * are synchronous, so by the next microtask it has, or has rolled back and the row is not there.
	 */
	private announce(row: TicketRow): void {
		if (!this.listeners.size) return;
		if (!this.db.$client.inTransaction) return this.emit(row);
		queueMicrotask(() => {
			// Closed meanwhile (the process is stopping): nobody is left to tell.
			if (!this.db.$client.open) return;
			const stored = this.get(row.id);
			if (stored && stored.updatedAt === row.updatedAt && sameProjection(stored, row)) this.emit(stored);
		});
	}

	private emit(row: TicketRow): void {
		for (const listener of [...this.listeners]) {
			try {
				listener(row);
			} catch {
				this.listeners.delete(listener);
			}
		}
	}
}

/** Which tickets `viewer` may see: the rule of ticketAccess (auth/policy.ts) as a query condition. */
function visibleTo(viewer: Principal): SQL | undefined {
	if (viewer.kind === 'bot') return inArray(tickets.channel, viewer.channels);
	if (viewer.kind === 'user' && viewer.role === 'agent') return or(eq(tickets.assigneeId, viewer.id), inGroupsOf(viewer));
	return undefined;
}

/** Tickets of one of the user's groups, or of no group. */
const inGroupsOf = (user: UserPrincipal) => or(isNull(tickets.groupId), inArray(tickets.groupId, user.groupIds))!;

const WAITING: Status[] = ['pending', 'hold'];
const DONE: Status[] = ['solved', 'closed'];

/**
 * What each workspace view matches, for the list and the counts alike. Always combined with
 * visibleTo(viewer): a view never shows a ticket its viewer may not see.
 */
export function viewCondition(view: ViewId, viewer: Principal, now = Date.now()): SQL {
	switch (view) {
		case 'mine':
			return viewer.kind === 'user' ? and(eq(tickets.assigneeId, viewer.id), notInArray(tickets.status, DONE))! : sql`0`;
		case 'unassigned': {
			const unassigned = and(isNull(tickets.assigneeId), notInArray(tickets.status, DONE))!;
			// Agents see the queue of their groups; admins, supervisors and bots every unassigned ticket they may see.
			return viewer.kind === 'user' && viewer.role === 'agent' ? and(unassigned, inGroupsOf(viewer))! : unassigned;
		}
		case 'open':
			// Open as in "My open tickets": not solved or closed, waiting ones included.
			return notInArray(tickets.status, DONE);
		case 'pending':
			return inArray(tickets.status, WAITING);
		case 'solved':
			return inArray(tickets.status, DONE);
		case 'recent':
			return gte(tickets.updatedAt, now - RECENT_MS);
	}
}

/** urgent 3, high 2, normal 1, low 0: the order of PRIORITIES. */
const PRIORITY_RANK = sql<number>`CASE ${tickets.priority} ${sql.join(
	PRIORITIES.map((priority, rank) => sql`WHEN ${priority} THEN ${rank}`),
	sql` `
)} ELSE -1 END`;

/** Each list order's sort keys (all descending, the id last as a tie-break) and their values for a row. */
const ORDERS: Record<TicketSort, { keys: SQLWrapper[]; of: (row: TicketRow) => number[] }> = {
	updated: { keys: [tickets.updatedAt], of: (row) => [row.updatedAt] },
	created: { keys: [tickets.createdAt], of: (row) => [row.createdAt] },
	priority: { keys: [PRIORITY_RANK, tickets.updatedAt], of: (row) => [PRIORITIES.indexOf(row.priority as Priority), row.updatedAt] }
};

/** A cursor names its order and the sort key of the last row listed: `[sort, [key…], id]`. */
const cursorSchema = z.tuple([z.enum(TICKET_SORTS), z.array(z.number().int()), z.string().min(1)]);

function encodeCursor(sort: TicketSort, row: TicketRow): string {
	return Buffer.from(JSON.stringify([sort, ORDERS[sort].of(row), row.id])).toString('base64url');
}

/** The sort key values a cursor continues after, with the id last. */
function decodeCursor(cursor: string, sort: TicketSort): (number | string)[] {
	let decoded: unknown;
	try {
		decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString());
	} catch {
		decoded = null;
	}
	const parsed = cursorSchema.safeParse(decoded);
	if (!parsed.success || parsed.data[0] !== sort || parsed.data[1].length !== ORDERS[sort].keys.length) {
		throw new ApiError(400, 'invalid_field', `cursor: not a cursor from this API for sort=${sort}`, 'cursor');
	}
	return [...parsed.data[1], parsed.data[2]];
}

/** The ticket number a search for `#1042` or `1042` names, else null. */
export function ticketNumberIn(query: string): number | null {
	const match = /^#?(\d{1,9})$/.exec(query.trim());
	return match ? Number(match[1]) : null;
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
