/**
 * Child tickets (POST/GET /api/v1/tickets/{id}/children): a real ticket linked both ways, created
 * once per id, only by an agent who may write the parent; what someone who sees the parent but
 * not the child learns; forged links refused by the update checker; the parent hears live when
 * the child is solved.
 */
import * as Y from 'yjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS, newId, openSide, readFields, readSides, setField, type SideConversation } from '../../src/lib/ticket';
import { prepare, type Fixture } from '../helpers/fixtures';
import { fileInGroup } from '../helpers/tickets';
import { openEvents, type EventLog } from '../helpers/sse';
import { api, connectPeer, emailTicket, startServer, tempDataDir, waitFor, type Peer, type RunningServer } from '../helpers/server';

let server: RunningServer;
let fx: Fixture;

beforeAll(async () => {
	const dataDir = tempDataDir('tandem-child-');
	fx = await prepare(dataDir, {
		users: {
			ann: { role: 'agent', groups: ['Support'] },
			ben: { role: 'agent', groups: ['Support'] },
			carl: { role: 'agent', groups: ['Billing'] },
			sue: { role: 'supervisor' },
			root: { role: 'admin' }
		},
		bots: { mailer: ['email'] }
	});
	server = await startServer({ dataDir });
});

afterAll(async () => {
	await server?.stop();
});

const peers: Peer[] = [];
const streams: EventLog[] = [];
afterEach(() => {
	for (const peer of peers.splice(0)) peer.destroy();
	for (const stream of streams.splice(0)) stream.close();
});

type Who = 'ann' | 'ben' | 'carl' | 'sue' | 'root';
const as = (who: Who | 'mailer') => api(server, (fx.users[who as Who] ?? fx.tokens[who]).token);

async function connect(ticketId: string, who: Who): Promise<Peer> {
	const peer = await connectPeer(server, ticketId, fx.users[who].token);
	peers.push(peer);
	return peer;
}

/** A ticket of the Support group, as mail opens it and an admin files it. */
async function supportTicket() {
	const ticket = await emailTicket(server, fx.tokens.mailer.token, 'Parcel lost in transit');
	await fileInGroup(server, ticket.id, fx.groups.Support, fx.users.root.token, fx.users.carl.token);
	return ticket;
}

const childRequest = (over: Record<string, unknown> = {}) => ({ id: newId(), subject: 'Ask the warehouse to trace parcel 7731', body: 'Please trace it and tell us where it is.', ...over });

async function sidesSeenBy(ticketId: string, who: Who): Promise<SideConversation[]> {
	const peer = await connect(ticketId, who);
	return readSides(peer.doc);
}

