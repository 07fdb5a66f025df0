/**
 * The agent workspace's HTTP API: views with counts, lists by view and sort, the live stream of
 * ticket changes, customer context, people, and macros.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setField, type TicketFieldName, type TicketFields } from '../../src/lib/ticket';
import { PRIORITIES } from '../../src/lib/ticket/schema';
import { VIEW_DESCRIPTIONS, VIEW_IDS, VIEW_NAMES } from '../../src/lib/api/views';
import type { Role } from '../../server/auth/principal';
import { createLogger } from '../../server/log';
import { loadConfig } from '../../server/config';
import { seed, DEMO_MACROS } from '../../server/seed';
import { createServices } from '../../server/services';
import { openEvents } from '../helpers/sse';
import { prepare, type Fixture } from '../helpers/fixtures';
import { startInProcess } from '../helpers/in-process';
import { api, connectPeer, startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';

type Row = { id: string; subject: string; status: string; priority: string; assigneeId: string | null; groupId: string | null; channel: string; createdAt: number; updatedAt: number };
type Server = { url: string; wsUrl: string };

type Fields = Partial<Pick<TicketFields, TicketFieldName>>;

const USERS: Record<'ann' | 'ben' | 'root' | 'sue', { role: Role; groups?: string[] }> = {
	ann: { role: 'agent', groups: ['Billing'] },
	ben: { role: 'agent', groups: ['Technical'] },
	root: { role: 'admin' },
	sue: { role: 'supervisor' }
};
const BOTS = { mail: ['email'], chat: ['chat'] };

async function createTicket(server: Server, token: string, subject: string, more: { channel?: string; email?: string; priority?: string } = {}): Promise<Row & { requesterId: string }> {
	const res = await api(server, token).request('POST', '/api/v1/tickets', {
		subject,
		requester: { email: more.email ?? 'pat@example.com', name: 'Pat Customer' },
		channel: more.channel ?? 'email',
		body: `About ${subject}`,
		...(more.priority ? { priority: more.priority } : {})
	});
	expect(res.status).toBe(201);
	return res.body;
}

/** Changes ticket fields as a live peer would, and waits until the ticket index shows them. */
async function setFields(server: Server, fx: Fixture, ticketId: string, fields: Fields): Promise<void> {
	const peer = await connectPeer(server, ticketId, fx.users.root.token);
	try {
		peer.doc.transact(() => {
			for (const [name, value] of Object.entries(fields)) setField(peer.doc, name as TicketFieldName, value as never);
		});
		await peer.acknowledged();
	} finally {
		peer.destroy();
	}
	await waitFor(async () => {
		const res = await api(server, fx.users.root.token).request('GET', '/api/v1/tickets?limit=100');
		const row = res.body.tickets.find((t: Row) => t.id === ticketId);
		return row && Object.entries(fields).every(([name, value]) => row[name] === value);
	}, `the index to show the change of ${ticketId}`);
}

async function listAll(server: Server, token: string, query: string): Promise<Row[]> {
	const res = await api(server, token).request('GET', `/api/v1/tickets?limit=100&${query}`);
	expect(res.status).toBe(200);
	expect(res.body.next).toBeNull();
	return res.body.tickets;
}

/** Every page of a list, `limit` at a time, following `next`. */
async function listPaged(server: Server, token: string, query: string, limit: number): Promise<Row[]> {
	const rows: Row[] = [];
	let next: string | null = null;
	do {
		const res: { status: number; body: any } = await api(server, token).request('GET', `/api/v1/tickets?limit=${limit}&${query}${next ? `&cursor=${next}` : ''}`);
		expect(res.status).toBe(200);
		expect(res.body.tickets.length).toBeLessThanOrEqual(limit);
		rows.push(...res.body.tickets);
		next = res.body.next;
	} while (next);
	return rows;
}

interface EventStream {
	status: number;
	contentType: string | null;
	/** The rows of the `event: ticket` messages received so far. */
	readonly tickets: Row[];
	abort(): void;
}

