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

describe('search words', () => {
	it('drops stop words, single letters and contractions: "hasn\'t" is no "t*" matching every t-word', () => {
		expect(searchWords("My tent hasn't arrived and I need it for the weekend")).toEqual(['tent', 'arrived', 'need', 'weekend']);
		expect(searchWords('I’m locked out, it’s urgent: we’ll lose the Q3 report')).toEqual(['locked', 'urgent', 'lose', 'q3', 'report']);
		expect(searchWords("Maggie's order isn't here: a b c x 7")).toEqual(['maggie', 'order']);
		expect(searchWords("Can't sign in, don't know why")).toEqual(['sign', 'know']);
		expect(searchWords('that the this it a t s')).toEqual([]);
	});

	it('never keeps a single character or a stop word, whatever the text', () => {
		fc.assert(
			fc.property(fc.array(fc.constantFrom('t', "hasn't", 'the', 'that', 'tent', "o'clock", 'x', 'I', 'late', '’s', "'"), { maxLength: 30 }), (parts) => {
				for (const word of searchWords(parts.join(' '))) {
					expect(word.length).toBeGreaterThan(1);
					expect(['the', 'that', 'hasn', 't', 's', 'o']).not.toContain(word);
				}
			})
		);
	});
});
