/**
 * Bulk actions (`POST /api/v1/tickets/bulk`): one action applied to each selected ticket on its
 * own, as the caller, through the same checks as a change to one ticket; each ticket reported,
 * a refused one changing nothing and stopping nothing else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addTag, readFields } from '../../src/lib/ticket';
import { MAX_BULK_TICKETS } from '../../src/lib/api/schemas';
import { prepare, type Fixture } from '../helpers/fixtures';
import { api, servers, tempDataDir, waitFor, type RunningServer } from '../helpers/server';
import { createTicket, fileInGroup } from '../helpers/tickets';

const pool = servers();
let server: RunningServer;
let fx: Fixture;

beforeAll(async () => {
	const dataDir = tempDataDir();
	fx = await prepare(dataDir, {
		users: {
			ann: { role: 'agent', groups: ['Support'] },
			ben: { role: 'agent', groups: ['Support'] },
			carl: { role: 'agent', groups: ['Billing'] },
			sam: { role: 'supervisor' },
			root: { role: 'admin' }
		},
		bots: { mail: ['email'] }
	});
	server = await pool.boot(dataDir);
}, 60_000);
afterAll(() => pool.cleanup());

const as = (who: keyof Fixture['users']) => api(server, fx.users[who]!.token);
const bulk = (who: keyof Fixture['users'], body: unknown) => as(who).request('POST', '/api/v1/tickets/bulk', body);
const fieldsOf = async (ticketId: string) => (await as('root').request('GET', `/api/v1/tickets/${ticketId}`)).body;

/** A ticket of one group: agents of the other group cannot see it. */
async function ticketOf(group: 'Support' | 'Billing', subject: string, requester = { email: 'maria@example.com', name: 'Maria Lopez' }) {
	const ticket = await createTicket(server, fx.tokens.mail.token, subject, requester);
	const outsider = group === 'Support' ? fx.users.carl : fx.users.ann;
	await fileInGroup(server, ticket.id, fx.groups[group]!, fx.users.root.token, outsider.token);
	return ticket;
}

