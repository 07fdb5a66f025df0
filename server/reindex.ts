/**
 * Rebuilds the ticket index (the `tickets` table) from the ticket documents in the update log:
 * every ticket the index knows, and every ticket with stored updates or a snapshot but no row.
 * The index is derived data (DESIGN.md, durability contract); this is how it is recovered.
 */
import { eq } from 'drizzle-orm';
import * as Y from 'yjs';
import { entryIndex, isTicketDocument, readFields } from '../src/lib/ticket';
import { tickets, ticketSnapshots, ticketUpdates } from '../drizzle/schema';
import type { Services } from './services';

export interface ReindexResult {
	/** Tickets whose row was rebuilt. */
	reindexed: number;
	/** Tickets that could not be loaded; their rows are left as they were. */
	failed: { id: string; error: string }[];
}

/**
 * Re-projects every ticket from its stored document. One ticket failing to load is recorded in
 * `failed` and the rebuild goes on. Safe while the server runs: each ticket is read and written
 * in one immediate transaction, so its row matches the log as of that moment.
 */
export async function reindexAll(services: Pick<Services, 'db' | 'log' | 'index'>): Promise<ReindexResult> {
	const { db, index } = services;
	const ids = new Set(index.allIds());
	for (const { id } of db.selectDistinct({ id: ticketUpdates.ticketId }).from(ticketUpdates).all()) ids.add(id);
	for (const { id } of db.select({ id: ticketSnapshots.ticketId }).from(ticketSnapshots).all()) ids.add(id);

	const result: ReindexResult = { reindexed: 0, failed: [] };
	for (const id of [...ids].sort()) {
		try {
			await reindexTicket(services, id);
			result.reindexed++;
		} catch (error) {
			result.failed.push({ id, error: error instanceof Error ? error.message : String(error) });
		}
	}
	return result;
}

/**
 * Re-projects one ticket from its stored document. TRANSITION (#14): the document is loaded
 * before the index's immediate transaction until the index moves to the store, which will read
 * and write in one transaction again.
 */
export async function reindexTicket(services: Pick<Services, 'db' | 'log' | 'index'>, id: string): Promise<void> {
	const { db, log, index } = services;
	const doc = new Y.Doc();
	try {
		await log.loadInto(id, doc);
		// An empty log loads as an empty document: its row would be made-up defaults.
		if (!isTicketDocument(doc)) throw new Error('no ticket document is stored under this id');
		db.transaction(
			() => {
				const previous = index.get(id);
				// The rebuilt row keeps its place in "recently updated" lists: the time of the
				// existing row, or for a missing one the ticket's last activity (as Tickets.record).
				const fields = readFields(doc);
				let activity = fields.createdAt;
				for (const entry of entryIndex(doc).byId.values()) activity = Math.max(activity, entry.createdAt);
				const updatedAt = Math.max(previous?.updatedAt ?? 0, activity) || Date.now();
				// Removing the row first: the rebuild changes nothing in the document, so it must
				// not record field changes (project() logs a difference from the old row as one).
				if (previous) db.delete(tickets).where(eq(tickets.id, id)).run();
				index.project(id, doc, 'system', updatedAt, undefined, previous?.number);
			},
			{ behavior: 'immediate' }
		);
	} finally {
		doc.destroy();
	}
}
