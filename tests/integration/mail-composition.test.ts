/**
 * An agent's reply as a real email, against real processes: the server takes mail over SMTP and
 * sends replies to a relay stand-in (tests/helpers/relay.ts). CC and BCC (kept from inbound
 * mail, set on the shared draft, checked everywhere an entry comes from, BCC only in the
 * envelope), a CC'd person's answer threading by the ticket number, the support address's
 * signature (admin-set, changed between two mails) and the HTML part (escaped, safe links only).
 */
import { sql } from 'drizzle-orm';
import type { SendMailOptions } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { draftText, entriesArray, latestInboundCc, newId, sendDraft, setDraftRecipientText, type Entry } from '../../src/lib/ticket';
import { countRows } from '../helpers/db';
import { prepare, type Fixture } from '../helpers/fixtures';
import { sendPage } from '../helpers/pages';
import { api, connectPeer, type RunningServer, startServer, tempDataDir, waitFor } from '../helpers/server';
import { mailTo, startRelay, type Relay } from '../helpers/relay';

const SUPPORT = 'support@tandem.local';
const DELIVERY_TIMEOUT = 30_000;

describe('mail composition: CC, BCC, signature, HTML part', () => {
	let fx: Fixture;
	let dataDir: string;
	let relay: Relay;
	let server: RunningServer;
	/** The ticket Val's mail (with two CCs) opened. */
	let ticketId: string;
	let ticketNumber: number;

	const ann = () => api(server, fx.users.ann.token);
	const ticket = async (id = ticketId) => (await ann().request('GET', `/api/v1/tickets/${id}`)).body as { entries: Entry[] };
	const inbound = (mail: SendMailOptions) => mailTo(server, mail);
	const reply = async (body: string, meta?: Record<string, unknown>) =>
		ann().request('POST', `/api/v1/tickets/${ticketId}/entries`, { kind: 'message', channel: 'email', visibility: 'public', body, ...(meta ? { meta } : {}) });
	const sentReply = async (body: string, meta?: Record<string, unknown>) => {
		const res = await reply(body, meta);
		expect(res.status, JSON.stringify(res.body)).toBe(201);
		return res.body as Entry;
	};
	/** The message the relay accepted for `entryId`, once it has. */
	const delivered = (entryId: string) =>
		waitFor(() => relay.accepted.find((m) => m.mail.messageId === `<${entryId}@tandem.local>`), `delivery of ${entryId}`, DELIVERY_TIMEOUT);
	/** The ticket a mail with `subject` opened (undefined when none did). */
	const ticketNamed = async (subject: string) => {
		const list = await api(server, fx.tokens.mail.token).request('GET', '/api/v1/tickets?limit=50');
		return list.body.tickets.find((t: { subject: string }) => t.subject === subject) as { id: string; number: number } | undefined;
	};
	const admin = (action: string, form: Record<string, string>, token = fx.users.root.token) => sendPage(server, 'POST', `/admin?/${action}`, token, form);

	beforeAll(async () => {
		relay = await startRelay();
		dataDir = tempDataDir();
		fx = await prepare(dataDir, { users: { ann: { role: 'agent' }, root: { role: 'admin' } }, bots: { mail: ['email'] } });
		server = await startServer({ dataDir, env: { SMTP_RELAY_URL: `smtp://127.0.0.1:${relay.port}`, SUPPORT_ADDRESS: SUPPORT } });
		await inbound({
			from: 'Val Jones <val@example.com>',
			to: SUPPORT,
			cc: ['Kim Lee <kim@example.com>', 'lee@example.com', 'Support <support@tandem.local>', 'support+x@tandem.local'],
			subject: 'Broken order',
			text: 'Order 7 arrived broken.',
			messageId: '<cc1@example.com>'
		});
		({ id: ticketId, number: ticketNumber } = (await ticketNamed('Broken order'))!);
	});
	afterAll(async () => {
		await server?.kill();
		await relay?.close();
	});

	it('keeps the CCs of inbound mail on its entry (ours left out) and offers them on the reply', async () => {
		const { entries } = await ticket();
		expect(entries[0]!.meta?.cc).toEqual(['kim@example.com', 'lee@example.com']);
		// What the composer prefills the CC of an email reply with.
		expect(latestInboundCc(entries)).toEqual(['kim@example.com', 'lee@example.com']);
	});

	it('keeps at most 20 valid CCs of the first 100 a mail lists, and the original message when it left some out', async () => {
		const many = Array.from({ length: 30 }, (_, i) => `person${i}@example.com`);
		await inbound({ from: 'crowd@example.com', to: SUPPORT, cc: [...many, '"odd" <not-an-address>'], subject: 'Many copies', text: 'Hello all.' });
		const [entry] = (await ticket((await ticketNamed('Many copies'))!.id)).entries;
		expect(entry!.meta?.cc).toEqual(many.slice(0, 20));
		expect((entry!.meta?.attachments as { name: string }[])[0]!.name).toBe('original.eml');
		// Thousands of copies (ours and invalid ones first) cost no more than the first 100 looked at.
		const crowd = [...Array.from({ length: 200 }, (_, i) => `support+${i}@tandem.local`), ...Array.from({ length: 5000 }, (_, i) => `fan${i}@example.com`)];
		await inbound({ from: 'crowd@example.com', to: SUPPORT, cc: crowd, subject: 'Huge crowd', text: 'Hello everyone.' });
		const [huge] = (await ticket((await ticketNamed('Huge crowd'))!.id)).entries;
		expect(huge!.meta?.cc).toBeUndefined();
		expect((huge!.meta?.attachments as { name: string }[])[0]!.name).toBe('original.eml');
	});

	it('sends CC in the headers and the envelope, BCC in the envelope only, and records both on the entry', async () => {
		const entry = await sentReply('A new one is on its way.', { cc: ['kim@example.com', 'Kim@Example.com', 'val@example.com', SUPPORT], bcc: ['boss@example.com'] });
		const { mail, raw, rcptTo } = await delivered(entry.id);
		// The requester and our own address are not copied; a repeated address goes once.
		expect(rcptTo.sort()).toEqual(['boss@example.com', 'kim@example.com', 'val@example.com']);
		expect(mail.cc && !Array.isArray(mail.cc) ? mail.cc.value.map((a) => a.address) : null).toEqual(['kim@example.com']);
		expect(mail.bcc).toBeUndefined();
		expect(raw.toString()).not.toMatch(/^bcc:/im);
		expect(raw.toString()).not.toContain('boss@example.com');
		const stored = (await ticket()).entries.find((e) => e.id === entry.id)!;
		expect(stored.meta).toMatchObject({ cc: ['kim@example.com', 'Kim@Example.com', 'val@example.com', SUPPORT], bcc: ['boss@example.com'] });
	});

	it('sends the CC and BCC a live draft holds (written by the agent in the workspace)', async () => {
		const peer = await connectPeer(server, ticketId, fx.users.ann.token);
		const id = newId();
		draftText(peer.doc, id, { channel: 'email', visibility: 'public' }).insert(0, 'Written with copies.');
		setDraftRecipientText(peer.doc, id, 'cc', 'kim@example.com, lee@example.com');
		setDraftRecipientText(peer.doc, id, 'bcc', 'boss@example.com');
		await peer.acknowledged();
		const entry = sendDraft(peer.doc, id, { type: 'agent', id: fx.users.ann.id })!;
		expect(entry.meta).toEqual({ cc: ['kim@example.com', 'lee@example.com'], bcc: ['boss@example.com'] });
		await peer.acknowledged();
		const { rcptTo, mail } = await delivered(entry.id);
		expect(rcptTo.sort()).toEqual(['boss@example.com', 'kim@example.com', 'lee@example.com', 'val@example.com']);
		expect(mail.text?.trim()).toBe('Written with copies.');
		peer.destroy();
	});

	it('refuses header injection, malformed addresses and lists past their limits, over HTTP and the websocket', async () => {
		const before = relay.accepted.length;
		const tooMany = Array.from({ length: 21 }, (_, i) => `p${i}@example.com`);
		const tooLong = Array.from({ length: 20 }, (_, i) => `${'x'.repeat(100)}${i}@example.com`);
		for (const meta of [
			{ cc: ['kim@example.com\r\nBcc: evil@example.net'] },
			{ bcc: ['evil@example.net\nSubject: hijacked'] },
			{ cc: ['not an address'] },
			{ cc: 'kim@example.com' },
			{ cc: tooMany },
			{ bcc: tooLong }
		]) {
			const res = await reply('Should not go out.', meta);
			expect(res.status, JSON.stringify(meta)).toBe(400);
			expect(JSON.stringify(res.body)).toContain('meta');
		}
		// A draft's recipients as typed: no control characters, bounded.
		for (const typed of ['kim@example.com\r\nBcc: evil@example.net', 'k'.repeat(2001)]) {
			const peer = await connectPeer(server, ticketId, fx.users.ann.token);
			const draft = new Y.Map<unknown>();
			peer.doc.transact(() => {
				peer.doc.getMap('drafts').set(newId(), draft);
				draft.set('channel', 'email');
				draft.set('visibility', 'public');
				draft.set('cc', typed);
			});
			await waitFor(() => peer.closeReason(), 'the refusal');
			expect(peer.closeReason()).toBe('invalid-field');
			peer.destroy();
		}
		const reader = await connectPeer(server, ticketId, fx.users.ann.token);
		expect([...reader.doc.getMap<Y.Map<unknown>>('drafts').values()].map((d) => d.get('cc'))).not.toContain('kim@example.com\r\nBcc: evil@example.net');
		reader.destroy();
		// An entry appended live with an injected CC (past the client's own check) is refused the same way.
		const peer = await connectPeer(server, ticketId, fx.users.ann.token);
		entriesArray(peer.doc).push([
			{ id: newId(), kind: 'message', channel: 'email', direction: 'out', visibility: 'public', authorType: 'agent', authorId: fx.users.ann.id, body: 'Injected', createdAt: Date.now(), meta: { cc: ['a@example.com\r\nBcc: evil@example.net'] } }
		]);
		await waitFor(() => peer.closeReason(), 'the refusal');
		expect(peer.closeReason()).toBe('invalid-entry');
		peer.destroy();
		// sendDraft itself refuses a draft whose typed CC is no list of addresses, naming it.
		const doc = new Y.Doc();
		const id = newId();
		draftText(doc, id, { channel: 'email', visibility: 'public' }).insert(0, 'x');
		(doc.getMap('drafts').get(id) as Y.Map<unknown>).set('bcc', 'kim@example.com, nobody');
		expect(() => sendDraft(doc, id, { type: 'agent', id: fx.users.ann.id })).toThrow(/BCC: “nobody” is not an email address/);
		// Nothing of it reached a fresh reader or the relay.
		const fresh = await ticket();
		expect(fresh.entries.map((e) => e.body)).not.toContain('Injected');
		expect(fresh.entries.map((e) => e.body)).not.toContain('Should not go out.');
		const barrier = await sentReply('Barrier.');
		await delivered(barrier.id);
		expect(relay.accepted.slice(before).map((m) => m.raw.toString()).join('\n')).not.toContain('evil@example.net');
	});

	it("threads a CC'd person's mail carrying the ticket number into the ticket; a stranger's opens a new one", async () => {
		await inbound({ from: 'kim@example.com', to: SUPPORT, subject: `Also broken [#${ticketNumber}]`, text: 'Mine too (Kim).' });
		// BCC'd on a reply (above): a participant as well.
		await inbound({ from: 'boss@example.com', to: SUPPORT, subject: `Re: Broken order [#${ticketNumber}]`, text: 'Noted (boss).' });
		await inbound({ from: 'stranger@example.net', to: SUPPORT, subject: `Let me in [#${ticketNumber}]`, text: 'Stranger here.' });
		const bodies = (await ticket()).entries.map((e) => e.body);
		expect(bodies).toContain('Mine too (Kim).');
		expect(bodies).toContain('Noted (boss).');
		expect(bodies).not.toContain('Stranger here.');
		expect(await ticketNamed(`Let me in [#${ticketNumber}]`)).toBeDefined();
	});

	it("appends the support address's signature (admin-set) to the mail, not to the entry, and uses a changed one next time", async () => {
		expect((await admin('setSupportAddressSignature', { address: SUPPORT, signature: 'Ana at Tandem\r\nhttps://help.example.com' })).status).toBe(200);
		const first = await sentReply('Signed reply.');
		const one = (await delivered(first.id)).mail;
		expect(one.text).toBe('Signed reply.\n\n-- \nAna at Tandem\nhttps://help.example.com');
		expect(one.html).toContain('<div class="signature">');
		expect(one.html).toContain('<a href="https://help.example.com">');
		expect((await ticket()).entries.find((e) => e.id === first.id)!.body).toBe('Signed reply.');

		expect((await admin('setSupportAddressSignature', { address: SUPPORT, signature: 'The Tandem team' })).status).toBe(200);
		const second = await sentReply('Signed again.');
		expect((await delivered(second.id)).mail.text).toBe('Signed again.\n\n-- \nThe Tandem team');

		expect((await admin('setSupportAddressSignature', { address: SUPPORT, signature: '' })).status).toBe(200);
		const third = await sentReply('Unsigned.');
		expect((await delivered(third.id)).mail.text?.trim()).toBe('Unsigned.');
	});

	it('refuses a signature that is too long, holds control characters, names no support address, or comes from a non-admin', async () => {
		const signatureRow = () => countRows(dataDir, sql`SELECT count(*) AS n FROM support_addresses WHERE signature LIKE '%evil%'`);
		for (const [form, status] of [
			[{ address: SUPPORT, signature: `evil ${'x'.repeat(2000)}` }, 400],
			[{ address: SUPPORT, signature: 'evil\u0007bell' }, 400],
			[{ address: 'nobody@tandem.local', signature: 'evil' }, 404]
		] as const) {
			const res = await admin('setSupportAddressSignature', form);
			expect(res.status, JSON.stringify(form).slice(0, 80)).toBe(status);
		}
		expect((await admin('setSupportAddressSignature', { address: SUPPORT, signature: 'evil' }, fx.users.ann.token)).status).toBe(403);
		expect(await signatureRow()).toBe(0);
		// SUPPORT_ADDRESS keeps being set by the environment: its row holds only a signature.
		expect((await admin('updateSupportAddress', { address: SUPPORT, name: 'Renamed' })).status).toBe(400);
		expect((await admin('removeSupportAddress', { address: SUPPORT })).status).toBe(400);
	});

	it('sends an HTML part beside the plain one: everything escaped, quotes as blockquotes, only http(s) and mailto links', async () => {
		const body = [
			'Hi <script>alert("x")</script> & <img src=x onerror=alert(1)>,',
			'see https://example.com/track?a=1&b=2. Not javascript:alert(1) nor data:text/html,<b>x</b>',
			'Write to mailto:help@example.com',
			'',
			'> You wrote: <b>bold</b>',
			'> https://example.org/"onmouseover="alert(1)'
		].join('\n');
		const entry = await sentReply(body);
		const { mail } = await delivered(entry.id);
		expect(mail.text?.trim()).toBe(body);
		const html = mail.html as string;
		// Only the tags the renderer makes, with no attribute but a safe href (the rest is text).
		expect(html).not.toMatch(/<script|<img|<[^>]+\son\w+=|href="(?!https?:|mailto:)/i);
		expect(html).toContain('&lt;script&gt;');
		expect(html).toContain('<a href="https://example.com/track?a=1&amp;b=2">');
		expect(html).toContain('<a href="mailto:help@example.com">');
		expect(html).toMatch(/<blockquote[^>]*>\s*<p>You wrote: &lt;b&gt;bold&lt;\/b&gt;<br \/>/);
		expect(html).toContain('<a href="https://example.org/">');
		expect(html).toMatch(/<p>Hi &lt;script&gt;.*<br \/>/);
	});
});