describe('POST /api/v1/tickets/bulk', () => {
	it('sets fields and adds tags on each ticket, keeps the tags each had, and reports a ticket the caller cannot see as not found', async () => {
		const [a, b, c] = [await ticketOf('Support', 'Bulk one'), await ticketOf('Support', 'Bulk two'), await ticketOf('Support', 'Bulk three')];
		const hidden = await ticketOf('Billing', 'Not yours');
		const peer = await pool.connect(server, a.id, fx.users.ben.token);
		addTag(peer.doc, 'vip');
		await peer.acknowledged();

		const res = await bulk('ann', { ticketIds: [a.id, hidden.id, b.id, c.id], set: { status: 'pending', priority: 'high', assigneeId: fx.users.ben.id }, addTags: ['outage'] });
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({ updated: 3, refused: 1 });
		expect(res.body.results.map((r: { ticketId: string; ok: boolean }) => [r.ticketId, r.ok])).toEqual([
			[a.id, true],
			[hidden.id, false],
			[b.id, true],
			[c.id, true]
		]);
		expect(res.body.results[1].error).toMatchObject({ status: 404, code: 'not_found' });
		expect(res.body.results[0].ticket).toMatchObject({ id: a.id, status: 'pending', priority: 'high', assigneeId: fx.users.ben.id });
		for (const t of [b, c]) expect(await fieldsOf(t.id)).toMatchObject({ status: 'pending', priority: 'high', assigneeId: fx.users.ben.id, tags: ['outage'] });
		expect([...(await fieldsOf(a.id)).tags].sort()).toEqual(['outage', 'vip']);
		// The peer in ticket A sees the change live; the hidden ticket is as it was.
		await waitFor(() => readFields(peer.doc).status === 'pending', 'the change at the peer');
		expect(await fieldsOf(hidden.id)).toMatchObject({ status: 'new', priority: 'normal', tags: [] });
		// Recorded as the caller's changes.
		const events = (await as('ann').request('GET', `/api/v1/tickets/${b.id}/events`)).body.events as { type: string; actor: string; data: Record<string, unknown> }[];
		expect(events.find((e) => e.type === 'field.changed' && e.data.field === 'priority')?.actor).toBe(`user:${fx.users.ann.id}`);

		const removed = await bulk('ann', { ticketIds: [a.id, b.id], removeTags: ['outage'] });
		expect(removed.body).toMatchObject({ updated: 2, refused: 0 });
		expect((await fieldsOf(a.id)).tags).toEqual(['vip']);
		expect((await fieldsOf(b.id)).tags).toEqual([]);
	});

	it('applies a macro to each ticket: its text filled in for that ticket as a reply, its field changes made', async () => {
		const macro = await as('root').request('POST', '/api/v1/macros', {
			title: 'Outage over',
			body: 'Hi {{requester.first_name}}, the outage behind ticket #{{ticket.number}} is over. {{agent.first_name}}',
			actions: { status: 'solved', addTags: ['outage-2026'] }
		});
		expect(macro.status).toBe(201);
		const maria = await ticketOf('Support', 'Site down');
		const tom = await ticketOf('Support', 'Cannot log in', { email: 'tom@example.com', name: 'Tom Baker' });
		const res = await bulk('ann', { ticketIds: [maria.id, tom.id], macroId: macro.body.id, set: { priority: 'low' } });
		expect(res.body).toMatchObject({ updated: 2, refused: 0 });
		for (const [ticket, first] of [
			[maria, 'Maria'],
			[tom, 'Tom']
		] as const) {
			const detail = await fieldsOf(ticket.id);
			expect(detail).toMatchObject({ status: 'solved', priority: 'low', tags: ['outage-2026'] });
			const reply = detail.entries.at(-1);
			expect(reply).toMatchObject({ kind: 'message', channel: 'email', visibility: 'public', direction: 'out', authorType: 'agent', authorId: fx.users.ann.id });
			expect(reply.body).toBe(`Hi ${first}, the outage behind ticket #${ticket.number} is over. ann`);
		}

		const note = await as('root').request('POST', '/api/v1/macros', { title: 'Escalate', body: 'Escalated to billing for #{{ticket.number}}.', actions: { visibility: 'internal' } });
		await bulk('ann', { ticketIds: [maria.id], macroId: note.body.id });
		const last = (await fieldsOf(maria.id)).entries.at(-1);
		expect(last).toMatchObject({ kind: 'note', visibility: 'internal', body: `Escalated to billing for #${maria.number}.` });
	});

	it('refuses each ticket a supervisor selects, changing none of them', async () => {
		const t = await ticketOf('Support', 'Read only');
		const before = await fieldsOf(t.id);
		const res = await bulk('sam', { ticketIds: [t.id], set: { status: 'solved' }, addTags: ['x'] });
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({ updated: 0, refused: 1 });
		expect(res.body.results[0].error.status).toBe(403);
		const after = await fieldsOf(t.id);
		expect(after).toMatchObject({ status: before.status, tags: [] });
	});

	it('refuses on each ticket an assignee who cannot hold tickets, saying why, and changes nothing', async () => {
		const t1 = await ticketOf('Support', 'Assign me');
		const t2 = await ticketOf('Support', 'Assign me too');
		// Sam (a supervisor) cannot hold tickets: the assignment is refused per ticket, in words.
		const res = await bulk('ann', { ticketIds: [t1.id, t2.id], set: { assigneeId: fx.users.sam.id } });
		expect(res.body).toMatchObject({ updated: 0, refused: 2 });
		expect(res.body.results[0].error.message).toMatch(/hold|assign/i);
		expect((await fieldsOf(t1.id)).assigneeId).toBeNull();
	});

	it('refuses a tag past a ticket\'s limit on that ticket, naming the limit, and adds it to the others', async () => {
		const full = await ticketOf('Support', 'Full of tags');
		const other = await ticketOf('Support', 'Few tags');
		expect((await as('ann').request('PATCH', `/api/v1/tickets/${full.id}`, { tags: Array.from({ length: 100 }, (_, i) => `t${i}`) })).status).toBe(200);
		const res = await bulk('ann', { ticketIds: [full.id, other.id], addTags: ['one-more'] });
		expect(res.body).toMatchObject({ updated: 1, refused: 1 });
		expect(res.body.results[0].error).toMatchObject({ status: 400, message: expect.stringMatching(/tagsPerTicket.*100/) });
		expect((await fieldsOf(full.id)).tags).toHaveLength(100);
		expect((await fieldsOf(other.id)).tags).toEqual(['one-more']);
	});

	it('merges the selected tickets into one of them, one after another, and refuses one the caller cannot see', async () => {
		const target = await ticketOf('Support', 'Printer on fire');
		const [a, b] = [await ticketOf('Support', 'Printer smoking'), await ticketOf('Support', 'Smell of smoke')];
		const hidden = await ticketOf('Billing', 'Printer invoice');
		const res = await bulk('ann', { ticketIds: [a.id, target.id, hidden.id, b.id], mergeInto: target.id });
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({ updated: 3, refused: 1 });
		expect(res.body.results.map((r: { ticketId: string; ok: boolean }) => [r.ticketId, r.ok])).toEqual([
			[a.id, true],
			[target.id, true],
			[hidden.id, false],
			[b.id, true]
		]);
		expect(res.body.results[2].error.status).toBe(404);
		for (const source of [a, b]) expect(await fieldsOf(source.id)).toMatchObject({ status: 'closed', mergedIntoId: target.id });
		const merged = (await fieldsOf(target.id)).entries.map((e: { body: string }) => e.body);
		expect(merged.filter((body: string) => /^Merged from #/.test(body))).toHaveLength(2);
		expect(await fieldsOf(hidden.id)).toMatchObject({ status: 'new' });
		expect((await fieldsOf(hidden.id)).mergedIntoId ?? null).toBeNull();

		// Nothing else goes with a merge.
		const mixed = await bulk('ann', { ticketIds: [a.id], mergeInto: target.id, set: { status: 'open' } });
		expect(mixed.status).toBe(400);
		expect(mixed.body.error.message).toMatch(/on its own/);
	});

	it('refuses a malformed request as a whole, naming what is wrong', async () => {
		const t = await ticketOf('Support', 'Malformed');
		const cases: [unknown, RegExp][] = [
			[{ ticketIds: [t.id] }, /something to do/],
			[{ ticketIds: [], set: { status: 'open' } }, /ticketIds/],
			[{ ticketIds: [t.id, t.id], set: { status: 'open' } }, /each ticket once/],
			[{ ticketIds: Array.from({ length: MAX_BULK_TICKETS + 1 }, (_, i) => `t${i}`), set: { status: 'open' } }, /ticketIds/],
			[{ ticketIds: [t.id], set: { status: 'gone' } }, /status/],
			[{ ticketIds: [t.id], set: { subject: 'Renamed' } }, /subject|unrecognized/i],
			[{ ticketIds: ['../../etc'], set: { status: 'open' } }, /ticketIds/],
			[{ ticketIds: [t.id], addTags: [' padded '.repeat(20)] }, /addTags/],
			[{ ticketIds: [t.id], macroId: 'no-such-macro' }, /macro/],
			[{ ticketIds: [t.id], set: { status: 'open' }, extra: 1 }, /extra|unrecognized/i]
		];
		for (const [body, message] of cases) {
			const res = await bulk('ann', body);
			expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
			expect(res.body.error.message, JSON.stringify(body).slice(0, 80)).toMatch(message);
		}
		expect(await fieldsOf(t.id)).toMatchObject({ status: 'new', tags: [] });
		expect((await api(server).request('POST', '/api/v1/tickets/bulk', { ticketIds: [t.id], set: { status: 'open' } })).status).toBe(401);
	});
});
