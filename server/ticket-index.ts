/**
 * The ticket index: one row per ticket, projected from its document, for lists, filters and
 * search. Derived data: `cli reindex` rebuilds it from the documents.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { and, desc, eq, gt, gte, inArray, isNull, lte, notInArray, or, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import { z } from 'zod';
import type * as Y from 'yjs';
import { entryIndex, PRIORITIES, readFields, replyTimes, searchableValues, type Priority, type Status, type TicketFields } from '../src/lib/ticket';
import { RECENT_MS, TICKET_SORTS, VIEW_IDS, type TicketSort, type ViewId } from '../src/lib/api/views';
import type { tickets } from '../drizzle/schema';
import type { Events, NewEvent } from './events';
import type { TicketScope } from './auth/policy';
import type { Principal, UserPrincipal } from './auth/principal';
import { Feed } from './cluster/feed';
import { ApiError } from './errors';
import type { Store, Tables } from './storage/store';

export type TicketRow = typeof tickets.$inferSelect;

/** What a projection changed: the row before (null for a new one) and who wrote the change. */
export interface TicketChange {
	previous: TicketRow | null;
	actor: string;
}

/** Told of every index row written, once its transaction has committed. */
export type TicketChangeListener = (row: TicketRow, change: TicketChange) => void;

const PREVIEW_LENGTH = 160;

/** How many merges a chain is followed through (see mergeTarget). */
const MAX_MERGE_HOPS = 20;

export interface TicketFilters {
	/** Whose list: only tickets this principal may see are listed. */
	viewer: Principal;
	view?: ViewId;
	status?: string;
	assigneeId?: string;
	groupId?: string;
	q?: string;
	/** Conditions besides these (a saved view's search). */
	where?: SQL[];
	sort: TicketSort;
	limit: number;
	cursor?: string;
}

/** Fields whose changes are recorded as events. */
const TRACKED_FIELDS = ['subject', 'status', 'priority', 'assigneeId', 'groupId', 'snoozedUntil'] as const;

export class TicketIndex {
	private readonly listeners = new Set<TicketChangeListener>();
	/** Every row written, on any node: for the workspace streams (`onChange` is for this node's work). */
	readonly feed = new Feed<TicketRow>('tickets');
	/** Rows written in the open transaction of `transaction()`, announced once it has committed. */
	private readonly unannounced = new AsyncLocalStorage<[TicketRow, TicketChange][]>();

	constructor(
		private readonly store: Store,
		private readonly events: Pick<Events, 'recordMany'>
	) {}

	/**
	 * Runs `work` in a store transaction (a savepoint inside one) and tells the listeners of the
	 * rows it projected once it has committed; nothing of a rolled-back one. Creating and
	 * rebuilding tickets project inside one of these. Opened inside a store transaction that is
	 * not one of these, the listeners hear when this savepoint ends: open the outermost with this.
	 */
	async transaction<T>(work: () => Promise<T>): Promise<T> {
		const outer = this.unannounced.getStore();
		const rows: [TicketRow, TicketChange][] = [];
		const result = await this.unannounced.run(rows, () => this.store.transaction(work));
		if (outer) outer.push(...rows);
		else for (const [row, change] of rows) this.emit(row, change);
		return result;
	}

	/**
	 * Takes the next ticket number in one statement: the row is created on first use, continuing
	 * after the highest number in the index. Call it inside the transaction that creates the
	 * ticket: the counter's row stays locked (PostgreSQL) until that ends, so concurrent creators
	 * take numbers in turn; if it rolls back, so does the number; once it commits, no other ticket
	 * can get it.
	 */
	async takeNumber(): Promise<number> {
		const { sequences, tickets } = this.store.tables;
		const [taken] = await this.store.db
			.insert(sequences)
			.values({ name: 'ticket_number', value: sql`(SELECT COALESCE(MAX(${tickets.number}), 0) + 1 FROM ${tickets})` })
			.onConflictDoUpdate({ target: sequences.name, set: { value: sql`${sequences.value} + 1` } })
			.returning({ value: sequences.value });
		return taken!.value;
	}

