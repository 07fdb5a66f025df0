/**
 * The words a help-centre search looks for (src/lib/search-words.ts): what the workspace sends as
 * a ticket's suggestion query and what the server matches.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_SEARCH_LENGTH, MAX_SEARCH_WORDS, searchQuery, searchWords } from '../../src/lib/search-words';

describe('search query', () => {
	it('makes a query the articles API accepts from a subject of any length', () => {
		const subject = `Order 58120: ${'the tent pole snapped on first use and the replacement never came '.repeat(150)}`;
		const query = searchQuery(subject);
		expect(query.length).toBeLessThanOrEqual(MAX_SEARCH_LENGTH);
		expect(query.startsWith('order 58120 tent pole snapped')).toBe(true);
		expect(searchQuery('x'.repeat(10_000))).toBe('');
		fc.assert(
			fc.property(fc.string({ maxLength: 2_000 }), (text) => {
				expect(searchQuery(text).length).toBeLessThanOrEqual(MAX_SEARCH_LENGTH);
				expect(searchWords(text).length).toBeLessThanOrEqual(MAX_SEARCH_WORDS);
			})
		);
	});
});
