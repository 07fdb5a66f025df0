/**
 * Custom ticket fields: values held to their definitions (type by type), the pattern guard, forms
 * and required-on-solve, and the update checker's rules for `ticket.custom` and `ticket.formId`.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
	checkUpdate,
	compilePattern,
	FieldRules,
	fieldInputSchema,
	patternProblem,
	readFields,
	REJECT,
	setCustomValues,
	setField,
	type FieldDefinition,
	type WritePolicy
} from '../../src/lib/ticket';
import { parseSearchQuery, formatSearchQuery } from '../../src/lib/search-query';
import { chatTicketFields, replicaOf, ticketDoc } from '../helpers/docs';

const field = (key: string, type: FieldDefinition['type'], extra: Partial<FieldDefinition> = {}): FieldDefinition => ({
	key,
	label: key.replace(/_/g, ' '),
	type,
	options: [],
	pattern: null,
	requiredOnSolve: false,
	archived: false,
	position: 0,
	...extra
});

const FIELDS = [
	field('note', 'text'),
	field('story', 'multiline'),
	field('count', 'number'),
	field('amount', 'decimal'),
	field('bought', 'date'),
	field('warranty', 'checkbox'),
	field('reason', 'dropdown', { options: ['Broken', 'Late'], requiredOnSolve: true }),
	field('products', 'multiselect', { options: ['Laptop', 'Phone'] }),
	field('order_number', 'regex', { pattern: String.raw`#?\d{4,8}`, requiredOnSolve: true }),
	field('old', 'text', { archived: true }),
	field('everywhere', 'text', { requiredOnSolve: true })
];
const rules = new FieldRules(FIELDS, [{ id: 'refund', name: 'Refund', fieldKeys: ['order_number', 'reason', 'amount'], position: 1, archived: false }]);

describe('values by type', () => {
	const cases: [string, unknown, boolean][] = [
		['note', 'hello', true],
		['note', 'two\nlines', false],
		['note', 'x'.repeat(501), false],
		['note', 42, false],
		['note', 'bell\u0007', false],
		['story', 'two\nlines', true],
		['story', 'x'.repeat(5001), false],
		['count', 3, true],
		['count', 3.5, false],
		['count', '3', false],
		['count', 1e15, false],
		['amount', 84.5, true],
		['amount', Number.NaN, false],
		['amount', Infinity, false],
		['bought', '2026-03-04', true],
		['bought', '2026-02-30', false],
		['bought', '04/03/2026', false],
		['warranty', true, true],
		['warranty', 'yes', false],
		['reason', 'Broken', true],
		['reason', 'broken', false],
		['products', ['Laptop', 'Phone'], true],
		['products', ['Laptop', 'Laptop'], false],
		['products', ['Tablet'], false],
		['products', 'Laptop', false],
		['order_number', '#48213', true],
		['order_number', '48213', true],
		['order_number', '12', false],
		['order_number', '#48213 and more', false],
		['note', null, true],
		['nope', 'x', false],
		['old', 'x', false]
	];
	it.each(cases)('%s, case %#', (key, value, ok) => {
		const problem = rules.valueProblem(key, value);
		if (ok) expect(problem).toBeNull();
		else expect(problem).toMatch(/\w/);
	});

	it('names unknown and archived fields', () => {
		expect(rules.valueProblem('nope', 'x')).toMatch(/no custom field `nope`/);
		expect(rules.valueProblem('old', 'x')).toMatch(/archived/);
	});
});

describe('the pattern guard', () => {
	it.each([String.raw`#?\d{4,8}`, '[A-Z]{2}-\\d+', '(ab)?c', '(?:RMA|RET)-\\d{6}', 'a{2}(bc){1}'])('accepts %s', (pattern) => {
		expect(patternProblem(pattern)).toBeNull();
	});
	it.each([
		['(a+)+', /repeats/],
		['(a|aa)*', /repeats/],
		['((ab)*c)+', /repeats/],
		['(x{2,})*', /repeats/],
		['(a)\\1', /back-references/],
		['(?=a)a', /look-arounds/],
		['a*b*c*d*e*', /unbounded/],
		['(', /not a valid pattern/],
		['a'.repeat(201), /at most 200/],
		['', /needed/]
	])('refuses %s', (pattern, reason) => {
		expect(patternProblem(pattern)).toMatch(reason);
	});
	it('matches whole values only', () => {
		expect(compilePattern('\\d{3}').test('1234')).toBe(false);
		expect(compilePattern('a|b').test('ab')).toBe(false);
	});
	it('holds definitions to their type', () => {
		expect(fieldInputSchema.safeParse({ key: 'x', label: 'X', type: 'regex', pattern: '(a+)+' }).success).toBe(false);
		expect(fieldInputSchema.safeParse({ key: 'x', label: 'X', type: 'dropdown' }).success).toBe(false);
		expect(fieldInputSchema.safeParse({ key: 'x', label: 'X', type: 'text', options: ['a'] }).success).toBe(false);
		expect(fieldInputSchema.safeParse({ key: 'X-1', label: 'X', type: 'text' }).success).toBe(false);
		expect(fieldInputSchema.safeParse({ key: 'x_1', label: 'X', type: 'dropdown', options: ['a', 'b'] }).success).toBe(true);
	});
});

describe('forms', () => {
	it('shows the form’s fields in its order, then the fields of no form; archived ones never', () => {
		expect(rules.shown('refund').map((f) => f.key)).toEqual(['order_number', 'reason', 'amount', 'note', 'story', 'count', 'bought', 'warranty', 'products', 'everywhere']);
		expect(rules.shown(null).map((f) => f.key)).not.toContain('order_number');
	});
	it('requires on solve the form’s required fields and the required fields of no form', () => {
		expect(rules.missingOnSolve('refund', {}).map((f) => f.key)).toEqual(['order_number', 'reason', 'everywhere']);
		expect(rules.missingOnSolve(null, {}).map((f) => f.key)).toEqual(['everywhere']);
		expect(rules.missingOnSolve('refund', { order_number: '#1234', reason: 'Late', everywhere: 'x' })).toEqual([]);
	});
	it('refuses unknown and archived forms', () => {
		const archived = new FieldRules(FIELDS, [{ id: 'gone', name: 'Gone', fieldKeys: [], position: 1, archived: true }]);
		expect(archived.formProblem('gone')).toMatch(/archived/);
		expect(rules.formProblem('nope')).toMatch(/no form/);
		expect(rules.formProblem(null)).toBeNull();
	});
});

describe('the update checker on custom values', () => {
	const NOW = Date.now();
	const agent: WritePolicy = { actor: 'user:a1', writerId: 'a1', rootAllowed: () => null, entryAllowed: () => null, fieldAllowed: () => null, participantAllowed: () => null, customAllowed: () => null };
	let client = 500;
	const setup = () => {
		const server = ticketDoc(1, chatTicketFields(NOW));
		return { server, peer: replicaOf(server, client++) };
	};
	const updateOf = (doc: Y.Doc, edit: () => void) => {
		const before = Y.encodeStateVector(doc);
		edit();
		return Y.encodeStateAsUpdate(doc, before);
	};
	/** The writers of each client id, as the server records them from accepted updates. */
	const owners = new Map<number, string>();
	const check = (server: Y.Doc, update: Uint8Array, policy = agent) => {
		const result = checkUpdate(server, update, policy, { owners, seen: new Map(), fields: rules }, NOW);
		if (result.ok) for (const client of result.claims) owners.set(client, policy.actor);
		return result;
	};

	it('accepts a valid value and the server reads it', () => {
		const { server, peer } = setup();
		const update = updateOf(peer, () => setCustomValues(peer, { order_number: '#48213', products: ['Phone'] }, rules));
		expect(check(server, update)).toMatchObject({ ok: true });
		Y.applyUpdate(server, update);
		expect(readFields(server).custom).toEqual({ order_number: '#48213', products: ['Phone'] });
	});

	it('refuses invalid, unknown and archived values by name', () => {
		for (const [key, value, message] of [
			['order_number', '12', /pattern/],
			['nope', 'x', /no custom field/],
			['old', 'x', /archived/],
			['reason', 'Other', /one of/]
		] as const) {
			const { server, peer } = setup();
			const update = updateOf(peer, () => (peer.getMap('ticket').get('custom') as Y.Map<unknown>).set(key, value));
			expect(check(server, update)).toMatchObject({ ok: false, reason: REJECT.invalidField, message: expect.stringMatching(message) });
		}
	});

	it('refuses custom values without definitions, from a writer who may not change fields, nested values, deletions and a replaced map', () => {
		const { server, peer } = setup();
		const write = updateOf(peer, () => setCustomValues(peer, { note: 'hi' }, null));
		expect(checkUpdate(server, write, agent, { owners: new Map(), seen: new Map() }, NOW)).toMatchObject({ ok: false, reason: REJECT.invalidField });
		expect(check(server, write, { ...agent, customAllowed: () => 'supervisors are read-only' })).toMatchObject({ ok: false, reason: REJECT.forbidden });
		Y.applyUpdate(server, write);
		const nested = updateOf(peer, () => (peer.getMap('ticket').get('custom') as Y.Map<unknown>).set('note', new Y.Map()));
		expect(check(server, nested)).toMatchObject({ ok: false });
		const { server: s2, peer: p2 } = setup();
		Y.applyUpdate(p2, Y.encodeStateAsUpdate(server));
		Y.applyUpdate(s2, Y.encodeStateAsUpdate(server));
		const deletion = updateOf(p2, () => (p2.getMap('ticket').get('custom') as Y.Map<unknown>).delete('note'));
		expect(check(s2, deletion)).toMatchObject({ ok: false, reason: REJECT.invalidShape });
		const replaced = updateOf(p2, () => p2.getMap('ticket').set('custom', new Y.Map()));
		expect(check(s2, replaced)).toMatchObject({ ok: false, reason: REJECT.invalidShape });
	});

	it('refuses solving while the form’s required fields are empty, and accepts it with them filled in the same update', () => {
		const { server, peer } = setup();
		const form = updateOf(peer, () => setField(peer, 'formId', 'refund'));
		expect(check(server, form)).toMatchObject({ ok: true });
		Y.applyUpdate(server, form);
		const solve = updateOf(peer, () => setField(peer, 'status', 'solved'));
		expect(check(server, solve)).toMatchObject({ ok: false, reason: REJECT.requiredFields, message: expect.stringMatching(/order number, reason, everywhere/) });
		const peer2 = replicaOf(server, client++);
		const filled = updateOf(peer2, () =>
			peer2.transact(() => {
				setCustomValues(peer2, { order_number: '#1234', reason: 'Late', everywhere: 'yes' }, rules);
				setField(peer2, 'status', 'solved');
			})
		);
		expect(check(server, filled)).toMatchObject({ ok: true });
	});

	it('keeps a solved ticket’s required fields: clearing one, or choosing a form that needs an empty one, is refused unless the update reopens it', () => {
		const { server, peer } = setup();
		const apply = (update: Uint8Array) => {
			expect(check(server, update)).toMatchObject({ ok: true });
			Y.applyUpdate(server, update);
		};
		apply(updateOf(peer, () => peer.transact(() => {
			setField(peer, 'formId', 'refund');
			setCustomValues(peer, { order_number: '#1234', reason: 'Late', everywhere: 'yes' }, rules);
		})));
		// A second peer, which has not seen the solve, clears a field the form needs: the server takes the solve first.
		const late = replicaOf(server, client++);
		apply(updateOf(peer, () => setField(peer, 'status', 'solved')));
		const cleared = updateOf(late, () => setCustomValues(late, { reason: null }, rules));
		expect(check(server, cleared)).toMatchObject({ ok: false, reason: REJECT.requiredFields, message: 'reason is needed while the ticket is solved: reopen it first' });
		const other = replicaOf(server, client++);
		expect(check(server, updateOf(other, () => setCustomValues(other, { amount: 12.5, order_number: '#5678' }, rules)))).toMatchObject({ ok: true });
		const noForm = replicaOf(server, client++);
		expect(check(server, updateOf(noForm, () => setField(noForm, 'formId', null)))).toMatchObject({ ok: true });
		// Reopening and clearing in one update is an edit of an open ticket.
		const reopen = replicaOf(server, client++);
		expect(check(server, updateOf(reopen, () => reopen.transact(() => {
			setField(reopen, 'status', 'open');
			setCustomValues(reopen, { reason: null }, rules);
		})))).toMatchObject({ ok: true });
		// A field made required after the solve does not block other edits; clearing it is no change.
		const stricter = new FieldRules(FIELDS.map((f) => (f.key === 'note' ? { ...f, requiredOnSolve: true } : f)), [...rules.forms.values()]);
		const edit = replicaOf(server, client++);
		const update = updateOf(edit, () => setCustomValues(edit, { amount: 3 }, rules));
		expect(checkUpdate(server, update, agent, { owners, seen: new Map(), fields: stricter }, NOW)).toMatchObject({ ok: true });
		expect(stricter.requiredProblem({ storedStatus: 'solved', statusWritten: undefined, before: { formId: 'refund', values: {} }, after: { formId: 'refund', values: { note: null } } })).toBeNull();
		// A form whose required field is empty is refused on a solved ticket.
		expect(rules.requiredProblem({ storedStatus: 'solved', statusWritten: undefined, before: { formId: null, values: { everywhere: 'x' } }, after: { formId: 'refund', values: { everywhere: 'x' } } })?.message).toBe(
			'order number, reason are needed while the ticket is solved: reopen it first'
		);
	});

	it('refuses an unknown form', () => {
		const { server, peer } = setup();
		expect(check(server, updateOf(peer, () => setField(peer, 'formId', 'nope')))).toMatchObject({ ok: false, reason: REJECT.invalidField });
	});
});

describe('the search operator', () => {
	it('reads field.key:value and writes it back', () => {
		const query = parseSearchQuery('refund field.order_number:#48213 -field.reason:"Charged twice"');
		expect(query.terms.slice(1)).toEqual([
			{ kind: 'field', key: 'order_number', comparison: ':', value: '#48213', negated: false },
			{ kind: 'field', key: 'reason', comparison: ':', value: 'Charged twice', negated: true }
		]);
		expect(parseSearchQuery(formatSearchQuery(query))).toEqual(query);
	});
});
