/**
 * Attacks through the customer channels, against one running server: mail that could never be
 * stored (it must be stored, trimmed, or refused for good, never deferred forever), and chat
 * visitors who claim someone else's email address (they stay a separate, unverified contact until
 * an agent links them or they prove the address).
 */
import { sql } from 'drizzle-orm';
import fs from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TalkNumbers } from '../../server/talk/numbers';
import { countRows, storedFile, withStore } from '../helpers/db';
import { prepare, type Fixture } from '../helpers/fixtures';
import { sendPage } from '../helpers/pages';
import { api, smtpPort, startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';

const SUPPORT = 'support@tandem.local';
const TALK_NUMBER = '+15550100000';

let server: RunningServer;
let fx: Fixture;
let dataDir: string;
let transport: Transporter;

beforeAll(async () => {
	dataDir = tempDataDir('tandem-attacks-channels-');
	fx = await prepare(dataDir, {
		users: { ann: { role: 'agent' }, sue: { role: 'supervisor' }, root: { role: 'admin' } },
		bots: { mail: ['email'], sim: ['talk'], widget: ['chat'] }
	});
	await withStore(dataDir, async (store) => {
		await new TalkNumbers(store).create({ number: TALK_NUMBER, label: 'Support line', groupId: null });
	});
	server = await startServer({ dataDir, env: { SMTP_PORT: '0' } });
	transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort(server), secure: false, ignoreTLS: true });
});
afterAll(async () => {
	transport?.close();
	expect(await server.stop()).toBe(0);
});

const as = (name: string) => api(server, fx.users[name]?.token ?? fx.tokens[name]!.token);
const ticketsOf = async (subject: string) =>
	((await as('root').request('GET', '/api/v1/tickets?limit=100')).body.tickets as { id: string; subject: string }[]).filter((t) => t.subject === subject);
const ticket = async (id: string) => (await as('root').request('GET', `/api/v1/tickets/${id}`)).body;
/** Sends `mail` over SMTP; the server's answer code (250 when accepted). */
const deliver = (mail: SendMailOptions) =>
	transport.sendMail(mail).then(
		(info) => Number(info.response?.slice(0, 3)),
		(error: Error & { responseCode?: number }) => error.responseCode ?? -1
	);

