/**
 * Email side conversations against real processes: an agent's message in a side conversation of
 * channel 'email' goes through the outbox to a stand-in SMTP relay (tests/helpers/relay.ts), to the
 * side conversation's participants with its own thread headers; the outside party's reply comes
 * back over SMTP (and over IMAP from a real Dovecot, below) into that side conversation only.
 */
import { sql } from 'drizzle-orm';
import type { ParsedMail } from 'mailparser';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
	addSideParticipants,
	appendSideEntry,
	LIMITS,
	newId,
	openSide,
	readEntries,
	readSides,
	setSideStatus,
	type Entry,
	type SideConversation
} from '../../src/lib/ticket';
import { countRows } from '../helpers/db';
import { DOVECOT_PASSWORD, startDovecot, type Dovecot } from '../helpers/dovecot';
import { noteBy } from '../helpers/entries';
import { prepare, type Fixture } from '../helpers/fixtures';
import { sendPage } from '../helpers/pages';
import { acceptedOf, deliveriesOf, messageIdOf, startRelay, type Relay } from '../helpers/relay';
import { api, connectPeer, type Peer, type RunningServer, smtpPort, startServer, tempDataDir, waitFor } from '../helpers/server';

const SUPPORT = 'support@tandem.local';
const VENDOR = 'parts@vendor.example';
const DELIVERY_TIMEOUT = 30_000;

const addressesOf = (field: ParsedMail['to']) => (Array.isArray(field) ? field : field ? [field] : []).flatMap((a) => a.value.map((v) => v.address));

/** An agent's message in an email side conversation, as the workspace writes it. */
function sideMessage(authorId: string, body: string): Entry {
	return { id: newId(), kind: 'message', channel: 'email', direction: 'out', visibility: 'internal', authorType: 'agent', authorId, body, createdAt: Date.now() };
}

/** Everything a ticket's document holds of its conversations, as a fresh peer reads it. */
interface Seen {
	entries: Entry[];
	sides: SideConversation[];
}

