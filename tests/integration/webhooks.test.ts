/**
 * Messaging webhooks against a real server: signed messages in (POST /api/v1/channels/:id/webhook),
 * agents' replies out through the outbox to a local receiver (started here on a free port) that
 * answers 500 twice, then 200, and checks each request's signature.
 */
import { sql } from 'drizzle-orm';
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { countRows } from '../helpers/db';
import { prepare, type Fixture } from '../helpers/fixtures';
import { api, startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';

const DELIVERY_TIMEOUT = 30_000;

const hmac = (secret: string, timestamp: string, body: string) => createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');

interface Received {
	body: string;
	timestamp: string;
	signature: string;
	valid: boolean;
}

interface Receiver {
	url: string;
	/** Every request, in order, with the answer it got. */
	requests: (Received & { status: number })[];
	failNext: number;
	close(): Promise<void>;
}

async function startReceiver(secret: () => string): Promise<Receiver> {
	const receiver = { requests: [], failNext: 2 } as unknown as Receiver;
	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (chunk: Buffer) => chunks.push(chunk));
		req.on('end', () => {
			const body = Buffer.concat(chunks).toString('utf8');
			const timestamp = String(req.headers['x-tandem-timestamp'] ?? '');
			const signature = String(req.headers['x-tandem-signature'] ?? '');
			const expected = Buffer.from(`sha256=${hmac(secret(), timestamp, body)}`);
			const given = Buffer.from(signature);
			const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) <= 300;
			const valid = fresh && given.length === expected.length && timingSafeEqual(given, expected);
			let status = valid ? 200 : 401;
			if (valid && receiver.failNext > 0) {
				receiver.failNext--;
				status = 500;
			}
			receiver.requests.push({ body, timestamp, signature, valid, status });
			res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/outbound`;
	receiver.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
	return receiver;
}

describe('messaging webhooks', () => {
	let receiver: Receiver;
	let server: RunningServer;
	let fx: Fixture;
	let dataDir: string;
	let channel: { id: string; secret: string };

	const stored = async () => ({
		tickets: await countRows(dataDir, sql`SELECT count(*) AS n FROM tickets`),
		updates: await countRows(dataDir, sql`SELECT count(*) AS n FROM ticket_updates`),
		events: await countRows(dataDir, sql`SELECT count(*) AS n FROM webhook_events`),
		customers: await countRows(dataDir, sql`SELECT count(*) AS n FROM customers`)
	});

	/** POSTs `payload` (or a raw string) to the channel's webhook, signed unless told otherwise. */
	const post = async (
		payload: unknown,
		options: { secret?: string; timestamp?: number; unsigned?: boolean; signature?: string; channelId?: string } = {}
	) => {
		const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
		const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
		const headers: Record<string, string> = { 'content-type': 'application/json' };
		if (!options.unsigned) {
			headers['x-tandem-timestamp'] = timestamp;
			headers['x-tandem-signature'] = options.signature ?? `sha256=${hmac(options.secret ?? channel.secret, timestamp, body)}`;
		}
		const response = await fetch(`${server.url}/api/v1/channels/${options.channelId ?? channel.id}/webhook`, { method: 'POST', headers, body });
		return { status: response.status, body: (await response.json()) as any };
	};

	beforeAll(async () => {
		receiver = await startReceiver(() => channel.secret);
		dataDir = tempDataDir();
		fx = await prepare(dataDir, { users: { ann: { role: 'agent' } } });
		const created = await runCli(dataDir, 'channel', 'add', '--kind', 'messaging', '--name', 'web-widget', '--outbound-url', receiver.url, '--json');
		expect(created.code, created.stderr).toBe(0);
		channel = JSON.parse(created.stdout);
		expect(channel.id).toMatch(/^[0-9A-Z]{26}$/);
		expect(channel.secret.length).toBeGreaterThan(20);
		server = await startServer({ dataDir });
	});
	afterAll(async () => {
		await server?.kill();
		await receiver?.close();
	});

	let ticketId: string;

	it('lists the channel without its secret', async () => {
		const listed = await runCli(dataDir, 'channel', 'list', '--json');
		expect(listed.code).toBe(0);
		expect(listed.stdout).not.toContain(channel.secret);
		expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ id: channel.id, kind: 'messaging', name: 'web-widget', outboundUrl: receiver.url })]);
	});

	it('opens a ticket from a signed message, and threads the next one into it', async () => {
		const text = 'Hello, my parcel has not arrived and the tracking page has shown the same status for nine days now.';
		const first = await post({ eventId: 'evt-1', from: { id: 'visitor-42', name: 'Robin Park' }, text });
		expect(first.status).toBe(200);
		expect(first.body).toEqual({ ticketId: expect.any(String), entryId: expect.any(String) });
		ticketId = first.body.ticketId;
		const ann = api(server, fx.users.ann.token);
		const detail = await ann.request('GET', `/api/v1/tickets/${ticketId}`);
		expect(detail.status).toBe(200);
		expect(detail.body.subject).toBe(text.slice(0, 80));
		expect(detail.body.channel).toBe('messaging');
		expect(detail.body.entries).toEqual([
			expect.objectContaining({ id: first.body.entryId, kind: 'message', channel: 'messaging', direction: 'in', authorType: 'customer', body: text })
		]);
		const customer = await ann.request('GET', `/api/v1/customers/${detail.body.requesterId}`);
		expect(customer.body.name).toBe('Robin Park');
		expect(customer.body.addresses).toEqual([{ channel: 'messaging', address: 'visitor-42' }]);

		const second = await post({ eventId: 'evt-2', from: { id: 'visitor-42' }, text: 'Any news?', sentAt: Date.now() });
		expect(second.status).toBe(200);
		expect(second.body.ticketId).toBe(ticketId);
		const after = await ann.request('GET', `/api/v1/tickets/${ticketId}`);
		expect(after.body.entries.map((e: { body: string }) => e.body)).toEqual([text, 'Any news?']);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM tickets`)).toBe(1);
	});

	it('refuses a forged signature, a missing one and a stale timestamp with 401, storing nothing', async () => {
		const before = await stored();
		const message = { eventId: 'evt-bad', from: { id: 'mallory' }, text: 'Let me in' };
		const forged = await post(message, { secret: 'whsec_not-the-secret' });
		expect(forged.status).toBe(401);
		expect(forged.body.error.code).toBe('unauthorized');
		expect((await post(message, { unsigned: true })).status).toBe(401);
		expect((await post(message, { signature: 'sha256=zz' })).status).toBe(401);
		expect((await post(message, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 })).status).toBe(401);
		expect((await post(message, { timestamp: Math.floor(Date.now() / 1000) + 6 * 60 })).status).toBe(401);
		expect(await stored()).toEqual(before);
		// The event id was not burnt: signed properly, it goes through.
		expect((await post(message)).body.ticketId).toEqual(expect.any(String));
	});

	it('processes a repeated event id once', async () => {
		const message = { eventId: 'evt-repeat', from: { id: 'visitor-42' }, text: 'Only once, please.' };
		const first = await post(message);
		expect(first.status).toBe(200);
		expect(first.body.ticketId).toBe(ticketId);
		const before = await stored();
		const [again, concurrent] = await Promise.all([post(message), post(message)]);
		expect(again).toEqual({ status: 200, body: { duplicate: true } });
		expect(concurrent).toEqual({ status: 200, body: { duplicate: true } });
		expect(await stored()).toEqual(before);
		const detail = await api(server, fx.users.ann.token).request('GET', `/api/v1/tickets/${ticketId}`);
		expect(detail.body.entries.filter((e: { body: string }) => e.body === 'Only once, please.')).toHaveLength(1);
	});

	it('answers 400 naming the field for an invalid body', async () => {
		const before = await stored();
		const missing = await post({ eventId: 'evt-400', from: {}, text: 'x' });
		expect(missing.status).toBe(400);
		expect(missing.body.error).toMatchObject({ code: 'invalid_field', field: 'from.id' });
		const noText = await post({ eventId: 'evt-401', from: { id: 'v' } });
		expect(noText.body.error.field).toBe('text');
		expect((await post('{not json')).status).toBe(400);
		expect(await stored()).toEqual(before);
	});

	it("delivers an agent's messaging reply to the receiver exactly once after its 500s, signed", async () => {
		const ann = api(server, fx.users.ann.token);
		const reply = await ann.request('POST', `/api/v1/tickets/${ticketId}/entries`, {
			kind: 'message',
			channel: 'messaging',
			visibility: 'public',
			body: 'It left our warehouse this morning.'
		});
		expect(reply.status).toBe(201);
		const entryId = reply.body.id as string;
		const deliveries = async () => (await ann.request('GET', `/api/v1/tickets/${ticketId}/deliveries`)).body.deliveries;
		await waitFor(async () => (await deliveries())[entryId]?.status === 'sent', `delivery of ${entryId}`, DELIVERY_TIMEOUT);
		expect(receiver.requests.map((r) => r.status)).toEqual([500, 500, 200]);
		expect(receiver.requests.every((r) => r.valid)).toBe(true);
		const accepted = receiver.requests.filter((r) => r.status === 200);
		expect(accepted).toHaveLength(1);
		expect(JSON.parse(accepted[0]!.body)).toEqual({ eventId: entryId, to: { id: 'visitor-42' }, text: 'It left our warehouse this morning.', ticketId });
		expect((await deliveries())[entryId]).toMatchObject({ status: 'sent', attempts: 3 });
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM outbox WHERE entry_id = ${entryId} AND kind = 'webhook'`)).toBe(1);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM events WHERE type = 'webhook.sent' AND ticket_id = ${ticketId}`)).toBe(1);
		// A retried POST of the same entry enqueues nothing more; notes are never sent.
		const again = await ann.request('POST', `/api/v1/tickets/${ticketId}/entries`, { id: entryId, kind: 'message', channel: 'messaging', visibility: 'public', body: 'x' });
		expect(again.status).toBe(200);
		const note = await ann.request('POST', `/api/v1/tickets/${ticketId}/entries`, { kind: 'note', channel: 'internal', body: 'Check the carrier.' });
		expect(note.status).toBe(201);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM outbox WHERE ticket_id = ${ticketId}`)).toBe(1);
		expect(receiver.requests.filter((r) => r.status === 200)).toHaveLength(1);
	});
});