describe('mail that does not fit a ticket entry', () => {
	it('stores a mail with a 20 KB Message-ID once, and threads a reply naming it', async () => {
		const longId = `<${'x'.repeat(20_000)}@example.com>`;
		const mail = { from: 'long-id@example.com', to: SUPPORT, subject: 'Long Message-ID', text: 'First.', messageId: longId };
		expect(await deliver(mail)).toBe(250);
		// The sender did not see our 250 and delivers again: nothing is stored twice.
		expect(await deliver(mail)).toBe(250);
		const [row, ...others] = await ticketsOf('Long Message-ID');
		expect(others).toEqual([]);
		const first = (await ticket(row!.id)).entries;
		expect(first).toHaveLength(1);
		expect(first[0].meta.messageId.length).toBeLessThan(300);
		const original = first[0].meta.attachments.find((a: { name: string }) => a.name === 'original.eml');
		expect((await storedFile(dataDir, original.sha256))?.toString('utf8')).toContain(longId.slice(1, -1));

		expect(await deliver({ from: 'long-id@example.com', to: SUPPORT, subject: 'Other words', text: 'Any news?', inReplyTo: longId, references: [longId] })).toBe(250);
		expect(await ticketsOf('Other words')).toEqual([]);
		expect((await ticket(row!.id)).entries.map((e: { body: string }) => e.body)).toEqual(['First.', 'Any news?']);
	});

	it('stores a mail with 60 attachments of 250-character names once: names shortened, the rest summarised, the original kept', async () => {
		const attachments = Array.from({ length: 60 }, (_, i) => ({
			// Quotes and backslashes double in JSON: the worst case for the entry's size.
			filename: `${i}-${'"\\'.repeat(123)}.pdf`.slice(-250),
			content: `file ${i}`,
			contentType: 'application/pdf'
		}));
		const mail = {
			from: `"${'N'.repeat(3000)}" <many@example.com>`,
			to: SUPPORT,
			subject: `Many files ${'"'.repeat(3000)}`,
			text: 'See attached.',
			html: `<p>${'See attached. '.repeat(2000)}</p>`,
			messageId: '<many-files@example.com>',
			attachments
		};
		expect(await deliver(mail)).toBe(250);
		expect(await deliver(mail)).toBe(250);
		const rows = ((await as('root').request('GET', '/api/v1/tickets?limit=100')).body.tickets as { id: string; subject: string }[]).filter((t) =>
			t.subject.startsWith('Many files')
		);
		expect(rows).toHaveLength(1);
		const [entry, ...more] = (await ticket(rows[0]!.id)).entries;
		expect(more).toEqual([]);
		expect(entry.body).toBe('See attached.');
		expect(Buffer.byteLength(JSON.stringify(entry.meta))).toBeLessThanOrEqual(16 * 1024);
		expect(entry.meta.subject).toMatch(/^Many files "+…\[cut\]$/);
		const [original, ...listed] = entry.meta.attachments as { name: string; size: number; sha256: string }[];
		expect(original!.name).toBe('original.eml');
		expect((await storedFile(dataDir, original!.sha256))?.length).toBe(original!.size);
		expect(listed.length).toBeGreaterThan(0);
		for (const a of listed) {
			expect(Buffer.byteLength(a.name)).toBeLessThanOrEqual(100);
			expect(a.name).toMatch(/\.pdf$/);
		}
		expect(entry.meta.attachmentsOmitted.count).toBe(60 - listed.length);
		// The listed files are stored; all 60 are in the original message.
		expect((await storedFile(dataDir, listed[0]!.sha256))?.toString('utf8')).toBe('file 0');
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM email_messages WHERE message_id = '<many-files@example.com>'`)).toBe(1);
	});

	it('keeps serving mail afterwards', async () => {
		expect(await deliver({ from: 'after@example.com', to: SUPPORT, subject: 'After the big ones', text: 'Hello.' })).toBe(250);
		expect(await ticketsOf('After the big ones')).toHaveLength(1);
	});
});

describe('a chat visitor who gives someone else\'s email address', () => {
	/** A new visitor of the widget, with their token. */
	const newVisitor = async () => {
		const { status, body } = await api(server).request('POST', '/api/v1/visitor');
		expect(status).toBe(201);
		const headers = { 'x-visitor-token': body.token as string };
		return {
			id: body.visitorId as string,
			start: (input: Record<string, unknown>) => api(server).request('POST', '/api/v1/visitor/chat', input, { headers })
		};
	};
	/** A known customer: one who wrote from `email` (and is reached at `phone` by Talk). */
	const knownCustomer = async (email: string, subject: string, phone?: string) => {
		expect(await deliver({ from: `Known <${email}>`, to: SUPPORT, subject, text: 'From the real customer.' })).toBe(250);
		const [row] = await ticketsOf(subject);
		const { requesterId } = await ticket(row!.id);
		if (phone) expect((await as('ann').request('PATCH', `/api/v1/customers/${requesterId}`, { addAddresses: [{ channel: 'talk', address: phone }] })).status).toBe(200);
		return { id: requesterId as string, ticketId: row!.id };
	};
	const customer = async (id: string) => (await as('ann').request('GET', `/api/v1/customers/${id}`)).body;
	const historyTickets = async (id: string) =>
		new Set(((await as('ann').request('GET', `/api/v1/customers/${id}/history`)).body.interactions as { ticketId: string }[]).map((i) => i.ticketId));
	/** The verification link mailed to `email` (spooled: no relay is configured), as its token. */
	const mailedToken = async (email: string) => {
		const spool = path.join(dataDir, 'mail', 'outbox');
		const file = await waitFor(async () => {
			for (const name of fs.existsSync(spool) ? fs.readdirSync(spool).filter((n) => n.startsWith('verification-')) : []) {
				const mail = await simpleParser(fs.readFileSync(path.join(spool, name)));
				if (mail.to && !Array.isArray(mail.to) && mail.to.value[0]?.address === email) return mail;
			}
			return null;
		}, `the verification mail to ${email}`);
		const link = /(http:\/\/\S+\/chat\/verify\?token=\S+)/.exec(file.text ?? '')![1]!;
		expect(link.startsWith(server.url)).toBe(true);
		return new URL(link).searchParams.get('token')!;
	};
	const verifyPage = (token: string) => sendPage(server, 'GET', `/chat/verify?token=${encodeURIComponent(token)}`, '');
	const confirm = (token: string) => sendPage(server, 'POST', '/chat/verify', '', { token });

	it('files the chat under an unverified contact of its own: the customer\'s history, mail and calls never meet it', async () => {
		const real = await knownCustomer('victim@example.com', 'My real order', '+15550107001');
		const impostor = await newVisitor();
		const started = await impostor.start({ name: 'Vic Tim', email: 'Victim@Example.com', message: 'Please send my order to a new address' });
		expect(started.status).toBe(201);
		const chatTicket: string = started.body.ticketId;

		// The chat's requester is a contact of the visitor's own, marked unverified, the address only a claim.
		const { requesterId } = await ticket(chatTicket);
		expect(requesterId).not.toBe(real.id);
		expect(await customer(requesterId)).toMatchObject({ unverified: true, claimedEmail: 'victim@example.com', addresses: [{ channel: 'chat', address: impostor.id }] });
		expect(await customer(real.id)).toMatchObject({ unverified: false, claimedEmail: null });
		// The real customer's history and ticket list do not gain the chat.
		expect((await customer(real.id)).tickets.map((t: { id: string }) => t.id)).toEqual([real.ticketId]);
		expect(await historyTickets(real.id)).toEqual(new Set([real.ticketId]));

		// A mail from the real customer lands on them, not in the chat.
		expect(await deliver({ from: 'victim@example.com', to: SUPPORT, subject: 'Second question', text: 'Me again.' })).toBe(250);
		const [mailTicket] = await ticketsOf('Second question');
		expect((await ticket(mailTicket!.id)).requesterId).toBe(real.id);
		// So does a call from their phone: it joins their newest open ticket, not the impostor's chat.
		const call = await as('sim').request('POST', '/api/v1/talk/simulator/calls', { from: '+1 555 010 7001', to: TALK_NUMBER });
		expect(call.status).toBe(201);
		expect(call.body.ticketId).not.toBe(chatTicket);
		expect((await ticket(call.body.ticketId)).requesterId).toBe(real.id);
		expect((await ticket(chatTicket)).entries.map((e: { channel: string }) => e.channel)).toEqual(['chat']);
		expect(await historyTickets(real.id)).not.toContain(chatTicket);
	});

	it('an agent links the contact: the chat joins the customer who has the address, recorded as an event', async () => {
		const real = await knownCustomer('linked@example.com', 'Linked customer order');
		const visitor = await newVisitor();
		const { body: chat } = await visitor.start({ name: 'Lin', email: 'linked@example.com', message: 'It is me, honestly' });
		const contact: string = (await ticket(chat.ticketId)).requesterId;

		// Neither a bot, nor a supervisor, nor anyone for a customer that is not an unverified contact.
		expect((await as('widget').request('POST', `/api/v1/customers/${contact}/link`, {})).status).toBe(403);
		expect((await as('sue').request('POST', `/api/v1/customers/${contact}/link`, {})).status).toBe(403);
		expect((await as('ann').request('POST', `/api/v1/customers/${real.id}/link`, {})).status).toBe(409);
		expect((await as('ann').request('POST', `/api/v1/customers/${contact}/link`, { into: 'nobody' })).status).toBe(400);
		expect((await ticket(chat.ticketId)).requesterId).toBe(contact);

		const linked = await as('ann').request('POST', `/api/v1/customers/${contact}/link`, {});
		expect(linked).toMatchObject({ status: 200, body: { id: real.id, unverified: false } });
		expect((await ticket(chat.ticketId)).requesterId).toBe(real.id);
		expect(await historyTickets(real.id)).toContain(chat.ticketId);
		expect((await customer(real.id)).addresses).toEqual(expect.arrayContaining([{ channel: 'chat', address: visitor.id }]));
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM events WHERE type = 'customer.linked' AND ticket_id = ${chat.ticketId} AND actor = ${`user:${fx.users.ann!.id}`}`)).toBe(1);
		// The visitor is that customer from now on: their next chat is filed under them.
		const { body: next } = await (async () => {
			await as('ann').request('POST', `/api/v1/tickets/${chat.ticketId}/chat/end`);
			return visitor.start({ name: 'Lin', message: 'Another question' });
		})();
		expect((await ticket(next.ticketId)).requesterId).toBe(real.id);
	});

	it('the visitor proves the address with the mailed link: once, not with a wrong token, not after it expires', async () => {
		const real = await knownCustomer('proof@example.com', 'Proof customer order');
		const visitor = await newVisitor();
		const { body: chat } = await visitor.start({ name: 'Pru', email: 'proof@example.com', message: 'Hello' });
		const contact: string = (await ticket(chat.ticketId)).requesterId;
		const token = await mailedToken('proof@example.com');
		// Only the hash of the token is kept once the mail is sent.
		await waitFor(async () => (await countRows(dataDir, sql`SELECT count(*) AS n FROM email_verifications WHERE customer_id = ${contact} AND pending_token IS NULL`)) === 1, 'the token dropped');

		expect((await verifyPage('vfy_wrong')).text).toContain('not valid');
		expect((await confirm('vfy_wrong')).status).toBe(400);
		// Opening the link (a mail scanner does) changes nothing: only the visitor's Confirm does.
		const page = await verifyPage(token);
		expect(page.status).toBe(200);
		expect(page.text).toContain('proof@example.com');
		expect((await ticket(chat.ticketId)).requesterId).toBe(contact);

		const confirmed = await confirm(token);
		expect(confirmed.status).toBe(200);
		expect(confirmed.text).toContain('your address is confirmed');
		expect((await ticket(chat.ticketId)).requesterId).toBe(real.id);
		expect(await historyTickets(real.id)).toContain(chat.ticketId);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM events WHERE type = 'customer.linked' AND ticket_id = ${chat.ticketId} AND actor = 'email:proof@example.com'`)).toBe(1);

		const again = await confirm(token);
		expect(again.status).toBe(400);
		expect(again.text).toContain('used already');

		// A link past its time does nothing.
		const late = await newVisitor();
		const { body: lateChat } = await late.start({ name: 'Lat', email: 'late@example.com', message: 'Hi' });
		const lateToken = await mailedToken('late@example.com');
		await withStore(dataDir, (store) => store.run(sql`UPDATE email_verifications SET expires_at = ${Date.now() - 1} WHERE email = 'late@example.com'`));
		const expired = await confirm(lateToken);
		expect(expired.status).toBe(400);
		expect(expired.text).toContain('expired');
		expect(await customer((await ticket(lateChat.ticketId)).requesterId)).toMatchObject({ unverified: true, claimedEmail: 'late@example.com' });
	});

	it('a proven address nobody has yet makes the contact a known customer at it; one link per address a while', async () => {
		const visitor = await newVisitor();
		const { body: chat } = await visitor.start({ name: 'Neu', email: 'new.person@example.com', message: 'First time here' });
		const token = await mailedToken('new.person@example.com');
		// Another visitor claiming the same address at once gets no second mail.
		const other = await newVisitor();
		expect((await other.start({ name: 'Neu2', email: 'new.person@example.com', message: 'Me too' })).status).toBe(201);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM outbox WHERE kind = 'verification' AND recipient = 'new.person@example.com'`)).toBe(1);

		expect((await confirm(token)).status).toBe(200);
		const contact = (await ticket(chat.ticketId)).requesterId;
		expect(await customer(contact)).toMatchObject({ unverified: false, claimedEmail: null, addresses: expect.arrayContaining([{ channel: 'email', address: 'new.person@example.com' }]) });
		// Mail from that address now reaches them.
		expect(await deliver({ from: 'new.person@example.com', to: SUPPORT, subject: 'After proving it', text: 'Hello again.' })).toBe(250);
		const [row] = await ticketsOf('After proving it');
		expect((await ticket(row!.id)).requesterId).toBe(contact);
	});
});
