/**
 * Routing over HTTP against a real server process: status set, read and pushed to colleagues; a new
 * email ticket offered to an available agent on their stream; accept assigns it (once); an agent
 * whose stream closes turns away and their offer moves on; the supervisor dashboard; reassigning;
 * the admin settings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepare, type Fixture } from '../helpers/fixtures';
import { openEvents, type EventLog } from '../helpers/sse';
import { api, servers, tempDataDir, waitFor, type RunningServer } from '../helpers/server';

const AWAY_AFTER_MS = 300;

describe('routing over HTTP', () => {
	const pool = servers();
	let server: RunningServer;
	let fx: Fixture;
	const streams: EventLog[] = [];

	const as = (name: string) => api(server, fx.users[name].token);
	const bot = () => api(server, fx.tokens.mailer.token);
	const stream = async (name: string) => {
		const log = await openEvents(`${server.url}/api/v1/agent/stream`, { authorization: `Bearer ${fx.users[name].token}` });
		expect(log.status).toBe(200);
		streams.push(log);
		return log;
	};
	const newTicket = async (subject: string) => {
		const { status, body } = await bot().request('POST', '/api/v1/tickets', { subject, requester: { email: 'cat@example.com' }, channel: 'email', body: 'Hello?' });
		expect(status).toBe(201);
		return body.id as string;
	};
	const offerFor = (log: EventLog, ticketId: string) => waitFor(() => log.events.find((e) => e.name === 'offer' && e.data.ticketId === ticketId)?.data, `an offer of ${ticketId}`);

	beforeAll(async () => {
		const dataDir = tempDataDir();
		fx = await prepare(dataDir, {
			users: { alex: { role: 'agent', groups: ['support'] }, blake: { role: 'agent', groups: ['support'] }, sam: { role: 'supervisor' }, ada: { role: 'admin' } },
			bots: { mailer: ['email'] }
		});
		server = await pool.boot(dataDir, { AWAY_AFTER_MS: String(AWAY_AFTER_MS), OFFLINE_AFTER_MS: '60000' });
	}, 60_000);
	afterAll(async () => {
		for (const s of streams) s.close();
		await pool.cleanup();
	});

	it('sets and reads a status, and pushes it to colleagues live', async () => {
		const blakeStream = await stream('blake');
		const set = await as('alex').request('PUT', '/api/v1/me/status', { status: 'online', channels: { talk: false } });
		expect(set).toMatchObject({ status: 200, body: { userId: fx.users.alex.id, status: 'online', statusClass: 'online', channels: { messaging: true, chat: true, talk: false } } });
		expect((await as('alex').request('GET', '/api/v1/me/status')).body).toMatchObject({ status: 'online', channels: { talk: false } });
		await waitFor(() => blakeStream.events.some((e) => e.name === 'status' && e.data.userId === fx.users.alex.id && e.data.status === 'online'), "alex's status on blake's stream");
		expect((await as('alex').request('PUT', '/api/v1/me/status', { status: 'napping' })).status).toBe(400);

		// Custom statuses: admins define them, agents choose them.
		const statuses = await as('alex').request('GET', '/api/v1/statuses');
		expect(statuses.body.statuses.map((s: { id: string }) => s.id)).toEqual(['online', 'away', 'offline']);
		expect((await as('alex').request('POST', '/api/v1/statuses', { name: 'In a meeting', mapsTo: 'away' })).status).toBe(403);
		const meeting = await as('ada').request('POST', '/api/v1/statuses', { name: 'In a meeting', mapsTo: 'away' });
		expect(meeting).toMatchObject({ status: 201, body: { name: 'In a meeting', mapsTo: 'away', builtIn: false } });
		expect((await as('ada').request('POST', '/api/v1/statuses', { name: 'in a meeting', mapsTo: 'away' })).status).toBe(409);
		expect((await as('blake').request('PUT', '/api/v1/me/status', { status: meeting.body.id })).body).toMatchObject({ statusName: 'In a meeting', statusClass: 'away' });
		expect((await as('ada').request('DELETE', `/api/v1/statuses/${meeting.body.id}`)).status).toBe(204);
		expect((await as('blake').request('GET', '/api/v1/me/status')).body).toMatchObject({ status: 'away', statusClass: 'away' });
		blakeStream.close();
	});

	it('offers a new email ticket to an available agent on their stream; accepting assigns it, once', async () => {
		const alexStream = await stream('alex');
		await as('blake').request('PUT', '/api/v1/me/status', { status: 'offline' });
		const ticketId = await newTicket('Where is my parcel?');
		const offer = await offerFor(alexStream, ticketId);
		expect(offer).toMatchObject({ agentId: fx.users.alex.id, kind: 'ticket', channel: 'messaging', subject: 'Where is my parcel?', declineAllowed: true });
		expect((await as('alex').request('GET', '/api/v1/offers')).body.offers.map((o: { id: string }) => o.id)).toContain(offer.id);
		// Someone else's offer is not theirs to take.
		expect((await as('blake').request('POST', `/api/v1/offers/${offer.id}/accept`)).status).toBe(404);

		const accepted = await as('alex').request('POST', `/api/v1/offers/${offer.id}/accept`);
		expect(accepted).toMatchObject({ status: 200, body: { ticketId, kind: 'ticket' } });
		await waitFor(() => alexStream.events.some((e) => e.name === 'assigned' && e.data.ticketId === ticketId), 'the assigned event');
		const ticket = await waitFor(async () => {
			const { body } = await as('alex').request('GET', `/api/v1/tickets/${ticketId}`);
			return body.assigneeId === fx.users.alex.id ? body : null;
		}, 'the assignee in the ticket');
		expect(ticket.status).toBe('open');
		const again = await as('alex').request('POST', `/api/v1/offers/${offer.id}/accept`);
		expect(again).toMatchObject({ status: 409, body: { error: { code: 'offer_gone' } } });
		const events = await as('ada').request('GET', `/api/v1/tickets/${ticketId}/events`);
		expect(events.body.events.map((e: { type: string }) => e.type)).toEqual(expect.arrayContaining(['routing.queued', 'routing.offered', 'routing.accepted']));
	});

	it('moves an offer on when its agent turns away after their last stream closed', async () => {
		const alexStream = streams.find((s) => s.events.some((e) => e.name === 'assigned'))!;
		const blakeStream = await stream('blake');
		await as('blake').request('PUT', '/api/v1/me/status', { status: 'online', channels: { messaging: false } });
		const ticketId = await newTicket('Refund please');
		const offer = await offerFor(alexStream, ticketId);
		await as('blake').request('PUT', '/api/v1/me/status', { channels: { messaging: true } });
		alexStream.close();
		const moved = await offerFor(blakeStream, ticketId);
		expect(moved.id).not.toBe(offer.id);
		// Colleagues' streams are told the status after the router has moved the offers on (listeners in order).
		const away = await waitFor(() => blakeStream.events.find((e) => e.name === 'status' && e.data.userId === fx.users.alex.id && e.data.status === 'away'), 'alex away on the stream');
		expect(away.data).toMatchObject({ auto: 'away', chosen: 'online' });
		expect((await as('alex').request('POST', `/api/v1/offers/${offer.id}/accept`)).status).toBe(409);
	});

	it('shows supervisors every agent and queue, and lets them reassign', async () => {
		expect((await as('alex').request('GET', '/api/v1/supervisor/dashboard')).status).toBe(403);
		const { status, body } = await as('sam').request('GET', '/api/v1/supervisor/dashboard');
		expect(status).toBe(200);
		const agent = (name: string) => body.agents.find((a: { id: string }) => a.id === fx.users[name].id);
		expect(agent('alex')).toMatchObject({ statusClass: 'away', load: { messaging: { assigned: 1, offered: 0, capacity: 10 } } });
		expect(agent('blake')).toMatchObject({ statusClass: 'online', connected: true, load: { messaging: { assigned: 0, offered: 1 } } });
		expect(body.agents.map((a: { id: string }) => a.id)).not.toContain(fx.users.sam.id);
		const noGroup = body.queues.find((q: { groupId: string | null }) => q.groupId === null);
		expect(noGroup).toMatchObject({ groupName: 'No group', waiting: 1, slaAtRisk: 0 });
		expect(noGroup.longestWaitMs).toBeGreaterThanOrEqual(0);
		expect(body.queues.find((q: { groupName: string }) => q.groupName === 'support')).toMatchObject({ waiting: 0 });

		// The ticket offered to blake, given to alex by the supervisor instead.
		const offered = streams[streams.length - 1].events.filter((e) => e.name === 'offer').pop()!.data;
		expect((await as('alex').request('POST', `/api/v1/tickets/${offered.ticketId}/reassign`, { assigneeId: fx.users.alex.id })).status).toBe(403);
		expect((await as('sam').request('POST', `/api/v1/tickets/${offered.ticketId}/reassign`, { assigneeId: fx.users.sam.id })).status).toBe(400);
		const reassigned = await as('sam').request('POST', `/api/v1/tickets/${offered.ticketId}/reassign`, { assigneeId: fx.users.alex.id });
		expect(reassigned).toMatchObject({ status: 200, body: { ticketId: offered.ticketId, assigneeId: fx.users.alex.id } });
		// The supervisor's one write in a ticket: an internal note for the agent; a reply is refused.
		expect((await as('sam').request('POST', `/api/v1/tickets/${offered.ticketId}/entries`, { kind: 'note', channel: 'internal', body: 'Please call her back today.' })).status).toBe(201);
		expect((await as('sam').request('POST', `/api/v1/tickets/${offered.ticketId}/entries`, { channel: 'email', body: 'Hello' })).status).toBe(403);
		const notes = (await as('alex').request('GET', `/api/v1/tickets/${offered.ticketId}`)).body.entries.filter((e: { kind: string }) => e.kind === 'note');
		expect(notes).toMatchObject([{ body: 'Please call her back today.', authorType: 'agent', authorId: fx.users.sam.id, visibility: 'internal' }]);
		expect((await as('alex').request('GET', `/api/v1/tickets/${offered.ticketId}`)).body.assigneeId).toBe(fx.users.alex.id);
		await waitFor(() => streams[streams.length - 1].events.some((e) => e.name === 'offer.withdrawn' && e.data.offerId === offered.id && e.data.reason === 'assigned'), "blake's offer withdrawn");
		const after = await as('sam').request('GET', '/api/v1/supervisor/dashboard');
		expect(after.body.agents.find((a: { id: string }) => a.id === fx.users.alex.id).load.messaging.assigned).toBe(2);

		// The ticket in front of an agent: the one open in their workspace (its presence).
		const peer = await pool.connect(server, offered.ticketId, fx.users.alex.token);
		peer.provider.setAwarenessField('typing', false);
		await waitFor(async () => {
			const { body: now } = await as('sam').request('GET', '/api/v1/supervisor/dashboard');
			return now.agents.find((a: { id: string }) => a.id === fx.users.alex.id).currentTicketId === offered.ticketId;
		}, "alex's current ticket on the dashboard");
	});

	it('routes a chat on the chat channel; accepting it serves the chat', async () => {
		const blakeStream = streams[streams.length - 1];
		const visitor = await api(server).request('POST', '/api/v1/visitor');
		const headers = { 'x-visitor-token': visitor.body.token };
		const started = await api(server).request('POST', '/api/v1/visitor/chat', { name: 'Maggie', message: 'Hi there' }, { headers });
		expect(started.status).toBe(201);
		const offer = await offerFor(blakeStream, started.body.ticketId);
		expect(offer).toMatchObject({ channel: 'chat', agentId: fx.users.blake.id });
		expect((await as('blake').request('POST', `/api/v1/offers/${offer.id}/accept`)).status).toBe(200);
		await waitFor(async () => (await api(server).request('GET', '/api/v1/visitor', undefined, { headers })).body.chat?.status === 'active', 'the chat served');
	});

	it('hands a chat over when its agent goes away: the chat returns to the queue and the next agent serves it', async () => {
		const visitor = await api(server).request('POST', '/api/v1/visitor');
		const headers = { 'x-visitor-token': visitor.body.token };
		const started = await api(server).request('POST', '/api/v1/visitor/chat', { name: 'Noor', message: 'Still there?' }, { headers });
		const blakeStream = streams[streams.length - 1];
		const offer = await offerFor(blakeStream, started.body.ticketId);
		expect((await as('blake').request('POST', `/api/v1/offers/${offer.id}/accept`)).status).toBe(200);
		const chatOf = async () => (await api(server).request('GET', '/api/v1/visitor', undefined, { headers })).body.chat;
		await waitFor(async () => (await chatOf())?.agentName === 'blake', 'blake serving');

		// Blake's last stream closes: away after the grace, and the chat goes back to the queue; alex, back, gets it.
		const alexStream = await stream('alex');
		blakeStream.close();
		const again = await offerFor(alexStream, started.body.ticketId);
		expect((await as('alex').request('POST', `/api/v1/offers/${again.id}/accept`)).status).toBe(200);
		await waitFor(async () => (await chatOf())?.agentName === 'alex', 'alex serving the handed-over chat');
		expect((await as('alex').request('GET', `/api/v1/tickets/${started.body.ticketId}`)).body.assigneeId).toBe(fx.users.alex.id);
		// The visitor is told first; the note of who joined follows it into the conversation.
		const joined = async () =>
			(await as('alex').request('GET', `/api/v1/tickets/${started.body.ticketId}`)).body.entries.filter((e: { body: string }) => e.body.endsWith('joined the chat')).map((e: { body: string }) => e.body);
		await waitFor(async () => (await joined()).length === 2, 'both joins in the conversation');
		expect(await joined()).toEqual(['blake joined the chat', 'alex joined the chat']);
	});

	it('lets admins set routing, agent capacities and skills, and SLA policies', async () => {
		expect((await as('alex').request('PUT', '/api/v1/routing/settings', { offerTimeoutSeconds: 60 })).status).toBe(403);
		const settings = await as('ada').request('PUT', '/api/v1/routing/settings', { offerTimeoutSeconds: 60, capacities: { chat: 2 } });
		expect(settings).toMatchObject({ status: 200, body: { offerTimeoutSeconds: 60, capacities: { messaging: 10, chat: 2, talk: 1 }, declineAllowed: true } });
		expect((await as('alex').request('GET', '/api/v1/routing/settings')).body.offerTimeoutSeconds).toBe(60);
		expect((await as('ada').request('PUT', '/api/v1/routing/settings', { offerTimeoutSeconds: 1 })).status).toBe(400);

		const routing = await as('ada').request('PUT', `/api/v1/users/${fx.users.blake.id}/routing`, { capacities: { talk: 2 }, skills: ['french'] });
		expect(routing).toMatchObject({ status: 200, body: { capacities: { talk: 2 }, skills: ['french'] } });
		expect((await as('ada').request('GET', `/api/v1/users/${fx.users.blake.id}/routing`)).body.skills).toEqual(['french']);
		expect((await as('ada').request('PUT', '/api/v1/users/nobody/routing', { skills: [] })).status).toBe(404);

		const policies = await as('alex').request('GET', '/api/v1/sla-policies');
		expect(policies.body.policies).toHaveLength(12);
		expect(policies.body.policies[0]).toMatchObject({ priority: 'urgent', channel: 'messaging', firstReplyMinutes: 15 });
		const changed = await as('ada').request('PUT', '/api/v1/sla-policies', {
			policies: [{ priority: 'normal', channel: 'messaging', firstReplyMinutes: 30, nextReplyMinutes: 60, resolutionMinutes: null }]
		});
		expect(changed.body.policies.find((p: { priority: string; channel: string }) => p.priority === 'normal' && p.channel === 'messaging')).toMatchObject({ firstReplyMinutes: 30, resolutionMinutes: null });
		const ticketId = await newTicket('SLA please');
		const sla = await as('alex').request('GET', `/api/v1/tickets/${ticketId}/sla`);
		const created = (await as('alex').request('GET', `/api/v1/tickets/${ticketId}`)).body.createdAt;
		expect(sla).toMatchObject({ status: 200, body: { firstReplyDueAt: created + 30 * 60_000, resolutionDueAt: null, breached: [] } });
	});
});
