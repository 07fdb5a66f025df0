/**
 * A ticket's fields over HTTP (`PATCH /api/v1/tickets/{id}`): changed as the caller, checked as
 * the caller's own change in the live document would be, merged with what peers write meanwhile,
 * answered with the ticket's list row; every refusal says why and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addTag, draftText, findDraftText, newId, readFields } from '../../src/lib/ticket';
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
const patch = (who: keyof Fixture['users'], ticketId: string, body: unknown) => as(who).request('PATCH', `/api/v1/tickets/${ticketId}`, body);

/** A ticket of the Support group: Carl (Billing) cannot see it. */
async function supportTicket(subject: string) {
	const ticket = await createTicket(server, fx.tokens.mail.token, subject);
	await fileInGroup(server, ticket.id, fx.groups.Support!, fx.users.root.token, fx.users.carl.token);
	return ticket.id;
}

describe('PATCH /api/v1/tickets/{id}', () => {
	it('changes fields and tags as the caller, live for peers, recorded as theirs, and answers with the list row', async () => {
		const ticketId = await supportTicket('Parcel lost');
		const peer = await pool.connect(server, ticketId, fx.users.ben.token);
		addTag(peer.doc, 'vip');
		await peer.acknowledged();

		const changed = await patch('ann', ticketId, { subject: 'Parcel lost in transit', status: 'pending', priority: 'high', assigneeId: fx.users.ben.id, tags: ['shipping', 'claim'] });
		expect(changed.status).toBe(200);
		expect(changed.body).toMatchObject({ id: ticketId, subject: 'Parcel lost in transit', status: 'pending', priority: 'high', assigneeId: fx.users.ben.id, groupId: fx.groups.Support });
		expect([...changed.body.tags].sort()).toEqual(['claim', 'shipping']);
		await waitFor(() => readFields(peer.doc).status === 'pending', 'the change at the peer');
		expect(readFields(peer.doc)).toMatchObject({ subject: 'Parcel lost in transit', priority: 'high', assigneeId: fx.users.ben.id });
		expect([...readFields(peer.doc).tags].sort()).toEqual(['claim', 'shipping']);

		const events = (await as('ann').request('GET', `/api/v1/tickets/${ticketId}/events`)).body.events as { type: string; actor: string; data: Record<string, unknown> }[];
		const statusChange = events.find((e) => e.type === 'field.changed' && e.data.field === 'status' && e.data.to === 'pending');
		expect(statusChange?.actor).toBe(`user:${fx.users.ann.id}`);

		// The same change again changes nothing. (Routing records events of its own as it follows the
		// assignment, in the background: only the field changes count here.)
		const fieldChanges = (list: { type: string }[]) => list.filter((e) => e.type === 'field.changed');
		const again = await patch('ann', ticketId, { status: 'pending', tags: ['claim', 'shipping'] });
		expect(again.status).toBe(200);
		const after = (await as('ann').request('GET', `/api/v1/tickets/${ticketId}/events`)).body.events as { type: string }[];
		expect(fieldChanges(after)).toHaveLength(fieldChanges(events).length);
	});

	it('merges with what a peer writes at the same time: their draft and their fields stay', async () => {
		const ticketId = await supportTicket('Two hands');
		const peer = await pool.connect(server, ticketId, fx.users.ben.token);
		const draftId = newId();
		const text = draftText(peer.doc, draftId, { channel: 'email', visibility: 'public' });
		const writing = (async () => {
			for (let i = 0; i < 20; i++) {
				text.insert(text.length, `word${i} `);
				await new Promise((resolve) => setImmediate(resolve));
			}
			await peer.acknowledged();
		})();
		const changed = await patch('ann', ticketId, { priority: 'urgent', tags: ['escalated'] });
		await writing;
		expect(changed.status).toBe(200);
		await waitFor(() => readFields(peer.doc).priority === 'urgent', 'the change at the peer');
		const stored = await as('ann').request('GET', `/api/v1/tickets/${ticketId}`);
		expect(stored.body).toMatchObject({ priority: 'urgent', tags: ['escalated'] });
		const stored2 = await pool.connect(server, ticketId, fx.users.ann.token);
		expect(findDraftText(stored2.doc, draftId)?.toString()).toContain('word0 word1 ');
		expect(findDraftText(stored2.doc, draftId)?.toString()).toContain('word19');
	});

	it('refuses, saying why and changing nothing: read-only callers, bots, values the policy refuses, bad input, tickets out of sight', async () => {
		const ticketId = await supportTicket('Refusals');
		const before = (await as('ann').request('GET', `/api/v1/tickets/${ticketId}`)).body;
		const refusals: [keyof Fixture['users'] | 'bot', unknown, number, string][] = [
			['sam', { status: 'solved' }, 403, 'you may not write to this ticket'],
			['sam', { tags: ['x'] }, 403, 'you may not write to this ticket'],
			['bot', { priority: 'low' }, 403, 'a bot writes entries only'],
			['ann', { assigneeId: fx.users.sam.id }, 403, 'cannot be assigned tickets'],
			['ann', { groupId: 'no-such-group' }, 403, 'there is no group'],
			['ann', { status: 'archived' }, 400, 'status'],
			['ann', { requesterId: fx.users.ann.id }, 400, 'requesterId'],
			['ann', {}, 400, 'at least one field'],
			['ann', { subject: '   ' }, 400, 'subject'],
			['ann', { subject: 'x'.repeat(1000) }, 400, 'subject'],
			['ann', { tags: ['   '] }, 400, 'tags'],
			['ann', { tags: ['x'.repeat(1000)] }, 400, 'tags'],
			['ann', { tags: Array.from({ length: 101 }, (_, i) => `t${i}`) }, 400, 'tags'],
			['ann', { priority: { $gt: '' } }, 400, 'priority'],
			['carl', { status: 'solved' }, 404, '']
		];
		for (const [who, body, status, says] of refusals) {
			const res = who === 'bot' ? await api(server, fx.tokens.mail.token).request('PATCH', `/api/v1/tickets/${ticketId}`, body) : await patch(who, ticketId, body);
			expect(res.status, JSON.stringify(body)).toBe(status);
			expect(JSON.stringify(res.body.error), JSON.stringify(body)).toContain(says);
		}
		const raw = await as('ann').request('PATCH', `/api/v1/tickets/${ticketId}`, undefined, { raw: '{"status":' });
		expect(raw.status).toBe(400);
		expect((await api(server).request('PATCH', `/api/v1/tickets/${ticketId}`, { status: 'solved' })).status).toBe(401);
		expect((await patch('ann', 'no-such-ticket', { status: 'solved' })).status).toBe(404);
		const after = (await as('ann').request('GET', `/api/v1/tickets/${ticketId}`)).body;
		expect(after).toEqual(before);
	});
});
