/**
 * Notices kept for the colleague they are for: mentions, followed tickets' messages and status
 * changes, internal side conversations. The streams carry each as it is made; this keeps it too,
 * so whoever was away (no stream open, on no node) reads what they missed when they come back,
 * and a notice dismissed on one screen is read on all. Each is kept once, by the node that made
 * it; a colleague keeps their newest MAX_KEPT, and reads only those about tickets they may see now.
 */
import { and, desc, eq, inArray, isNull, notInArray } from 'drizzle-orm';
import { newId } from '../src/lib/ticket';
import { MAX_NOTICES_LISTED, type StoredNotice } from '../src/lib/api/notices';
import { ticketAccess } from './auth/policy';
import type { UserPrincipal } from './auth/principal';
import type { Store } from './storage/store';
import type { TicketIndex } from './ticket-index';

/** Notices kept per colleague: older ones go as new ones come. */
export const MAX_KEPT = 200;

export type NoticeKind = StoredNotice['kind'];

export class Notices {
	constructor(
		private readonly store: Store,
		private readonly index: Pick<TicketIndex, 'rowsOf'>
	) {}

	/** Keeps `notice` for `userId`; its id, which the stream carries as `noticeId`. */
	async keep(userId: string, kind: NoticeKind, ticketId: string, notice: object): Promise<string> {
		const { notices } = this.store.tables;
		const id = newId();
		const now = Date.now();
		await this.store.db.insert(notices).values({ id, userId, ticketId, kind, notice: notice as Record<string, unknown>, createdAt: now });
		// Past the newest MAX_KEPT the oldest go: nothing is kept without bound.
		const newest = this.store.db.select({ id: notices.id }).from(notices).where(eq(notices.userId, userId)).orderBy(desc(notices.createdAt), desc(notices.id)).limit(MAX_KEPT);
		await this.store.db.delete(notices).where(and(eq(notices.userId, userId), notInArray(notices.id, newest)));
		return id;
	}

	/** The caller's notices, newest first, about tickets they may see now; `unread` only those not read. */
	async list(user: UserPrincipal, unread: boolean): Promise<StoredNotice[]> {
		const { notices } = this.store.tables;
		const rows = await this.store.db
			.select()
			.from(notices)
			.where(and(eq(notices.userId, user.id), unread ? isNull(notices.readAt) : undefined))
			.orderBy(desc(notices.createdAt), desc(notices.id))
			.limit(MAX_NOTICES_LISTED);
		const tickets = await this.index.rowsOf([...new Set(rows.map((row) => row.ticketId))]);
		return rows
			.filter((row) => {
				const ticket = tickets.get(row.ticketId);
				return !!ticket && !!ticketAccess(user, ticket);
			})
			.map((row) => ({ id: row.id, kind: row.kind, ticketId: row.ticketId, notice: row.notice, createdAt: row.createdAt, readAt: row.readAt }) as StoredNotice);
	}

	/** Marks the caller's notices read: those of `ids` that are theirs, or all. How many it marked. */
	async markRead(user: UserPrincipal, ids: readonly string[] | 'all'): Promise<number> {
		const { notices } = this.store.tables;
		const now = Date.now();
		const marked = await this.store.db
			.update(notices)
			.set({ readAt: now })
			.where(and(eq(notices.userId, user.id), isNull(notices.readAt), ids === 'all' ? undefined : inArray(notices.id, [...ids])))
			.returning({ id: notices.id });
		return marked.length;
	}
}
