/** @mentions: which colleagues a text names, which `meta.mentions` an entry may carry, and the list an `@` opens. */
import { describe, expect, it } from 'vitest';
import { MentionPicker } from '../../src/lib/client/mentions.svelte';
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

describe('MentionPicker: the list an `@` opens', () => {
	const person = (id: string, name: string) => ({ id, name, email: `${id}@test.local`, role: 'agent', groupIds: [], disabled: false });
	const people = [person('u1', 'Blair'), person('u2', 'Blake Kim'), person('u3', 'Alex')];

	it('opens on an `@` at a word start, narrows by what follows (a name, a word of it, an address), closes otherwise', () => {
		const picker = new MentionPicker(() => people);
		picker.follow('Ask @bl');
		expect([picker.open, picker.from, picker.matches.map((p) => p.name)]).toEqual([true, 4, ['Blair', 'Blake Kim']]);
		picker.follow('Ask @ki');
		expect(picker.matches.map((p) => p.name)).toEqual(['Blake Kim']);
		picker.follow('Ask @u3@');
		expect(picker.open).toBe(false);
		picker.follow('mail me@bl');
		expect(picker.open).toBe(false);
		picker.follow('Ask @bl now');
		expect(picker.open).toBe(false);
	});

	it('moves round the list, chooses the active colleague, and remembers the choice for the entry', () => {
		const picker = new MentionPicker(() => [...people, person('u4', 'Blair')]);
		picker.follow('@bla');
		picker.move(1);
		picker.move(1);
		picker.move(1);
		expect(picker.active).toBe(0);
		picker.move(-1);
		expect(picker.matches[picker.active]!.id).toBe('u4');
		expect(picker.choose()).toBe('@Blair ');
		expect(picker.open).toBe(false);
		// Two colleagues named Blair: the one picked is the one mentioned.
		expect(picker.mentionsIn('@Blair can you?')).toEqual(['u4']);
		picker.reset();
		expect(picker.mentionsIn('@Blair can you?')).toEqual([]);
	});

	it('offers nobody when nobody else may see the ticket', () => {
		const picker = new MentionPicker(() => []);
		picker.follow('@');
		expect(picker.open).toBe(false);
		expect(picker.choose()).toBeNull();
	});
});
