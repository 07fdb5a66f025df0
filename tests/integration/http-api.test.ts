import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storedCounts } from '../helpers/db';
import { prepare, type Fixture } from '../helpers/fixtures';
import { api, connectPeer, startServer, tempDataDir, type RunningServer } from '../helpers/server';

let server: RunningServer;
let fx: Fixture;
let ticketId: string;

const newTicket = { subject: 'Cannot log in', requester: { email: 'lee@example.com', name: 'Lee' }, channel: 'email', body: 'Password reset mail never arrives.' };

beforeAll(async () => {
	const dataDir = tempDataDir();
	fx = await prepare(dataDir, {
		users: { ann: { role: 'agent', groups: ['Billing'] }, sue: { role: 'supervisor' }, root: { role: 'admin' } },
		bots: { mail: ['email'], chat: ['chat'], revoked: ['email'] }
	});
	server = await startServer({ dataDir });
	const created = await api(server, fx.tokens.mail.token).request('POST', '/api/v1/tickets', newTicket);
	ticketId = created.body.id;
});
afterAll(async () => {
	await server?.stop();
});

describe('POST /api/v1/tickets', () => {
	it('creates a ticket with its first entry and finds the customer again', async () => {
		const res = await api(server, fx.tokens.mail.token).request('POST', '/api/v1/tickets', { ...newTicket, subject: 'Second issue' });
		expect(res.status).toBe(201);
		expect(res.body).toMatchObject({ subject: 'Second issue', status: 'new', channel: 'email', entryCount: 1 });
		expect(res.body.entries[0]).toMatchObject({ kind: 'message', direction: 'in', authorType: 'customer', body: newTicket.body });
		const first = await api(server, fx.tokens.mail.token).request('GET', `/api/v1/tickets/${ticketId}`);
		expect(res.body.requesterId).toBe(first.body.requesterId);
	});
});

describe('GET /api/v1/tickets', () => {
	it('lists with filters and cursor pagination', async () => {
		const client = api(server, fx.users.root.token);
		for (let i = 0; i < 4; i++) await client.request('POST', '/api/v1/tickets', { ...newTicket, subject: `Paged ${i}` });
		const seen: string[] = [];
		let next: string | null = null;
		do {
			const res: { status: number; body: any } = await client.request('GET', `/api/v1/tickets?q=Paged&limit=3${next ? `&cursor=${next}` : ''}`);
			expect(res.status).toBe(200);
			seen.push(...res.body.tickets.map((t: { subject: string }) => t.subject));
			next = res.body.next;
		} while (next);
		expect(seen.sort()).toEqual(['Paged 0', 'Paged 1', 'Paged 2', 'Paged 3']);
		const byStatus = await client.request('GET', '/api/v1/tickets?status=solved');
		expect(byStatus.body.tickets).toEqual([]);
	});

	it('shows a bot only the tickets of its channels', async () => {
		const res = await api(server, fx.tokens.chat.token).request('GET', '/api/v1/tickets');
		expect(res.status).toBe(200);
		expect(res.body.tickets).toEqual([]);
	});
});

