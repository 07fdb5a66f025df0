/**
 * The ticket search language (src/lib/search-query.ts): what each kind of term parses to, what is
 * refused and how, and (property-based) that no input breaks the parser or smuggles engine syntax.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatSearchQuery, MAX_QUERY_LENGTH, MAX_QUERY_TERMS, parseSearchQuery, SearchQueryError, type SearchTerm } from '../../src/lib/search-query';
import { CHANNELS, PRIORITIES, STATUSES } from '../../src/lib/ticket';

const terms = (input: string) => parseSearchQuery(input).terms;
const refusal = (input: string) => {
	try {
		parseSearchQuery(input);
	} catch (error) {
		if (error instanceof SearchQueryError) return { term: error.term, message: error.message };
		throw error;
	}
	throw new Error(`${input} was accepted`);
};

describe('search query language', () => {
	it.each<[string, SearchTerm[]]>([
		['refund', [{ kind: 'text', words: ['refund'], phrase: false, negated: false }]],
		['Refund ORDER', [{ kind: 'text', words: ['refund'], phrase: false, negated: false }, { kind: 'text', words: ['order'], phrase: false, negated: false }]],
		['"tent pole snapped"', [{ kind: 'text', words: ['tent', 'pole', 'snapped'], phrase: true, negated: false }]],
		['-"tent pole"', [{ kind: 'text', words: ['tent', 'pole'], phrase: true, negated: true }]],
		['-spam', [{ kind: 'text', words: ['spam'], phrase: false, negated: true }]],
		['maggie@example.com', [{ kind: 'text', words: ['maggie', 'example', 'com'], phrase: false, negated: false }]],
		['RF-2093', [{ kind: 'text', words: ['rf', '2093'], phrase: false, negated: false }]],
		['Crème brûlée', [{ kind: 'text', words: ['crème'], phrase: false, negated: false }, { kind: 'text', words: ['brûlée'], phrase: false, negated: false }]],
		['1042', [{ kind: 'text', words: ['1042'], phrase: false, negated: false }]],
		['#1042', [{ kind: 'number', value: 1042, negated: false }]],
		['-#7', [{ kind: 'number', value: 7, negated: true }]],
		['status:open,pending', [{ kind: 'status', values: ['open', 'pending'], negated: false }]],
		['-status:closed', [{ kind: 'status', values: ['closed'], negated: true }]],
		['STATUS:Open', [{ kind: 'status', values: ['open'], negated: false }]],
		['priority:urgent', [{ kind: 'priority', values: ['urgent'], negated: false }]],
		['channel:email,chat', [{ kind: 'channel', values: ['email', 'chat'], negated: false }]],
		['-satisfaction:Bad,offered', [{ kind: 'satisfaction', values: ['bad', 'offered'], negated: true }]],
		['assignee:me', [{ kind: 'assignee', value: 'me', negated: false }]],
		['assignee:"Ada Lovelace"', [{ kind: 'assignee', value: 'Ada Lovelace', negated: false }]],
		['-assignee:none', [{ kind: 'assignee', value: 'none', negated: true }]],
		['group:Billing', [{ kind: 'group', value: 'Billing', negated: false }]],
		['tag:VIP', [{ kind: 'tag', value: 'vip', negated: false }]],
		['requester:maggie@example.com', [{ kind: 'requester', value: 'maggie@example.com', negated: false }]],
		['has:attachment', [{ kind: 'has', value: 'attachment', negated: false }]],
		['is:unread', [{ kind: 'is', value: 'unread', negated: false }]],
		['created>7d', [{ kind: 'time', field: 'created', comparison: '>', time: { ago: 7 * 86400_000 }, negated: false }]],
		['updated>12h', [{ kind: 'time', field: 'updated', comparison: '>', time: { ago: 12 * 3600_000 }, negated: false }]],
		['created<2025-01-31', [{ kind: 'time', field: 'created', comparison: '<', time: { at: Date.UTC(2025, 0, 31) }, negated: false }]],
		['created>2025-01-31T10:30', [{ kind: 'time', field: 'created', comparison: '>', time: { at: Date.UTC(2025, 0, 31, 10, 30) }, negated: false }]],
		['created>2025-01-31T10:30:00+02:00', [{ kind: 'time', field: 'created', comparison: '>', time: { at: Date.UTC(2025, 0, 31, 8, 30) }, negated: false }]],
		['field.reason:"charged twice"', [{ kind: 'field', key: 'reason', comparison: ':', value: 'charged twice', negated: false }]],
		['field.amount>10', [{ kind: 'field', key: 'amount', comparison: '>', value: '10', negated: false }]],
		['field.amount>-3.5', [{ kind: 'field', key: 'amount', comparison: '>', value: '-3.5', negated: false }]],
		['-field.amount<10.25', [{ kind: 'field', key: 'amount', comparison: '<', value: '10.25', negated: true }]],
		['-field.amount<-3.5', [{ kind: 'field', key: 'amount', comparison: '<', value: '-3.5', negated: true }]],
		['Field.Due_Date<2025-01-31', [{ kind: 'field', key: 'due_date', comparison: '<', value: '2025-01-31', negated: false }]],
		['field.due>"7d"', [{ kind: 'field', key: 'due', comparison: '>', value: '7d', negated: false }]],
		['', []],
		['   ', []],
		['" * ( ) - --', []],
		['""""""', []],
		['"unclosed phrase here', [{ kind: 'text', words: ['unclosed', 'phrase', 'here'], phrase: true, negated: false }]],
		['a - b', [{ kind: 'text', words: ['a'], phrase: false, negated: false }, { kind: 'text', words: ['b'], phrase: false, negated: false }]]
	])('%s', (input, expected) => {
		expect(terms(input)).toEqual(expected);
	});

	it.each([
		['col:subject', 'col:subject', /unknown operator/],
		['refund NEAR:x', 'NEAR:x', /unknown operator/],
		['status:done', 'status:done', /new, open, pending, hold, solved, closed/],
		['priority:', 'priority:', /missing/],
		['channel:carrier-pigeon', 'channel:carrier-pigeon', /expected/],
		['satisfaction:meh', 'satisfaction:meh', /offered, good, bad/],
		['has:photo', 'has:photo', /has:attachment/],
		['is:read', 'is:read', /is:unread/],
		['created:7d', 'created:7d', /compare with > or </],
		['created>yesterday', 'created>yesterday', /date/],
		['updated>2025-13-45', 'updated>2025-13-45', /date/],
		['created>9999999d', 'created>9999999d', /date/],
		['status>open', 'status>open', /unknown operator; known ones: .*field\.<key>> field\.<key></],
		['field.amount>', 'field.amount>', /a value is missing/],
		['field.amount<""', 'field.amount<""', /a value is missing/],
		[`field.amount>${'9'.repeat(201)}`, `field.amount>${'9'.repeat(201)}`, /too long/],
		[`"${'word '.repeat(20)}"`, `"${'word '.repeat(20)}"`, /at most 16 words/],
		['x'.repeat(65), 'x'.repeat(65), /at most 64 characters/]
	])('refuses %s, naming the term', (input, term, message) => {
		const refused = refusal(input);
		expect(refused.term).toBe(term);
		expect(refused.message).toMatch(message);
		expect(refused.message).toContain(term.slice(0, 10));
	});

	it('limits length and term count', () => {
		expect(refusal('a'.repeat(MAX_QUERY_LENGTH + 1)).message).toMatch(`at most ${MAX_QUERY_LENGTH} characters`);
		expect(terms(Array.from({ length: MAX_QUERY_TERMS }, (_, i) => `w${i}`).join(' '))).toHaveLength(MAX_QUERY_TERMS);
		expect(refusal(Array.from({ length: MAX_QUERY_TERMS + 1 }, (_, i) => `w${i}`).join(' ')).term).toBe(`w${MAX_QUERY_TERMS}`);
	});

	it('never fails on any input but with a SearchQueryError, and lets only letters and digits through as words', () => {
		fc.assert(
			fc.property(fc.oneof(fc.string({ maxLength: 600 }), fc.string({ unit: 'grapheme', maxLength: 200 }), fc.stringMatching(/^[-" :<>#*()a-z0-9]{0,80}$/)), (input) => {
				let parsed;
				try {
					parsed = parseSearchQuery(input);
				} catch (error) {
					expect(error).toBeInstanceOf(SearchQueryError);
					return;
				}
				expect(parsed.terms.length).toBeLessThanOrEqual(MAX_QUERY_TERMS);
				for (const term of parsed.terms) if (term.kind === 'text') for (const word of term.words) expect(word).toMatch(/^[\p{L}\p{N}]+$/u);
			}),
			{ numRuns: 500 }
		);
	});

	it('reads back what it formats', () => {
		const word = fc.stringMatching(/^[a-z0-9]{1,12}$/);
		const name = fc.stringMatching(/^[A-Za-z][A-Za-z .@-]{0,20}[A-Za-z]$/).filter((s) => !s.includes('  '));
		const some = <T,>(values: readonly T[]) => fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 3 });
		const term: fc.Arbitrary<SearchTerm> = fc.oneof(
			fc.record({ kind: fc.constant('text' as const), words: fc.array(word, { minLength: 2, maxLength: 4 }), phrase: fc.constant(true), negated: fc.boolean() }),
			fc.record({ kind: fc.constant('text' as const), words: fc.tuple(word), phrase: fc.constant(false), negated: fc.boolean() }),
			fc.record({ kind: fc.constant('status' as const), values: some(STATUSES), negated: fc.boolean() }),
			fc.record({ kind: fc.constant('priority' as const), values: some(PRIORITIES), negated: fc.boolean() }),
			fc.record({ kind: fc.constant('channel' as const), values: some(CHANNELS), negated: fc.boolean() }),
			fc.record({ kind: fc.constantFrom('assignee' as const, 'group' as const, 'requester' as const), value: name, negated: fc.boolean() }),
			fc.record({ kind: fc.constant('tag' as const), value: word, negated: fc.boolean() }),
			fc.record({ kind: fc.constant('number' as const), value: fc.integer({ min: 0, max: 999_999_999 }), negated: fc.boolean() }),
			fc.record({
				kind: fc.constant('field' as const),
				key: fc.stringMatching(/^[a-z][a-z0-9_]{0,12}$/),
				comparison: fc.constantFrom(':' as const, '>' as const, '<' as const),
				value: fc.oneof(word, fc.stringMatching(/^-?\d{1,6}(\.\d{1,3})?$/), fc.stringMatching(/^20\d\d-[01]\d-[0-3]\d$/), fc.stringMatching(/^\d{1,3}[mhdw]$/), fc.constant('charged twice')),
				negated: fc.boolean()
			}),
			fc.record({
				kind: fc.constant('time' as const),
				field: fc.constantFrom('created' as const, 'updated' as const),
				comparison: fc.constantFrom('>' as const, '<' as const),
				time: fc.oneof(
					fc.record({ ago: fc.integer({ min: 1, max: 50_000 }).map((n) => n * 60_000) }),
					fc.record({ at: fc.integer({ min: 0, max: 4_000_000_000_000 }) })
				),
				negated: fc.boolean()
			})
		) as fc.Arbitrary<SearchTerm>;
		fc.assert(
			fc.property(fc.array(term, { maxLength: MAX_QUERY_TERMS }), (generated) => {
				const text = formatSearchQuery({ terms: generated });
				fc.pre(text.length <= MAX_QUERY_LENGTH);
				expect(parseSearchQuery(text).terms).toEqual(generated);
			}),
			{ numRuns: 300 }
		);
	});
});
