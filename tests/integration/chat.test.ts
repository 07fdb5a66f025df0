/**
 * Live chat against a real server: a visitor (the widget's HTTP side, no browser) starts a chat,
 * an agent (a Hocuspocus peer of the chat ticket) sees the visitor live in the document's awareness
 * and answers; the visitor's stream carries only the public messages of their own chat.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendEntry, newId, readEntries } from '../../src/lib/ticket';
import { countRows } from '../helpers/db';
import { noteBy, replyBy } from '../helpers/entries';
import { prepare, type Fixture } from '../helpers/fixtures';
import { openEvents, type EventLog } from '../helpers/sse';
import { api, servers, tempDataDir, waitFor, type Peer, type RunningServer } from '../helpers/server';

const LEFT_AFTER_MS = 300;

describe('live chat', () => {
	const pool = servers();
	let server: RunningServer;
	let fx: Fixture;
	let dataDir: string;

	/** A visitor's HTTP client: its token in X-Visitor-Token. */
	const visitor = (token?: string) => ({
		request: (method: string, route: string, body?: unknown, raw?: string) =>
			api(server).request(method, `/api/v1/visitor${route}`, body, { raw, headers: token ? { 'x-visitor-token': token } : {} }),
		stream: () => openEvents(`${server.url}/api/v1/visitor/chat/stream?token=${encodeURIComponent(token ?? '')}`)
	});

	const newVisitor = async () => {
		const { status, body } = await visitor().request('POST', '');
		expect(status).toBe(201);
		return { id: body.visitorId as string, token: body.token as string, ...visitor(body.token) };
	};

	const visitorState = (peer: Peer) =>
		[...peer.provider.awareness!.getStates().values()].map((s) => s.visitor).find(Boolean) as
			| { name: string; presence: string; typing: boolean; status: string; page: { url: string } | null }
			| undefined;

	const messages = (log: EventLog) => log.events.filter((e) => e.name === 'message').map((e) => e.data.message);

	beforeAll(async () => {
		dataDir = tempDataDir();
		fx = await prepare(dataDir, { users: { alex: { role: 'agent' }, blake: { role: 'agent' }, sam: { role: 'supervisor' } } });
		server = await pool.boot(dataDir, { CHAT_LEFT_AFTER_MS: String(LEFT_AFTER_MS) });
	}, 60_000);
	afterAll(() => pool.cleanup());

	it('gives a visitor a session, and keeps it while the token is good', async () => {
		const v = await newVisitor();
		expect(v.token).toMatch(/^vis_/);
		const again = await v.request('POST', '');
		expect(again).toMatchObject({ status: 200, body: { visitorId: v.id, chat: null } });
		expect(again.body.token).toBeUndefined();
		expect((await visitor('vis_forged').request('GET', '')).status).toBe(401);
		// A visitor token is not an API credential.
		expect((await api(server, v.token).request('GET', '/api/v1/tickets')).status).toBe(401);
	});

	it('refuses bad input with a clear error and stores nothing', async () => {
		const v = await newVisitor();
		const before = { tickets: await countRows(dataDir, sql`SELECT count(*) AS n FROM tickets`), pages: await countRows(dataDir, sql`SELECT count(*) AS n FROM visitor_pages`) };
		const cases: [string, string, unknown, string?][] = [
			['/pages', 'url', { url: 'javascript:alert(1)' }],
			['/pages', 'title', { url: 'https://shop.example/', title: 'x'.repeat(301) }],
			['/chat', 'message', { name: 'Maggie', message: '   ' }],
			['/chat', 'email', { name: 'Maggie', email: 'not-an-email', message: 'Hi' }],
			['/chat', 'name', { message: 'Hi' }],
			['/chat', '', { name: 'Maggie', message: 'Hi', admin: true }],
			['/chat', '', undefined, '{"name": '],
			['/chat/messages', '', { id: 'a', body: 'no chat yet' }]
		];
		for (const [route, field, body, raw] of cases) {
			const response = await v.request('POST', route, body, raw);
			expect(response.status, `${route} ${JSON.stringify(body ?? raw)}`).toBeGreaterThanOrEqual(400);
			expect(response.status).toBeLessThan(500);
			expect(response.body.error.message).toBeTruthy();
			if (field) expect(response.body.error.field).toBe(field);
		}
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM tickets`)).toBe(before.tickets);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM visitor_pages`)).toBe(before.pages);
	});

	it('carries a chat both ways live, with typing, presence and the visitor path', async () => {
		const v = await newVisitor();
		expect((await v.request('POST', '/pages', { url: 'https://shop.example/', title: 'Shop' })).status).toBe(201);
		expect((await v.request('POST', '/pages', { url: 'https://shop.example/orders/1042', title: 'Order 1042' })).status).toBe(201);
		const started = await v.request('POST', '/chat', {
			name: 'Maggie Chen',
			email: 'maggie.chat@example.com',
			message: 'Hello, my order has not arrived',
			page: { url: 'https://shop.example/orders/1042', title: 'Order 1042' }
		});
		expect(started).toMatchObject({ status: 201, body: { status: 'waiting', presence: 'online', agentId: null } });
		const ticketId: string = started.body.ticketId;
		expect((await v.request('POST', '/chat', { name: 'Maggie', message: 'again' })).status).toBe(409);

		// The chat ticket is an ordinary ticket for agents: channel chat, the visitor's own contact,
		// unverified, with the email address they gave as a claim (see attacks-channels.test.ts).
		const alex = api(server, fx.users.alex.token);
		const ticket = await alex.request('GET', `/api/v1/tickets/${ticketId}`);
		expect(ticket.body).toMatchObject({ channel: 'chat', status: 'new', subject: 'Hello, my order has not arrived' });
		const customer = await alex.request('GET', `/api/v1/customers/${ticket.body.requesterId}`);
		expect(customer.body).toMatchObject({ name: 'Maggie Chen', unverified: true, claimedEmail: 'maggie.chat@example.com', addresses: [{ channel: 'chat', address: v.id }] });

		const stream = await v.stream();
		expect(stream.status).toBe(200);
		await waitFor(() => messages(stream).length === 1, 'the first message on the stream');
		expect(messages(stream)[0]).toMatchObject({ from: 'visitor', body: 'Hello, my order has not arrived' });
		expect(stream.events.find((e) => e.name === 'chat')?.data).toMatchObject({ status: 'waiting' });

		const agent = await pool.connect(server, ticketId, fx.users.alex.token);
		await waitFor(() => visitorState(agent)?.presence === 'online', 'the visitor in awareness');
		expect(visitorState(agent)).toMatchObject({ name: 'Maggie Chen', typing: false, status: 'waiting', page: { url: 'https://shop.example/orders/1042' } });

		// Typing, both ways.
		expect((await v.request('POST', '/chat/typing', { typing: true })).status).toBe(204);
		await waitFor(() => visitorState(agent)?.typing === true, 'visitor typing at the agent');
		agent.provider.awareness!.setLocalStateField('typing', 'draft-1');
		agent.provider.awareness!.setLocalStateField('typingVisibility', 'public');
		await waitFor(() => stream.events.some((e) => e.name === 'typing' && e.data.typing && e.data.name === 'alex'), 'agent typing at the visitor');

		// Visitor → agent, exactly once per id.
		const said = await v.request('POST', '/chat/messages', { id: 'm-1', body: 'It was order 1042' });
		expect(said).toMatchObject({ status: 201, body: { from: 'visitor', body: 'It was order 1042' } });
		expect((await v.request('POST', '/chat/messages', { id: 'm-1', body: 'It was order 1042' })).status).toBe(201);
		await waitFor(() => readEntries(agent.doc).some((e) => e.body === 'It was order 1042'), 'the visitor message at the agent');
		expect(visitorState(agent)?.typing).toBe(false);

		// Agent → visitor: public replies arrive, internal notes never do.
		appendEntry(agent.doc, noteBy(fx.users.alex.id, 'Customer seems upset'));
		appendEntry(agent.doc, replyBy(fx.users.alex.id, 'Let me check that for you'));
		await agent.acknowledged();
		await waitFor(() => messages(stream).some((m) => m.body === 'Let me check that for you'), 'the reply at the visitor');
		const seen = messages(stream);
		expect(seen.map((m) => m.body)).toEqual(['Hello, my order has not arrived', 'It was order 1042', 'Let me check that for you']);
		expect(seen[2]).toMatchObject({ from: 'agent', name: 'alex' });
		expect(JSON.stringify(stream.events)).not.toContain('Customer seems upset');

		// Away, then gone: agents see "left" once the widget stays away.
		expect((await v.request('POST', '/chat/presence', { presence: 'away' })).status).toBe(204);
		await waitFor(() => visitorState(agent)?.presence === 'away', 'away at the agent');
		expect((await v.request('POST', '/pages', { url: 'https://shop.example/help', title: 'Help' })).status).toBe(201);
		await waitFor(() => visitorState(agent)?.page?.url === 'https://shop.example/help', 'the new page at the agent');
		stream.close();
		await waitFor(() => visitorState(agent)?.presence === 'left', 'left at the agent');
		const chat = await alex.request('GET', `/api/v1/tickets/${ticketId}/chat`);
		expect(chat.body.chat.presence).toBe('left');
		expect(chat.body.path.map((p: { url: string }) => p.url)).toEqual(['https://shop.example/help', 'https://shop.example/orders/1042', 'https://shop.example/']);
	});

	it('is served by one agent, ended, and followed up by email in the same ticket', async () => {
		const v = await newVisitor();
		const { body: chat } = await v.request('POST', '/chat', { name: 'Ola', email: 'ola@example.com', message: 'Can I change my plan?', id: newId() });
		const ticketId: string = chat.ticketId;
		const stream = await v.stream();
		await waitFor(() => messages(stream).length === 1, 'the stream');

		const sam = api(server, fx.users.sam.token);
		expect((await sam.request('POST', `/api/v1/tickets/${ticketId}/chat/serve`)).status).toBe(403);
		const [a, b] = await Promise.all([
			api(server, fx.users.alex.token).request('POST', `/api/v1/tickets/${ticketId}/chat/serve`),
			api(server, fx.users.blake.token).request('POST', `/api/v1/tickets/${ticketId}/chat/serve`)
		]);
		const statuses = [a.status, b.status].sort();
		expect(statuses).toEqual([200, 409]);
		const winner = a.status === 200 ? a : b;
		expect(winner.body).toMatchObject({ status: 'active' });
		expect((a.status === 409 ? a : b).body.error.code).toBe('chat_taken');
		await waitFor(() => stream.events.some((e) => e.name === 'chat' && e.data.status === 'active' && e.data.agentName), 'served at the visitor');

		expect((await sam.request('POST', `/api/v1/tickets/${ticketId}/chat/end`)).status).toBe(403);
		const ended = await api(server, fx.users.alex.token).request('POST', `/api/v1/tickets/${ticketId}/chat/end`);
		expect(ended).toMatchObject({ status: 200, body: { status: 'ended' } });
		expect((await api(server, fx.users.alex.token).request('POST', `/api/v1/tickets/${ticketId}/chat/end`)).status).toBe(200);
		await waitFor(() => stream.events.some((e) => e.name === 'chat' && e.data.status === 'ended'), 'ended at the visitor');
		const late = await v.request('POST', '/chat/messages', { id: 'late', body: 'one more thing' });
		expect(late).toMatchObject({ status: 409, body: { error: { code: 'chat_ended' } } });

		// The follow-up by email lands in the same ticket and goes to the outbox.
		const followUp = await api(server, fx.users.alex.token).request('POST', `/api/v1/tickets/${ticketId}/entries`, {
			channel: 'email',
			body: 'Following up on our chat: your reference is PLAN-77.'
		});
		expect(followUp.status).toBe(201);
		const entries = (await api(server, fx.users.alex.token).request('GET', `/api/v1/tickets/${ticketId}`)).body.entries as { kind: string; channel: string; body: string }[];
		expect(entries.map((e) => `${e.kind}/${e.channel}`)).toEqual(['message/chat', 'event/chat', 'event/chat', 'message/email']);
		expect(entries[2].body).toBe('Chat ended by alex');
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM outbox WHERE ticket_id = ${ticketId} AND kind = 'email'`)).toBe(1);
		// A new chat may start after the last one ended: a new ticket.
		const next = await v.request('POST', '/chat', { name: 'Ola', message: 'Me again' });
		expect(next.status).toBe(201);
		expect(next.body.ticketId).not.toBe(ticketId);
		stream.close();
	});

	it('limits what one visitor may send in a minute: past it 429, and nothing stored', async () => {
		const v = await newVisitor();
		const { body: chat } = await v.request('POST', '/chat', { name: 'Flo', message: 'message 1' });
		for (let i = 2; i <= 20; i++) expect((await v.request('POST', '/chat/messages', { id: `m${i}`, body: `message ${i}` })).status).toBe(201);
		const refused = await v.request('POST', '/chat/messages', { id: 'm21', body: 'message 21' });
		expect(refused).toMatchObject({ status: 429, body: { error: { code: 'rate_limited' } } });
		expect(refused.body.error.message).toMatch(/at most 20 a minute\): try again in \d+ s/);
		const entries = (await api(server, fx.users.alex.token).request('GET', `/api/v1/tickets/${chat.ticketId}`)).body.entries as { body: string }[];
		expect(entries.map((e) => e.body)).not.toContain('message 21');
		expect(entries.filter((e) => e.body.startsWith('message '))).toHaveLength(20);
		// Another visitor is not held back.
		const other = await newVisitor();
		expect((await other.request('POST', '/chat', { name: 'Gus', message: 'hello' })).status).toBe(201);
	});
});