/** Opens `GET /api/v1/stream` and collects its messages in the background. */
async function openStream(server: Server, token: string): Promise<EventStream> {
	const log = await openEvents(server.url + '/api/v1/stream', token);
	return {
		status: log.status,
		contentType: log.contentType,
		get tickets() {
			return log.events.filter((e) => e.name === 'ticket').map((e) => e.data as Row);
		},
		abort: log.close
	};
}

describe('views', () => {
	let server: RunningServer;
	let fx: Fixture;
	const ids: Record<string, string> = {};

	beforeAll(async () => {
		const dataDir = tempDataDir();
		fx = await prepare(dataDir, { users: USERS, bots: BOTS });
		server = await startServer({ dataDir });
		const { Billing, Technical } = fx.groups;
		const { ann, ben } = fx.users;
		const spec: Record<string, { channel: string; fields: Fields }> = {
			billingMine: { channel: 'email', fields: { groupId: Billing, assigneeId: ann.id, status: 'open' } },
			billingQueue: { channel: 'email', fields: { groupId: Billing } },
			technicalQueue: { channel: 'email', fields: { groupId: Technical, status: 'pending' } },
			noGroupChat: { channel: 'chat', fields: {} },
			technicalSolved: { channel: 'email', fields: { groupId: Technical, assigneeId: ben.id, status: 'solved' } },
			billingMineHold: { channel: 'chat', fields: { groupId: Billing, assigneeId: ann.id, status: 'hold' } },
			mineClosed: { channel: 'email', fields: { assigneeId: ann.id, status: 'closed' } },
			// Snoozed for a day by a peer: out of every view of work to do, in Snoozed.
			billingMineSnoozed: { channel: 'email', fields: { groupId: Billing, assigneeId: ann.id, status: 'open', snoozedUntil: Date.now() + 86_400_000 } }
		};
		for (const [name, { channel, fields }] of Object.entries(spec)) {
			const ticket = await createTicket(server, channel === 'chat' ? fx.tokens.chat.token : fx.tokens.mail.token, name, { channel });
			ids[ticket.id] = name;
			if (Object.keys(fields).length) await setFields(server, fx, ticket.id, fields);
		}
	});
	afterAll(async () => {
		await server?.stop();
	});

	const names = (rows: { id: string }[]) => rows.map((r) => ids[r.id]).sort();

	/** What each caller's views hold, by the names of the tickets created above. */
	const expected: Record<string, Record<(typeof VIEW_IDS)[number], string[]>> = {
		ann: {
			mine: ['billingMine', 'billingMineHold'],
			unassigned: ['billingQueue', 'noGroupChat'],
			open: ['billingMine', 'billingMineHold', 'billingQueue', 'noGroupChat'],
			pending: ['billingMineHold'],
			snoozed: ['billingMineSnoozed'],
			solved: ['mineClosed'],
			recent: ['billingMine', 'billingMineHold', 'billingMineSnoozed', 'billingQueue', 'mineClosed', 'noGroupChat']
		},
		root: {
			mine: [],
			unassigned: ['billingQueue', 'noGroupChat', 'technicalQueue'],
			open: ['billingMine', 'billingMineHold', 'billingQueue', 'noGroupChat', 'technicalQueue'],
			pending: ['billingMineHold', 'technicalQueue'],
			snoozed: ['billingMineSnoozed'],
			solved: ['mineClosed', 'technicalSolved'],
			recent: ['billingMine', 'billingMineHold', 'billingMineSnoozed', 'billingQueue', 'mineClosed', 'noGroupChat', 'technicalQueue', 'technicalSolved']
		},
		// A supervisor sees what an admin sees.
		get sue() {
			return this.root;
		}
	};

	for (const caller of ['ann', 'root', 'sue'] as const) {
		it(`counts and lists agree for ${USERS[caller].role} ${caller}`, async () => {
			const token = fx.users[caller].token;
			const res = await api(server, token).request('GET', '/api/v1/views');
			expect(res.status).toBe(200);
			expect(res.body.views.map((v: { id: string; name: string; description: string }) => [v.id, v.name, v.description])).toEqual(
				VIEW_IDS.map((id) => [id, VIEW_NAMES[id], VIEW_DESCRIPTIONS[id]])
			);
			for (const view of res.body.views as { id: (typeof VIEW_IDS)[number]; count: number }[]) {
				const listed = await listAll(server, token, `view=${view.id}`);
				expect(names(listed), `${caller}'s ${view.id}`).toEqual([...expected[caller][view.id]].sort());
				expect(view.count, `${caller}'s ${view.id} count`).toBe(listed.length);
			}
		});
	}

	it("keeps a bot to its channels and gives it no 'mine'", async () => {
		const token = fx.tokens.chat.token;
		const res = await api(server, token).request('GET', '/api/v1/views');
		const counts = Object.fromEntries(res.body.views.map((v: { id: string; count: number }) => [v.id, v.count]));
		expect(counts).toEqual({ mine: 0, unassigned: 1, open: 2, pending: 1, snoozed: 0, solved: 0, recent: 2 });
		expect(names(await listAll(server, token, 'view=pending'))).toEqual(['billingMineHold']);
	});

	it('combines a view with the other filters', async () => {
		const rows = await listAll(server, fx.users.root.token, `view=open&group=${fx.groups.Billing}`);
		expect(names(rows)).toEqual(['billingMine', 'billingMineHold', 'billingQueue']);
	});

	it('refuses an unknown view and needs a caller', async () => {
		const bad = await api(server, fx.users.root.token).request('GET', '/api/v1/tickets?view=everything');
		expect(bad.status).toBe(400);
		expect(bad.body.error).toMatchObject({ code: 'invalid_field', field: 'view' });
		expect((await api(server).request('GET', '/api/v1/views')).status).toBe(401);
	});
});

