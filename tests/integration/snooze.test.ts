/**
 * Snoozing a ticket: it leaves the views of work to do (and their counts) until its time, shows in
 * Snoozed, and comes back by itself when the time comes or the customer writes; set over HTTP, in
 * bulk or by a peer in the live document, refused in words when the time makes no sense.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFields, setField } from '../../src/lib/ticket';
import { prepare, type Fixture } from '../helpers/fixtures';
import { api, servers, tempDataDir, waitFor, type RunningServer } from '../helpers/server';
import { createTicket } from '../helpers/tickets';

const pool = servers();
let server: RunningServer;
let fx: Fixture;

beforeAll(async () => {
	const dataDir = tempDataDir();
	fx = await prepare(dataDir, {
		users: { ann: { role: 'agent', groups: ['Support'] }, sam: { role: 'supervisor' }, root: { role: 'admin' } },
		bots: { mail: ['email'] }
	});
	server = await pool.boot(dataDir);
}, 60_000);
afterAll(() => pool.cleanup());

const as = (who: keyof Fixture['users']) => api(server, fx.users[who]!.token);
const HOUR = 3_600_000;

/** The ids of the tickets in one of ann's views, and its count. */
async function view(id: string): Promise<{ ids: string[]; count: number }> {
	const list = await as('ann').request('GET', `/api/v1/tickets?view=${id}&limit=100`);
	const views = await as('ann').request('GET', '/api/v1/views');
	return { ids: list.body.tickets.map((t: { id: string }) => t.id), count: views.body.views.find((v: { id: string }) => v.id === id).count };
}

async function annsTicket(subject: string) {
	const ticket = await createTicket(server, fx.tokens.mail.token, subject);
	expect((await as('ann').request('PATCH', `/api/v1/tickets/${ticket.id}`, { assigneeId: fx.users.ann.id, status: 'open' })).status).toBe(200);
	return ticket;
}

describe('snooze', () => {
	it('takes a ticket out of the views until its time, shows it in Snoozed, and brings it back by itself', async () => {
		const ticket = await annsTicket('Call me back next week');
		expect((await view('mine')).ids).toContain(ticket.id);
		const mineBefore = (await view('mine')).count;

		const until = Date.now() + 2_000;
		const snoozed = await as('ann').request('PATCH', `/api/v1/tickets/${ticket.id}`, { snoozedUntil: until });
		expect(snoozed.status).toBe(200);
		expect(snoozed.body.snoozedUntil).toBe(until);
		for (const id of ['mine', 'open']) expect((await view(id)).ids).not.toContain(ticket.id);
		expect((await view('mine')).count).toBe(mineBefore - 1);
		expect(await view('snoozed')).toEqual({ ids: [ticket.id], count: 1 });

		// The alarm wakes it at its time: the field is cleared, by the system, and it is back.
		await waitFor(async () => (await as('ann').request('GET', `/api/v1/tickets/${ticket.id}`)).body.snoozedUntil === null, 'the ticket woken', 15_000);
		expect(Date.now()).toBeGreaterThanOrEqual(until);
		expect((await view('mine')).ids).toContain(ticket.id);
		expect((await view('snoozed')).ids).not.toContain(ticket.id);
		const events = (await as('ann').request('GET', `/api/v1/tickets/${ticket.id}/events`)).body.events as { type: string; actor: string; data: Record<string, unknown> }[];
		const changes = events.filter((e) => e.type === 'field.changed' && e.data.field === 'snoozedUntil');
		expect(changes.map((e) => [e.actor, e.data.to])).toEqual([
			[`user:${fx.users.ann.id}`, until],
			['system', null]
		]);
	});

	it('wakes a snoozed ticket when the customer writes', async () => {
		const ticket = await annsTicket('Waiting for their photos');
		expect((await as('ann').request('PATCH', `/api/v1/tickets/${ticket.id}`, { snoozedUntil: Date.now() + 24 * HOUR })).status).toBe(200);
		// A note of ours does not wake it.
		expect((await as('ann').request('POST', `/api/v1/tickets/${ticket.id}/entries`, { kind: 'note', channel: 'internal', body: 'Asked for photos.' })).status).toBe(201);
		expect((await view('snoozed')).ids).toContain(ticket.id);
		const reply = await api(server, fx.tokens.mail.token).request('POST', `/api/v1/tickets/${ticket.id}/entries`, { channel: 'email', authorType: 'customer', body: 'Here are the photos.' });
		expect(reply.status).toBe(201);
		await waitFor(async () => (await view('mine')).ids.includes(ticket.id), 'the ticket back in my view', 15_000);
		expect((await as('ann').request('GET', `/api/v1/tickets/${ticket.id}`)).body.snoozedUntil).toBeNull();
	});

	it('takes a snooze set by a peer in the live document, and wakes a ticket on request (null)', async () => {
		const ticket = await annsTicket('Peer snooze');
		const peer = await pool.connect(server, ticket.id, fx.users.ann.token);
		setField(peer.doc, 'snoozedUntil', Date.now() + 24 * HOUR);
		await peer.acknowledged();
		await waitFor(async () => (await view('snoozed')).ids.includes(ticket.id), 'the peer snooze in the index');
		expect((await as('ann').request('PATCH', `/api/v1/tickets/${ticket.id}`, { snoozedUntil: null })).status).toBe(200);
		await waitFor(() => readFields(peer.doc).snoozedUntil === null, 'the wake at the peer');
		expect((await view('mine')).ids).toContain(ticket.id);
	});

	it('snoozes in bulk', async () => {
		const [a, b] = [await annsTicket('Bulk snooze A'), await annsTicket('Bulk snooze B')];
		const res = await as('ann').request('POST', '/api/v1/tickets/bulk', { ticketIds: [a.id, b.id], set: { snoozedUntil: Date.now() + 4 * HOUR } });
		expect(res.body).toMatchObject({ updated: 2, refused: 0 });
		expect((await view('snoozed')).ids).toEqual(expect.arrayContaining([a.id, b.id]));
	});

	it('refuses a time in the past or more than a year ahead, a supervisor, and a peer writing nonsense', async () => {
		const ticket = await annsTicket('Refusals');
		for (const snoozedUntil of [Date.now() - 1000, Date.now() + 400 * 24 * HOUR, 'tomorrow', 1.5, -1]) {
			const res = await as('ann').request('PATCH', `/api/v1/tickets/${ticket.id}`, { snoozedUntil });
			expect(res.status, String(snoozedUntil)).toBe(400);
			expect(res.body.error.field ?? res.body.error.message).toMatch(/snoozedUntil/);
		}
		expect((await as('sam').request('PATCH', `/api/v1/tickets/${ticket.id}`, { snoozedUntil: Date.now() + HOUR })).status).toBe(403);
		const peer = await pool.connect(server, ticket.id, fx.users.ann.token);
		peer.doc.getMap('ticket').set('snoozedUntil', 'soon');
		expect(await waitFor(() => peer.closeReason(), 'the refusal')).toBe('invalid-field');
		expect((await as('ann').request('GET', `/api/v1/tickets/${ticket.id}`)).body.snoozedUntil ?? null).toBeNull();
	});
});