describe('creating a child ticket', () => {
	it('creates a real ticket that records its parent, and the parent a link to it written by the server', async () => {
		const parent = await supportTicket();
		const request = childRequest();
		const res = await as('ann').request('POST', `/api/v1/tickets/${parent.id}/children`, request);
		expect(res.status).toBe(201);
		expect(res.body).toMatchObject({ visible: true, subject: request.subject, status: 'open', latest: { body: request.body, authorType: 'agent', authorId: fx.users.ann.id } });
		const childId = res.body.id;

		const child = await as('ann').request('GET', `/api/v1/tickets/${childId}`);
		expect(child.status).toBe(200);
		expect(child.body).toMatchObject({ parentId: parent.id, subject: request.subject, groupId: fx.groups.Support, requesterId: parent.requesterId, assigneeId: null, channel: 'email' });
		expect(child.body.number).toBeGreaterThan(0);
		expect(child.body.entries).toEqual([expect.objectContaining({ kind: 'note', visibility: 'internal', body: request.body, authorId: fx.users.ann.id })]);
		const list = await as('ann').request('GET', `/api/v1/tickets?q=${child.body.number}`);
		expect(list.body.tickets).toEqual([expect.objectContaining({ id: childId, parentId: parent.id })]);

		// The parent's document, as a fresh peer reads it: a side conversation of channel child naming the child by number.
		const [link] = await sidesSeenBy(parent.id, 'ben');
		expect(link).toMatchObject({ id: request.id, channel: 'child', childId, subject: `Child ticket #${child.body.number}`, createdBy: fx.users.ann.id });
		const peer = await connect(childId, 'ben');
		expect(readFields(peer.doc).parentId).toBe(parent.id);

		const family = await as('ben').request('GET', `/api/v1/tickets/${parent.id}/children`);
		expect(family.body).toEqual({ parent: null, children: [expect.objectContaining({ id: childId, number: child.body.number, visible: true, subject: request.subject, status: 'open' })] });
		const up = await as('ben').request('GET', `/api/v1/tickets/${childId}/children`);
		expect(up.body).toMatchObject({ parent: { id: parent.id, visible: true, subject: 'Parcel lost in transit' }, children: [] });
	});

	it('takes the group, assignee and requester the agent chooses', async () => {
		const parent = await supportTicket();
		const res = await as('ann').request('POST', `/api/v1/tickets/${parent.id}/children`, childRequest({ groupId: null, assigneeId: fx.users.ben.id, requester: { email: 'warehouse@example.com', name: 'Warehouse' } }));
		expect(res.status).toBe(201);
		const child = await as('ben').request('GET', `/api/v1/tickets/${res.body.id}`);
		expect(child.body).toMatchObject({ groupId: null, assigneeId: fx.users.ben.id });
		expect(child.body.requesterId).not.toBe(parent.requesterId);
		const customer = await as('ben').request('GET', `/api/v1/customers/${child.body.requesterId}`);
		expect(customer.body.addresses).toEqual([expect.objectContaining({ address: 'warehouse@example.com' })]);
	});

	it('is created exactly once per id: a retry, and two requests at once, make one child', async () => {
		const parent = await supportTicket();
		const request = childRequest({ subject: `Trace parcel ${newId()}` });
		const [a, b] = await Promise.all([0, 1].map(() => as('ann').request('POST', `/api/v1/tickets/${parent.id}/children`, request)));
		expect([a.status, b.status].sort()).toEqual([200, 201]);
		expect(a.body.id).toBe(b.body.id);
		const retry = await as('ann').request('POST', `/api/v1/tickets/${parent.id}/children`, { ...request, subject: 'Something else' });
		expect(retry).toMatchObject({ status: 200, body: { id: a.body.id, subject: request.subject } });
		const family = await as('ann').request('GET', `/api/v1/tickets/${parent.id}/children`);
		expect(family.body.children).toHaveLength(1);
		expect(await sidesSeenBy(parent.id, 'ben')).toHaveLength(1);
		const found = await as('root').request('GET', `/api/v1/tickets?q=${encodeURIComponent(request.subject)}`);
		expect(found.body.tickets).toHaveLength(1);
	});

	it('an id already taken by another side conversation is refused with 409, and nothing is created', async () => {
		const parent = await supportTicket();
		const peer = await connect(parent.id, 'ann');
		const sideId = newId();
		openSide(peer.doc, { id: sideId, subject: 'Ask Ben', channel: 'internal', createdBy: fx.users.ann.id, createdAt: Date.now(), participants: [] });
		await peer.acknowledged();
		const res = await as('ann').request('POST', `/api/v1/tickets/${parent.id}/children`, childRequest({ id: sideId }));
		expect(res).toMatchObject({ status: 409, body: { error: { code: 'id_taken' } } });
		expect((await as('ann').request('GET', `/api/v1/tickets/${parent.id}/children`)).body.children).toEqual([]);
	});
});

