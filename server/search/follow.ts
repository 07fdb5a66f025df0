/**
 * Keeps the search index in step with the tickets, off the path that acknowledges a change: the
 * entries a loaded document gains (by any writer of this process: peers, the server, catch-up
 * from the log; not what another node of a cluster stored, which that node indexes), the ticket
 * rows this process projects (subject, tags, requester) and the customers it changes gather for
 * `delayMs`, then are written in one transaction. A new entry is findable within about
 * `delayMs` plus the write.
 *
 * A batch that cannot be written is tried again a few times; what is lost for good (a process
 * stopped before its batch was written) is indexed when the ticket is next loaded, which
 * compares the index with the document, or by `cli reindex`.
 */
import type { afterLoadDocumentPayload, Extension } from '@hocuspocus/server';
import * as Y from 'yjs';
import { entryIndex, isTicketDocument, parseTicketDocumentName, type Entry } from '../../src/lib/ticket';
import { isRemote } from '../extensions/project';
import type { Logger } from '../log';
import type { Store } from '../storage/store';
import type { TicketLog } from '../storage/ticket-log';
import type { TicketIndex, TicketRow } from '../ticket-index';
import { SearchIndex, type SearchPart } from './search-index';

export interface SearchFollowSettings {
	search: SearchIndex;
	store: Store;
	index: Pick<TicketIndex, 'onChange' | 'get'>;
	log: Pick<TicketLog, 'loadInto'>;
	logger: Logger;
	/** How long changes gather before they are written together (ms). */
	delayMs: number;
}

/** Attempts at writing a batch before it is left to the next load of its tickets or a reindex. */
const ATTEMPTS = 3;
const RETRY_MS = 1000;

interface Batch {
	/** New entries by ticket, with the document they came from (to find their side conversations). */
	entries: Map<string, { doc: Y.Doc; entries: Entry[] }>;
	rows: Map<string, TicketRow>;
	customers: Set<string>;
}

const emptyBatch = (): Batch => ({ entries: new Map(), rows: new Map(), customers: new Set() });

export class SearchFollow implements Extension {
	priority = 40;
	private pending = emptyBatch();
	private timer: NodeJS.Timeout | null = null;
	/** Writes take turns: a batch is written after the one before it. */
	private writing: Promise<void> = Promise.resolve();
	private failures = 0;
	private readonly loaded = new Map<string, Y.Doc>();
	private readonly unfollow: () => void;

	constructor(private readonly settings: SearchFollowSettings) {
		this.unfollow = settings.index.onChange((row) => {
			this.pending.rows.set(row.id, row);
			this.schedule();
		});
	}

	async afterLoadDocument({ documentName, document }: afterLoadDocumentPayload) {
		const ticketId = parseTicketDocumentName(documentName);
		if (!ticketId) return;
		this.loaded.set(ticketId, document);
		const index = entryIndex(document);
		index.listeners.add((entries, _place, origin) => {
			if (!isRemote(origin)) this.add(ticketId, document, entries);
		});
		// Rows missing from the index (a batch lost with its process) are written now.
		const indexed = await this.settings.search.indexed(ticketId).catch(() => null);
		if (!indexed || indexed.all >= index.byId.size + 1) return;
		this.add(ticketId, document, [...index.byId.values()]);
		const row = indexed.own ? null : await this.settings.index.get(ticketId);
		if (row) this.pending.rows.set(ticketId, row);
	}

	async afterUnloadDocument({ documentName }: { documentName: string }) {
		const ticketId = parseTicketDocumentName(documentName);
		if (ticketId) this.loaded.delete(ticketId);
	}

	async onDestroy() {
		this.unfollow();
		await this.flush();
	}

	/** The tickets of a customer whose name, organisation or addresses changed are indexed again. */
	customerChanged(customerId: string): void {
		this.pending.customers.add(customerId);
		this.schedule();
	}

