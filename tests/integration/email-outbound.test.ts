/**
 * Outbound email through the outbox, against real processes: the Tandem server sends agents'
 * public email replies to a local SMTP relay (smtp-server, started here on a free port) that
 * refuses the first deliveries with 451; what the relay accepted is parsed and checked.
 */
import { sql } from 'drizzle-orm';
import fs from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendEntries, newId, type Entry } from '../../src/lib/ticket';
import { countRows, withStore } from '../helpers/db';
import { acceptedOf, deliveriesOf, messageIdOf, startRelay, type Relay } from '../helpers/relay';
import { prepare, type Fixture } from '../helpers/fixtures';
import { SupportAddresses } from '../../server/channels/support-addresses';
import { api, connectPeer, type Peer, type RunningServer, smtpPort, startServer, tempDataDir, waitFor } from '../helpers/server';

const SUPPORT = 'support@tandem.local';


function agentEntry(authorId: string, body: string, shape: Partial<Entry> = {}): Entry {
	return {
		id: newId(),
		kind: 'message',
		channel: 'email',
		direction: 'out',
		visibility: 'public',
		authorType: 'agent',
		authorId,
		body,
		createdAt: Date.now(),
		...shape
	} as Entry;
}

describe('outbound email through the relay', () => {
	let relay: Relay;
	let server: RunningServer;
	let fx: Fixture;
	let dataDir: string;
	let ticketId: string;
	let ticketNumber: number;
	const peers: Peer[] = [];

	// Retries after 100 ms, 200 ms… rather than 1 s, 2 s…: what is proven is that they happen.
	const boot = () => startServer({ dataDir, env: { SMTP_RELAY_URL: `smtp://127.0.0.1:${relay.port}`, OUTBOX_RETRY_MS: '100' } });
	const ann = () => api(server, fx.users.ann.token);
	const deliveredOf = (entryId: string) => acceptedOf(relay, entryId);
	const deliveries = () => deliveriesOf(server, fx.users.ann.token, ticketId).read();
	const reply = async (body: string, extra: Record<string, unknown> = {}) => {
		const res = await ann().request('POST', `/api/v1/tickets/${ticketId}/entries`, { kind: 'message', channel: 'email', visibility: 'public', body, ...extra });
		expect(res.status).toBe(201);
		return res.body as Entry;
	};
	/** Waits until the relay accepted `entryId`'s message and the outbox marked it sent. */
	const delivered = (entryId: string) => deliveriesOf(server, fx.users.ann.token, ticketId).delivered(relay, entryId);

	beforeAll(async () => {
		relay = await startRelay();
		dataDir = tempDataDir();
		fx = await prepare(dataDir, { users: { ann: { role: 'agent' } }, bots: { mail: ['email'] } });
		server = await boot();
		const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort(server), secure: false, ignoreTLS: true });
		await transport.sendMail({ from: 'Val Jones <val@example.com>', to: SUPPORT, subject: 'Broken order', text: 'Order 7 arrived broken.', messageId: '<c1@example.com>' });
		transport.close();
		const list = await api(server, fx.tokens.mail.token).request('GET', '/api/v1/tickets?limit=10');
		({ id: ticketId, number: ticketNumber } = list.body.tickets.find((t: { subject: string }) => t.subject === 'Broken order'));
	});
	afterAll(async () => {
		for (const peer of peers) peer.destroy();
		await server?.kill();
		await relay?.close();
	});

	it("delivers an agent's public email reply over HTTP exactly once, after the relay's 451s, with threading headers", async () => {
		relay.failNext = 2;
		const entry = await reply('We are sending a new one today.');
		const got = await delivered(entry.id);
		expect(got).toHaveLength(1);
		expect(relay.refused).toBe(2);
		const { mail, rcptTo } = got[0]!;
		expect(rcptTo).toEqual(['val@example.com']);
		expect(mail.to && !Array.isArray(mail.to) ? mail.to.value[0]!.address : null).toBe('val@example.com');
		expect(mail.from!.value[0]!.address).toBe(SUPPORT);
		expect(mail.replyTo!.value[0]!.address!.toLowerCase()).toBe(`support+${ticketId}@tandem.local`.toLowerCase());
		expect(mail.subject).toBe(`Re: Broken order [#${ticketNumber}]`);
		expect(mail.messageId).toBe(messageIdOf(entry.id));
		expect(mail.inReplyTo).toBe('<c1@example.com>');
		expect(mail.text?.trim()).toBe('We are sending a new one today.');

		const state = (await deliveries())[entry.id]!;
		expect(state).toMatchObject({ status: 'sent', attempts: 3 });
		expect(typeof state.sentAt).toBe('number');
		// Recorded for threading, and as an event.
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM email_messages WHERE message_id = ${messageIdOf(entry.id)} AND ticket_id = ${ticketId}`)).toBe(1);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM events WHERE type = 'email.sent' AND ticket_id = ${ticketId}`)).toBe(1);
		// A retried POST with the same id sends nothing more.
		const again = await ann().request('POST', `/api/v1/tickets/${ticketId}/entries`, { id: entry.id, kind: 'message', channel: 'email', visibility: 'public', body: 'x' });
		expect(again.status).toBeLessThan(300);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM outbox WHERE entry_id = ${entry.id}`)).toBe(1);
	});

	it('delivers a reply written over the websocket', async () => {
		const peer = await connectPeer(server, ticketId, fx.users.ann.token);
		peers.push(peer);
		const entry = agentEntry(fx.users.ann.id, 'Written live in the workspace.');
		appendEntries(peer.doc, [entry]);
		await peer.acknowledged();
		const got = await delivered(entry.id);
		expect(got).toHaveLength(1);
		expect(got[0]!.rcptTo).toEqual(['val@example.com']);
		expect(got[0]!.mail.text?.trim()).toBe('Written live in the workspace.');
	});

	it('does not email internal notes or chat replies', async () => {
		const note = await ann().request('POST', `/api/v1/tickets/${ticketId}/entries`, { kind: 'note', channel: 'internal', body: 'Check the warehouse.' });
		expect(note.status).toBe(201);
		const chat = await reply('On chat, not by mail.', { channel: 'chat' });
		const peer = peers[0]!;
		const internal = agentEntry(fx.users.ann.id, 'Internal email-channel message', { visibility: 'internal', direction: undefined });
		delete (internal as Partial<Entry>).direction;
		appendEntries(peer.doc, [internal]);
		await peer.acknowledged();
		// A public email reply after them, as a barrier: once it is delivered, the others had their turn.
		const barrier = await reply('The barrier.');
		await delivered(barrier.id);
		for (const id of [note.body.id, chat.id, internal.id]) {
			expect(deliveredOf(id)).toHaveLength(0);
			expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM outbox WHERE entry_id = ${id}`)).toBe(0);
		}
		const shown = await deliveries();
		expect(Object.keys(shown)).not.toContain(note.body.id);
		expect(shown[barrier.id]?.status).toBe('sent');
	});

	it('threads the customer\'s answer to a sent reply into the ticket', async () => {
		const [sent] = Object.entries(await deliveries()).filter(([, d]) => d.status === 'sent');
		const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort(server), secure: false, ignoreTLS: true });
		await transport.sendMail({ from: 'val@example.com', to: SUPPORT, subject: 'Thanks', text: 'Thank you!', inReplyTo: messageIdOf(sent![0]) });
		transport.close();
		const detail = await ann().request('GET', `/api/v1/tickets/${ticketId}`);
		expect(detail.body.entries.map((e: Entry) => e.body)).toContain('Thank you!');
	});

	it('delivers a reply acknowledged just before SIGKILL exactly once after a restart', async () => {
		relay.refuseAll = true;
		const entry = await reply('Sent right before the crash.');
		await server.kill();
		expect(deliveredOf(entry.id)).toHaveLength(0);
		relay.refuseAll = false;
		server = await boot();
		const got = await delivered(entry.id);
		expect(got).toHaveLength(1);
		expect(got[0]!.mail.inReplyTo).toBeDefined();
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM outbox WHERE entry_id = ${entry.id} AND status = 'sent'`)).toBe(1);
	});
});

describe('outbound email without a relay', () => {
	let server: RunningServer;

	afterAll(async () => {
		if (server) expect(await server.stop()).toBe(0);
	});

	it('writes the message as an .eml file to DATA_DIR/mail/outbox', async () => {
		const dataDir = tempDataDir();
		const fx = await prepare(dataDir, { users: { ann: { role: 'agent' } }, bots: { mail: ['email'] } });
		server = await startServer({ dataDir });
		const created = await api(server, fx.tokens.mail.token).request('POST', '/api/v1/tickets', {
			subject: 'Invoice copy',
			requester: { email: 'kim@example.com', name: 'Kim' },
			channel: 'email',
			body: 'Please send my invoice.'
		});
		expect(created.status).toBe(201);
		const ticketId = created.body.id as string;
		const res = await api(server, fx.users.ann.token).request('POST', `/api/v1/tickets/${ticketId}/entries`, {
			kind: 'message',
			channel: 'email',
			visibility: 'public',
			body: 'Attached to this mail, soon.'
		});
		expect(res.status).toBe(201);
		const file = path.join(dataDir, 'mail', 'outbox', `${res.body.id}.eml`);
		await waitFor(() => fs.existsSync(file), 'the .eml file');
		const mail = await simpleParser(fs.readFileSync(file));
		expect(mail.messageId).toBe(messageIdOf(res.body.id));
		expect(mail.to && !Array.isArray(mail.to) ? mail.to.value[0]!.address : null).toBe('kim@example.com');
		expect(mail.subject).toBe(`Re: Invoice copy [#${created.body.number}]`);
		expect(mail.inReplyTo).toBeUndefined();
		expect(mail.text?.trim()).toBe('Attached to this mail, soon.');
		// The file is written first, then its row marked sent: the mark may be a moment behind.
		const delivery = async () => (await api(server, fx.users.ann.token).request('GET', `/api/v1/tickets/${ticketId}/deliveries`)).body.deliveries[res.body.id];
		await waitFor(async () => (await delivery())?.status === 'sent', 'the delivery marked sent');
		expect(await delivery()).toMatchObject({ status: 'sent', attempts: 1 });
		expect(fs.readdirSync(path.dirname(file)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
	});

	it('takes mail for an added support address into its group, and replies from that address', async () => {
		const dataDir = tempDataDir();
		const fx = await prepare(dataDir, { users: { ann: { role: 'agent', groups: ['Billing'] } }, bots: { mail: ['email'] } });
		await withStore(dataDir, (store) => new SupportAddresses(store, SUPPORT).add({ address: 'Billing@Tandem.local', name: 'Billing', groupId: fx.groups.Billing! }));
		server = await startServer({ dataDir });
		const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort(server), secure: false, ignoreTLS: true });
		try {
			await transport.sendMail({ from: 'kim@example.com', to: 'billing@tandem.local', subject: 'Double charge', text: 'Charged twice.', messageId: '<b1@example.com>' });
			const unknown = await transport.sendMail({ from: 'kim@example.com', to: 'sales@tandem.local', subject: 'x', text: 'x' }).catch((e: Error & { responseCode?: number }) => e);
			expect((unknown as { responseCode?: number }).responseCode).toBe(550);
			const list = await api(server, fx.tokens.mail.token).request('GET', '/api/v1/tickets?limit=10');
			const created = list.body.tickets.find((t: { subject: string }) => t.subject === 'Double charge');
			expect(created).toMatchObject({ groupId: fx.groups.Billing });
			// A plus-address of the added address reaches the ticket too.
			await transport.sendMail({ from: 'kim@example.com', to: `billing+${created.id}@tandem.local`, subject: 'More', text: 'Card ending 4242.', messageId: '<b2@example.com>' });
			const detail = await api(server, fx.tokens.mail.token).request('GET', `/api/v1/tickets/${created.id}`);
			expect(detail.body.entries.map((e: Entry) => e.body)).toEqual(['Charged twice.', 'Card ending 4242.']);
		} finally {
			transport.close();
		}
		const list = await api(server, fx.tokens.mail.token).request('GET', '/api/v1/tickets?limit=10');
		const ticketId = list.body.tickets.find((t: { subject: string }) => t.subject === 'Double charge').id;
		const res = await api(server, fx.users.ann.token).request('POST', `/api/v1/tickets/${ticketId}/entries`, { channel: 'email', body: 'Refunded.' });
		expect(res.status).toBe(201);
		const file = path.join(dataDir, 'mail', 'outbox', `${res.body.id}.eml`);
		await waitFor(() => fs.existsSync(file), 'the .eml file');
		const mail = await simpleParser(fs.readFileSync(file));
		expect(mail.from?.value[0]?.address).toBe('billing@tandem.local');
		expect(mail.replyTo?.value[0]?.address).toBe(`billing+${ticketId}@tandem.local`);
		expect(await server.stop()).toBe(0);
	});
});