describe('bad input gets its status and stores nothing', () => {
	const cases: { name: string; method: string; path: () => string; token?: () => string | undefined; body?: unknown; raw?: string; status: number; code: string; field?: string }[] = [
		{ name: 'bad JSON', method: 'POST', path: () => '/api/v1/tickets', raw: '{"subject": ', status: 400, code: 'bad_json' },
		{ name: 'unknown channel', method: 'POST', path: () => '/api/v1/tickets', body: { ...newTicket, channel: 'fax' }, status: 400, code: 'invalid_field', field: 'channel' },
		{ name: 'invalid requester email', method: 'POST', path: () => '/api/v1/tickets', body: { ...newTicket, requester: { email: 'nope' } }, status: 400, code: 'invalid_field', field: 'requester.email' },
		{ name: 'missing subject', method: 'POST', path: () => '/api/v1/tickets', body: { ...newTicket, subject: undefined }, status: 400, code: 'invalid_field', field: 'subject' },
		{ name: 'unknown key', method: 'POST', path: () => '/api/v1/tickets', body: { ...newTicket, admin: true }, status: 400, code: 'invalid_field' },
		{ name: 'entry with unknown kind', method: 'POST', path: () => `/api/v1/tickets/${ticketId}/entries`, body: { channel: 'email', body: 'x', kind: 'shout' }, status: 400, code: 'invalid_field', field: 'kind' },
		{ name: 'entry dated two days ago', method: 'POST', path: () => `/api/v1/tickets/${ticketId}/entries`, body: { channel: 'email', body: 'x', createdAt: Date.now() - 2 * 86_400_000 }, status: 400, code: 'invalid_field', field: 'createdAt' },
		{ name: 'entry as system', method: 'POST', path: () => `/api/v1/tickets/${ticketId}/entries`, body: { channel: 'email', body: 'x', authorType: 'system' }, status: 403, code: 'forbidden' },
		{ name: 'entry on a channel outside the token scope', method: 'POST', path: () => `/api/v1/tickets/${ticketId}/entries`, body: { channel: 'chat', body: 'x' }, status: 403, code: 'forbidden' },
		{ name: 'no token', method: 'POST', path: () => '/api/v1/tickets', token: () => undefined, body: newTicket, status: 401, code: 'unauthorized' },
		{ name: 'wrong token', method: 'POST', path: () => '/api/v1/tickets', token: () => 'tdm_notatoken', body: newTicket, status: 401, code: 'unauthorized' },
		{ name: 'bot creating on another channel', method: 'POST', path: () => '/api/v1/tickets', token: () => fx.tokens.chat.token, body: newTicket, status: 403, code: 'forbidden' },
		{ name: 'supervisor writing', method: 'POST', path: () => `/api/v1/tickets/${ticketId}/entries`, token: () => fx.users.sue.token, body: { channel: 'email', body: 'x' }, status: 403, code: 'forbidden' },
		{ name: 'bot reading a ticket of another channel', method: 'GET', path: () => `/api/v1/tickets/${ticketId}`, token: () => fx.tokens.chat.token, status: 404, code: 'not_found' },
		{ name: 'unknown ticket', method: 'POST', path: () => '/api/v1/tickets/01JUNKNOWN000000000000000/entries', body: { channel: 'email', body: 'x' }, status: 404, code: 'not_found' },
		{ name: 'entry body over 64 KiB', method: 'POST', path: () => `/api/v1/tickets/${ticketId}/entries`, body: { channel: 'email', body: '€'.repeat(22_000) }, status: 413, code: 'payload_too_large', field: 'body' },
		{ name: 'request over 1 MiB', method: 'POST', path: () => '/api/v1/tickets', raw: JSON.stringify({ ...newTicket, body: 'x'.repeat(1_100_000) }), status: 413, code: 'payload_too_large' },
		{ name: 'bad cursor', method: 'GET', path: () => '/api/v1/tickets?cursor=zzz', status: 400, code: 'invalid_field', field: 'cursor' },
		{ name: 'bad status filter', method: 'GET', path: () => '/api/v1/tickets?status=lost', status: 400, code: 'invalid_field', field: 'status' }
	];

	for (const c of cases) {
		it(`${c.name} → ${c.status}`, async () => {
			const before = await storedCounts(server.dataDir);
			const token = c.token ? c.token() : fx.tokens.mail.token;
			const res = await api(server, token).request(c.method, c.path(), c.body, { raw: c.raw });
			expect(res.status).toBe(c.status);
			expect(res.body.error.code).toBe(c.code);
			expect(typeof res.body.error.message).toBe('string');
			if (c.field) expect(res.body.error.field).toBe(c.field);
			expect(await storedCounts(server.dataDir)).toEqual(before);
		});
	}
});

describe('websocket access', () => {
	it('refuses a document that is not a known ticket, naming the reason', async () => {
		await expect(connectPeer(server, '01JUNKNOWN000000000000000', fx.users.root.token)).rejects.toThrow('unknown-document');
	});

	it('refuses a connection without a valid token', async () => {
		await expect(connectPeer(server, ticketId, 'tdm_bogus')).rejects.toThrow('unauthorized');
	});

	it('refuses a bot outside its channels', async () => {
		await expect(connectPeer(server, ticketId, fx.tokens.chat.token)).rejects.toThrow('forbidden');
	});
});

describe('operations', () => {
	it('answers /healthz, a sole process leading', async () => {
		const res = await fetch(server.url + '/healthz');
		expect(res.status).toBe(200);
		expect(await res.json()).toEqual({
			status: 'ok',
			engine: process.env.TANDEM_TEST_ENGINE === 'postgres' ? 'postgres' : 'sqlite',
			database: 'ok',
			role: 'leader',
			node: expect.stringMatching(/.+-\d+-[0-9a-f]{8}$/)
		});
	});
});