describe('the workspace API', () => {
	let server: RunningServer;
	let fx: Fixture;

	beforeAll(async () => {
		const dataDir = tempDataDir();
		fx = await prepare(dataDir, { users: USERS, bots: BOTS });
		server = await startServer({ dataDir });
	});
	afterAll(async () => {
		await server?.stop();
	});

	describe('sorting', () => {
		const rank = (row: Row) => PRIORITIES.indexOf(row.priority as (typeof PRIORITIES)[number]);
		const byKeys = (keys: (row: Row) => (number | string)[]) => (a: Row, b: Row) => {
			const [ka, kb] = [keys(a), keys(b)];
			for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] < kb[i] ? 1 : -1;
			return 0;
		};
		const orders = {
			updated: byKeys((r) => [r.updatedAt, r.id]),
			created: byKeys((r) => [r.createdAt, r.id]),
			priority: byKeys((r) => [rank(r), r.updatedAt, r.id])
		};

		beforeAll(async () => {
			const priorities = ['low', 'urgent', 'normal', 'high', 'urgent', 'low', 'normal', 'high', 'normal'];
			const created: Row[] = [];
			for (const [i, priority] of priorities.entries()) created.push(await createTicket(server, fx.tokens.mail.token, `Sorted ${i}`, { priority }));
			// The oldest tickets change last, so "updated" and "created" disagree.
			await setFields(server, fx, created[0].id, { status: 'open' });
			await setFields(server, fx, created[1].id, { status: 'open' });
		});

		for (const sort of ['updated', 'created', 'priority'] as const) {
			it(`sorts by ${sort} and pages through it with cursors`, async () => {
				const all = await listAll(server, fx.users.root.token, `q=Sorted&sort=${sort}`);
				expect(all).toHaveLength(9);
				expect(all.map((r) => r.subject)).toEqual([...all].sort(orders[sort]).map((r) => r.subject));
				for (const limit of [1, 2, 4]) {
					const paged = await listPaged(server, fx.users.root.token, `q=Sorted&sort=${sort}`, limit);
					expect(paged.map((r) => r.id)).toEqual(all.map((r) => r.id));
				}
			});
		}

		it('puts urgent first and low last, most recently updated first within a priority', async () => {
			const rows = await listAll(server, fx.users.root.token, 'q=Sorted&sort=priority');
			expect(rows.map((r) => r.priority)).toEqual(['urgent', 'urgent', 'high', 'high', 'normal', 'normal', 'normal', 'low', 'low']);
			expect(rows.at(-1)!.subject).toBe('Sorted 5'); // Sorted 0, also low, changed later
			const updated = await listAll(server, fx.users.root.token, 'q=Sorted&sort=updated');
			expect(updated.slice(0, 2).map((r) => r.subject)).toEqual(['Sorted 1', 'Sorted 0']);
			const created = await listAll(server, fx.users.root.token, 'q=Sorted&sort=created');
			expect(created.at(-1)!.subject).toBe('Sorted 0');
		});

		it("refuses a cursor from another sort, or one that isn't a cursor", async () => {
			const first = await api(server, fx.users.root.token).request('GET', '/api/v1/tickets?q=Sorted&sort=priority&limit=2');
			expect(first.body.next).toEqual(expect.any(String));
			for (const query of [`sort=created&cursor=${first.body.next}`, 'cursor=bm90IGpzb24', `sort=bogus`]) {
				const res = await api(server, fx.users.root.token).request('GET', `/api/v1/tickets?q=Sorted&${query}`);
				expect(res.status, query).toBe(400);
				expect(res.body.error.code).toBe('invalid_field');
			}
		});
	});

	describe('GET /api/v1/stream', () => {
		it('sends the rows of created and changed tickets to those who may see them, and nothing else', async () => {
			const ann = await openStream(server, fx.users.ann.token);
			const chatBot = await openStream(server, fx.tokens.chat.token);
			try {
				expect(ann.status).toBe(200);
				expect(ann.contentType).toBe('text/event-stream');
				const ticket = await createTicket(server, fx.tokens.mail.token, 'Live one');
				const created = await waitFor(() => ann.tickets.find((t) => t.id === ticket.id), 'the new ticket on the stream');
				expect(created).toMatchObject({ subject: 'Live one', status: 'new', channel: 'email', entryCount: 1 });

				await setFields(server, fx, ticket.id, { status: 'open', priority: 'high' });
				await waitFor(() => ann.tickets.find((t) => t.id === ticket.id && t.status === 'open' && t.priority === 'high'), 'the change on the stream');

				// Rows go to every stream in the order they are written: once the chat bot has the
				// chat ticket created after the email one, it would have had the email one too.
				const chat = await createTicket(server, fx.tokens.chat.token, 'Live chat', { channel: 'chat' });
				await waitFor(() => chatBot.tickets.find((t) => t.id === chat.id), 'the chat ticket on the bot stream');
				expect(chatBot.tickets.map((t) => t.channel)).toEqual(['chat']);
				await waitFor(() => ann.tickets.find((t) => t.id === chat.id), 'the groupless chat ticket for the agent');
			} finally {
				ann.abort();
				chatBot.abort();
			}
		});

		it('keeps an agent out of other groups’ tickets', async () => {
			const ben = await openStream(server, fx.users.ben.token);
			const ann = await openStream(server, fx.users.ann.token);
			try {
				const ticket = await createTicket(server, fx.tokens.mail.token, 'Billing only');
				await setFields(server, fx, ticket.id, { groupId: fx.groups.Billing });
				const marker = await createTicket(server, fx.tokens.mail.token, 'After billing');
				await waitFor(() => ben.tickets.find((t) => t.id === marker.id), 'the later ticket for ben');
				await waitFor(() => ann.tickets.find((t) => t.id === ticket.id && t.groupId === fx.groups.Billing), 'the billing change for ann');
				// Ben saw the ticket while it had no group, and nothing of it once it was Billing's.
				expect(ben.tickets.filter((t) => t.id === ticket.id).map((t) => t.groupId)).toEqual([null]);
			} finally {
				ben.abort();
				ann.abort();
			}
		});

		it('needs a caller', async () => {
			const res = await fetch(server.url + '/api/v1/stream');
			expect(res.status).toBe(401);
			expect((await res.json()).error.code).toBe('unauthorized');
		});

		it('keeps serving after many streams were opened and dropped', async () => {
			for (let i = 0; i < 20; i++) {
				const stream = await openStream(server, fx.users.root.token);
				expect(stream.status).toBe(200);
				stream.abort();
			}
			const live = await openStream(server, fx.users.root.token);
			try {
				const ticket = await createTicket(server, fx.tokens.mail.token, 'After the crowd');
				await waitFor(() => live.tickets.find((t) => t.id === ticket.id), 'the ticket on a fresh stream');
				expect((await fetch(server.url + '/healthz')).status).toBe(200);
			} finally {
				live.abort();
			}
		});
	});

	describe('GET /api/v1/customers/:id', () => {
		it("answers the customer with their addresses and the tickets the caller may see, newest first, at most 50", async () => {
			const email = 'many@example.com';
			const first = await createTicket(server, fx.tokens.mail.token, 'Customer ticket 0', { email });
			for (let i = 1; i <= 51; i++) await createTicket(server, fx.tokens.mail.token, `Customer ticket ${i}`, { email });
			const res = await api(server, fx.users.ann.token).request('GET', `/api/v1/customers/${first.requesterId}`);
			expect(res.status).toBe(200);
			expect(res.body).toMatchObject({ id: first.requesterId, name: 'Pat Customer', addresses: [{ channel: 'email', address: email }] });
			expect(res.body.tickets).toHaveLength(50);
			expect(Object.keys(res.body.tickets[0]).sort()).toEqual(['channel', 'id', 'number', 'status', 'subject', 'updatedAt']);
			expect(res.body.tickets[0].subject).toBe('Customer ticket 51');
			const times = res.body.tickets.map((t: Row) => t.updatedAt);
			expect(times).toEqual([...times].sort((a, b) => b - a));
			expect(res.body.tickets.map((t: Row) => t.subject)).not.toContain('Customer ticket 0');
		});

		it('lists only tickets the caller may see, and is a 404 to a caller who may see none of them', async () => {
			const ticket = await createTicket(server, fx.tokens.mail.token, 'Technical matter', { email: 'tech@example.com' });
			await setFields(server, fx, ticket.id, { groupId: fx.groups.Technical });
			const forBen = await api(server, fx.users.ben.token).request('GET', `/api/v1/customers/${ticket.requesterId}`);
			expect(forBen.body.tickets.map((t: Row) => t.id)).toEqual([ticket.id]);
			for (const token of [fx.users.ann.token, fx.tokens.chat.token]) {
				const hidden = await api(server, token).request('GET', `/api/v1/customers/${ticket.requesterId}`);
				expect([hidden.status, hidden.body.error?.code]).toEqual([404, 'not_found']);
			}
		});

		it('answers 404 for an unknown customer', async () => {
			const res = await api(server, fx.users.ann.token).request('GET', '/api/v1/customers/01JUNKNOWN000000000000000');
			expect(res.status).toBe(404);
			expect(res.body.error.code).toBe('not_found');
		});
	});

	describe('people', () => {
		it('lists users without any secret, and groups', async () => {
			const res = await api(server, fx.users.ann.token).request('GET', '/api/v1/users');
			expect(res.status).toBe(200);
			expect(res.body.users).toHaveLength(4);
			for (const user of res.body.users) expect(Object.keys(user).sort()).toEqual(['disabled', 'email', 'groupIds', 'id', 'name', 'role']);
			expect(res.body.users.find((u: { id: string }) => u.id === fx.users.ann.id)).toEqual({
				id: fx.users.ann.id,
				name: 'ann',
				email: 'ann@test.local',
				role: 'agent',
				groupIds: [fx.groups.Billing],
				disabled: false
			});
			expect(JSON.stringify(res.body)).not.toMatch(/password|argon2/i);

			const groups = await api(server, fx.users.sue.token).request('GET', '/api/v1/groups');
			expect(groups.status).toBe(200);
			expect(groups.body.groups).toEqual([
				{ id: fx.groups.Billing, name: 'Billing' },
				{ id: fx.groups.Technical, name: 'Technical' }
			]);
		});

		for (const path of ['/api/v1/users', '/api/v1/groups']) {
			it(`refuses bots (403) and strangers (401) on ${path}`, async () => {
				const bot = await api(server, fx.tokens.mail.token).request('GET', path);
				expect(bot.status).toBe(403);
				expect(bot.body.error.code).toBe('forbidden');
				expect((await api(server).request('GET', path)).status).toBe(401);
			});
		}
	});

	describe('macros', () => {
		const refund = { title: 'Refund issued', body: 'Your refund is on its way.', actions: { status: 'pending', addTags: ['refund'] } };

		it('lets an admin create, edit and delete macros, and every user list them by title', async () => {
			const admin = api(server, fx.users.root.token);
			const agent = api(server, fx.users.ann.token);
			expect((await agent.request('GET', '/api/v1/macros')).body).toEqual({ macros: [] });

			const created = await admin.request('POST', '/api/v1/macros', refund);
			expect(created.status).toBe(201);
			expect(created.body).toMatchObject({ ...refund, id: expect.any(String), createdBy: `user:${fx.users.root.id}` });
			expect(created.body.createdAt).toBe(created.body.updatedAt);
			for (const title of ['escalate', 'Ask for order number']) {
				expect((await admin.request('POST', '/api/v1/macros', { title, body: '', actions: { priority: 'high', visibility: 'internal' } })).status).toBe(201);
			}
			const listed = await agent.request('GET', '/api/v1/macros');
			expect(listed.body.macros.map((m: { title: string }) => m.title)).toEqual(['Ask for order number', 'escalate', 'Refund issued']);

			const edited = { title: '  Refund sent ', body: 'Refund sent today.', actions: { status: 'solved', priority: 'low', addTags: [' refund ', 'done'] } };
			const updated = await admin.request('PUT', `/api/v1/macros/${created.body.id}`, edited);
			expect(updated.status).toBe(200);
			expect(updated.body).toMatchObject({ id: created.body.id, title: 'Refund sent', body: 'Refund sent today.', actions: { status: 'solved', priority: 'low', addTags: ['refund', 'done'] } });
			expect(updated.body.updatedAt).toBeGreaterThanOrEqual(created.body.createdAt);

			const deleted = await admin.request('DELETE', `/api/v1/macros/${created.body.id}`);
			expect(deleted.status).toBe(204);
			const after = await agent.request('GET', '/api/v1/macros');
			expect(after.body.macros.map((m: { title: string }) => m.title)).toEqual(['Ask for order number', 'escalate']);
		});

		const unknown = '/api/v1/macros/01JUNKNOWN000000000000000';
		const refusals: { name: string; method: string; path: string; caller: 'ann' | 'sue' | 'root' | 'bot' | null; body?: unknown; status: number; code: string; field?: string }[] = [
			{ name: 'an agent creating', method: 'POST', path: '/api/v1/macros', caller: 'ann', body: refund, status: 403, code: 'forbidden' },
			{ name: 'a supervisor creating', method: 'POST', path: '/api/v1/macros', caller: 'sue', body: refund, status: 403, code: 'forbidden' },
			{ name: 'an agent editing', method: 'PUT', path: unknown, caller: 'ann', body: refund, status: 403, code: 'forbidden' },
			{ name: 'an agent deleting', method: 'DELETE', path: unknown, caller: 'ann', status: 403, code: 'forbidden' },
			{ name: 'a bot listing', method: 'GET', path: '/api/v1/macros', caller: 'bot', status: 403, code: 'forbidden' },
			{ name: 'a stranger listing', method: 'GET', path: '/api/v1/macros', caller: null, status: 401, code: 'unauthorized' },
			{ name: 'editing an unknown macro', method: 'PUT', path: unknown, caller: 'root', body: refund, status: 404, code: 'not_found' },
			{ name: 'deleting an unknown macro', method: 'DELETE', path: unknown, caller: 'root', status: 404, code: 'not_found' },
			{ name: 'no title', method: 'POST', path: '/api/v1/macros', caller: 'root', body: { ...refund, title: ' ' }, status: 400, code: 'invalid_field', field: 'title' },
			{ name: 'an unknown status', method: 'POST', path: '/api/v1/macros', caller: 'root', body: { ...refund, actions: { status: 'lost' } }, status: 400, code: 'invalid_field', field: 'actions.status' },
			{ name: 'an unknown priority', method: 'PUT', path: unknown, caller: 'root', body: { ...refund, actions: { priority: 'asap' } }, status: 400, code: 'invalid_field', field: 'actions.priority' },
			{ name: 'an empty tag', method: 'POST', path: '/api/v1/macros', caller: 'root', body: { ...refund, actions: { addTags: ['ok', ' '] } }, status: 400, code: 'invalid_field', field: 'actions.addTags.1' },
			{ name: 'an unknown action', method: 'POST', path: '/api/v1/macros', caller: 'root', body: { ...refund, actions: { assignTo: 'me' } }, status: 400, code: 'invalid_field', field: 'actions' },
			{ name: 'a placeholder that does not exist', method: 'POST', path: '/api/v1/macros', caller: 'root', body: { ...refund, body: 'Hi {{customer.name}}' }, status: 400, code: 'invalid_field', field: 'body' },
			{ name: 'a body over 64 KiB', method: 'POST', path: '/api/v1/macros', caller: 'root', body: { ...refund, body: 'x'.repeat(70_000) }, status: 413, code: 'payload_too_large', field: 'body' }
		];
		for (const c of refusals) {
			it(`${c.name} → ${c.status}`, async () => {
				const token = c.caller === 'bot' ? fx.tokens.chat.token : c.caller ? fx.users[c.caller].token : undefined;
				const before = await api(server, fx.users.root.token).request('GET', '/api/v1/macros');
				const res = await api(server, token).request(c.method, c.path, c.body);
				expect(res.status).toBe(c.status);
				expect(res.body.error.code).toBe(c.code);
				if (c.field) expect(res.body.error.field).toBe(c.field);
				expect((await api(server, fx.users.root.token).request('GET', '/api/v1/macros')).body).toEqual(before.body);
			});
		}
	});
});

