/**
 * Custom ticket fields and forms: admins define them (others may not), agents' peers write values
 * live into `ticket.custom`, checked by the server against the definitions as they now are (a
 * refused update closes the socket and changes nothing), PATCH holds values to the same rules,
 * solving needs the fields the ticket's form requires, and search finds tickets by a value.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIELD_LIMITS, readFields, setCustomValues, setField, type FieldRules } from '../../src/lib/ticket';
import { countRows, withStore } from '../helpers/db';
import { prepare, type Fixture } from '../helpers/fixtures';
import { api, servers, tempDataDir, waitFor, type Peer, type RunningServer } from '../helpers/server';
import { createTicket, fileInGroup } from '../helpers/tickets';
import * as Y from 'yjs';

const pool = servers();
let server: RunningServer;
let fx: Fixture;
let formId: string;

beforeAll(async () => {
	const dataDir = tempDataDir();
	fx = await prepare(dataDir, {
		users: { ann: { role: 'agent', groups: ['Support'] }, ben: { role: 'agent', groups: ['Support'] }, carl: { role: 'agent', groups: ['Billing'] }, sam: { role: 'supervisor' }, root: { role: 'admin' } },
		bots: { mail: ['email'] }
	});
	server = await pool.boot(dataDir);
	const admin = as('root');
	for (const field of [
		{ key: 'order_number', label: 'Order number', type: 'regex', pattern: String.raw`#?\d{4,8}`, requiredOnSolve: true },
		{ key: 'amount', label: 'Refund amount', type: 'decimal' },
		{ key: 'reason', label: 'Reason', type: 'dropdown', options: ['Charged twice', 'Damaged'], requiredOnSolve: true },
		{ key: 'products', label: 'Product', type: 'multiselect', options: ['Laptop', 'Phone'] },
		{ key: 'warranty', label: 'Warranty', type: 'checkbox' },
		{ key: 'bought', label: 'Purchase date', type: 'date' },
		{ key: 'notes', label: 'Notes', type: 'text' }
	]) {
		expect((await admin.request('POST', '/api/v1/ticket-fields', field)).status).toBe(201);
	}
	const form = await admin.request('POST', '/api/v1/ticket-forms', { name: 'Refund request', fieldKeys: ['order_number', 'amount', 'reason'] });
	expect(form.status).toBe(201);
	formId = form.body.id;
}, 60_000);
afterAll(() => pool.cleanup());

const as = (who: keyof Fixture['users'] | 'mail') => api(server, who === 'mail' ? fx.tokens.mail!.token : fx.users[who]!.token);
const customOf = (peer: Peer) => peer.doc.getMap('ticket').get('custom') as Y.Map<unknown>;
const refusalOf = (peer: Peer) => waitFor(() => peer.closeReason(), 'a refusal', 5_000);
let tickets = 0;
const newTicket = async () => (await createTicket(server, fx.tokens.mail!.token, `Refund ${++tickets}`, { email: `pat${tickets}@example.com`, name: 'Pat' })).id;
const stored = async (ticketId: string) => (await as('root').request('GET', `/api/v1/tickets/${ticketId}`)).body;

describe('definitions', () => {
	it('are listed to every signed-in user and token, in order, with the form', async () => {
		for (const who of ['ann', 'sam', 'mail'] as const) {
			const listed = await as(who).request('GET', '/api/v1/ticket-fields');
			expect(listed.status).toBe(200);
			expect(listed.body.fields.map((f: { key: string }) => f.key)).toEqual(['order_number', 'amount', 'reason', 'products', 'warranty', 'bought', 'notes']);
			expect(listed.body.forms).toEqual([expect.objectContaining({ id: formId, name: 'Refund request', fieldKeys: ['order_number', 'amount', 'reason'] })]);
		}
		expect((await api(server).request('GET', '/api/v1/ticket-fields')).status).toBe(401);
	});

	it('are made and changed by admins only', async () => {
		const field = { key: 'colour', label: 'Colour', type: 'text' };
		for (const who of ['ann', 'sam', 'mail'] as const) {
			expect((await as(who).request('POST', '/api/v1/ticket-fields', field)).status).toBe(403);
			expect((await as(who).request('PATCH', '/api/v1/ticket-fields/notes', { label: 'Hacked' })).status).toBe(403);
			expect((await as(who).request('POST', '/api/v1/ticket-forms', { name: 'Mine', fieldKeys: [] })).status).toBe(403);
			expect((await as(who).request('PATCH', `/api/v1/ticket-forms/${formId}`, { name: 'Mine' })).status).toBe(403);
		}
		const listed = await as('root').request('GET', '/api/v1/ticket-fields');
		expect(listed.body.fields.find((f: { key: string }) => f.key === 'notes').label).toBe('Notes');
		expect(listed.body.forms).toHaveLength(1);
	});

	it('refuse what does not fit a type, a catastrophic pattern, a key taken, and unknown form fields', async () => {
		const admin = as('root');
		const cases: [unknown, number, RegExp][] = [
			[{ key: 'x1', label: 'X', type: 'regex', pattern: '(a+)+$' }, 400, /pattern.*repeats/],
			[{ key: 'x2', label: 'X', type: 'regex' }, 400, /pattern/],
			[{ key: 'x3', label: 'X', type: 'dropdown' }, 400, /options/],
			[{ key: 'x4', label: 'X', type: 'text', options: ['a'] }, 400, /options/],
			[{ key: 'Bad-Key', label: 'X', type: 'text' }, 400, /key/],
			[{ key: 'x5', label: 'X', type: 'colour' }, 400, /type/],
			[{ key: 'x6', label: 'X', type: 'dropdown', options: Array.from({ length: FIELD_LIMITS.optionsPerField + 1 }, (_, i) => `o${i}`) }, 400, /options/],
			[{ key: 'notes', label: 'Again', type: 'text' }, 409, /never reused/]
		];
		for (const [body, status, message] of cases) {
			const res = await admin.request('POST', '/api/v1/ticket-fields', body);
			expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(status);
			expect(res.body.error.message).toMatch(message);
		}
		expect((await admin.request('PATCH', '/api/v1/ticket-fields/amount', { type: 'text' })).status).toBe(400);
		expect((await admin.request('PATCH', '/api/v1/ticket-fields/nope', { label: 'X' })).status).toBe(404);
		expect((await admin.request('POST', '/api/v1/ticket-forms', { name: 'Other', fieldKeys: ['nope'] })).status).toBe(400);
		expect((await admin.request('POST', '/api/v1/ticket-forms', { name: 'refund REQUEST', fieldKeys: [] })).status).toBe(409);
	});

	it('move up and down, and change', async () => {
		const admin = as('root');
		const order = async () => (await admin.request('GET', '/api/v1/ticket-fields')).body.fields.map((f: { key: string }) => f.key);
		expect((await admin.request('PATCH', '/api/v1/ticket-fields/notes', { move: 'up' })).status).toBe(200);
		expect((await order()).slice(-2)).toEqual(['notes', 'bought']);
		await admin.request('PATCH', '/api/v1/ticket-fields/notes', { move: 'down' });
		await admin.request('PATCH', '/api/v1/ticket-fields/notes', { move: 'down' }); // already last: stays
		expect((await order()).slice(-2)).toEqual(['bought', 'notes']);
		const changed = await admin.request('PATCH', '/api/v1/ticket-fields/notes', { label: 'Agent notes' });
		expect(changed.body).toMatchObject({ key: 'notes', type: 'text', label: 'Agent notes' });
	});
});

describe('values written by peers', () => {
	it('a valid value written by one agent is seen live by another and in the API', async () => {
		const ticketId = await newTicket();
		const ann = await pool.connect(server, ticketId, fx.users.ann!.token);
		const ben = await pool.connect(server, ticketId, fx.users.ben!.token);
		const rules = (await import('../../src/lib/ticket')).FieldRules;
		const defs = (await as('ann').request('GET', '/api/v1/ticket-fields')).body;
		const fieldRules: FieldRules = new rules(defs.fields, defs.forms);
		Y.transact(ann.doc, () => {
			setField(ann.doc, 'formId', formId);
			setCustomValues(ann.doc, { order_number: '#48213', amount: 84.5, products: ['Phone'], warranty: true, bought: '2026-03-04' }, fieldRules);
		});
		await ann.acknowledged();
		await waitFor(() => readFields(ben.doc).custom?.order_number === '#48213', 'the value at the other peer');
		expect(readFields(ben.doc)).toMatchObject({ formId, custom: { order_number: '#48213', amount: 84.5, products: ['Phone'], warranty: true, bought: '2026-03-04' } });
		expect(ann.closeReason()).toBeNull();
		await waitFor(async () => (await stored(ticketId)).custom?.amount === 84.5, 'the value in the API');
		// The list row is projected from the document shortly after.
		const row = async () => (await as('ann').request('GET', '/api/v1/tickets?limit=100')).body.tickets.find((t: { id: string }) => t.id === ticketId);
		await waitFor(async () => (await row())?.formId === formId, 'the list row');
		expect(await row()).toMatchObject({ formId, custom: { order_number: '#48213', products: ['Phone'] } });
	});

	it('refuses invalid, unknown, oversize and archived values with the socket closed, and keeps nothing of them', async () => {
		const cases: [string, unknown, string][] = [
			['order_number', '12', 'invalid-field'],
			['reason', 'Bored', 'invalid-field'],
			['amount', 'lots', 'invalid-field'],
			['nope', 'x', 'invalid-field'],
			['notes', 'x'.repeat(FIELD_LIMITS.textLength + 1), 'invalid-field'],
			['bought', '2026-02-30', 'invalid-field']
		];
		const ticketId = await newTicket();
		for (const [key, value, reason] of cases) {
			const peer = await pool.connect(server, ticketId, fx.users.ann!.token);
			customOf(peer).set(key, value);
			expect(await refusalOf(peer), key).toBe(reason);
			pool.disconnect(peer);
		}
		const bystander = await pool.connect(server, ticketId, fx.users.ben!.token);
		expect(readFields(bystander.doc).custom).toEqual({});
		// A supervisor's socket is read-only; a bot writes entries only.
		const sam = await pool.connect(server, ticketId, fx.users.sam!.token);
		customOf(sam).set('notes', 'mine');
		expect(await refusalOf(sam)).toBe('read-only');
	});

	it('holds values to the definitions as they now are: archived refused, options added accepted', async () => {
		const ticketId = await newTicket();
		const admin = as('root');
		expect((await admin.request('PATCH', '/api/v1/ticket-fields/warranty', { archived: true })).status).toBe(200);
		const peer = await pool.connect(server, ticketId, fx.users.ann!.token);
		customOf(peer).set('warranty', true);
		expect(await refusalOf(peer)).toBe('invalid-field');
		await admin.request('PATCH', '/api/v1/ticket-fields/warranty', { archived: false });
		expect((await admin.request('PATCH', '/api/v1/ticket-fields/reason', { options: ['Charged twice', 'Damaged', 'Lost'] })).status).toBe(200);
		const again = await pool.connect(server, ticketId, fx.users.ann!.token);
		Y.transact(again.doc, () => {
			customOf(again).set('warranty', true);
			customOf(again).set('reason', 'Lost');
		});
		await again.acknowledged();
		expect(again.closeReason()).toBeNull();
		await waitFor(async () => (await stored(ticketId)).custom?.reason === 'Lost', 'the new option stored');
	});

	it('refuses solving while the form’s required fields are empty, naming them, and solves once they are filled', async () => {
		const ticketId = await newTicket();
		const peer = await pool.connect(server, ticketId, fx.users.ann!.token);
		setField(peer.doc, 'formId', formId);
		await peer.acknowledged();
		setField(peer.doc, 'status', 'solved');
		expect(await refusalOf(peer)).toBe('required-fields-missing');
		expect((await stored(ticketId)).status).not.toBe('solved');
		const again = await pool.connect(server, ticketId, fx.users.ann!.token);
		Y.transact(again.doc, () => {
			customOf(again).set('order_number', '4821');
			customOf(again).set('reason', 'Damaged');
			setField(again.doc, 'status', 'solved');
		});
		await again.acknowledged();
		expect(again.closeReason()).toBeNull();
		await waitFor(async () => (await stored(ticketId)).status === 'solved', 'solved');
	});

	it('keeps a solved ticket’s required fields: a colleague clearing one after another solved is refused, over a socket and PATCH', async () => {
		const ticketId = await newTicket();
		const ann = await pool.connect(server, ticketId, fx.users.ann!.token);
		Y.transact(ann.doc, () => {
			setField(ann.doc, 'formId', formId);
			customOf(ann).set('order_number', '4821');
			customOf(ann).set('reason', 'Damaged');
		});
		await ann.acknowledged();
		const ben = await pool.connect(server, ticketId, fx.users.ben!.token);
		await waitFor(() => readFields(ben.doc).custom?.reason === 'Damaged', 'the values at the second peer');
		setField(ann.doc, 'status', 'solved');
		await ann.acknowledged();
		customOf(ben).set('reason', null);
		expect(await refusalOf(ben)).toBe('required-fields-missing');
		expect((await stored(ticketId)).custom?.reason).toBe('Damaged');
		const patched = await as('ann').request('PATCH', `/api/v1/tickets/${ticketId}`, { custom: { order_number: null } });
		expect(patched.status).toBe(409);
		expect(patched.body.error).toMatchObject({ code: 'required_fields', message: 'Order number is needed while the ticket is solved: reopen it first' });
		expect((await as('ann').request('PATCH', `/api/v1/tickets/${ticketId}`, { formId: null })).status).toBe(200);
		const reopened = await as('ann').request('PATCH', `/api/v1/tickets/${ticketId}`, { status: 'open', formId, custom: { order_number: null } });
		expect(reopened.status).toBe(200);
		expect(reopened.body).toMatchObject({ status: 'open', custom: { order_number: null, reason: 'Damaged' } });
	});
});

describe('PATCH /api/v1/tickets/{id} with custom values', () => {
	it('sets values and form live for peers, refuses bad ones by name, and supervisors and bots not at all', async () => {
		const ticketId = await newTicket();
		const peer = await pool.connect(server, ticketId, fx.users.ben!.token);
		const res = await as('ann').request('PATCH', `/api/v1/tickets/${ticketId}`, { formId, custom: { order_number: '#99999', products: ['Laptop', 'Phone'] } });
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({ formId, custom: { order_number: '#99999', products: ['Laptop', 'Phone'] } });
		await waitFor(() => readFields(peer.doc).custom?.order_number === '#99999', 'the value at the peer');
		const cleared = await as('ann').request('PATCH', `/api/v1/tickets/${ticketId}`, { custom: { products: null } });
		expect(cleared.body.custom).toEqual({ order_number: '#99999', products: null });

		const bad: [unknown, number, RegExp][] = [
			[{ custom: { order_number: 'abc' } }, 400, /custom.order_number: Order number: does not match/],
			[{ custom: { nope: 1 } }, 400, /no custom field/],
			[{ custom: { notes: 'x'.repeat(FIELD_LIMITS.multilineLength + 1) } }, 400, /custom/],
			[{ custom: { products: ['Tablet'] } }, 400, /not one of/],
			[{ formId: 'NOFORM' }, 400, /no form/],
			[{ custom: { 'Bad Key': 1 } }, 400, /custom/]
		];
		for (const [body, status, message] of bad) {
			const refused = await as('ann').request('PATCH', `/api/v1/tickets/${ticketId}`, body);
			expect(refused.status, JSON.stringify(body).slice(0, 60)).toBe(status);
			expect(refused.body.error.message).toMatch(message);
		}
		expect((await as('sam').request('PATCH', `/api/v1/tickets/${ticketId}`, { custom: { notes: 'hi' } })).status).toBe(403);
		expect((await as('mail').request('PATCH', `/api/v1/tickets/${ticketId}`, { custom: { notes: 'hi' } })).status).toBe(403);
		expect((await stored(ticketId)).custom).toEqual({ order_number: '#99999', products: null });
	});

	it('refuses solving without the required fields (409 naming them), also in bulk, and solves with them', async () => {
		const ticketId = await newTicket();
		await as('ann').request('PATCH', `/api/v1/tickets/${ticketId}`, { formId });
		const refused = await as('ann').request('PATCH', `/api/v1/tickets/${ticketId}`, { status: 'solved' });
		expect(refused.status).toBe(409);
		expect(refused.body.error).toMatchObject({ code: 'required_fields', message: expect.stringMatching(/Order number, Reason/) });
		const bulk = await as('ann').request('POST', '/api/v1/tickets/bulk', { ticketIds: [ticketId], set: { status: 'solved' } });
		expect(bulk.body.results[0]).toMatchObject({ ok: false, error: { code: 'required_fields' } });
		const solved = await as('ann').request('PATCH', `/api/v1/tickets/${ticketId}`, { status: 'solved', custom: { order_number: '1234', reason: 'Damaged' } });
		expect(solved.status).toBe(200);
		expect(solved.body.status).toBe('solved');
	});

	it('creates a ticket with values and a form, checked the same way', async () => {
		const body = { subject: 'With values', requester: { email: 'val@example.com' }, channel: 'email', body: 'hi', formId, custom: { order_number: '#5555', reason: 'Damaged' } };
		const created = await as('mail').request('POST', '/api/v1/tickets', body);
		expect(created.status).toBe(201);
		expect(created.body).toMatchObject({ formId, custom: { order_number: '#5555', reason: 'Damaged' } });
		expect((await as('mail').request('POST', '/api/v1/tickets', { ...body, custom: { reason: 'Nope' } })).status).toBe(400);
	});
});

describe('search by a custom field', () => {
	it('finds tickets by exact choices and numbers and by words of text, only among those the viewer may see', async () => {
		const ticketId = await newTicket();
		await as('ann').request('PATCH', `/api/v1/tickets/${ticketId}`, { custom: { order_number: '#777123', reason: 'Charged twice', amount: 12.5, notes: 'Customer called twice about the parcel', warranty: true } });
		const found = async (q: string) => ((await as('ann').request('GET', `/api/v1/search?q=${encodeURIComponent(q)}`)).body.results ?? []).map((r: { id: string }) => r.id);
		await waitFor(async () => (await found('field.order_number:777123')).includes(ticketId), 'found by order number');
		expect(await found('field.order_number:#777123')).toContain(ticketId);
		expect(await found('field.reason:"charged twice"')).toContain(ticketId);
		expect(await found('field.reason:charged')).not.toContain(ticketId);
		expect(await found('field.amount:12.50')).toContain(ticketId);
		expect(await found('field.amount:12')).not.toContain(ticketId);
		expect(await found('field.warranty:yes')).toContain(ticketId);
		expect(await found('field.warranty:no')).not.toContain(ticketId);
		expect(await found('field.notes:parcel')).toContain(ticketId);
		expect(await found('field.notes:par')).not.toContain(ticketId);
		expect(await found('-field.reason:"charged twice"')).not.toContain(ticketId);
		expect(await found('777123')).toContain(ticketId);
		const unknown = await as('ann').request('GET', `/api/v1/search?q=${encodeURIComponent('field.nope:1')}`);
		expect(unknown.status).toBe(400);
		expect(unknown.body.error.message).toMatch(/no custom field nope/);
		expect((await as('ann').request('GET', `/api/v1/search?q=${encodeURIComponent('field.amount:lots')}`)).status).toBe(400);
		// A ticket of a group Ann is not in, with the same value: Carl finds it, Ann does not.
		const billing = await newTicket();
		await fileInGroup(server, billing, fx.groups.Billing!, fx.users.root!.token, fx.users.ann!.token);
		expect((await as('root').request('PATCH', `/api/v1/tickets/${billing}`, { custom: { order_number: '#777123' } })).status).toBe(200);
		const carlFinds = async () => ((await as('carl').request('GET', `/api/v1/search?q=${encodeURIComponent('field.order_number:777123')}`)).body.results ?? []).map((r: { id: string }) => r.id);
		await waitFor(async () => (await carlFinds()).includes(billing), 'Carl to find the Billing ticket');
		expect(await found('field.order_number:777123')).toEqual([ticketId]);
		expect((await as('ann').request('PATCH', `/api/v1/tickets/${billing}`, { custom: { notes: 'mine' } })).status).toBe(404);
		// A saved view is a search: it lists the ticket by its value.
		const view = await as('ann').request('POST', '/api/v1/saved-views', { name: 'Charged twice', query: 'field.reason:"charged twice"', columns: ['status', 'field.order_number', 'field.amount'] });
		expect(view.status).toBe(201);
		expect(view.body.columns).toEqual(['status', 'field.order_number', 'field.amount']);
		for (const columns of [['field.Bad'], ['field.'], ['fields.x'], ['field.a', 'field.b', 'field.c', 'field.d', 'field.e', 'field.f']]) {
			expect((await as('ann').request('POST', '/api/v1/saved-views', { name: `Bad ${columns[0]}`, query: 'refund', columns })).status, columns.join()).toBe(400);
		}
		const listed = await as('ann').request('GET', `/api/v1/tickets?saved=${view.body.id}`);
		expect(listed.body.tickets.map((t: { id: string }) => t.id)).toContain(ticketId);
	});
});

describe('search by > and < on a custom field', () => {
	it('compares numbers, decimals and dates strictly, on both engines, among the tickets the viewer may see', async () => {
		expect((await as('root').request('POST', '/api/v1/ticket-fields', { key: 'items', label: 'Items', type: 'number' })).status).toBe(201);
		const dayAgo = (days: number) => new Date(Date.now() - days * 86400_000).toISOString().slice(0, 10);
		// Text in other fields (notes, reason, the dates) sits in the same values table: PostgreSQL must never cast it to a number.
		const values = {
			a: { amount: -5, items: 3, bought: '2025-01-30', notes: 'twelve apples', reason: 'Damaged' },
			b: { amount: -3.5, items: 10, bought: '2025-01-31', notes: '1e5 and more' },
			c: { amount: 10.25, items: 11, bought: '2025-02-01', warranty: true },
			d: { amount: 84, items: -2, bought: dayAgo(3) },
			garbled: {},
			none: {}
		};
		const ids: Record<string, string> = {};
		for (const [name, custom] of Object.entries(values)) {
			ids[name] = await newTicket();
			if (Object.keys(custom).length) expect((await as('ann').request('PATCH', `/api/v1/tickets/${ids[name]}`, { custom })).status).toBe(200);
		}
		// Values no peer could write (the server checks them), as damaged data would hold them: numbers
		// the engines cannot read. Never compared, and on PostgreSQL no cast of them fails the query.
		const garbled = sql`SELECT count(*) AS n FROM ticket_field_values WHERE ticket_id = ${ids.garbled}`;
		await withStore(server.dataDir, (store) =>
			store.run(sql`INSERT INTO ticket_field_values (ticket_id, field_key, value) VALUES (${ids.garbled}, 'amount', 'n/a'), (${ids.garbled}, 'items', '12abc'), (${ids.garbled}, 'amount', '1e')`)
		);
		const nameOf = new Map(Object.entries(ids).map(([name, id]) => [id, name]));
		const search = (q: string, who: 'ann' | 'carl' = 'ann') => as(who).request('GET', `/api/v1/search?q=${encodeURIComponent(q)}&limit=100`);
		/** The names of this test's tickets the search finds, in order of name. */
		const found = async (q: string) => {
			const response = await search(q);
			expect(response.status, `${q}: ${JSON.stringify(response.body)}`).toBe(200);
			return response.body.results.map((r: { id: string }) => nameOf.get(r.id)).filter(Boolean).sort();
		};
		await waitFor(async () => (await found('field.items<0')).includes('d'), 'the values to be searchable');
		for (const [q, expected] of [
			// Decimals, negative ones too, strictly.
			['field.amount>-3.5', ['c', 'd']],
			['field.amount>-4', ['b', 'c', 'd']],
			['field.amount<-3.5', ['a']],
			['field.amount<10.25', ['a', 'b']],
			['field.amount>10.2', ['c', 'd']],
			['field.amount>+10.25', ['d']],
			['field.amount<0', ['a', 'b']],
			['field.amount>1e1', ['c', 'd']],
			// Whole numbers, also against a decimal.
			['field.items>3', ['b', 'c']],
			['field.items<3', ['d']],
			['field.items>2.5', ['a', 'b', 'c']],
			['field.items<-2', []],
			// Dates by their day, strictly; a time is taken by its day (UTC).
			['field.bought>2025-01-30', ['b', 'c', 'd']],
			['field.bought<2025-01-31', ['a']],
			['field.bought>2025-01-31', ['c', 'd']],
			['field.bought<2025-01-31T23:59', ['a']],
			// A time ago: after or before the day it falls on.
			['field.bought>7d', ['d']],
			['field.bought<7d', ['a', 'b', 'c']],
			['field.bought<3d', ['a', 'b', 'c']],
			// Negated: what does not match, tickets without the field too.
			['-field.amount>-3.5', ['a', 'b', 'garbled', 'none']],
			['-field.bought>7d', ['a', 'b', 'c', 'garbled', 'none']],
			// With other terms, and `:` as before.
			['field.amount>0 field.items<11', ['d']],
			['field.amount:-3.5', ['b']],
			['field.amount:10.250', ['c']]
		] as const) {
			expect(await found(q), q).toEqual(expected);
		}
		expect(await countRows(server.dataDir, garbled), 'the garbled values stayed for every search').toBe(3);
		// A field of a type > and < do not compare, and values they cannot read: 400s that say why.
		for (const [q, message] of [
			['field.reason>3', /field\.reason>3: only number, decimal and date fields take > and <; reason is a field of type Drop-down/],
			['field.notes<apples', /notes is a field of type Text/],
			['-field.warranty>0', /warranty is a field of type Checkbox/],
			['field.products<phone', /products is a field of type Multi-select/],
			['field.nope>1', /there is no custom field nope/],
			['field.amount>lots', /field\.amount>lots: expected a number \(42, -3\.5, 10\.25\) within ±1,000,000,000,000/],
			['field.amount>NaN', /expected a number/],
			['field.amount<Infinity', /expected a number/],
			['field.amount<-Infinity', /expected a number/],
			['field.amount>1e309', /expected a number/],
			['field.amount>1e13', /expected a number/],
			[`field.amount<${'9'.repeat(150)}`, /expected a number/],
			['field.amount>0x10', /expected a number/],
			['field.amount>1,5', /expected a number/],
			['field.amount>=3', /expected a number/],
			['field.items>-', /expected a number/],
			['field.amount:1e309', /expected a number/],
			['field.bought>yesterday', /expected a date \(2025-01-31\) or a time ago/],
			['field.bought<2025-13-45', /expected a date/],
			['field.bought<31/01/2025', /expected a date/]
		] as const) {
			const refused = await search(q);
			expect(refused.status, q).toBe(400);
			expect(refused.body.error.code, q).toBe('invalid_field');
			expect(refused.body.error.message, q).toMatch(message);
		}
		// A ticket of a group Ann is not in: Carl finds it by its amount, Ann does not.
		const billing = await newTicket();
		await fileInGroup(server, billing, fx.groups.Billing!, fx.users.root!.token, fx.users.ann!.token);
		expect((await as('root').request('PATCH', `/api/v1/tickets/${billing}`, { custom: { amount: 5000 } })).status).toBe(200);
		const carlFinds = async () => (await search('field.amount>4999', 'carl')).body.results.map((r: { id: string }) => r.id);
		await waitFor(async () => (await carlFinds()).includes(billing), 'Carl to find the Billing ticket');
		expect((await search('field.amount>4999')).body.results).toEqual([]);
		// A saved view is a search: it lists the tickets past an amount.
		const view = await as('ann').request('POST', '/api/v1/saved-views', { name: 'Big refunds', query: 'field.amount>10' });
		expect(view.status).toBe(201);
		const listed = await as('ann').request('GET', `/api/v1/tickets?saved=${view.body.id}`);
		expect(listed.body.tickets.map((t: { id: string }) => nameOf.get(t.id)).filter(Boolean).sort()).toEqual(['c', 'd']);
	});
});

