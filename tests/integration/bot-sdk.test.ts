/**
 * The bot SDK (src/lib/bot) against a real server: HTTP calls, idempotent appends, typed errors,
 * live documents with acknowledged appends, entry listeners and refusals.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LiveTicket, TandemApiError, TandemBot, TandemRefusedError, type Ticket } from '../../src/lib/bot';
import { DuplicateEntryError, newId, type Entry } from '../../src/lib/ticket';
import { prepare, type Fixture } from '../helpers/fixtures';
import { startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';

let server: RunningServer;
let fx: Fixture;
const bots: TandemBot[] = [];

beforeAll(async () => {
	const dataDir = tempDataDir('tandem-bot-sdk-');
	fx = await prepare(dataDir, { bots: { mailer: ['email'] } });
	server = await startServer({ dataDir });
});
afterEach(() => {
	for (const bot of bots.splice(0)) bot.close();
});
afterAll(async () => {
	await server?.stop();
});

function bot(): TandemBot {
	const created = new TandemBot({ url: server.url, token: fx.tokens.mailer.token, retryDelayMs: 10 });
	bots.push(created);
	return created;
}

const createTicket = (client: TandemBot): Promise<Ticket> =>
	client.createTicket({
		subject: 'Where is my order?',
		requester: { email: `ana+${newId().toLowerCase()}@example.com`, name: 'Ana' },
		channel: 'email',
		body: 'It has been two weeks.'
	});

const customerMessage = (ticket: Ticket, body: string): Entry => ({
	id: newId(),
	kind: 'message',
	channel: 'email',
	direction: 'in',
	visibility: 'public',
	authorType: 'customer',
	authorId: ticket.requesterId,
	body,
	createdAt: Date.now()
});

describe('HTTP', () => {
	it('creates, reads and lists tickets', async () => {
		const client = bot();
		const ticket = await createTicket(client);
		expect(ticket).toMatchObject({ subject: 'Where is my order?', channel: 'email', entryCount: 1 });
		expect(ticket.entries[0]).toMatchObject({ authorType: 'customer', body: 'It has been two weeks.' });
		expect((await client.getTicket(ticket.id)).entries).toEqual(ticket.entries);
		const list = await client.listTickets({ q: 'order', limit: 100 });
		expect(list.tickets.map((t) => t.id)).toContain(ticket.id);
	});

	it('appends an entry once whatever the number of sends with its id', async () => {
		const client = bot();
		const ticket = await createTicket(client);
		const entry = { id: newId(), kind: 'message', channel: 'email', visibility: 'public', body: 'We are on it.' } as const;
		const first = await client.appendEntry(ticket.id, entry);
		expect(first.created).toBe(true);
		expect(first.entry).toMatchObject({ id: entry.id, authorType: 'bot', authorId: fx.tokens.mailer.id, body: 'We are on it.' });
		const again = await client.appendEntry(ticket.id, entry);
		expect(again).toEqual({ entry: first.entry, created: false });
		const stored = (await client.getTicket(ticket.id)).entries.filter((e) => e.id === entry.id);
		expect(stored).toHaveLength(1);
	});

	it('throws a TandemApiError with the code and field of a 4xx, without retrying', async () => {
		const client = bot();
		const ticket = await createTicket(client);
		const error = await client.appendEntry(ticket.id, { channel: 'fax' as never, body: 'x' }).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(TandemApiError);
		expect(error).toMatchObject({ status: 400, code: 'invalid_field', field: 'channel' });
		await expect(client.getTicket(newId())).rejects.toMatchObject({ status: 404, code: 'not_found' });
		expect((await client.getTicket(ticket.id)).entryCount).toBe(1);
	});
});

describe('retries', () => {
	/** A stand-in server that answers the given statuses in turn and records each request body. */
	async function scripted(statuses: number[]) {
		const bodies: { id: string }[] = [];
		const fake = http.createServer((req, res) => {
			let text = '';
			req.on('data', (chunk) => (text += chunk));
			req.on('end', () => {
				bodies.push(JSON.parse(text));
				const status = statuses[Math.min(bodies.length, statuses.length) - 1];
				res.writeHead(status, { 'content-type': 'application/json' });
				res.end(JSON.stringify(status < 300 ? bodies.at(-1) : { error: { code: status < 500 ? 'invalid_field' : 'storage_unavailable', message: 'no', field: 'body' } }));
			});
		});
		await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
		const client = new TandemBot({ url: `http://127.0.0.1:${(fake.address() as AddressInfo).port}`, token: 'x', retryDelayMs: 1, maxAttempts: 3 });
		return { client, bodies, close: () => new Promise((resolve) => (fake.closeAllConnections(), fake.close(resolve))) };
	}

	it('retries a 5xx with the same id, within bounded attempts, and never a 4xx', async () => {
		const flaky = await scripted([503, 503, 201]);
		const { created } = await flaky.client.appendEntry('T', { channel: 'email', body: 'hi' });
		expect(created).toBe(true);
		expect(flaky.bodies).toHaveLength(3);
		expect(new Set(flaky.bodies.map((b) => b.id)).size).toBe(1);
		await flaky.close();

		const down = await scripted([503]);
		await expect(down.client.appendEntry('T', { channel: 'email', body: 'hi' })).rejects.toMatchObject({ status: 503, code: 'storage_unavailable' });
		expect(down.bodies).toHaveLength(3);
		await down.close();

		const invalid = await scripted([400]);
		await expect(invalid.client.appendEntry('T', { channel: 'email', body: 'hi' })).rejects.toMatchObject({ status: 400, code: 'invalid_field', field: 'body' });
		expect(invalid.bodies).toHaveLength(1);
		await invalid.close();
	});
});