describe('email side conversations', () => {
	let relay: Relay;
	let server: RunningServer;
	let fx: Fixture;
	let dataDir: string;
	let ticketId: string;
	let ticketNumber: number;
	let ann: Peer;
	const peers: Peer[] = [];

	const boot = () => startServer({ dataDir, env: { SMTP_RELAY_URL: `smtp://127.0.0.1:${relay.port}` } });
	const annApi = () => api(server, fx.users.ann.token);
	const deliveredOf = (entryId: string) => acceptedOf(relay, entryId);
	const deliveries = () => deliveriesOf(server, fx.users.ann.token, ticketId).read();
	const delivered = (entryId: string) => deliveriesOf(server, fx.users.ann.token, ticketId).delivered(relay, entryId, DELIVERY_TIMEOUT);
	const connect = async () => {
		const peer = await connectPeer(server, ticketId, fx.users.ann.token);
		peers.push(peer);
		return peer;
	};
	/** What a fresh peer reads of the ticket now. */
	const seen = async (): Promise<Seen> => {
		const peer = await connect();
		try {
			return { entries: readEntries(peer.doc), sides: readSides(peer.doc) };
		} finally {
			peer.destroy();
		}
	};
	const sideOf = (doc: Y.Doc, sideId: string) => readSides(doc).find((s) => s.id === sideId);
	/** Mails `mail` to the support address over SMTP, as an outside party's mail server would. */
	const mailIn = async (mail: SendMailOptions) => {
		const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort(server), secure: false, ignoreTLS: true });
		try {
			await transport.sendMail({ to: SUPPORT, text: 'x', ...mail });
		} finally {
			transport.close();
		}
	};
	const tickets = () => countRows(dataDir, sql`SELECT count(*) AS n FROM tickets`);
	/** Opens an email side conversation to `participants` with a first message; waits until it is sent. */
	const startSide = async (subject: string, participants: string[], body: string) => {
		const sideId = newId();
		const first = sideMessage(fx.users.ann.id, body);
		ann.doc.transact(() => {
			openSide(ann.doc, { id: sideId, subject, channel: 'email', participants, createdBy: fx.users.ann.id, createdAt: Date.now() });
			appendSideEntry(ann.doc, sideId, first);
		});
		await ann.acknowledged();
		const [sent] = await delivered(first.id);
		return { sideId, first, sent: sent! };
	};
	const writeInSide = async (sideId: string, body: string) => {
		const entry = sideMessage(fx.users.ann.id, body);
		appendSideEntry(ann.doc, sideId, entry);
		await ann.acknowledged();
		const [sent] = await delivered(entry.id);
		return { entry, sent: sent! };
	};

	beforeAll(async () => {
		relay = await startRelay();
		dataDir = tempDataDir();
		fx = await prepare(dataDir, { users: { ann: { role: 'agent' } }, bots: { mail: ['email'] } });
		server = await boot();
		await mailIn({ from: 'Val Jones <val@example.com>', subject: 'Broken order', text: 'Order 7 arrived broken.', messageId: '<c1@example.com>' });
		const list = await api(server, fx.tokens.mail.token).request('GET', '/api/v1/tickets?limit=10');
		({ id: ticketId, number: ticketNumber } = list.body.tickets.find((t: { subject: string }) => t.subject === 'Broken order'));
		ann = await connect();
	});
	afterAll(async () => {
		for (const peer of peers) peer.destroy();
		await server?.kill();
		await relay?.close();
	});

	let vendorSide: string;
	let firstSent: ParsedMail;

	it("sends an agent's side message to the participants exactly once, from the support address, on its own thread", async () => {
		relay.failNext = 1;
		const { sideId, first, sent } = await startSide('Replacement part', [VENDOR, 'Stock@Vendor.example'], 'Do you have part 7-B in stock?');
		vendorSide = sideId;
		firstSent = sent.mail;
		expect(relay.refused).toBe(1);
		expect(deliveredOf(first.id)).toHaveLength(1);
		expect(sent.rcptTo.sort()).toEqual([VENDOR, 'stock@vendor.example']);
		expect(addressesOf(sent.mail.to).sort()).toEqual([VENDOR, 'stock@vendor.example']);
		expect(sent.mail.from!.value[0]!.address).toBe(SUPPORT);
		expect(sent.mail.subject).toBe(`Replacement part [#${ticketNumber}]`);
		expect(sent.mail.messageId).toBe(messageIdOf(first.id));
		expect(sent.mail.text?.trim()).toBe('Do you have part 7-B in stock?');
		// Its own thread: not a reply to the customer's mail, which the vendor must not see.
		expect(sent.mail.inReplyTo).toBeUndefined();
		expect(sent.mail.references).toBeUndefined();
		expect(JSON.stringify(sent.mail.headerLines)).not.toContain('c1@example.com');
		expect((await deliveries())[first.id]).toMatchObject({ status: 'sent', attempts: 2 });
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM outbox WHERE entry_id = ${first.id}`)).toBe(1);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM email_messages WHERE message_id = ${messageIdOf(first.id)} AND side_id = ${sideId}`)).toBe(1);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM events WHERE type = 'side-email.sent' AND ticket_id = ${ticketId}`)).toBe(1);
		// Nothing of it reached the customer.
		expect(relay.accepted.filter((m) => m.rcptTo.includes('val@example.com'))).toHaveLength(0);
	});

	it("threads the participant's reply by SMTP into that side conversation, never the conversation or a new ticket", async () => {
		const before = { tickets: await tickets(), entries: (await seen()).entries.length };
		await mailIn({ from: `Parts Desk <${VENDOR}>`, subject: `Re: ${firstSent.subject}`, text: 'Yes, 3 in stock.', messageId: '<v1@vendor.example>', inReplyTo: firstSent.messageId, references: [firstSent.messageId!] });
		await waitFor(() => sideOf(ann.doc, vendorSide)?.entries.some((e) => e.body === 'Yes, 3 in stock.'), 'the reply in the side conversation');
		const now = await seen();
		const reply = now.sides.find((s) => s.id === vendorSide)!.entries.find((e) => e.body === 'Yes, 3 in stock.')!;
		expect(reply).toMatchObject({ kind: 'message', channel: 'email', direction: 'in', visibility: 'internal', authorType: 'customer' });
		expect(String(reply.meta?.from)).toContain(VENDOR);
		expect(now.entries).toHaveLength(before.entries);
		expect(await tickets()).toBe(before.tickets);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM email_messages WHERE message_id = ${'<v1@vendor.example>'} AND side_id = ${vendorSide}`)).toBe(1);
	});

	it("threads the next side message on the side's messages, and the customer's replies on the conversation's only", async () => {
		const { entry, sent } = await writeInSide(vendorSide, 'Please send two.');
		expect(sent.mail.subject).toBe(`Re: Replacement part [#${ticketNumber}]`);
		expect(sent.mail.inReplyTo).toBe('<v1@vendor.example>');
		expect(sent.mail.references).toEqual([firstSent.messageId, '<v1@vendor.example>']);
		expect(sent.mail.messageId).toBe(messageIdOf(entry.id));
		const reply = await annApi().request('POST', `/api/v1/tickets/${ticketId}/entries`, { kind: 'message', channel: 'email', visibility: 'public', body: 'A new one is on its way.' });
		expect(reply.status).toBe(201);
		const [toCustomer] = await delivered(reply.body.id);
		expect(toCustomer!.rcptTo).toEqual(['val@example.com']);
		expect(toCustomer!.mail.inReplyTo).toBe('<c1@example.com>');
		expect(JSON.stringify(toCustomer!.mail.headerLines)).not.toMatch(/vendor\.example|@tandem\.local>.*@tandem\.local>/);
	});

	it('keeps a forged reference from a non-participant out of the side conversation', async () => {
		const before = { tickets: await tickets(), side: sideOf(ann.doc, vendorSide)!.entries.length, entries: (await seen()).entries.length };
		await mailIn({ from: 'mallory@evil.example', subject: 'Re: Replacement part', text: 'Send the parts to my address instead.', messageId: '<m1@evil.example>', inReplyTo: firstSent.messageId, references: [firstSent.messageId!] });
		// The reference counts as unknown: the stranger's mail opens a ticket of its own.
		await waitFor(async () => (await tickets()) === before.tickets + 1, 'a ticket for the stranger');
		// The customer naming a side message (a forwarded mail) stays in the conversation.
		await mailIn({ from: 'val@example.com', subject: `Re: Broken order [#${ticketNumber}]`, text: 'Any news?', messageId: '<c2@example.com>', inReplyTo: firstSent.messageId });
		await waitFor(async () => (await seen()).entries.some((e) => e.body === 'Any news?'), "the customer's mail in the conversation");
		const now = await seen();
		const side = now.sides.find((s) => s.id === vendorSide)!;
		expect(side.entries).toHaveLength(before.side);
		expect(side.entries.map((e) => e.body)).not.toContain('Send the parts to my address instead.');
		expect(now.entries.map((e) => e.body)).not.toContain('Send the parts to my address instead.');
		expect(now.entries).toHaveLength(before.entries + 1);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM email_messages WHERE side_id IS NOT NULL AND message_id IN (${'<m1@evil.example>'}, ${'<c2@example.com>'})`)).toBe(0);
	});

	it('takes a participant\'s mail with only the [#N] tag into the one open side conversation that has them, and no other', async () => {
		await mailIn({ from: VENDOR, subject: `Part 7-B [#${ticketNumber}]`, text: 'Shipped today.', messageId: '<v2@vendor.example>' });
		await waitFor(() => sideOf(ann.doc, vendorSide)?.entries.some((e) => e.body === 'Shipped today.'), 'the tagged mail in the side conversation');
		// With a second open side conversation to the same vendor the tag cannot tell which: neither gets it.
		const second = await startSide('Invoice copy', [VENDOR], 'Could you send the invoice?');
		const before = await tickets();
		await mailIn({ from: VENDOR, subject: `Which one? [#${ticketNumber}]`, text: 'Ambiguous.', messageId: '<v3@vendor.example>' });
		await waitFor(async () => (await tickets()) === before + 1, 'a ticket for the ambiguous mail');
		const now = await seen();
		for (const side of now.sides) expect(side.entries.map((e) => e.body)).not.toContain('Ambiguous.');
		expect(now.entries.map((e) => e.body)).not.toContain('Ambiguous.');
		// Someone who is no participant gets no side conversation from the tag either.
		await mailIn({ from: 'stranger@elsewhere.example', subject: `Hello [#${ticketNumber}]`, text: 'Tag only.', messageId: '<s1@elsewhere.example>' });
		await waitFor(async () => (await tickets()) === before + 2, 'a ticket for the stranger');
		expect((await seen()).sides.find((s) => s.id === second.sideId)!.entries.map((e) => e.body)).toEqual(['Could you send the invoice?']);
	});

	it('reopens a closed side conversation when a participant replies into it', async () => {
		const { sent } = await startSide('Courier', ['courier@ship.example'], 'When is the pickup?');
		const sideId = readSides(ann.doc).find((s) => s.subject === 'Courier')!.id;
		// The history records status changes a moment later, coalesced: let it see each one.
		const recorded = (type: string) =>
			waitFor(async () => (await countRows(dataDir, sql`SELECT count(*) AS n FROM events WHERE type = ${type} AND ticket_id = ${ticketId} AND CAST(data AS text) LIKE ${`%${sideId}%`}`)) === 1, `${type} in the history`);
		await recorded('side.opened');
		setSideStatus(ann.doc, sideId, 'closed');
		await ann.acknowledged();
		await recorded('side.closed');
		await mailIn({ from: 'courier@ship.example', subject: `Re: ${sent.mail.subject}`, text: 'Tomorrow at 9.', messageId: '<k1@ship.example>', inReplyTo: sent.mail.messageId });
		await waitFor(() => sideOf(ann.doc, sideId)?.entries.some((e) => e.body === 'Tomorrow at 9.'), 'the reply in the closed side conversation');
		expect((await seen()).sides.find((s) => s.id === sideId)).toMatchObject({ status: 'open' });
		await recorded('side.reopened');
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM events WHERE type = 'side.reopened' AND actor = 'system' AND CAST(data AS text) LIKE ${`%${sideId}%`}`)).toBe(1);
		// Closed and reopened by the agent too.
		setSideStatus(ann.doc, sideId, 'closed');
		await ann.acknowledged();
		expect((await seen()).sides.find((s) => s.id === sideId)).toMatchObject({ status: 'closed' });
		setSideStatus(ann.doc, sideId, 'open');
		await ann.acknowledged();
		expect((await seen()).sides.find((s) => s.id === sideId)).toMatchObject({ status: 'open' });
	});

	it('sends the next message to recipients added later as well', async () => {
		addSideParticipants(ann.doc, vendorSide, ['billing@vendor.example']);
		await ann.acknowledged();
		const { sent } = await writeInSide(vendorSide, 'Adding billing for the invoice.');
		expect(sent.rcptTo.sort()).toEqual(['billing@vendor.example', VENDOR, 'stock@vendor.example'].sort());
		expect((await seen()).sides.find((s) => s.id === vendorSide)!.participants).toEqual([VENDOR, 'Stock@Vendor.example', 'billing@vendor.example']);
	});

	it('shows a refused delivery as queued with the error, then sent', async () => {
		relay.refuseAll = true;
		const entry = sideMessage(fx.users.ann.id, 'Refused at first.');
		appendSideEntry(ann.doc, vendorSide, entry);
		await ann.acknowledged();
		const shown = await waitFor(async () => ((await deliveries())[entry.id]?.lastError ? (await deliveries())[entry.id] : null), 'the error in the deliveries');
		expect(shown).toMatchObject({ status: 'queued' });
		expect(shown.lastError).toMatch(/451/);
		relay.refuseAll = false;
		await delivered(entry.id);
		expect((await deliveries())[entry.id]!.lastError).toBeUndefined();
	});

	it('refuses bad recipients, removing recipients and outgoing mail in a non-email side conversation, sending nothing', async () => {
		const before = await seen();
		const queued = () => countRows(dataDir, sql`SELECT count(*) AS n FROM outbox`);
		const outbox = await queued();
		const attacks: [string, (doc: Y.Doc) => void][] = [
			['invalid-field', (doc) => openSide(doc, { id: newId(), subject: 'x', channel: 'email', participants: ['not an address'], createdBy: fx.users.ann.id, createdAt: Date.now() })],
			['invalid-field', (doc) => addSideParticipants(doc, vendorSide, ['victim@example.com\r\nBcc: everyone@example.com'])],
			['limit-exceeded', (doc) => addSideParticipants(doc, vendorSide, Array.from({ length: LIMITS.participantsPerSide }, (_, i) => `p${i}@example.com`))],
			['entries-append-only', (doc) => (doc.getMap<Y.Map<unknown>>('sides').get(vendorSide)!.get('participants') as Y.Array<string>).delete(0, 1)],
			['read-only-field', (doc) => doc.getMap<Y.Map<unknown>>('sides').get(vendorSide)!.set('channel', 'internal')],
			[
				'invalid-entry',
				(doc) => {
					const sideId = newId();
					openSide(doc, { id: sideId, subject: 'Colleagues', channel: 'internal', participants: [fx.users.ann.id], createdBy: fx.users.ann.id, createdAt: Date.now() });
					appendSideEntry(doc, sideId, sideMessage(fx.users.ann.id, 'Mail the whole world?'));
				}
			]
		];
		for (const [reason, attack] of attacks) {
			const peer = await connect();
			peer.doc.transact(() => attack(peer.doc));
			await waitFor(() => peer.closeReason(), `the refusal (${reason})`);
			expect(peer.closeReason()).toContain(reason);
			peer.destroy();
		}
		const after = await seen();
		expect(after.sides).toEqual(before.sides);
		expect(after.entries).toEqual(before.entries);
		expect(await queued()).toBe(outbox);
		// An internal side conversation's notes are not mailed either.
		const sideId = newId();
		openSide(ann.doc, { id: sideId, subject: 'Ask finance', channel: 'internal', participants: [fx.users.ann.id], createdBy: fx.users.ann.id, createdAt: Date.now() });
		appendSideEntry(ann.doc, sideId, noteBy(fx.users.ann.id, 'Refund approved?'));
		await ann.acknowledged();
		expect(await queued()).toBe(outbox);
	});

	it('keeps a subject with line breaks from adding headers or recipients', async () => {
		const { sent } = await startSide('Quote\r\nBcc: everyone@victim.example\r\nX-Injected: yes', ['quotes@vendor.example'], 'Price for 7-B?');
		expect(sent.rcptTo).toEqual(['quotes@vendor.example']);
		expect(sent.mail.bcc).toBeUndefined();
		expect(sent.mail.headers.has('x-injected')).toBe(false);
		expect(sent.mail.subject).toContain('Quote');
		expect(relay.accepted.some((m) => m.rcptTo.includes('everyone@victim.example'))).toBe(false);
	});

	it('sends a side message acknowledged just before SIGKILL exactly once after a restart', async () => {
		relay.refuseAll = true;
		const entry = sideMessage(fx.users.ann.id, 'Written right before the crash.');
		appendSideEntry(ann.doc, vendorSide, entry);
		await ann.acknowledged();
		await server.kill();
		expect(deliveredOf(entry.id)).toHaveLength(0);
		relay.refuseAll = false;
		server = await boot();
		const [sent] = await delivered(entry.id);
		expect(deliveredOf(entry.id)).toHaveLength(1);
		expect(sent!.rcptTo).toContain(VENDOR);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM outbox WHERE entry_id = ${entry.id} AND status = 'sent'`)).toBe(1);
	});
});

