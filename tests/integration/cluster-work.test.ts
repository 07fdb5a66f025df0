/**
 * The work around tickets across the nodes of a cluster (issue #15): one leader runs the work to do
 * once and another takes over when it dies or stops; agents' connections count on every node;
 * streams show what happened on any node; a node stopped with SIGTERM loses nothing. Its own
 * database and Redis (tests/helpers/cluster.ts): it runs once, in the `sqlite` project.
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { appendEntries, appendSideEntry, newId, openSide, readEntries } from '../../src/lib/ticket';
import { metric, roleOf, startCluster, type TestCluster } from '../helpers/cluster';
import { storedDocumentAt } from '../helpers/db';
import { DOVECOT_PASSWORD, startDovecot, type Dovecot } from '../helpers/dovecot';
import { noteBy, replyBy } from '../helpers/entries';
import { sendPage } from '../helpers/pages';
import { acceptedOf, deliveriesOf, startRelay, type Relay } from '../helpers/relay';
import { openEvents, type EventLog } from '../helpers/sse';
import { api, servers, waitFor, type RunningServer } from '../helpers/server';

const pool = servers();
let running: TestCluster | undefined;
let dovecot: Dovecot | undefined;
let relay: Relay | undefined;
const streams: EventLog[] = [];
afterEach(async () => {
	for (const stream of streams.splice(0)) stream.close();
	await pool.cleanup();
	await running?.destroy();
	await dovecot?.destroy();
	await relay?.close();
	running = undefined;
	dovecot = undefined;
	relay = undefined;
});

const SPEC = {
	users: { alex: { role: 'agent' as const, groups: ['support'] }, blake: { role: 'agent' as const, groups: ['support'] }, ada: { role: 'admin' as const }, sam: { role: 'supervisor' as const } },
	bots: { mailer: ['email'], sim: ['talk'] }
};

/** Two nodes started in turn: the first leads. */
async function twoNodes(env: Record<string, string> = {}) {
	running = await startCluster({ nodes: 2, spec: SPEC, env: { LEADER_CHECK_MS: '200', ...env }, inTurn: true });
	const [a, b] = running.nodes as [RunningServer, RunningServer];
	await waitFor(async () => (await roleOf(a)) === 'leader' && (await roleOf(b)) === 'follower', 'node A to lead and node B to follow');
	return { fx: running.fx, a, b, databaseUrl: running.databaseUrl };
}

async function stream(node: RunningServer, token: string, path = '/api/v1/agent/stream') {
	const log = await openEvents(`${node.url}${path}`, token);
	expect(log.status).toBe(200);
	streams.push(log);
	return log;
}

async function query<T>(databaseUrl: string, text: string, values: unknown[] = []): Promise<T[]> {
	const client = new pg.Client({ connectionString: databaseUrl });
	await client.connect();
	try {
		return (await client.query(text, values)).rows as T[];
	} finally {
		await client.end();
	}
}

const statusOf = async (node: RunningServer, token: string) => (await api(node, token).request('GET', '/api/v1/me/status')).body as { status: string; connected: boolean; auto: string | null };

