/**
 * Scoping attacks (issue #12, class 6) against one running server: an agent of another group, a
 * supervisor, a bot scoped to one channel and a caller with no credentials try to read and change
 * customers, custom object records and tickets beyond their reach. Each denial is asserted by its
 * status and API error code (or websocket close reason) and by what matters: nothing changed in
 * the database or in the ticket as a fresh peer sees it.
 */
import { sql } from 'drizzle-orm';
import * as Y from 'yjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newId, openSide, readDrafts, readEntries, readFields, readSides, setField } from '../../src/lib/ticket';
import { countRows } from '../helpers/db';
import { noteBy, replyBy } from '../helpers/entries';
import { prepare, type Fixture } from '../helpers/fixtures';
import { api, connectPeer, startServer, tempDataDir, waitFor, type Peer, type RunningServer } from '../helpers/server';

let server: RunningServer;
let fx: Fixture;

beforeAll(async () => {
	const dataDir = tempDataDir('tandem-attacks-scope-');
	fx = await prepare(dataDir, {
		users: {
			ann: { role: 'agent', groups: ['Support'] }, // the attacker: an ordinary agent of another group
			carl: { role: 'agent', groups: ['Billing'] }, // the customer's own agent
			sue: { role: 'supervisor' },
			root: { role: 'admin' }
		},
		bots: { mailer: ['email'], chatter: ['chat'], shop: ['email'] }
	});
	server = await startServer({ dataDir });
});

afterAll(async () => {
	await server?.stop();
});

const peers: Peer[] = [];
afterEach(() => {
	for (const peer of peers.splice(0)) peer.destroy();
});

type Caller = 'ann' | 'carl' | 'sue' | 'root' | 'mailer' | 'chatter' | 'shop' | 'nobody';

const as = (caller: Caller) => api(server, caller === 'nobody' ? undefined : (fx.users[caller] ?? fx.tokens[caller]).token);
const tokenOf = (caller: Exclude<Caller, 'nobody'>) => (fx.users[caller] ?? fx.tokens[caller]).token;

async function connect(ticketId: string, caller: Exclude<Caller, 'nobody'>) {
	const peer = await connectPeer(server, ticketId, tokenOf(caller));
	peers.push(peer);
	return peer;
}

/** A new email ticket from a new customer, put in `group` by an admin's edit (null: no group). */
async function ticketIn(group: 'Billing' | 'Support' | null) {
	const created = await as('mailer').request('POST', '/api/v1/tickets', {
		subject: 'Invoice is wrong',
		requester: { email: `bea+${newId().toLowerCase()}@example.com`, name: 'Bea' },
		channel: 'email',
		body: 'Please check my invoice.'
	});
	expect(created.status).toBe(201);
	if (group) {
		const admin = await connect(created.body.id, 'root');
		setField(admin.doc, 'groupId', fx.groups[group]);
		await admin.acknowledged();
		await waitFor(async () => (await as('ann').request('GET', `/api/v1/tickets/${created.body.id}`)).status === (group === 'Support' ? 200 : 404), 'the group to take effect');
	}
	return { id: created.body.id as string, requesterId: created.body.requesterId as string };
}

/** What a customer's stored state is: the profile, addresses and profile-change events. */
async function customerState(customerId: string) {
	const { body } = await as('root').request('GET', `/api/v1/customers/${customerId}`);
	return {
		profile: body,
		addresses: await countRows(server.dataDir, sql`SELECT count(*) AS n FROM customer_addresses WHERE customer_id = ${customerId}`),
		updates: await countRows(server.dataDir, sql`SELECT count(*) AS n FROM events WHERE type = 'customer.updated'`)
	};
}