describe('who may create a child ticket, and what they may send', () => {
	it("a parent at its cap of side conversations gets no child (409 limit_exceeded), and nothing is created", async () => {
		const parent = await supportTicket();
		const ann = await connect(parent.id, 'ann');
		ann.doc.transact(() => {
			for (let i = 0; i < LIMITS.sidesPerTicket; i++) openSide(ann.doc, { id: newId(), subject: `Ask ${i}`, channel: 'internal', createdBy: fx.users.ann.id, createdAt: Date.now(), participants: [] });
		});
		await ann.acknowledged();
		const res = await as('ann').request('POST', `/api/v1/tickets/${parent.id}/children`, childRequest());
		expect(res).toMatchObject({ status: 409, body: { error: { code: 'limit_exceeded' } } });
		expect((await as('root').request('GET', `/api/v1/tickets/${parent.id}/children`)).body.children).toEqual([]);
		expect(await sidesSeenBy(parent.id, 'ben')).toHaveLength(LIMITS.sidesPerTicket);
	});

	it.each([
		{ who: 'sue' as const, status: 403, why: 'a supervisor (read-only)' },
		{ who: 'carl' as const, status: 404, why: 'an agent who cannot see the parent' },
		{ who: 'mailer' as const, status: 403, why: 'an API token' }
	])('$why is refused ($status) and nothing is created', async ({ who, status }) => {
		const parent = await supportTicket();
		const res = await as(who).request('POST', `/api/v1/tickets/${parent.id}/children`, childRequest());
		expect(res.status).toBe(status);
		expect((await as('root').request('GET', `/api/v1/tickets/${parent.id}/children`)).body.children).toEqual([]);
		expect(await sidesSeenBy(parent.id, 'root')).toEqual([]);
	});

	it.each([
		{ what: 'an unknown group', over: { groupId: 'no-such-group' }, field: 'groupId', status: 400 },
		{ what: 'a supervisor as assignee', over: { assigneeId: 'SUE' }, field: 'assigneeId', status: 400 },
		{ what: 'an empty first note', over: { body: '   ' }, field: 'body', status: 400 },
		{ what: 'a 501-character subject', over: { subject: 'x'.repeat(501) }, field: 'subject', status: 400 },
		{ what: 'a first note over 64 KiB', over: { body: 'é'.repeat(33 * 1024) }, field: 'body', status: 413 },
		{ what: 'an unknown key', over: { parentId: 'elsewhere' }, field: undefined, status: 400 },
		{ what: 'a bad id', over: { id: 'no spaces allowed' }, field: 'id', status: 400 }
	])('$what is refused ($status) and nothing is created', async ({ over, field, status }) => {
		const parent = await supportTicket();
		const body = childRequest(over.assigneeId === 'SUE' ? { assigneeId: fx.users.sue.id } : over);
		const res = await as('ann').request('POST', `/api/v1/tickets/${parent.id}/children`, body);
		expect(res.status).toBe(status);
		if (field) expect(res.body.error.field).toBe(field);
		expect((await as('root').request('GET', `/api/v1/tickets/${parent.id}/children`)).body.children).toEqual([]);
	});
});

describe('what the other end of a link shows', () => {
	it('someone who sees the parent but not the child learns that it exists and its number, never its subject or messages', async () => {
		const parent = await emailTicket(server, fx.tokens.mailer.token, 'Order arrived broken'); // no group: everyone sees it
		const secret = 'Billing dispute with supplier Zenith';
		const res = await as('ann').request('POST', `/api/v1/tickets/${parent.id}/children`, childRequest({ subject: secret, body: 'Zenith owes us 4,000 EUR', groupId: fx.groups.Billing }));
		expect(res.status).toBe(201);
		// Ann filed it in a group she is not in: she no longer sees it either.
		expect(res.body).toEqual({ id: res.body.id, number: expect.any(Number), visible: false });

		const family = await as('ben').request('GET', `/api/v1/tickets/${parent.id}/children`);
		expect(family.body.children).toEqual([{ id: res.body.id, number: res.body.number, visible: false }]);
		expect(JSON.stringify(family.body)).not.toMatch(/Zenith/);
		const sides = await sidesSeenBy(parent.id, 'ben');
		expect(JSON.stringify(sides)).not.toMatch(/Zenith/);
		expect((await as('ben').request('GET', `/api/v1/tickets/${res.body.id}`)).status).toBe(404);

		const billing = await as('carl').request('GET', `/api/v1/tickets/${parent.id}/children`);
		expect(billing.body.children).toEqual([expect.objectContaining({ visible: true, subject: secret, latest: expect.objectContaining({ body: 'Zenith owes us 4,000 EUR' }) })]);
		expect((await as('carl').request('GET', `/api/v1/tickets/${res.body.id}/children`)).body.parent).toMatchObject({ id: parent.id, visible: true });
	});

	it('the family of a ticket the caller cannot see is a 404', async () => {
		const parent = await supportTicket();
		expect((await as('carl').request('GET', `/api/v1/tickets/${parent.id}/children`)).status).toBe(404);
	});
});