describe('the work to do once, across nodes', () => {
	it('is led by one node; when it dies another takes over within seconds, and the offer it made moves on, held by nobody twice', async () => {
		const { fx, a, b, databaseUrl } = await twoNodes();
		expect(await metric(a, 'tandem_leader')).toBe(1);
		expect(await metric(b, 'tandem_leader')).toBe(0);
		// Work sits with node B's clients; node A makes the offer (it projects the new ticket), with
		// the offer timeout set on node B.
		expect((await api(b, fx.users.ada.token).request('PUT', '/api/v1/routing/settings', { offerTimeoutSeconds: 5 })).status).toBe(200);
		const alex = await stream(b, fx.users.alex.token);
		const blake = await stream(b, fx.users.blake.token);
		for (const name of ['alex', 'blake'] as const) expect((await api(b, fx.users[name].token).request('PUT', '/api/v1/me/status', { status: 'online' })).status).toBe(200);
		const created = await api(a, fx.tokens.mailer.token).request('POST', '/api/v1/tickets', { subject: 'Offered across nodes', requester: { email: 'kim@example.com' }, channel: 'email', body: 'Hello?' });
		expect(created.status).toBe(201);
		const ticketId = created.body.id as string;
		const offerOn = (log: EventLog, except?: string) => log.events.find((e) => e.name === 'offer' && e.data.ticketId === ticketId && e.data.id !== except)?.data as { id: string } | undefined;
		const first = await waitFor(() => offerOn(alex) ?? offerOn(blake), 'the offer, made on node A, on a stream of node B');
		const [holder, other] = offerOn(alex) ? [alex, blake] : [blake, alex];

		await a.kill();
		await waitFor(async () => (await roleOf(b)) === 'leader', 'node B to take the lead', 10_000);
		// Nobody took the offer: node B's timer expires it (node A's went with it) and offers the work again.
		await waitFor(() => holder.events.some((e) => e.name === 'offer.withdrawn' && e.data.offerId === first.id && e.data.reason === 'expired'), 'the offer to expire on node B', 15_000);
		const second = await waitFor(() => offerOn(other) ?? offerOn(holder, first.id), 'the work offered again', 10_000);
		const pending = await query<{ id: string }>(databaseUrl, "SELECT o.id FROM offers o JOIN work_items w ON w.id = o.item_id WHERE w.ref = $1 AND o.status = 'pending'", [ticketId]);
		expect(pending.map((o) => o.id)).toEqual([second.id]);
		const active = await query(databaseUrl, "SELECT id FROM work_items WHERE ref = $1 AND status <> 'done'", [ticketId]);
		expect(active).toHaveLength(1);
		expect(await metric(b, 'tandem_leader')).toBe(1);
	});

	it('expires on the leader an offer a follower made while Redis was down, and times out an agent who went online there', async () => {
		const { fx, a, b, databaseUrl } = await twoNodes({ AWAY_AFTER_MS: '400', OFFLINE_AFTER_MS: '600000' });
		expect((await api(b, fx.users.ada.token).request('PUT', '/api/v1/routing/settings', { offerTimeoutSeconds: 5 })).status).toBe(200);
		const alex = await stream(b, fx.users.alex.token);
		expect((await api(b, fx.users.alex.token).request('PUT', '/api/v1/me/status', { status: 'online' })).status).toBe(200);
		await running!.redis.stop();
		// Node A (the leader) hears of none of this: the ticket, its offer, Blake going online with no connection.
		expect((await api(b, fx.users.blake.token).request('PUT', '/api/v1/me/status', { status: 'online', channels: { messaging: false } })).status).toBe(200);
		const created = await api(b, fx.tokens.mailer.token).request('POST', '/api/v1/tickets', { subject: 'Offered while Redis is down', requester: { email: 'kim@example.com' }, channel: 'email', body: 'Hello?' });
		const offer = await waitFor(() => alex.events.find((e) => e.name === 'offer' && e.data.ticketId === created.body.id)?.data as { id: string } | undefined, 'the offer, on node B');
		const statusOf = async (id: string) => (await query<{ status: string }>(databaseUrl, 'SELECT status FROM offers WHERE id = $1', [id]))[0]?.status;
		await waitFor(async () => (await statusOf(offer.id)) === 'expired', 'the leader to expire the offer it was not told of', 20_000);
		await waitFor(async () => (await api(a, fx.users.blake.token).request('GET', '/api/v1/me/status')).body.auto === 'away', 'Blake, connected nowhere, turned away by the leader', 20_000);
		await running!.redis.start();
	});

	it('moves at once to another node when the leader stops with SIGTERM, and that node loses nothing its peers wrote', async () => {
		// The followers try for the lead only every 2 s: the stop lets go of it, so it moves at the next try.
		const { fx, a, b, databaseUrl } = await twoNodes({ LEADER_CHECK_MS: '2000' });
		const created = await api(b, fx.tokens.mailer.token).request('POST', '/api/v1/tickets', { subject: 'Drained', requester: { email: 'kim@example.com' }, channel: 'email', body: 'Hello?' });
		const ticketId = created.body.id as string;
		const peer = await pool.connect(a, ticketId, fx.users.alex.token);
		const notes = Array.from({ length: 30 }, (_, i) => noteBy(fx.users.alex.id, `written while node A stops (${i})`));
		for (const entry of notes) appendEntries(peer.doc, [entry]);
		// Some of these are acknowledged before the stop, some are not: the peer keeps those and sends them again.
		expect(await a.stop()).toBe(0);
		await waitFor(async () => (await roleOf(b)) === 'leader', 'node B to take the lead', 5_000);
		pool.disconnect(peer);
		const again = await pool.connect(b, ticketId, fx.users.alex.token, { doc: peer.doc });
		await again.acknowledged();
		const stored = await storedDocumentAt(databaseUrl, ticketId);
		const ids = new Set(readEntries(stored).map((e) => e.id));
		expect(notes.filter((n) => !ids.has(n.id))).toEqual([]);
	});
});