describe('customers are scoped by their tickets', () => {
	const PATCH = { notes: 'VIP', addAddresses: [{ channel: 'email', address: 'attacker@evil.test' }] };

	it.each([
		{ caller: 'ann', status: 404, code: 'not_found' },
		{ caller: 'chatter', status: 404, code: 'not_found' },
		{ caller: 'nobody', status: 401, code: 'unauthorized' }
	] as const)('$caller can neither read nor change a customer whose tickets they may not open ($status)', async ({ caller, status, code }) => {
		const ticket = await ticketIn('Billing');
		const before = await customerState(ticket.requesterId);
		for (const route of [`/api/v1/customers/${ticket.requesterId}`, `/api/v1/customers/${ticket.requesterId}/history`, `/api/v1/objects?customer=${ticket.requesterId}`]) {
			const read = await as(caller).request('GET', route);
			expect(read.status, route).toBe(status);
			expect(read.body.error.code, route).toBe(code);
		}
		const patched = await as(caller).request('PATCH', `/api/v1/customers/${ticket.requesterId}`, PATCH);
		expect(patched.status).toBe(status);
		expect(patched.body.error.code).toBe(code);
		expect(await customerState(ticket.requesterId)).toEqual(before);
	});

	it.each([
		{ caller: 'sue', why: 'supervisors read only' },
		{ caller: 'mailer', why: 'a bot of the ticket’s channel reads only' }
	] as const)('$caller reads the customer but cannot change them (403): $why', async ({ caller }) => {
		const ticket = await ticketIn('Billing');
		const before = await customerState(ticket.requesterId);
		const read = await as(caller).request('GET', `/api/v1/customers/${ticket.requesterId}`);
		expect(read.status).toBe(200);
		expect(read.body.addresses).toEqual(before.profile.addresses);
		const patched = await as(caller).request('PATCH', `/api/v1/customers/${ticket.requesterId}`, PATCH);
		expect(patched.status).toBe(403);
		expect(patched.body.error.code).toBe('forbidden');
		expect(await customerState(ticket.requesterId)).toEqual(before);
	});

	it("an agent who may write one of the customer's tickets changes them; a new ticket for a customer makes them visible", async () => {
		const ticket = await ticketIn('Billing');
		const changed = await as('carl').request('PATCH', `/api/v1/customers/${ticket.requesterId}`, { notes: 'Checked' });
		expect(changed.status).toBe(200);
		expect(changed.body.notes).toBe('Checked');
		// Ann opens a ticket for the same customer (no group: every agent's): from then on they are hers too.
		const email = (await as('root').request('GET', `/api/v1/customers/${ticket.requesterId}`)).body.addresses[0].address;
		const own = await as('ann').request('POST', '/api/v1/tickets', { subject: 'Follow-up', requester: { email }, channel: 'email', body: 'Called about it.' });
		expect(own.status).toBe(201);
		const read = await as('ann').request('GET', `/api/v1/customers/${ticket.requesterId}`);
		expect(read.status).toBe(200);
		// ...but only the ticket she may open is listed.
		expect(read.body.tickets.map((t: { id: string }) => t.id)).toEqual([own.body.id]);
	});
});

describe('custom object records are scoped by their links and their creator', () => {
	let orderType: string;
	beforeAll(async () => {
		const created = await as('root').request('POST', '/api/v1/object-types', {
			name: 'Order',
			fields: [{ key: 'total', label: 'Total', type: 'number', required: true }]
		});
		expect(created.status).toBe(201);
		orderType = created.body.id;
	});

	const createRecord = async (caller: Caller, customerIds: string[], externalId = newId()) =>
		as(caller).request('POST', '/api/v1/objects', { typeId: orderType, externalId, values: { total: 42 }, customerIds });
	const recordCount = () => countRows(server.dataDir, sql`SELECT count(*) AS n FROM object_records`);
	const linkCount = () => countRows(server.dataDir, sql`SELECT count(*) AS n FROM object_links`);

	it("an agent of another group sees neither the record of another group's customer nor that customer's id", async () => {
		const billing = await ticketIn('Billing');
		const support = await ticketIn('Support');
		const hidden = await createRecord('shop', [billing.requesterId]);
		const shared = await createRecord('shop', [support.requesterId, billing.requesterId]);
		expect([hidden.status, shared.status]).toEqual([201, 201]);

		const listed = await as('ann').request('GET', '/api/v1/objects?limit=100');
		expect(listed.status).toBe(200);
		const ids = listed.body.records.map((r: { id: string }) => r.id);
		expect(ids).not.toContain(hidden.body.id);
		expect(ids).toContain(shared.body.id);
		expect(JSON.stringify(listed.body)).not.toContain(billing.requesterId);
		expect(listed.body.records.find((r: { id: string }) => r.id === shared.body.id).customerIds).toEqual([support.requesterId]);
		const read = await as('ann').request('GET', `/api/v1/objects/${hidden.body.id}`);
		expect([read.status, read.body.error.code]).toEqual([404, 'not_found']);
		// Nor can she link it to her own ticket to read it there.
		const links = await linkCount();
		const linked = await as('ann').request('POST', `/api/v1/tickets/${support.id}/objects/${hidden.body.id}`);
		expect([linked.status, linked.body.error.code]).toEqual([404, 'not_found']);
		expect(await linkCount()).toBe(links);
		// The group's own agent and a supervisor see it, with the customer.
		for (const caller of ['carl', 'sue'] as const) {
			const seen = await as(caller).request('GET', `/api/v1/objects/${hidden.body.id}`);
			expect(seen.status, caller).toBe(200);
			expect(seen.body.customerIds, caller).toEqual([billing.requesterId]);
		}
	});

	it('a bot deletes only the records it created; a bot of another channel cannot even see them', async () => {
		const billing = await ticketIn('Billing');
		const record = await createRecord('shop', [billing.requesterId]);
		expect(record.status).toBe(201);
		const before = await recordCount();
		const cases = [
			{ caller: 'chatter', status: 404, code: 'not_found' },
			{ caller: 'mailer', status: 403, code: 'forbidden' },
			{ caller: 'ann', status: 404, code: 'not_found' },
			{ caller: 'carl', status: 403, code: 'forbidden' },
			{ caller: 'sue', status: 403, code: 'forbidden' },
			{ caller: 'nobody', status: 401, code: 'unauthorized' }
		] as const;
		for (const { caller, status, code } of cases) {
			const deleted = await as(caller).request('DELETE', `/api/v1/objects/${record.body.id}`);
			expect([deleted.status, deleted.body.error?.code], caller).toEqual([status, code]);
		}
		expect(await recordCount()).toBe(before);
		expect((await as('shop').request('DELETE', `/api/v1/objects/${record.body.id}`)).status).toBe(204);
		expect(await recordCount()).toBe(before - 1);
	});

	it("a bot cannot attach a record to a customer it may not see, and an agent's record writes are refused", async () => {
		const billing = await ticketIn('Billing');
		const before = await recordCount();
		const refused = await createRecord('chatter', [billing.requesterId]);
		expect([refused.status, refused.body.error.code, refused.body.error.field]).toEqual([400, 'invalid_field', 'customerIds.0']);
		const byAgent = await createRecord('carl', [billing.requesterId]);
		expect([byAgent.status, byAgent.body.error.code]).toEqual([403, 'forbidden']);
		const bySupervisor = await createRecord('sue', []);
		expect([bySupervisor.status, bySupervisor.body.error.code]).toEqual([403, 'forbidden']);
		expect(await recordCount()).toBe(before);
	});
});

