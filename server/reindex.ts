/**
 * Rebuilds the ticket index (the `tickets` table) and the search index from the ticket documents
 * in the update log: every ticket the index knows, and every ticket with stored updates or a
 * snapshot but no row. Both are derived data (DESIGN.md, durability contract); this is how they
 * are recovered.
 */
import { eq } from 'drizzle-orm';
import * as Y from 'yjs';
import { entryIndex, isTicketDocument, readFields } from '../src/lib/ticket';
import type { Store } from './storage/store';
import type { TicketLog } from './storage/ticket-log';
import type { TicketIndex } from './ticket-index';
import { SearchIndex } from './search/search-index';

/** What a rebuild reads and writes. */
export interface ReindexServices {
	store: Store;
	log: Pick<TicketLog, 'loadInto'>;
	index: TicketIndex;
	/** The search index, rebuilt with each ticket's row when given. */
	search?: { index: SearchIndex };
}

export interface ReindexResult {
	/** Tickets whose row was rebuilt. */
	reindexed: number;
	/** Tickets that could not be loaded; their rows are left as they were. */
	failed: { id: string; error: string }[];
}

/**
 * Re-projects every ticket from its stored document. One ticket failing to load is recorded in
 * `failed` and the rebuild goes on. Safe while the server runs: each ticket is read and written
 * in one transaction, so its row matches the log as of that moment.
 */
export async function reindexAll(services: ReindexServices): Promise<ReindexResult> {
	const { store, index } = services;
	const { ticketSnapshots, ticketUpdates } = store.tables;
	const ids = new Set(await index.allIds());
	for (const { id } of await store.db.selectDistinct({ id: ticketUpdates.ticketId }).from(ticketUpdates)) ids.add(id);
	for (const { id } of await store.db.select({ id: ticketSnapshots.ticketId }).from(ticketSnapshots)) ids.add(id);

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
 * Re-projects one ticket from its stored document. Safe while the server runs: the ticket is read
 * and written in one transaction, under its row's lock (PostgreSQL), so its row matches the log as
 * of that moment.
 */
export async function reindexTicket(services: ReindexServices, id: string): Promise<void> {
	const { store, log, index, search } = services;
	const { tickets } = store.tables;
	await index.transaction(async () => {
		await store.lock(store.db, tickets, eq(tickets.id, id));
		const doc = new Y.Doc();
		try {
			await log.loadInto(id, doc);
			// An empty log loads as an empty document: its row would be made-up defaults.
			if (!isTicketDocument(doc)) throw new Error('no ticket document is stored under this id');
			const previous = await index.get(id);
			// The rebuilt row keeps its place in "recently updated" lists: the time of the
			// existing row, or for a missing one the ticket's last activity (as Tickets.record).
			const fields = readFields(doc);
			let activity = fields.createdAt;
			for (const entry of entryIndex(doc).byId.values()) activity = Math.max(activity, entry.createdAt);
			const updatedAt = Math.max(previous?.updatedAt ?? 0, activity) || Date.now();
			// Removing the row first: the rebuild changes nothing in the document, so it must
			// not record field changes (project() logs a difference from the old row as one).
			if (previous) await store.db.delete(tickets).where(eq(tickets.id, id));
			const row = await index.project(id, doc, 'system', updatedAt, undefined, previous?.number);
			if (search) {
				await search.index.remove(id);
				await search.index.write([...(await search.index.ticketParts([row])), ...SearchIndex.entryParts(id, doc)]);
			}
		} finally {
			doc.destroy();
		}
	});
}
