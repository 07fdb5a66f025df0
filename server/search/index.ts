/**
 * Ticket search as the rest of the server uses it: a query string parsed once (a 400 naming the
 * term it cannot take), the tickets a principal may see matching it, a page at a time, and how many
 * (saved views store a query and show its count). The index and its follower are in this folder.
 */
import type { SQL } from 'drizzle-orm';
import { parseSearchQuery, SearchQueryError, type SearchQuery } from '../../src/lib/search-query';
import { readsInternalEntries } from '../auth/policy';
import type { Principal } from '../auth/principal';
import { ApiError } from '../errors';
import type { Logger } from '../log';
import type { Store } from '../storage/store';
import type { FieldRules } from '../../src/lib/ticket';
import type { TicketLog } from '../storage/ticket-log';
import type { TicketIndex } from '../ticket-index';
import { SearchFollow } from './follow';
import { SearchIndex, type SearchHit } from './search-index';

export type { SearchHit, SearchPassage } from './search-index';

/** How soon after a change its words are written to the index (ms): changes in between go together. */
const INDEX_DELAY_MS = 100;

export class TicketSearch {
	readonly index: SearchIndex;
	/** The Hocuspocus extension that indexes what this process stores. */
	readonly follow: SearchFollow;

	constructor(store: Store, tickets: TicketIndex, log: Pick<TicketLog, 'loadInto'>, logger: Logger, fields?: { rules(): Promise<FieldRules> }) {
		this.index = new SearchIndex(store, undefined, fields);
		this.follow = new SearchFollow({ search: this.index, store, index: tickets, log, logger, delayMs: INDEX_DELAY_MS });
	}

	/** A query string as the search language reads it; a 400 naming the term it cannot take. */
	parse(q: string): SearchQuery {
		try {
			return parseSearchQuery(q);
		} catch (error) {
			if (error instanceof SearchQueryError) throw new ApiError(400, 'invalid_field', `q: ${error.message}`, 'q');
			throw error;
		}
	}

	/** A page of the tickets `viewer` may see that match `query`: ranked when it has words, else most recently updated first. */
	find(query: SearchQuery, viewer: Principal, page: { limit: number; cursor?: string }): Promise<{ hits: SearchHit[]; next: string | null }> {
		return this.index.search(query, { viewer, internal: readsInternalEntries(viewer), ...page });
	}

	/** What `query` finds for `viewer`, as conditions on the ticket index (a saved view in its own order). */
	filter(query: SearchQuery, viewer: Principal): Promise<SQL[]> {
		return this.index.filter(query, { viewer, internal: readsInternalEntries(viewer) });
	}

	/** How many tickets `viewer` may see match `query`. */
	count(query: SearchQuery, viewer: Principal): Promise<number> {
		return this.index.count(query, { viewer, internal: readsInternalEntries(viewer) });
	}
}
