/**
 * Followers and @mentions (issue #16, working together): colleagues who follow a ticket hear of its
 * new customer messages and status changes on their workspace stream (`event: follow`), never of
 * their own, and only while they may see it; a note that mentions colleagues tells each of them and
 * makes them followers, naming only colleagues who may see the ticket; a colleague copied on a
 * mail follows; a ticket has a bounded number of followers.
 */
import nodemailer from 'nodemailer';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { appendEntry, appendSideEntry, newId, openSide, readEntries, setField } from '../../src/lib/ticket';
import { MAX_FOLLOWERS_PER_TICKET } from '../../src/lib/api/followers';
import { noteBy } from '../helpers/entries';
import { sendPage } from '../helpers/pages';
import { prepare, type Fixture } from '../helpers/fixtures';
import type { EventLog } from '../helpers/sse';
import { userConnections } from '../helpers/user-connections';
import { fileInGroup } from '../helpers/tickets';
import { api, emailTicket, smtpPort, startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';

let server: RunningServer;
let fx: Fixture;
/** Agents of Support beyond the named ones, to fill a ticket's followers. */
const CROWD = Array.from({ length: MAX_FOLLOWERS_PER_TICKET }, (_, i) => `crowd${String(i).padStart(2, '0')}`);

beforeAll(async () => {
	const dataDir = tempDataDir('tandem-followers-');
	fx = await prepare(dataDir, {
		users: {
			ann: { role: 'agent', groups: ['Support'] },
			blake: { role: 'agent', groups: ['Support'] },
			dee: { role: 'agent', groups: ['Support'] },
			moved: { role: 'agent', groups: ['Support'] },
			carl: { role: 'agent', groups: ['Billing'] },
			sue: { role: 'supervisor' },
			root: { role: 'admin' },
			...Object.fromEntries(CROWD.map((name) => [name, { role: 'agent' as const, groups: ['Support'] }]))
		},
		bots: { mailer: ['email'] }
	});
	server = await startServer({ dataDir, env: { SMTP_PORT: '0' } });
}, 120_000);

afterAll(async () => {
	await server?.stop();
});

const { connect, streamOf, closeAll } = userConnections(() => server, () => fx);
afterEach(closeAll);

const id = (who: string) => fx.users[who]!.id;
const as = (who: string) => api(server, fx.users[who]!.token);
const mailer = () => api(server, fx.tokens.mailer!.token);

const notices = (stream: EventLog, ticketId: string) => stream.events.filter((e) => e.name === 'follow' && e.data.ticketId === ticketId).map((e) => e.data);

/** A ticket of the Support group (Carl, of Billing, cannot see it). */
async function supportTicket(subject = 'Where is my parcel?') {
	const ticket = await emailTicket(server, fx.tokens.mailer!.token, subject);
	await fileInGroup(server, ticket.id, fx.groups.Support!, fx.users.root!.token, fx.users.carl!.token);
	return ticket;
}

/** The customer writes again, as the mail bot relays it. */
async function customerWrites(ticket: { id: string; requesterId: string }, body: string) {
	const res = await mailer().request('POST', `/api/v1/tickets/${ticket.id}/entries`, { channel: 'email', authorType: 'customer', authorId: ticket.requesterId, body });
	expect(res.status).toBe(201);
	return res.body;
}

/**
 * Proves `stream` was told nothing of `ticketId` so far: a later change it does hear of (a new
 * ticket's row) comes after anything sent before it.
 */
async function heardNothingOf(stream: EventLog, ticketId: string) {
	const later = await emailTicket(server, fx.tokens.mailer!.token, 'Later');
	await waitFor(() => stream.events.some((e) => e.name === 'ticket' && e.data.id === later.id), 'a later event');
	expect(notices(stream, ticketId)).toEqual([]);
}

async function followers(ticketId: string, who = 'root') {
	const res = await as(who).request('GET', `/api/v1/tickets/${ticketId}/followers`);
	expect(res.status).toBe(200);
	return res.body as { followers: { userId: string; reason: string }[]; following: boolean; limit: number };
}

describe('following a ticket', () => {
	it('follow and unfollow answer the followers; following twice changes nothing', async () => {
		const ticket = await supportTicket();
		const followed = await as('ann').request('PUT', `/api/v1/tickets/${ticket.id}/follow`);
		expect(followed.status).toBe(200);
		expect(followed.body).toMatchObject({ following: true, limit: MAX_FOLLOWERS_PER_TICKET, followers: [{ userId: id('ann'), name: 'ann', reason: 'button', since: expect.any(Number) }] });
		expect((await as('ann').request('PUT', `/api/v1/tickets/${ticket.id}/follow`)).body.followers).toHaveLength(1);
		expect((await as('sue').request('PUT', `/api/v1/tickets/${ticket.id}/follow`)).status).toBe(200);
		expect(await followers(ticket.id, 'blake')).toMatchObject({ following: false, followers: [{ userId: id('ann') }, { userId: id('sue') }] });
		const unfollowed = await as('ann').request('DELETE', `/api/v1/tickets/${ticket.id}/follow`);
		expect(unfollowed.body).toMatchObject({ following: false, followers: [{ userId: id('sue') }] });
		expect((await as('ann').request('DELETE', `/api/v1/tickets/${ticket.id}/follow`)).status).toBe(200);
	});

	it('who may not see the ticket gets 404, an API token 403, nobody signed in 401; nothing is stored', async () => {
		const ticket = await supportTicket();
		for (const method of ['PUT', 'DELETE']) expect((await as('carl').request(method, `/api/v1/tickets/${ticket.id}/follow`)).status).toBe(404);
		expect((await as('carl').request('GET', `/api/v1/tickets/${ticket.id}/followers`)).status).toBe(404);
		expect((await as('ann').request('PUT', `/api/v1/tickets/no-such-ticket/follow`)).status).toBe(404);
		expect((await mailer().request('PUT', `/api/v1/tickets/${ticket.id}/follow`)).status).toBe(403);
		expect((await api(server).request('PUT', `/api/v1/tickets/${ticket.id}/follow`)).status).toBe(401);
		expect((await followers(ticket.id)).followers).toEqual([]);
	});

	it('followers hear of new customer messages and status changes; never of their own change; the assignee not twice', async () => {
		const ticket = await supportTicket();
		for (const who of ['ann', 'blake', 'dee']) expect((await as(who).request('PUT', `/api/v1/tickets/${ticket.id}/follow`)).status).toBe(200);
		expect((await as('root').request('PATCH', `/api/v1/tickets/${ticket.id}`, { assigneeId: id('dee') })).status).toBe(200);
		const [ann, blake, dee] = await Promise.all([streamOf('ann'), streamOf('blake'), streamOf('dee')]);

		const message = await customerWrites(ticket, 'Any news about my parcel?');
		for (const stream of [ann, blake]) {
			await waitFor(() => notices(stream, ticket.id).length, 'the message notice');
			expect(notices(stream, ticket.id)).toEqual([
				expect.objectContaining({ reason: 'message', fromId: ticket.requesterId, fromName: 'Pat', preview: 'Any news about my parcel?', entryId: message.id, number: expect.any(Number), subject: 'Where is my parcel?' })
			]);
		}

		// Blake sets the status from his peer: Ann and Dee hear of it, Blake does not.
		const peer = await connect(ticket.id, 'blake');
		setField(peer.doc, 'status', 'pending');
		await peer.acknowledged();
		for (const stream of [ann, dee]) await waitFor(() => notices(stream, ticket.id).some((n) => n.reason === 'status'), 'the status notice');
		expect(notices(ann, ticket.id)[1]).toMatchObject({ reason: 'status', preview: 'pending', fromId: id('blake'), fromName: 'blake' });
		// Over HTTP too, as its caller: Ann's own change is no notice to her.
		expect((await as('ann').request('PATCH', `/api/v1/tickets/${ticket.id}`, { status: 'open' })).status).toBe(200);
		await waitFor(() => notices(blake, ticket.id).some((n) => n.reason === 'status' && n.preview === 'open'), 'Blake hearing of Ann');
		await waitFor(() => notices(dee, ticket.id).some((n) => n.reason === 'status' && n.preview === 'open'), 'Dee hearing of Ann');
		expect(notices(blake, ticket.id).map((n) => n.reason)).toEqual(['message', 'status']);
		expect(notices(ann, ticket.id).map((n) => n.reason)).toEqual(['message', 'status']);
		// Dee is the assignee: the workspace tells her of her tickets' messages, so she got no message notice.
		expect(notices(dee, ticket.id).map((n) => n.reason)).toEqual(['status', 'status']);
	});

	it('a follower who loses access hears nothing more and is no longer a follower', async () => {
		const ticket = await supportTicket();
		for (const who of ['ann', 'root']) await as(who).request('PUT', `/api/v1/tickets/${ticket.id}/follow`);
		const [ann, root] = await Promise.all([streamOf('ann'), streamOf('root')]);
		// Moved to Billing: Ann cannot see it any more; the admin still can.
		await fileInGroup(server, ticket.id, fx.groups.Billing!, fx.users.root!.token, fx.users.ann!.token);
		await customerWrites(ticket, 'Hello again');
		await waitFor(() => notices(root, ticket.id).some((n) => n.reason === 'message'), 'the admin hearing of it');
		await heardNothingOf(ann, ticket.id);
		expect((await followers(ticket.id)).followers.map((f) => f.userId)).toEqual([id('root')]);
		// Back in Support, Ann sees the ticket again but follows it only if she asks again.
		await fileInGroup(server, ticket.id, fx.groups.Support!, fx.users.root!.token, fx.users.carl!.token);
		expect((await followers(ticket.id, 'ann')).following).toBe(false);
	});

	it('a follower taken out of the group hears nothing more, and is dropped', async () => {
		const ticket = await supportTicket();
		expect((await as('moved').request('PUT', `/api/v1/tickets/${ticket.id}/follow`)).status).toBe(200);
		const root = await streamOf('root');
		await as('root').request('PUT', `/api/v1/tickets/${ticket.id}/follow`);
		expect((await sendPage(server, 'POST', '/admin?/setGroups', fx.users.root!.token, { userId: id('moved'), groups: 'Billing' })).status).toBeLessThan(400);
		await waitFor(async () => (await as('moved').request('GET', `/api/v1/tickets/${ticket.id}`)).status === 404, 'the move');
		// A stream opened after the move: the one before it ended with the change of access.
		const moved = await streamOf('moved');
		await customerWrites(ticket, 'Still waiting');
		await waitFor(() => notices(root, ticket.id).some((n) => n.reason === 'message'), 'the admin hearing of it');
		await heardNothingOf(moved, ticket.id);
		expect((await followers(ticket.id)).followers.map((f) => f.userId)).toEqual([id('root')]);
	});

	it(`a ticket has at most ${MAX_FOLLOWERS_PER_TICKET} followers: one more is refused by name, a mention past it still tells`, async () => {
		const ticket = await supportTicket();
		await Promise.all(CROWD.map((who) => as(who).request('PUT', `/api/v1/tickets/${ticket.id}/follow`).then((res) => expect(res.status).toBe(200))));
		const refused = await as('ann').request('PUT', `/api/v1/tickets/${ticket.id}/follow`);
		expect(refused.status).toBe(409);
		expect(refused.body.error).toEqual({ code: 'limit_exceeded', message: `limit followersPerTicket exceeded: a ticket has at most ${MAX_FOLLOWERS_PER_TICKET} followers` });
		// One who follows already may say so again.
		expect((await as(CROWD[0]!).request('PUT', `/api/v1/tickets/${ticket.id}/follow`)).status).toBe(200);
		const blake = await streamOf('blake');
		const res = await as('ann').request('POST', `/api/v1/tickets/${ticket.id}/entries`, { kind: 'note', channel: 'internal', body: '@blake look', meta: { mentions: [id('blake')] } });
		expect(res.status).toBe(201);
		await waitFor(() => notices(blake, ticket.id).length, 'the mention');
		const list = await followers(ticket.id);
		expect(list.followers).toHaveLength(MAX_FOLLOWERS_PER_TICKET);
		expect(list.followers.map((f) => f.userId)).not.toContain(id('blake'));
		// Room again once one leaves.
		expect((await as(CROWD[1]!).request('DELETE', `/api/v1/tickets/${ticket.id}/follow`)).status).toBe(200);
		expect((await as('ann').request('PUT', `/api/v1/tickets/${ticket.id}/follow`)).status).toBe(200);
	}, 60_000);
});

describe('@mentions', () => {
	it('a note mentioning a colleague tells them where to open it, and makes them a follower; the author is told nothing', async () => {
		const ticket = await supportTicket();
		const [blake, ann] = await Promise.all([streamOf('blake'), streamOf('ann')]);
		const peer = await connect(ticket.id, 'ann');
		const note = noteBy(id('ann'), '@blake can you check the warehouse? @ann', { meta: { mentions: [id('blake'), id('ann')] } });
		appendEntry(peer.doc, note);
		await peer.acknowledged();
		await waitFor(() => notices(blake, ticket.id).length, 'the mention');
		expect(notices(blake, ticket.id)).toEqual([
			expect.objectContaining({ reason: 'mention', fromId: id('ann'), fromName: 'ann', entryId: note.id, preview: '@blake can you check the warehouse? @ann', number: expect.any(Number) })
		]);
		await waitFor(async () => (await followers(ticket.id)).followers.some((f) => f.userId === id('blake') && f.reason === 'mention'), 'Blake following');
		// As a follower now, Blake hears of the customer's next message.
		await customerWrites(ticket, 'Thanks!');
		await waitFor(() => notices(blake, ticket.id).some((n) => n.reason === 'message'), 'the message notice');
		await heardNothingOf(ann, ticket.id);
	});

	it('a mention in an internal side conversation opens that side conversation', async () => {
		const ticket = await supportTicket();
		const dee = await streamOf('dee');
		const peer = await connect(ticket.id, 'ann');
		const sideId = newId();
		peer.doc.transact(() => {
			openSide(peer.doc, { id: sideId, subject: 'Warehouse', channel: 'internal', createdBy: id('ann'), createdAt: Date.now(), participants: [id('blake')] });
			appendSideEntry(peer.doc, sideId, noteBy(id('ann'), '@dee do you know?', { meta: { mentions: [id('dee')] } }));
		});
		await peer.acknowledged();
		await waitFor(() => notices(dee, ticket.id).length, 'the mention');
		expect(notices(dee, ticket.id)[0]).toMatchObject({ reason: 'mention', sideId });
		expect(notices(dee, ticket.id)[0].entryId).toBeUndefined();
	});

	it('over HTTP: mentions of colleagues who cannot see the ticket, unknown or malformed ids, too many, or in a public reply are refused, and nothing is stored', async () => {
		const ticket = await supportTicket();
		const carl = await streamOf('carl');
		const note = (meta: unknown) => ({ kind: 'note', channel: 'internal', body: 'see @someone', meta });
		const cases: [unknown, number, string][] = [
			[note({ mentions: [id('carl')] }), 403, `${id('carl')} cannot see this ticket: a note mentions colleagues who can`],
			[note({ mentions: ['no-such-user'] }), 403, 'no-such-user cannot see this ticket: a note mentions colleagues who can'],
			[note({ mentions: [fx.tokens.mailer!.id] }), 403, `${fx.tokens.mailer!.id} cannot see this ticket: a note mentions colleagues who can`],
			[note({ mentions: id('blake') }), 403, 'meta.mentions is a list of at most 20 user ids'],
			[note({ mentions: ['bad id!'] }), 403, 'meta.mentions is a list of at most 20 user ids'],
			[note({ mentions: Array.from({ length: 21 }, () => id('blake')) }), 403, 'meta.mentions is a list of at most 20 user ids'],
			[note({ mentions: [id('blake'), id('blake')] }), 403, 'meta.mentions names a colleague twice'],
			[{ channel: 'email', body: '@blake see this', meta: { mentions: [id('blake')] } }, 403, 'mentions are for internal notes and internal side conversations only: customers and outside participants would see them']
		];
		for (const [body, status, message] of cases) {
			const res = await as('ann').request('POST', `/api/v1/tickets/${ticket.id}/entries`, body);
			expect([res.status, res.body.error?.message]).toEqual([status, message]);
		}
		const detail = await as('ann').request('GET', `/api/v1/tickets/${ticket.id}`);
		expect(detail.body.entries).toHaveLength(1);
		expect((await followers(ticket.id)).followers).toEqual([]);
		await heardNothingOf(carl, ticket.id);
		expect(JSON.stringify(carl.events)).not.toContain(ticket.id);
	});

	it('over the websocket: a hostile peer mentioning someone who cannot see the ticket is refused as a whole, and they hear nothing', async () => {
		const ticket = await supportTicket();
		const carl = await streamOf('carl');
		const peer = await connect(ticket.id, 'ann');
		appendEntry(peer.doc, noteBy(id('ann'), '@carl look', { meta: { mentions: [id('carl')] } }));
		expect(await waitFor(() => peer.closeReason(), 'the refusal')).toBe('forbidden-author');
		const fresh = await connect(ticket.id, 'blake');
		expect(readEntries(fresh.doc)).toHaveLength(1);
		await heardNothingOf(carl, ticket.id);
		// A public reply cannot carry mentions either (its text stays text).
		const second = await connect(ticket.id, 'ann');
		appendEntry(second.doc, { id: newId(), kind: 'message', channel: 'email', direction: 'out', visibility: 'public', authorType: 'agent', authorId: id('ann'), body: '@blake', createdAt: Date.now(), meta: { mentions: [id('blake')] } });
		expect(await waitFor(() => second.closeReason(), 'the refusal')).toBe('forbidden-author');
	});

	it('a mentioned colleague who loses access before the notice is sent hears nothing', async () => {
		const ticket = await supportTicket();
		const blake = await streamOf('blake');
		const peer = await connect(ticket.id, 'root');
		// One update: the note mentions Blake while he may see it, and the ticket moves to Billing with it.
		peer.doc.transact(() => {
			appendEntry(peer.doc, noteBy(id('root'), '@blake one for you', { meta: { mentions: [id('blake')] } }));
			setField(peer.doc, 'groupId', fx.groups.Billing!);
		});
		await peer.acknowledged();
		await heardNothingOf(blake, ticket.id);
		expect((await followers(ticket.id)).followers).toEqual([]);
	});
});

describe('CC', () => {
	it('a colleague copied on an inbound mail or on a reply follows the ticket', async () => {
		const ticket = await supportTicket();
		const inbound = await mailer().request('POST', `/api/v1/tickets/${ticket.id}/entries`, {
			channel: 'email',
			authorType: 'customer',
			authorId: ticket.requesterId,
			body: 'Copying your colleague',
			meta: { cc: [fx.users.blake!.email.toUpperCase(), 'someone@example.com', fx.users.carl!.email] }
		});
		expect(inbound.status).toBe(201);
		await waitFor(async () => (await followers(ticket.id)).followers.length === 1, 'Blake following');
		// Carl cannot see the ticket: copied or not, he does not follow it.
		expect((await followers(ticket.id)).followers).toEqual([expect.objectContaining({ userId: id('blake'), reason: 'cc' })]);
		const reply = await as('ann').request('POST', `/api/v1/tickets/${ticket.id}/entries`, { channel: 'email', body: 'Looping in Dee', meta: { cc: [fx.users.dee!.email] } });
		expect(reply.status).toBe(201);
		await waitFor(async () => (await followers(ticket.id)).followers.some((f) => f.userId === id('dee') && f.reason === 'cc'), 'Dee following');
	});

	it('a colleague copied on the mail that opens a ticket follows it', async () => {
		const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort(server), secure: false, ignoreTLS: true });
		try {
			await transport.sendMail({ from: 'val@example.com', to: 'support@tandem.local', cc: [fx.users.blake!.email, 'friend@example.com'], subject: 'Copied from the start', text: 'Blake knows.' });
		} finally {
			transport.close();
		}
		const ticketId = await waitFor(async () => (await as('root').request('GET', '/api/v1/tickets?view=open&limit=100')).body.tickets.find((t: { subject: string }) => t.subject === 'Copied from the start')?.id as string | undefined, 'the ticket');
		await waitFor(async () => (await followers(ticketId)).followers.length === 1, 'Blake following');
		expect((await followers(ticketId)).followers).toEqual([expect.objectContaining({ userId: id('blake'), reason: 'cc' })]);
	});
});

