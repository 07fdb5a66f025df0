/**
 * Linking a record to a ticket when it belongs to someone other than the requester (#13, defect 6):
 * the API refuses it (409 `other_owner`, naming the owners the caller may see) unless the agent
 * confirms, and nothing is linked or recorded by a refused request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setField } from '../../src/lib/ticket';
import { prepare, type Fixture } from '../helpers/fixtures';
import { api, connectPeer, startServer, tempDataDir, waitFor, type Api, type RunningServer } from '../helpers/server';

let server: RunningServer;
let fx: Fixture;
let admin: Api, alex: Api, casey: Api, shop: Api;
let maggie: { id: string; requesterId: string };
let ben: { id: string; requesterId: string };
let technical: { id: string; requesterId: string };
const orders: Record<'maggies' | 'bens' | 'hidden' | 'nobodys' | 'shared', string> = { maggies: '', bens: '', hidden: '', nobodys: '', shared: '' };

async function ticketFor(email: string, name: string, subject: string) {
	const created = await shop.request('POST', '/api/v1/tickets', { subject, requester: { email, name }, channel: 'email', body: 'Hello' });
	expect(created.status).toBe(201);
	return created.body as { id: string; requesterId: string };
}

async function order(externalId: string, customerIds: string[]) {
	const created = await shop.request('POST', '/api/v1/objects', { typeId: orderType, externalId, values: { total: 10 }, customerIds });
	expect(created.status).toBe(201);
	return created.body.id as string;
}

let orderType = '';
const link = (caller: Api, ticketId: string, recordId: string, body?: unknown, raw?: string) =>
	caller.request('POST', `/api/v1/tickets/${ticketId}/objects/${recordId}`, body, raw === undefined ? {} : { raw });
const linkedToTicket = async (ticketId: string) =>
	((await admin.request('GET', `/api/v1/tickets/${ticketId}/objects`)).body.records as { id: string; linkedTo: string[] }[]).filter((r) => r.linkedTo.includes('ticket')).map((r) => r.id);
const linkEvents = async (ticketId: string) => ((await admin.request('GET', `/api/v1/tickets/${ticketId}/events`)).body.events as { type: string }[]).filter((e) => e.type === 'object.linked').length;

beforeAll(async () => {
	const dataDir = tempDataDir();
	fx = await prepare(dataDir, {
		users: { ada: { role: 'admin', groups: ['Billing'] }, alex: { role: 'agent', groups: ['Billing'] }, casey: { role: 'agent', groups: ['Technical'] } },
		bots: { shop: ['email'] }
	});
	server = await startServer({ dataDir });
	admin = api(server, fx.users.ada.token);
	alex = api(server, fx.users.alex.token);
	casey = api(server, fx.users.casey.token);
	shop = api(server, fx.tokens.shop.token);
	const type = await admin.request('POST', '/api/v1/object-types', { name: 'Order', fields: [{ key: 'total', label: 'Total', type: 'number' }] });
	orderType = type.body.id;
	maggie = await ticketFor('maggie@example.com', 'Maggie Chen', 'Where is my refund?');
	ben = await ticketFor('ben@example.com', 'Ben Ortiz', 'Charged twice');
	technical = await ticketFor('tara@example.com', 'Tara Quinn', 'Printer offline');
	for (const [ticket, groupId] of [[maggie, fx.groups.Billing], [ben, fx.groups.Billing], [technical, fx.groups.Technical]] as const) {
		const peer = await connectPeer(server, ticket.id, fx.users.ada.token);
		setField(peer.doc, 'groupId', groupId);
		await peer.acknowledged();
		peer.destroy();
		await waitFor(
			async () => (await admin.request('GET', '/api/v1/tickets?limit=100')).body.tickets.some((t: { id: string; groupId: string }) => t.id === ticket.id && t.groupId === groupId),
			'the group to be indexed'
		);
	}
	orders.maggies = await order('48213', [maggie.requesterId]);
	orders.bens = await order('48377', [ben.requesterId]);
	orders.hidden = await order('48500', [technical.requesterId]);
	orders.nobodys = await order('48999', []);
	orders.shared = await order('49000', [ben.requesterId, maggie.requesterId]);
});

afterAll(async () => {
	await server?.stop();
});

describe("linking another customer's record", () => {
	it("links the requester's own record, a record of no one's and one they share, without asking", async () => {
		for (const id of [orders.maggies, orders.nobodys, orders.shared]) expect((await link(alex, maggie.id, id)).status).toBe(200);
		expect((await linkedToTicket(maggie.id)).sort()).toEqual([orders.maggies, orders.nobodys, orders.shared].sort());
	});

	it('refuses a record of someone else with 409 other_owner, naming the owner, and links nothing', async () => {
		const before = await linkEvents(maggie.id);
		const refused = await link(alex, maggie.id, orders.bens);
		expect(refused.status).toBe(409);
		expect(refused.body.error.code).toBe('other_owner');
		expect(refused.body.error.message).toBe("Order 48377 belongs to Ben Ortiz, not to this ticket's requester; link it with confirmOtherOwner: true if that is meant");
		// An explicit false, an empty object and an empty body are the same refusal.
		expect((await link(alex, maggie.id, orders.bens, { confirmOtherOwner: false })).status).toBe(409);
		expect((await link(alex, maggie.id, orders.bens, {})).status).toBe(409);
		expect((await link(alex, maggie.id, orders.bens, undefined, '')).status).toBe(409);
		expect(await linkedToTicket(maggie.id)).not.toContain(orders.bens);
		expect(await linkEvents(maggie.id)).toBe(before);
	});

	it('links it when the agent confirms, once', async () => {
		const confirmed = await link(alex, maggie.id, orders.bens, { confirmOtherOwner: true });
		expect(confirmed.status).toBe(200);
		const linked = confirmed.body.records.find((r: { id: string }) => r.id === orders.bens);
		// Still Ben's: the link does not make it Maggie's.
		expect(linked).toMatchObject({ linkedTo: ['ticket'], customerIds: [ben.requesterId] });
		expect((await link(alex, maggie.id, orders.bens, { confirmOtherOwner: true })).status).toBe(200);
		expect((await linkedToTicket(maggie.id)).filter((id) => id === orders.bens)).toHaveLength(1);
	});

	it('names no owner the caller may not see', async () => {
		// An admin sees Tara (Technical) and is told whose it is.
		const refused = await link(admin, maggie.id, orders.hidden);
		expect(refused.body.error.message).toContain('Tara Quinn');
		expect((await link(admin, maggie.id, orders.hidden, { confirmOtherOwner: true })).status).toBe(200);
		// Alex may read the record through Maggie's ticket now, but not Tara: linking it to Ben's ticket names no one.
		const byAlex = await link(alex, ben.id, orders.hidden);
		expect(byAlex.status).toBe(409);
		expect(byAlex.body.error.message).toContain('belongs to another customer');
		expect(byAlex.body.error.message).not.toContain('Tara');
	});

	it('refuses hostile bodies with 400 and links nothing', async () => {
		const before = await linkEvents(ben.id);
		for (const [body, raw] of [
			[{ confirmOtherOwner: 'yes' }, undefined],
			[{ confirmOtherOwner: 1 }, undefined],
			[{ confirmOtherOwner: true, extra: 1 }, undefined],
			[[true], undefined],
			[undefined, '{"confirmOtherOwner": tru'],
			[undefined, '['.repeat(100) + ']'.repeat(100)]
		] as const) {
			const res = await link(alex, ben.id, orders.maggies, body, raw);
			expect(res.status, JSON.stringify(body ?? raw)).toBe(400);
		}
		expect(await linkEvents(ben.id)).toBe(before);
		expect(await linkedToTicket(ben.id)).not.toContain(orders.maggies);
	});

	it('still refuses a ticket the agent may not write to, whatever the body says', async () => {
		expect((await link(casey, maggie.id, orders.nobodys, { confirmOtherOwner: true })).status).toBe(404);
		expect((await link(shop, maggie.id, orders.nobodys, { confirmOtherOwner: true })).status).toBe(403);
	});
});