describe('live tickets', () => {
	it('an append resolves once acknowledged and another peer sees it', async () => {
		const writer = bot();
		const ticket = await createTicket(writer);
		const observer = bot().open(ticket.id);
		await observer.ready();
		const seen: Entry[] = [];
		observer.onEntries((entries, info) => {
			expect(info.local).toBe(false);
			seen.push(...entries);
		});

		const live = writer.open(ticket.id);
		await live.ready();
		expect(live.entries().map((e) => e.id)).toEqual(ticket.entries.map((e) => e.id));
		const message = customerMessage(ticket, 'Any news?');
		await live.append(message);
		// Acknowledged means durable: it is in the ticket as the HTTP API reads it.
		expect((await writer.getTicket(ticket.id)).entries.map((e) => e.id)).toContain(message.id);
		await waitFor(() => seen.some((e) => e.id === message.id), 'the entry at the observer');
		expect(seen).toEqual([message]);
		expect(observer.entries().at(-1)).toEqual(message);

		await expect(live.append(message)).rejects.toBeInstanceOf(DuplicateEntryError);
	});

	it('watch reports new entries, HTTP appends included', async () => {
		const client = bot();
		const ticket = await createTicket(client);
		const seen: Entry[] = [];
		const live: LiveTicket = await client.watch(ticket.id, (entry) => seen.push(entry));
		const { entry } = await client.appendEntry(ticket.id, { channel: 'email', body: 'Thanks, looking into it.' });
		await waitFor(() => seen.some((e) => e.id === entry.id), 'the HTTP entry at the watcher');
		expect(seen.map((e) => e.id)).toEqual([entry.id]);
		live.close();
	});

	it('an append the server refuses rejects with its reason', async () => {
		const client = bot();
		const ticket = await createTicket(client);
		const live = client.open(ticket.id);
		await live.ready();
		const outOfScope: Entry = { ...customerMessage(ticket, 'Relayed from chat'), channel: 'chat', authorType: 'bot', authorId: fx.tokens.mailer.id, direction: 'out' };
		const error = await live.append(outOfScope).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(TandemRefusedError);
		expect(error).toMatchObject({ reason: 'forbidden-author' });
		expect((await client.getTicket(ticket.id)).entries.map((e) => e.id)).not.toContain(outOfScope.id);
	});
});