describe('the stream in the server process', () => {
	it('unsubscribes when a client goes away', async () => {
		const dataDir = tempDataDir();
		const fx = await prepare(dataDir, { users: { ann: { role: 'agent' } }, bots: BOTS });
		const server = await startInProcess(dataDir);
		try {
			const { index } = server.services;
			// The services' own listeners (a parent told of its children) stay; each stream adds one and takes it away.
			const own = index.listenerCount();
			const streams = [];
			for (let i = 0; i < 20; i++) streams.push(await openStream(server, fx.users.ann.token));
			expect(index.listenerCount()).toBe(own + 20);
			for (const stream of streams) stream.abort();
			await waitFor(() => index.listenerCount() === own, 'every listener to be removed');

			const live = await openStream(server, fx.users.ann.token);
			expect(index.listenerCount()).toBe(own + 1);
			const ticket = await createTicket(server, fx.tokens.mail.token, 'Still live');
			await waitFor(() => live.tickets.find((t) => t.id === ticket.id), 'the ticket on the stream');
			live.abort();
			await waitFor(() => index.listenerCount() === own, 'the last listener to be removed');
		} finally {
			await server.close();
		}
	});
});

describe('demo macros', () => {
	it('are seeded with the demo data', async () => {
		const dataDir = tempDataDir();
		const services = await createServices(loadConfig({ DATA_DIR: dataDir, SEED: '1' }), createLogger('silent'));
		try {
			await seed(services);
			expect((await services.macros.list()).map((m) => m.title)).toEqual(DEMO_MACROS.map((m) => m.title).sort((a, b) => a.localeCompare(b)));
		} finally {
			await services.store.close();
		}
	});
});