describe('over the websocket, bots write entries on their channels and nothing else', () => {
	/** What a fresh peer sees of the ticket. */
	async function freshView(ticketId: string) {
		const peer = await connect(ticketId, 'root');
		const view = { fields: readFields(peer.doc), entries: readEntries(peer.doc), sides: readSides(peer.doc), drafts: readDrafts(peer.doc), state: Y.encodeStateVector(peer.doc) };
		peer.destroy();
		return view;
	}
	const logRows = (ticketId: string) => countRows(server.dataDir, sql`SELECT count(*) AS n FROM ticket_updates WHERE ticket_id = ${ticketId}`);

	// HOSTILE: written around the ticket module's accessors, as an attacker would.
	const WRITES: { name: string; write: (doc: Y.Doc, ticket: { requesterId: string }) => void }[] = [
		{ name: 'a ticket field (status)', write: (doc) => doc.getMap('ticket').set('status', 'solved') },
		{ name: 'the group, to one that does not exist', write: (doc) => doc.getMap('ticket').set('groupId', newId()) },
		{ name: 'a tag', write: (doc) => (doc.getMap('ticket').get('tags') as Y.Array<string>).push(['refunded']) },
		{ name: 'a reply draft', write: (doc) => doc.getMap('drafts').set(newId(), new Y.Map()) },
		{
			name: 'a side conversation',
			write: (doc, ticket) => openSide(doc, { id: newId(), subject: 'Hidden', channel: 'internal', createdBy: ticket.requesterId, createdAt: Date.now(), participants: [] })
		}
	];

	it.each(WRITES)('a bot scoped to the channel writing $name is refused (forbidden-author), the ticket unchanged', async ({ write }) => {
		const ticket = await ticketIn(null);
		const before = await freshView(ticket.id);
		const rowsBefore = await logRows(ticket.id);
		const bot = await connect(ticket.id, 'mailer');
		write(bot.doc, ticket);
		expect(await waitFor(() => bot.closeReason(), 'the refusal')).toBe('forbidden-author');
		expect(await freshView(ticket.id)).toEqual(before);
		expect(await logRows(ticket.id)).toBe(rowsBefore);
		// The same bot still relays the customer's messages.
		const relay = await connect(ticket.id, 'mailer');
		const reply = replyBy(fx.tokens.mailer.id, 'Relayed', { channel: 'email', authorType: 'bot' });
		relay.doc.getArray('entries').push([reply]);
		await relay.acknowledged();
		expect((await freshView(ticket.id)).entries.map((e) => e.id)).toContain(reply.id);
	});

	it('an agent cannot move a ticket to a group that does not exist (forbidden-author); to one that exists, she can', async () => {
		const ticket = await ticketIn('Support');
		const before = await freshView(ticket.id);
		const agent = await connect(ticket.id, 'ann');
		setField(agent.doc, 'groupId', newId());
		expect(await waitFor(() => agent.closeReason(), 'the refusal')).toBe('forbidden-author');
		expect(await freshView(ticket.id)).toEqual(before);
		// Still hers to open, and every Support agent's.
		expect((await as('ann').request('GET', `/api/v1/tickets/${ticket.id}`)).status).toBe(200);
		const again = await connect(ticket.id, 'ann');
		// The move takes the ticket out of her reach: access is live, so the move is the last thing
		// she writes there (her socket is closed with access-revoked right after).
		setField(again.doc, 'groupId', fx.groups.Billing);
		await waitFor(async () => (await as('carl').request('GET', `/api/v1/tickets/${ticket.id}`)).status === 200, 'the move to Billing');
	});
});