	/**
	 * Calls `listener` with each row written from now on, after its transaction committed. A
	 * listener that throws is unsubscribed: one broken subscriber cannot stop the projection.
	 */
	onChange(listener: TicketChangeListener): () => void {
		this.listeners.add(listener);
		return () => this.listeners.delete(listener);
	}

	/** How many listeners and feed watchers are subscribed (streams open): a leak shows here. */
	listenerCount(): number {
		return this.listeners.size + this.feed.size;
	}

	async get(id: string): Promise<TicketRow | null> {
		const { tickets } = this.store.tables;
		const [row] = await this.store.db.select().from(tickets).where(eq(tickets.id, id)).limit(1);
		return row ?? null;
	}

	/** The ticket's row, locked until the open transaction ends (PostgreSQL; SQLite's transaction excludes other writers). */
	private async getLocked(id: string): Promise<TicketRow | null> {
		const { tickets } = this.store.tables;
		const select = this.store.db.select().from(tickets).where(eq(tickets.id, id)).limit(1);
		// One statement for the lock and the read: the builder is typed for SQLite, which has no FOR UPDATE.
		const [row] = await (this.store.engine === 'postgres' ? (select as unknown as { for(strength: 'update'): typeof select }).for('update') : select);
		return row ?? null;
	}

	/** The rows of `ids` that exist, by id. */
	async rowsOf(ids: readonly string[]): Promise<Map<string, TicketRow>> {
		if (!ids.length) return new Map();
		const { tickets } = this.store.tables;
		const rows = await this.store.db.select().from(tickets).where(inArray(tickets.id, [...ids]));
		return new Map(rows.map((row) => [row.id, row]));
	}

	async byNumber(number: number): Promise<TicketRow | null> {
		const { tickets } = this.store.tables;
		const [row] = await this.store.db.select().from(tickets).where(eq(tickets.number, number)).limit(1);
		return row ?? null;
	}

	async exists(id: string): Promise<boolean> {
		const { tickets } = this.store.tables;
		const [row] = await this.store.db.select({ id: tickets.id }).from(tickets).where(eq(tickets.id, id)).limit(1);
		return !!row;
	}

	/**
	 * Writes the row for a ticket from its document; records field changes as events, after
	 * `changeEvents` (those of the change: entries added…) and in the same statement. `numberBefore` is the number a
	 * rebuild found on the row it removed: a ticket from before numbers were in documents keeps
	 * the one the migration gave it.
	 *
	 * The row is computed from the document only once the ticket's row is locked (PostgreSQL; a
	 * SQLite transaction excludes every other writer): of concurrent projections of a ticket, the
	 * last to write read the document last, so an older state never overwrites a newer one, and
	 * each field change is recorded once.
	 *
	 * `lastRow` is the row the caller's previous projection of this document returned: when the
	 * document has moved on from it (a message, a field), the row is read once, locked, in the
	 * transaction; else (a keystroke in a draft) it is read first and most such changes need no
	 * transaction. It only saves statements: whatever it says, the row written is computed from the
	 * row read under the lock.
	 */
	async project(
		ticketId: string,
		doc: Y.Doc,
		actor = 'system',
		now = Date.now(),
		changeEvents: NewEvent[] = [],
		numberBefore?: number | null,
		lastRow?: TicketRow | null
	): Promise<TicketRow> {
		const moved = !!lastRow && !sameProjection(lastRow, projection(ticketId, doc, lastRow, now, numberBefore));
		if (!moved) {
			const current = await this.get(ticketId);
			if (current && sameProjection(current, projection(ticketId, doc, current, now, numberBefore))) {
				await this.events.recordMany(changeEvents);
				return current;
			}
		}
		const { tickets } = this.store.tables;
		return this.transaction(async () => {
			const previous = await this.getLocked(ticketId);
			const row = projection(ticketId, doc, previous, now, numberBefore);
			if (previous && sameProjection(previous, row)) {
				await this.events.recordMany(changeEvents);
				return previous;
			}
			const { id: _id, ...columns } = row;
			await this.store.db
				.insert(tickets)
				.values(row)
				.onConflictDoUpdate({
					target: tickets.id,
					set: Object.fromEntries(Object.keys(columns).map((key) => [key, sql.raw(`excluded.${tickets[key as keyof typeof columns].name}`)]))
				});
			if (JSON.stringify(previous?.custom ?? null) !== JSON.stringify(row.custom)) await this.writeFieldValues(ticketId, row.custom);
			const fieldEvents: NewEvent[] = previous
				? TRACKED_FIELDS.filter((name) => previous[name] !== row[name]).map((name) => ({
						ticketId,
						actor,
						type: 'field.changed',
						data: { field: name, from: previous[name], to: row[name] },
						createdAt: now
					}))
				: [];
			await this.events.recordMany([...changeEvents, ...fieldEvents]);
			this.unannounced.getStore()!.push([row, { previous, actor }]);
			return row;
		});
	}