describe('email side conversations over IMAP', () => {
	let dovecot: Dovecot;
	let relay: Relay;
	let server: RunningServer;
	let fx: Fixture;
	let dataDir: string;
	const IMAP_SUPPORT = 'support@tandem.test';

	beforeAll(async () => {
		dovecot = await startDovecot(['support']);
		relay = await startRelay();
		dataDir = tempDataDir();
		fx = await prepare(dataDir, { users: { root: { role: 'admin' }, ann: { role: 'agent' } }, bots: { mail: ['email'] } });
		server = await startServer({
			dataDir,
			env: { SUPPORT_ADDRESS: IMAP_SUPPORT, SMTP_RELAY_URL: `smtp://127.0.0.1:${relay.port}`, IMAP_POLL_MS: '3600000', IMAP_RETRY_MS: '200' }
		});
	});
	afterAll(async () => {
		try {
			if (server) expect(await server.stop()).toBe(0);
		} finally {
			await dovecot?.destroy();
			await relay?.close();
		}
	});

	it('threads a side-conversation reply fetched by IMAP into its side conversation', async () => {
		const saved = await sendPage(server, 'POST', '/admin?/saveImapMailbox', fx.users.root.token, {
			address: IMAP_SUPPORT,
			host: dovecot.host,
			port: String(dovecot.port),
			tls: 'none',
			username: 'support',
			auth: 'password',
			secret: DOVECOT_PASSWORD,
			folder: 'INBOX',
			afterFetch: 'seen'
		});
		expect(saved.status, saved.text).toBe(200);
		const mail = (from: string, subject: string, body: string, messageId: string, inReplyTo?: string) =>
			[
				`From: ${from}`,
				`To: ${IMAP_SUPPORT}`,
				`Subject: ${subject}`,
				`Message-ID: ${messageId}`,
				...(inReplyTo ? [`In-Reply-To: ${inReplyTo}`, `References: ${inReplyTo}`] : []),
				'Date: Sun, 06 Dec 2026 05:00:00 +0000',
				'Content-Type: text/plain; charset=utf-8',
				'',
				body,
				''
			].join('\r\n');
		await dovecot.append('support', mail('Val Jones <val@example.com>', 'Tent pole snapped', 'The pole broke.', '<t1@example.com>'));
		const ticketId = await waitFor(async () => {
			const list = await api(server, fx.tokens.mail.token).request('GET', '/api/v1/tickets?limit=10');
			return list.body.tickets?.find((t: { subject: string }) => t.subject === 'Tent pole snapped')?.id as string | undefined;
		}, 'the ticket from IMAP', 20_000);

		const peer = await connectPeer(server, ticketId, fx.users.ann.token);
		try {
			const sideId = newId();
			const first = sideMessage(fx.users.ann.id, 'Can you replace the pole?');
			peer.doc.transact(() => {
				openSide(peer.doc, { id: sideId, subject: 'Pole replacement', channel: 'email', participants: [VENDOR], createdBy: fx.users.ann.id, createdAt: Date.now() });
				appendSideEntry(peer.doc, sideId, first);
			});
			await peer.acknowledged();
			const sent = await waitFor(() => relay.accepted.find((m) => m.mail.messageId === messageIdOf(first.id)), 'the side message at the relay', DELIVERY_TIMEOUT);
			expect(sent.rcptTo).toEqual([VENDOR]);
			expect(sent.mail.from!.value[0]!.address).toBe(IMAP_SUPPORT);

			const tickets = await countRows(dataDir, sql`SELECT count(*) AS n FROM tickets`);
			await dovecot.append('support', mail(`Parts <${VENDOR}>`, `Re: ${sent.mail.subject}`, 'Sending a new pole.', '<p1@vendor.example>', sent.mail.messageId));
			await waitFor(() => readSides(peer.doc).find((s) => s.id === sideId)?.entries.some((e) => e.body === 'Sending a new pole.'), 'the IMAP reply in the side conversation', 20_000);
			expect(readEntries(peer.doc).map((e) => e.body)).not.toContain('Sending a new pole.');
			expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM tickets`)).toBe(tickets);
			expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM email_messages WHERE message_id = ${'<p1@vendor.example>'} AND side_id = ${sideId}`)).toBe(1);
		} finally {
			peer.destroy();
		}
	});
});