describe('mail across nodes', () => {
	const SUPPORT = 'support@tandem.test';
	const mail = (subject: string) =>
		[`From: Val Jones <val@example.com>`, `To: ${SUPPORT}`, `Subject: ${subject}`, `Message-ID: <${subject.replace(/\W+/g, '-')}@example.com>`, 'Date: Mon, 07 Dec 2026 05:00:00 +0000', 'Content-Type: text/plain; charset=utf-8', '', `Text of ${subject}`, ''].join('\r\n');

	it('fetches a mailbox saved on any node on the leader alone, each message once, and on the next leader when it dies', async () => {
		dovecot = await startDovecot(['support']);
		const { fx, a, b, databaseUrl } = await twoNodes({ SUPPORT_ADDRESS: SUPPORT, IMAP_POLL_MS: '3600000', IMAP_RETRY_MS: '200' });
		const form = { address: SUPPORT, host: dovecot.host, port: String(dovecot.port), tls: 'none', username: 'support', auth: 'password', secret: DOVECOT_PASSWORD, folder: 'INBOX', afterFetch: 'seen' };
		const saved = await sendPage(b, 'POST', '/admin?/saveImapMailbox', fx.users.ada.token, form);
		expect(saved.status, saved.text).toBe(200);
		// The leader (node A) connects; node B's admin page shows how its fetcher is doing.
		const stateOn = async (node: RunningServer) => /data-imap-status="([a-z]+)"/.exec((await sendPage(node, 'GET', '/admin', fx.users.ada.token)).text)?.[1];
		await waitFor(async () => (await stateOn(b)) === 'connected', 'node B’s admin page to show the mailbox connected on node A', 20_000);
		const ticketsWith = async (subject: string) => Number((await query<{ n: string }>(databaseUrl, 'SELECT count(*) AS n FROM tickets WHERE subject = $1', [subject]))[0]!.n);

		await dovecot.append('support', mail('First through the leader'));
		await waitFor(async () => (await ticketsWith('First through the leader')) === 1, 'the first message as a ticket');
		await a.kill();
		await waitFor(async () => (await roleOf(b)) === 'leader', 'node B to take the lead', 10_000);
		await dovecot.append('support', mail('Second through the next leader'));
		await waitFor(async () => (await ticketsWith('Second through the next leader')) === 1, 'the second message as a ticket, fetched by node B', 20_000);
		// Node B read the folder from the cursor node A left: nothing stored twice.
		expect(await ticketsWith('First through the leader')).toBe(1);
		expect(Number((await query<{ n: string }>(databaseUrl, 'SELECT count(*) AS n FROM email_messages'))[0]!.n)).toBe(2);
	});
});

describe('the outbox across nodes', () => {
	it('sends each reply once, whichever node wrote it and whichever node’s outbox takes it', async () => {
		relay = await startRelay();
		const { fx, a, b } = await twoNodes({ SMTP_RELAY_URL: `smtp://127.0.0.1:${relay.port}` });
		const created = await api(a, fx.tokens.mailer.token).request('POST', '/api/v1/tickets', { subject: 'Replies from both nodes', requester: { email: 'kim@example.com' }, channel: 'email', body: 'Hello?' });
		const ticketId = created.body.id as string;
		// Written at once on both nodes: both outboxes wake and reach for the same rows.
		const replies = await Promise.all(
			Array.from({ length: 12 }, (_, i) =>
				api([a, b][i % 2]!, fx.users.alex.token).request('POST', `/api/v1/tickets/${ticketId}/entries`, { kind: 'message', channel: 'email', visibility: 'public', body: `Reply ${i}` })
			)
		);
		for (const reply of replies) expect(reply.status).toBe(201);
		const deliveries = deliveriesOf(b, fx.users.alex.token, ticketId);
		for (const reply of replies) await deliveries.delivered(relay, reply.body.id);
		for (const reply of replies) expect(acceptedOf(relay, reply.body.id)).toHaveLength(1);
	});
});

