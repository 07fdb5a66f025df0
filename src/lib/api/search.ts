/** The search API's query (`GET /api/v1/search`): validated once at the boundary. */
import { z } from 'zod';
import { MAX_QUERY_LENGTH } from '../search-query';

/** Where a search result matched, and the words that did, as text and ranges (never markup). */
export interface SearchPassage {
	/** A passage of the subject, the ticket's fields (number, tags, requester) or an entry. */
	in: 'subject' | 'fields' | 'entry' | 'side';
	entryId: string | null;
	sideId: string | null;
	text: string;
	/** `[start, end)` offsets into `text` (UTF-16 code units) of the matched words. */
	highlights: [number, number][];
}

/** Results a page holds at most. */
const MAX_SEARCH_PAGE = 100;

export const searchQuerySchema = z.strictObject({
	q: z
		.string()
		.max(MAX_QUERY_LENGTH)
		.default('')
		.meta({
			description:
				'Words and "quoted phrases" (every one must match the ticket: subject, number, tags, requester, entries, side conversations), `-` before a term to exclude it, and operators: `status:open,pending` `priority:` `channel:` `assignee:me|none|<name or email>` `group:<name>` `tag:` `requester:<name or email>` `has:attachment` `is:unread` `created>7d` `created<2025-01-31` `updated>12h` `#1042` `field.<key>:<value>` `field.<key>>10` `field.<key><2025-01-31` (`>` and `<` for number, decimal and date fields). Only operators: a filter, most recently updated first.'
		}),
	limit: z.coerce.number().int().min(1).max(MAX_SEARCH_PAGE).default(25),
	cursor: z.string().min(1).max(300).optional()
});