describe('kept notices', () => {
	const kept = async (who: string, unread = true) => {
		const res = await as(who).request('GET', `/api/v1/notices${unread ? '?unread=true' : ''}`);
		expect(res.status).toBe(200);
		return res.body.notices as { id: string; kind: string; ticketId: string; notice: Record<string, unknown>; readAt: number | null }[];
	};
	const ofTicket = (list: Awaited<ReturnType<typeof kept>>, ticketId: string) => list.filter((n) => n.ticketId === ticketId);

	it('keeps a mention made while the colleague had no stream open; the stream carries the kept id; read marks are per colleague', async () => {
		const ticket = await supportTicket();
		// Blake is away: no stream anywhere.
		const note = await as('ann').request('POST', `/api/v1/tickets/${ticket.id}/entries`, { kind: 'note', channel: 'internal', body: '@blake while you were out', meta: { mentions: [id('blake')] } });
		expect(note.status).toBe(201);
		const missed = await waitFor(async () => ofTicket(await kept('blake'), ticket.id)[0], 'the kept mention');
		expect(missed).toMatchObject({ kind: 'follow', readAt: null, notice: { reason: 'mention', fromName: 'ann', entryId: note.body.id, preview: '@blake while you were out' } });
		expect(ofTicket(await kept('ann'), ticket.id)).toEqual([]);

		// Online now: the next notice comes on the stream with the id it is kept under.
		const blake = await streamOf('blake');
		await customerWrites(ticket, 'Any news?');
		const told = await waitFor(() => notices(blake, ticket.id).find((n) => n.reason === 'message'), 'the message notice');
		expect(ofTicket(await kept('blake'), ticket.id).map((n) => n.id)).toEqual([told.noticeId, missed.id]);

		// Someone else's ids mark nothing; the owner's do.
		expect((await as('ann').request('POST', '/api/v1/notices/read', { ids: [missed.id] })).body).toEqual({ marked: 0 });
		expect((await as('blake').request('POST', '/api/v1/notices/read', { ids: [missed.id] })).body).toEqual({ marked: 1 });
		expect(ofTicket(await kept('blake'), ticket.id).map((n) => n.id)).toEqual([told.noticeId]);
		expect(ofTicket(await kept('blake', false), ticket.id).find((n) => n.id === missed.id)?.readAt).toEqual(expect.any(Number));
		expect((await as('blake').request('POST', '/api/v1/notices/read', { all: true })).body.marked).toBeGreaterThanOrEqual(1);
		expect(await kept('blake')).toEqual([]);
	});

	it('lists nothing about a ticket the colleague may no longer see', async () => {
		const ticket = await supportTicket();
		await as('ann').request('POST', `/api/v1/tickets/${ticket.id}/entries`, { kind: 'note', channel: 'internal', body: '@dee look', meta: { mentions: [id('dee')] } });
		await waitFor(async () => ofTicket(await kept('dee'), ticket.id).length === 1, 'the kept mention');
		await fileInGroup(server, ticket.id, fx.groups.Billing!, fx.users.root!.token, fx.users.dee!.token);
		expect(ofTicket(await kept('dee', false), ticket.id)).toEqual([]);
		await fileInGroup(server, ticket.id, fx.groups.Support!, fx.users.root!.token, fx.users.carl!.token);
		expect(ofTicket(await kept('dee', false), ticket.id)).toHaveLength(1);
	});

	it('refuses API tokens, the signed out and malformed requests', async () => {
		expect((await mailer().request('GET', '/api/v1/notices')).status).toBe(403);
		expect((await api(server).request('GET', '/api/v1/notices')).status).toBe(401);
		expect((await api(server).request('POST', '/api/v1/notices/read', { all: true })).status).toBe(401);
		for (const body of [{}, { all: false }, { ids: [] }, { ids: ['bad id!'] }, { ids: Array.from({ length: 51 }, (_, i) => `n${i}`) }, { ids: ['a'], all: true }, { ids: 'a' }]) {
			expect((await as('ann').request('POST', '/api/v1/notices/read', body)).status).toBe(400);
		}
	});
});
