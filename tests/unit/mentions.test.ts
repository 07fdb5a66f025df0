/** @mentions: which colleagues a text names, and which `meta.mentions` an entry may carry. */
import { describe, expect, it } from 'vitest';
import { MAX_MENTIONS, mentionedIn, mentionsOf, mentionsProblem } from '../../src/lib/ticket';

const blake = { id: 'u-blake', name: 'Blake Kim' };
const blair = { id: 'u-blair', name: 'Blair' };
const otherBlair = { id: 'u-blair-2', name: 'Blair' };
const dotted = { id: 'u-dot', name: 'J. R. (Bob)' };

describe('mentionedIn', () => {
	it('finds each colleague whose @Name the text holds, ending at a word end', () => {
		expect(mentionedIn('@Blake Kim can you look? cc @Blair', [blake, blair])).toEqual([blake.id, blair.id]);
		expect(mentionedIn('@Blake Kimberly', [blake])).toEqual([]);
		expect(mentionedIn('mail blair@Blair.example', [blair])).toEqual([]);
		expect(mentionedIn('Blake Kim, no at sign', [blake])).toEqual([]);
		expect(mentionedIn('(@Blair)', [blair])).toEqual([blair.id]);
	});

	it('takes a name as text, not as a pattern', () => {
		expect(mentionedIn('ask @J. R. (Bob) today', [dotted])).toEqual([dotted.id]);
		expect(mentionedIn('ask @Jx R. (Bob)', [dotted])).toEqual([]);
	});

	it('a name two colleagues share means the one picked, else nobody', () => {
		expect(mentionedIn('@Blair', [blair, otherBlair])).toEqual([]);
		expect(mentionedIn('@Blair', [blair, otherBlair], new Set([otherBlair.id]))).toEqual([otherBlair.id]);
	});

	it(`lists at most ${MAX_MENTIONS}`, () => {
		const many = Array.from({ length: MAX_MENTIONS + 5 }, (_, i) => ({ id: `u${i}`, name: `Person${i}` }));
		expect(mentionedIn(many.map((p) => `@${p.name}`).join(' '), many)).toHaveLength(MAX_MENTIONS);
	});
});

describe('mentionsProblem', () => {
	const note = { channel: 'internal' as const, visibility: 'internal' as const };
	it.each([
		{ what: 'no mentions', entry: { ...note }, problem: null },
		{ what: 'a list of ids', entry: { ...note, meta: { mentions: ['a', 'b'] } }, problem: null },
		{ what: 'a public reply', entry: { channel: 'email' as const, visibility: 'public' as const, meta: { mentions: ['a'] } }, problem: /internal notes and internal side conversations only/ },
		{ what: 'an email of a side conversation', entry: { channel: 'email' as const, visibility: 'internal' as const, meta: { mentions: ['a'] } }, problem: /internal notes/ },
		{ what: 'not a list', entry: { ...note, meta: { mentions: 'a' } }, problem: /a list of at most 20 user ids/ },
		{ what: 'an id with spaces', entry: { ...note, meta: { mentions: ['a b'] } }, problem: /a list of at most 20 user ids/ },
		{ what: 'too many', entry: { ...note, meta: { mentions: Array.from({ length: 21 }, (_, i) => `u${i}`) } }, problem: /a list of at most 20 user ids/ },
		{ what: 'one id twice', entry: { ...note, meta: { mentions: ['a', 'a'] } }, problem: 'meta.mentions names a colleague twice' }
	])('$what', ({ entry, problem }) => {
		const found = mentionsProblem(entry);
		if (problem === null) expect(found).toBeNull();
		else expect(found).toMatch(problem);
	});

	it('mentionsOf reads a valid list, and nothing from anything else', () => {
		expect(mentionsOf({ meta: { mentions: ['a'] } })).toEqual(['a']);
		expect(mentionsOf({ meta: { mentions: 'a' } })).toEqual([]);
		expect(mentionsOf({})).toEqual([]);
	});
});