describe('limits', () => {
	it('at most FIELD_LIMITS.fields fields and FIELD_LIMITS.forms forms', async () => {
		const admin = as('root');
		const have = (await admin.request('GET', '/api/v1/ticket-fields')).body;
		for (let i = have.fields.length; i < FIELD_LIMITS.fields; i++) {
			expect((await admin.request('POST', '/api/v1/ticket-fields', { key: `f${i}`, label: `F${i}`, type: 'text' })).status).toBe(201);
		}
		const over = await admin.request('POST', '/api/v1/ticket-fields', { key: 'one_more', label: 'One more', type: 'text' });
		expect(over.status).toBe(409);
		expect(over.body.error.code).toBe('limit_exceeded');
		for (let i = have.forms.length; i < FIELD_LIMITS.forms; i++) {
			expect((await admin.request('POST', '/api/v1/ticket-forms', { name: `Form ${i}`, fieldKeys: [] })).status).toBe(201);
		}
		expect((await admin.request('POST', '/api/v1/ticket-forms', { name: 'One more', fieldKeys: [] })).status).toBe(409);
		expect((await admin.request('POST', '/api/v1/ticket-forms', { name: 'Big', fieldKeys: Array.from({ length: FIELD_LIMITS.fieldsPerForm + 1 }, (_, i) => `f${i}`) })).status).toBe(400);
	}, 60_000);
});