	/** Writes what has gathered now (tests, shutdown); resolves once it is written. */
	flush(): Promise<void> {
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
		const batch = this.pending;
		this.pending = emptyBatch();
		this.writing = this.writing.then(() => this.write(batch));
		return this.writing;
	}

	private add(ticketId: string, doc: Y.Doc, entries: Entry[]) {
		const gathered = this.pending.entries.get(ticketId);
		if (gathered) gathered.entries.push(...entries);
		else this.pending.entries.set(ticketId, { doc, entries: [...entries] });
		this.schedule();
	}

	private schedule(delay = this.settings.delayMs) {
		// Unreferenced: a command-line process exits when its work is done; what it leaves
		// unwritten, the server's catchUp() writes.
		this.timer ??= setTimeout(() => {
			this.timer = null;
			void this.flush();
		}, delay).unref();
	}

	/**
	 * Indexes the tickets the search index has no row of, a batch at a time: tickets written by
	 * another process (a command-line import or seed), or from before the index existed. Returns
	 * how many. The server runs it in the background as it starts.
	 */
	async catchUp(batchSize = 500): Promise<number> {
		let total = 0;
		for (;;) {
			const rows = await this.settings.search.unindexed(batchSize);
			if (!rows.length) return total;
			const batch: Batch = { ...emptyBatch(), rows: new Map(rows.map((row) => [row.id, row])) };
			const parts = [...(await this.settings.search.ticketParts(rows)), ...(await this.unloadedEntries(batch))];
			await this.settings.store.transaction(() => this.settings.search.write(parts));
			total += rows.length;
		}
	}

	private async write(batch: Batch): Promise<void> {
		if (!batch.entries.size && !batch.rows.size && !batch.customers.size) return;
		const { search, store, logger } = this.settings;
		try {
			for (const customerId of batch.customers) for (const row of await search.ticketsOfRequester(customerId)) batch.rows.set(row.id, row);
			const parts: SearchPart[] = await search.ticketParts([...batch.rows.values()]);
			for (const [ticketId, { doc, entries }] of batch.entries) parts.push(...SearchIndex.entryParts(ticketId, doc, entries));
			parts.push(...(await this.unloadedEntries(batch)));
			await store.transaction(() => search.write(parts));
			this.failures = 0;
		} catch (error) {
			this.failures++;
			logger.error({ err: (error as Error).message, attempt: this.failures }, 'search index not written');
			if (this.failures >= ATTEMPTS) {
				this.failures = 0;
				return;
			}
			this.merge(batch);
			this.schedule(RETRY_MS);
		}
	}

	/**
	 * The entries of tickets projected without a loaded document (a ticket created with its history
	 * in one write, a rebuild) that the index lacks: read from the log.
	 */
	private async unloadedEntries(batch: Batch): Promise<SearchPart[]> {
		const parts: SearchPart[] = [];
		for (const row of batch.rows.values()) {
			if (this.loaded.has(row.id) || batch.entries.has(row.id)) continue;
			const indexed = await this.settings.search.indexed(row.id);
			if (indexed.conversation >= row.entryCount) continue;
			const doc = new Y.Doc();
			try {
				await this.settings.log.loadInto(row.id, doc);
				if (!isTicketDocument(doc)) continue;
				parts.push(...SearchIndex.entryParts(row.id, doc));
			} finally {
				doc.destroy();
			}
		}
		return parts;
	}

	/** Puts a batch that failed back in front of what has gathered since. */
	private merge(batch: Batch) {
		for (const [ticketId, { doc, entries }] of batch.entries) {
			const later = this.pending.entries.get(ticketId);
			this.pending.entries.set(ticketId, { doc, entries: [...entries, ...(later?.entries ?? [])] });
		}
		for (const [id, row] of batch.rows) if (!this.pending.rows.has(id)) this.pending.rows.set(id, row);
		for (const id of batch.customers) this.pending.customers.add(id);
	}
}