describe('agents and streams across nodes', () => {
	it('counts an agent connected to any node as connected: the leader turns away only those connected nowhere, and those of a node that died', async () => {
		const { fx, a, b } = await twoNodes({ AWAY_AFTER_MS: '400', OFFLINE_AFTER_MS: '600000' });
		const alexStream = await stream(b, fx.users.alex.token);
		await waitFor(async () => (await statusOf(a, fx.users.alex.token)).connected, 'node A to count Alex’s connection to node B');
		// Both online; Blake has no connection anywhere: node A (the leader) turns him away. Alex stays.
		for (const name of ['alex', 'blake'] as const) expect((await api(a, fx.users[name].token).request('PUT', '/api/v1/me/status', { status: 'online' })).status).toBe(200);
		await waitFor(async () => (await statusOf(a, fx.users.blake.token)).auto === 'away', 'Blake, connected nowhere, turned away');
		expect(await statusOf(a, fx.users.alex.token)).toMatchObject({ status: 'online', auto: null, connected: true });
		// Blake's status change reached Alex's stream on the other node.
		expect(alexStream.events.some((e) => e.name === 'status' && e.data.userId === fx.users.blake.id && e.data.status === 'away')).toBe(true);

		alexStream.close();
		await waitFor(async () => (await statusOf(a, fx.users.alex.token)).auto === 'away', 'Alex, whose last connection closed on node B, turned away by node A');
		await stream(b, fx.users.alex.token);
		await waitFor(async () => (await statusOf(a, fx.users.alex.token)).status === 'online', 'Alex back, connected to node B');

		// Node B dies holding Alex's connection: once node A has not heard from it for a while, Alex counts as gone.
		await b.kill();
		await waitFor(async () => (await statusOf(a, fx.users.alex.token)).auto === 'away', 'Alex turned away after node B died', 30_000);
	});

	it('shows on a workspace stream of one node the tickets written on another', async () => {
		const { fx, a, b } = await twoNodes();
		const workspace = await stream(b, fx.users.alex.token, '/api/v1/stream');
		const created = await api(a, fx.tokens.mailer.token).request('POST', '/api/v1/tickets', { subject: 'Written on node A', requester: { email: 'kim@example.com' }, channel: 'email', body: 'Hello?' });
		expect(created.status).toBe(201);
		await waitFor(() => workspace.events.find((e) => e.name === 'ticket' && e.data.id === created.body.id && e.data.subject === 'Written on node A'), 'the ticket on node B’s stream');
		const reply = await api(a, fx.tokens.mailer.token).request('POST', `/api/v1/tickets/${created.body.id}/entries`, { channel: 'email', body: 'One more thing', authorType: 'customer' });
		expect(reply.status).toBe(201);
		await waitFor(() => workspace.events.find((e) => e.name === 'ticket' && e.data.id === created.body.id && e.data.lastPublicPreview === 'One more thing'), 'the change on node B’s stream');
	});

	it('ends the streams of every node once Redis is back after an outage, so their clients read what was not carried meanwhile', async () => {
		const { fx, a, b } = await twoNodes();
		const onB = await stream(b, fx.users.alex.token, '/api/v1/stream');
		const onA = await stream(a, fx.users.blake.token, '/api/v1/stream');
		await running!.redis.stop();
		// Written on node A while nothing can carry it: node B's stream never hears of it.
		const created = await api(a, fx.tokens.mailer.token).request('POST', '/api/v1/tickets', { subject: 'Written while Redis is down', requester: { email: 'kim@example.com' }, channel: 'email', body: 'Hello?' });
		expect(created.status).toBe(201);
		await waitFor(() => onA.events.some((e) => e.name === 'ticket' && e.data.id === created.body.id), 'the ticket on node A’s own stream');
		expect(onB.ended).toBe(false);
		await running!.redis.start();
		await waitFor(() => onB.ended && onA.ended, 'both nodes to end their streams once Redis is back', 15_000);
		// A client reconnecting reads the list afresh, with the ticket it missed.
		const listed = await api(b, fx.users.alex.token).request('GET', '/api/v1/tickets?view=unassigned');
		expect(listed.body.tickets.map((t: { id: string }) => t.id)).toContain(created.body.id);
		expect(onB.events.some((e) => e.name === 'ticket' && e.data.id === created.body.id)).toBe(false);
	});

	it('shows a supervisor on one node the ticket an agent has open on another', async () => {
		const { fx, a, b } = await twoNodes();
		const created = await api(a, fx.tokens.mailer.token).request('POST', '/api/v1/tickets', { subject: 'In front of Alex', requester: { email: 'kim@example.com' }, channel: 'email', body: 'Hello?' });
		const ticketId = created.body.id as string;
		const peer = await pool.connect(a, ticketId, fx.users.alex.token);
		peer.provider.setAwarenessField('typing', false);
		// Node B never loads the ticket: what Alex views reaches it in node A's reports.
		await waitFor(async () => {
			const { body } = await api(b, fx.users.sam.token).request('GET', '/api/v1/supervisor/dashboard');
			return body.agents.find((agent: { id: string }) => agent.id === fx.users.alex.id)?.currentTicketId === ticketId;
		}, 'Alex’s ticket on the dashboard of node B', 15_000);
	});

	/**
	 * Two nodes and a ticket created on node A, which Alex writes to there, while Blake's workspace
	 * stream is on node B. Node B holds the ticket too: changes reach it through Redis, and what they
	 * tell must not be told again there.
	 */
	async function alexOnABlakeOnB(subject: string) {
		const { fx, a, b } = await twoNodes();
		const created = await api(a, fx.tokens.mailer.token).request('POST', '/api/v1/tickets', { subject, requester: { email: 'kim@example.com' }, channel: 'email', body: 'Where is my parcel?' });
		const ticket = created.body as { id: string; requesterId: string };
		const blakeStream = await stream(b, fx.users.blake.token, '/api/v1/stream');
		await pool.connect(b, ticket.id, fx.users.blake.token);
		const alex = await pool.connect(a, ticket.id, fx.users.alex.token);
		return { fx, a, ticketId: ticket.id, requesterId: ticket.requesterId, blakeStream, alex };
	}

	it('tells a colleague on one node, once, of a side conversation a colleague on another names them in', async () => {
		const { fx, ticketId, blakeStream, alex } = await alexOnABlakeOnB('Ask the warehouse');
		const sideId = newId();
		alex.doc.transact(() => {
			openSide(alex.doc, { id: sideId, subject: 'Ask the warehouse', channel: 'internal', createdBy: fx.users.alex.id, createdAt: Date.now(), participants: [fx.users.blake.id] });
			appendSideEntry(alex.doc, sideId, noteBy(fx.users.alex.id, 'Did parcel 7731 leave?'));
		});
		await alex.acknowledged();
		appendSideEntry(alex.doc, sideId, noteBy(fx.users.alex.id, 'It is urgent.'));
		await alex.acknowledged();
		const notices = () => blakeStream.events.filter((e) => e.name === 'side' && e.data.ticketId === ticketId).map((e) => e.data as { reason: string; preview: string });
		await waitFor(() => notices().some((n) => n.preview === 'It is urgent.'), 'the second message’s notice on node B');
		expect(notices().map((n) => [n.reason, n.preview])).toEqual([
			['named', 'Did parcel 7731 leave?'],
			['message', 'It is urgent.']
		]);
	});

	it('tells a follower on one node, once, of a mention, a customer message and a status change stored on another', async () => {
		const { fx, a, ticketId, requesterId, blakeStream, alex } = await alexOnABlakeOnB('Followed across nodes');
		appendEntries(alex.doc, [noteBy(fx.users.alex.id, '@blake have a look', { meta: { mentions: [fx.users.blake.id] } })]);
		await alex.acknowledged();
		const notices = () => blakeStream.events.filter((e) => e.name === 'follow' && e.data.ticketId === ticketId).map((e) => e.data.reason as string);
		await waitFor(() => notices().length === 1, 'the mention on node B');
		// The mention made Blake a follower: he hears of what node A stores next.
		await waitFor(async () => (await api(a, fx.users.blake.token).request('GET', `/api/v1/tickets/${ticketId}/followers`)).body.following, 'Blake following');
		expect((await api(a, fx.tokens.mailer.token).request('POST', `/api/v1/tickets/${ticketId}/entries`, { channel: 'email', authorType: 'customer', authorId: requesterId, body: 'Any news?' })).status).toBe(201);
		expect((await api(a, fx.users.alex.token).request('PATCH', `/api/v1/tickets/${ticketId}`, { status: 'pending' })).status).toBe(200);
		await waitFor(() => notices().length === 3, 'the message and status notices on node B');
		const later = await api(a, fx.tokens.mailer.token).request('POST', '/api/v1/tickets', { subject: 'Later', requester: { email: 'kim@example.com' }, channel: 'email', body: 'Hi' });
		await waitFor(() => blakeStream.events.some((e) => e.name === 'ticket' && e.data.id === later.body.id), 'a later event on node B');
		expect(notices()).toEqual(['mention', 'message', 'status']);
	});

	it('rings a Talk console on one node for a call that came in on another, and shows it answered', async () => {
		const { fx, a, b } = await twoNodes();
		expect((await sendPage(b, 'POST', '/admin?/createTalkNumber', fx.users.ada.token, { number: '+15550300', label: 'Support line', groupId: '' })).status).toBe(200);
		const talkConsole = await stream(b, fx.users.alex.token, '/api/v1/talk/stream');
		const rung = await api(a, fx.tokens.sim.token).request('POST', '/api/v1/talk/simulator/calls', { from: '+15557770001', to: '+15550300' });
		expect(rung.status).toBe(201);
		const callId = rung.body.id as string;
		const callOn = (state: string) => talkConsole.events.find((e) => e.name === 'call' && e.data.id === callId && e.data.state === state)?.data as { ringsMe: boolean } | undefined;
		expect((await waitFor(() => callOn('ringing'), 'the call ringing on node B’s console')).ringsMe).toBe(true);
		const answered = await api(a, fx.users.alex.token).request('POST', `/api/v1/talk/calls/${callId}/accept`);
		expect(answered.status).toBe(200);
		await waitFor(() => callOn('active'), 'the call answered, on node B’s console');
	});

	it('carries a chat between a visitor on one node and an agent on another: messages, typing both ways', async () => {
		const { fx, a, b } = await twoNodes();
		const created = await api(b).request('POST', '/api/v1/visitor');
		expect(created.status).toBe(201);
		const headers = { 'x-visitor-token': created.body.token as string };
		const visitor = (method: string, route: string, body?: unknown) => api(b).request(method, `/api/v1/visitor${route}`, body, { headers });
		const started = await visitor('POST', '/chat', { name: 'Maggie', message: 'Hello from node B' });
		expect(started.status).toBe(201);
		const ticketId = started.body.ticketId as string;
		const widget = await openEvents(`${b.url}/api/v1/visitor/chat/stream?token=${encodeURIComponent(headers['x-visitor-token'])}`);
		streams.push(widget);
		const messages = () => widget.events.filter((e) => e.name === 'message').map((e) => e.data.message.body as string);
		await waitFor(() => messages().length === 1, 'the first message on the widget’s stream');

		const agent = await pool.connect(a, ticketId, fx.users.alex.token);
		const visitorState = () => [...agent.provider.awareness!.getStates().values()].map((state) => state.visitor as { typing?: boolean } | undefined).find(Boolean);
		await waitFor(() => visitorState(), 'the visitor, set by node B, at the agent on node A');
		expect((await visitor('POST', '/chat/typing', { typing: true })).status).toBe(204);
		await waitFor(() => visitorState()?.typing === true, 'the visitor typing at the agent on node A');
		agent.provider.awareness!.setLocalStateField('typing', 'draft-1');
		agent.provider.awareness!.setLocalStateField('typingVisibility', 'public');
		await waitFor(() => widget.events.some((e) => e.name === 'typing' && e.data.typing && e.data.name === 'alex'), 'the agent typing at the visitor on node B');
		appendEntries(agent.doc, [replyBy(fx.users.alex.id, 'Answered from node A')]);
		await agent.acknowledged();
		await waitFor(() => messages().includes('Answered from node A'), 'the reply at the visitor on node B');
		expect((await visitor('POST', '/chat/messages', { id: 'm-1', body: 'Thanks!' })).status).toBe(201);
		await waitFor(() => readEntries(agent.doc).some((e) => e.body === 'Thanks!'), 'the visitor’s message at the agent on node A');
	});
});