	async list(filters: TicketFilters): Promise<{ tickets: TicketRow[]; next: string | null }> {
		const { tickets } = this.store.tables;
		const conditions: (SQL | undefined)[] = [visibleTo(tickets, filters.viewer)];
		if (filters.view) conditions.push(viewCondition(tickets, filters.view, filters.viewer));
		if (filters.status) conditions.push(eq(tickets.status, filters.status));
		if (filters.assigneeId) conditions.push(eq(tickets.assigneeId, filters.assigneeId));
		if (filters.groupId) conditions.push(eq(tickets.groupId, filters.groupId));
		if (filters.where) conditions.push(...filters.where);
		if (filters.q) {
			const pattern = `%${filters.q.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
			const number = ticketNumberIn(filters.q);
			// Case-insensitive on both engines (PostgreSQL's LIKE is not).
			conditions.push(
				or(
					sql`lower(${tickets.subject}) LIKE lower(${pattern}) ESCAPE '\\'`,
					sql`lower(${tickets.lastPublicPreview}) LIKE lower(${pattern}) ESCAPE '\\'`,
					number === null ? undefined : eq(tickets.number, number)
				)!
			);
		}
		// Keyset pagination: every order ends with the id, so the key of the last row listed says
		// exactly where the next page starts, and rows written in between neither repeat nor vanish.
		const keys = [...ORDERS[filters.sort].keys(tickets), tickets.id];
		if (filters.cursor) {
			const after = decodeCursor(filters.cursor, filters.sort, tickets).map((value) => sql`${value}`);
			conditions.push(sql`(${sql.join(keys, sql`, `)}) < (${sql.join(after, sql`, `)})`);
		}
		const rows = await this.store.db
			.select()
			.from(tickets)
			.where(and(...conditions))
			.orderBy(...keys.map((key) => desc(key)))
			.limit(filters.limit + 1);
		const page = rows.slice(0, filters.limit);
		const last = page[page.length - 1];
		return { tickets: page, next: rows.length > filters.limit && last ? encodeCursor(filters.sort, last) : null };
	}

	/** How many tickets each view holds for `viewer`, counted in one query. */
	async countViews(viewer: Principal): Promise<Record<ViewId, number>> {
		const { tickets } = this.store.tables;
		const now = Date.now();
		const counts = Object.fromEntries(
			VIEW_IDS.map((view) => [view, sql<number>`count(*) FILTER (WHERE ${viewCondition(tickets, view, viewer, now)})`.mapWith(Number)])
		);
		const [row] = await this.store.db.select(counts).from(tickets).where(visibleTo(tickets, viewer));
		return row as Record<ViewId, number>;
	}

	/** A requester's tickets that `viewer` may see, most recently updated first. */
	async ofRequester(requesterId: string, viewer: Principal, limit: number) {
		const { tickets } = this.store.tables;
		return this.store.db
			.select({ id: tickets.id, number: tickets.number, subject: tickets.subject, status: tickets.status, channel: tickets.channel, updatedAt: tickets.updatedAt })
			.from(tickets)
			.where(and(eq(tickets.requesterId, requesterId), visibleTo(tickets, viewer)))
			.orderBy(desc(tickets.updatedAt), desc(tickets.id))
			.limit(limit);
	}

	/** The scope (channel, group, assignee) of each of a customer's tickets: what the policy decides their visibility by. */
	async requesterScopes(requesterId: string): Promise<TicketScope[]> {
		const { tickets } = this.store.tables;
		return this.store.db
			.select({ channel: tickets.channel, groupId: tickets.groupId, assigneeId: tickets.assigneeId })
			.from(tickets)
			.where(eq(tickets.requesterId, requesterId));
	}

	/** The child tickets of a ticket, oldest first. */
	async childrenOf(parentId: string): Promise<TicketRow[]> {
		const { tickets } = this.store.tables;
		return this.store.db.select().from(tickets).where(eq(tickets.parentId, parentId)).orderBy(tickets.createdAt, tickets.id);
	}

	/**
	 * Where what reaches ticket `ticketId` belongs: the ticket itself, or the end of the chain of
	 * merges it starts (B merged into A, A into C: C). Merges are refused into merged tickets, so
	 * chains do not loop; a loop in damaged data ends where it closes, a chain at MAX_MERGE_HOPS.
	 */
	async mergeTarget(ticketId: string): Promise<string> {
		const seen = new Set([ticketId]);
		let current = ticketId;
		for (let hop = 0; hop < MAX_MERGE_HOPS; hop++) {
			const next = (await this.get(current))?.mergedIntoId;
			if (!next || seen.has(next)) break;
			seen.add(next);
			current = next;
		}
		return current;
	}

	/** The ticket's custom field values as search finds them (ticket_field_values), replaced whole. */
	private async writeFieldValues(ticketId: string, custom: TicketRow['custom']): Promise<void> {
		const { ticketFieldValues } = this.store.tables;
		await this.store.db.delete(ticketFieldValues).where(eq(ticketFieldValues.ticketId, ticketId));
		const rows = Object.entries(custom).flatMap(([fieldKey, value]) => searchableValues(value).map((text) => ({ ticketId, fieldKey, value: text })));
		if (rows.length) await this.store.db.insert(ticketFieldValues).values(rows);
	}

	async allIds(): Promise<string[]> {
		const { tickets } = this.store.tables;
		return (await this.store.db.select({ id: tickets.id }).from(tickets)).map((r) => r.id);
	}

	private emit(row: TicketRow, change: TicketChange): void {
		this.feed.publish(row);
		for (const listener of [...this.listeners]) {
			try {
				listener(row, change);
			} catch {
				this.listeners.delete(listener);
			}
		}
	}
}

/** The index row of a ticket's document, continuing `previous` (the row before, if any). */
function projection(ticketId: string, doc: Y.Doc, previous: TicketRow | null, now: number, numberBefore?: number | null): TicketRow {
	const fields = readFields(doc);
	const index = entryIndex(doc);
	// For SLA timers: the first reply, and since when the customer waits (kept from the row
	// before, as the index knows only the newest public message).
	const last = index.lastPublic;
	const fromCustomer = last?.authorType === 'customer';
	const exact = previous ? null : replyTimes(doc);
	return {
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
		parentId: fields.parentId ?? null,
		snoozedUntil: fields.snoozedUntil ?? null,
		// A merge is final: a projection of a document read before the merge reached it must not undo it.
		mergedIntoId: fields.mergedIntoId ?? previous?.mergedIntoId ?? null,
		custom: fields.custom ?? {},
		formId: fields.formId ?? null
	};
}

type TicketsTable = Tables['tickets'];

/** Which tickets `viewer` may see: the rule of ticketAccess (auth/policy.ts) as a query condition. */
export function visibleTo(tickets: TicketsTable, viewer: Principal): SQL | undefined {
	if (viewer.kind === 'bot') return inArray(tickets.channel, viewer.channels);
	if (viewer.kind === 'user' && viewer.role === 'agent') return or(eq(tickets.assigneeId, viewer.id), inGroupsOf(tickets, viewer));
	return undefined;
}

/** Tickets of one of the user's groups, or of no group. */
const inGroupsOf = (tickets: TicketsTable, user: UserPrincipal) => or(isNull(tickets.groupId), inArray(tickets.groupId, user.groupIds))!;

const WAITING: Status[] = ['pending', 'hold'];
const DONE: Status[] = ['solved', 'closed'];

/**
 * What each workspace view matches, for the list and the counts alike. Always combined with
 * visibleTo(viewer): a view never shows a ticket its viewer may not see.
 */
function viewCondition(tickets: TicketsTable, view: ViewId, viewer: Principal, now = Date.now()): SQL {
	// A snoozed ticket is out of the views of work to do until its time (also before the leader has woken it).
	const awake = or(isNull(tickets.snoozedUntil), lte(tickets.snoozedUntil, now))!;
	switch (view) {
		case 'mine':
			// `1 = 0`: false on both engines (PostgreSQL takes no integer as a condition).
			return viewer.kind === 'user' ? and(eq(tickets.assigneeId, viewer.id), notInArray(tickets.status, DONE), awake)! : sql`1 = 0`;
		case 'unassigned': {
			const unassigned = and(isNull(tickets.assigneeId), notInArray(tickets.status, DONE), awake)!;
			// Agents see the queue of their groups; admins, supervisors and bots every unassigned ticket they may see.
			return viewer.kind === 'user' && viewer.role === 'agent' ? and(unassigned, inGroupsOf(tickets, viewer))! : unassigned;
		}
		case 'open':
			// Open as in "My open tickets": not solved or closed, waiting ones included.
			return and(notInArray(tickets.status, DONE), awake)!;
		case 'pending':
			return and(inArray(tickets.status, WAITING), awake)!;
		case 'snoozed':
			return and(gt(tickets.snoozedUntil, now), notInArray(tickets.status, DONE))!;
		case 'solved':
			return inArray(tickets.status, DONE);
		case 'recent':
			return gte(tickets.updatedAt, now - RECENT_MS);
	}
}

/** urgent 3, high 2, normal 1, low 0: the order of PRIORITIES. */
const priorityRank = (tickets: TicketsTable) =>
	sql<number>`CASE ${tickets.priority} ${sql.join(
		PRIORITIES.map((priority, rank) => sql`WHEN ${priority} THEN ${sql.raw(String(rank))}`),
		sql` `
	)} ELSE -1 END`;

/** Each list order's sort keys (all descending, the id last as a tie-break) and their values for a row. */
const ORDERS: Record<TicketSort, { keys: (tickets: TicketsTable) => SQLWrapper[]; of: (row: TicketRow) => number[] }> = {
	updated: { keys: (tickets) => [tickets.updatedAt], of: (row) => [row.updatedAt] },
	created: { keys: (tickets) => [tickets.createdAt], of: (row) => [row.createdAt] },
	priority: { keys: (tickets) => [priorityRank(tickets), tickets.updatedAt], of: (row) => [PRIORITIES.indexOf(row.priority as Priority), row.updatedAt] }
};

/** A cursor names its order and the sort key of the last row listed: `[sort, [key…], id]`. */
const cursorSchema = z.tuple([z.enum(TICKET_SORTS), z.array(z.number().int()), z.string().min(1)]);

function encodeCursor(sort: TicketSort, row: TicketRow): string {
	return Buffer.from(JSON.stringify([sort, ORDERS[sort].of(row), row.id])).toString('base64url');
}

/** The sort key values a cursor continues after, with the id last. */
function decodeCursor(cursor: string, sort: TicketSort, tickets: TicketsTable): (number | string)[] {
	let decoded: unknown;
	try {
		decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString());
	} catch {
		decoded = null;
	}
	const parsed = cursorSchema.safeParse(decoded);
	if (!parsed.success || parsed.data[0] !== sort || parsed.data[1].length !== ORDERS[sort].keys(tickets).length) {
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