describe('forged child links', () => {
	/** Ticket ids a forger might name: another real ticket they may not even see. */
	async function victim() {
		return (await supportTicket()).id;
	}

	it.each([
		{
			what: 'a new side conversation of channel child naming another ticket',
			forge: (doc: Y.Doc, _sideId: string, target: string, ann: string) => openSide(doc, { id: newId(), subject: 'Child', channel: 'child', createdBy: ann, createdAt: Date.now(), participants: [], childId: target })
		},
		{
			what: 'a side conversation of channel child without a child',
			forge: (doc: Y.Doc, _sideId: string, _target: string, ann: string) => openSide(doc, { id: newId(), subject: 'Child', channel: 'child', createdBy: ann, createdAt: Date.now(), participants: [] })
		},
		{
			what: 'a child id added to an internal side conversation',
			forge: (doc: Y.Doc, sideId: string, target: string) => doc.getMap<Y.Map<unknown>>('sides').get(sideId)!.set('childId', target)
		},
		{
			what: 'an internal side conversation turned into a child one',
			forge: (doc: Y.Doc, sideId: string) => doc.getMap<Y.Map<unknown>>('sides').get(sideId)!.set('channel', 'child'),
			// A side conversation's channel is fixed once it is opened: that rule answers first.
			reason: 'read-only-field',
			message: /`channel` of sides\..* cannot change/
		}
	])('$what is refused, and the ticket is unchanged for a fresh peer', async ({ forge, reason = 'forbidden-author', message = /linked by the server/ }) => {
		const parent = await supportTicket();
		const target = await victim();
		const ann = await connect(parent.id, 'ann');
		const sideId = newId();
		openSide(ann.doc, { id: sideId, subject: 'Ask Ben', channel: 'internal', createdBy: fx.users.ann.id, createdAt: Date.now(), participants: [fx.users.ben.id] });
		await ann.acknowledged();
		const before = await sidesSeenBy(parent.id, 'ben');

		forge(ann.doc, sideId, target, fx.users.ann.id);
		expect(await waitFor(() => ann.closeReason(), 'the refusal')).toBe(reason);
		expect(await sidesSeenBy(parent.id, 'ben')).toEqual(before);
		expect((await as('root').request('GET', `/api/v1/tickets/${parent.id}/children`)).body.children).toEqual([]);
		const events = await as('root').request('GET', `/api/v1/tickets/${parent.id}/events`);
		expect(events.body.events.filter((e: { type: string }) => e.type === 'update.rejected').at(-1).data.message).toMatch(message);
	});

	it("a peer cannot turn the server's child link into another kind of side conversation", async () => {
		const parent = await supportTicket();
		const request = childRequest();
		const res = await as('ann').request('POST', `/api/v1/tickets/${parent.id}/children`, request);
		const ann = await connect(parent.id, 'ann');
		ann.doc.getMap<Y.Map<unknown>>('sides').get(request.id)!.set('channel', 'internal');
		// A side conversation's channel is fixed once it is opened (the child link's with it).
		expect(await waitFor(() => ann.closeReason(), 'the refusal')).toBe('read-only-field');
		expect((await sidesSeenBy(parent.id, 'ben'))[0]).toMatchObject({ channel: 'child', childId: res.body.id });
	});

	it('a peer cannot set or change parentId', async () => {
		const parent = await supportTicket();
		const other = await supportTicket();
		const ann = await connect(parent.id, 'ann');
		ann.doc.getMap('ticket').set('parentId', other.id);
		expect(await waitFor(() => ann.closeReason(), 'the refusal')).toBe('read-only-field');
		expect(readFields((await connect(parent.id, 'ben')).doc).parentId).toBeUndefined();
	});
});

describe('the parent follows its child live', () => {
	it('solving the child reaches the parent: its stream row carries the parent, and the family shows Solved', async () => {
		const parent = await supportTicket();
		const res = await as('ann').request('POST', `/api/v1/tickets/${parent.id}/children`, childRequest());
		const childId = res.body.id;
		const stream = await openEvents(`${server.url}/api/v1/stream`, fx.users.ben.token);
		streams.push(stream);
		expect(stream.status).toBe(200);

		const ann = await connect(childId, 'ann');
		setField(ann.doc, 'status', 'solved');
		await ann.acknowledged();
		const row = await waitFor(() => stream.events.find((e) => e.name === 'ticket' && e.data.id === childId && e.data.status === 'solved'), 'the solved child on the stream');
		expect(row.data.parentId).toBe(parent.id);
		const family = await as('ben').request('GET', `/api/v1/tickets/${parent.id}/children`);
		expect(family.body.children).toEqual([expect.objectContaining({ id: childId, status: 'solved' })]);
		await waitFor(async () => {
			const sides = await sidesSeenBy(parent.id, 'ben');
			return sides[0]?.entries.some((e) => e.kind === 'event' && /was solved/.test(e.body));
		}, 'an entry in the parent saying the child was solved');
	});
});
