/**
 * Inbound email over a real SMTP exchange: nodemailer (and a raw client for what nodemailer will
 * not send) talking to the server's SMTP listener; what was stored is checked over HTTP and on disk.
 */
import { eq, sql } from 'drizzle-orm';
import { createHash } from 'node:crypto';
import net from 'node:net';
import nodemailer, { type Transporter } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countRows, storedFile, withStore } from '../helpers/db';
import { prepare, type Fixture } from '../helpers/fixtures';
import { api, type Api, type RunningServer, smtpPort, startServer, tempDataDir } from '../helpers/server';

const SUPPORT = 'support@tandem.local';
const MAX_EMAIL_BYTES = 1_000_000;
const MAX_ATTACHMENT_BYTES = 100_000;

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');


/**
 * A minimal SMTP client on a plain socket: sends `data` as is (dot-stuffed), returns every reply.
 * Throws when a reply other than `data`'s is not 2xx/3xx.
 */
async function rawSmtp(port: number, from: string, to: string, data: Buffer): Promise<string[]> {
	const socket = net.connect(port, '127.0.0.1');
	const lines: string[] = [];
	const replies: string[] = [];
	let notify: (() => void) | null = null;
	let failure: Error | null = null;
	let buffer = '';
	socket.on('data', (chunk: Buffer) => {
		buffer += chunk.toString('latin1');
		let i;
		while ((i = buffer.indexOf('\r\n')) >= 0) {
			const line = buffer.slice(0, i);
			buffer = buffer.slice(i + 2);
			if (/^\d{3} /.test(line)) lines.push(line);
		}
		notify?.();
	});
	socket.on('error', (error) => {
		failure = error;
		notify?.();
	});
	socket.on('close', () => {
		failure ??= new Error('connection closed');
		notify?.();
	});
	const next = async () => {
		while (!lines.length) {
			if (failure) throw failure;
			await new Promise<void>((resolve) => (notify = resolve));
			notify = null;
		}
		const line = lines.shift()!;
		replies.push(line);
		return line;
	};
	const command = async (text: string | Buffer, expected: RegExp) => {
		socket.write(text);
		const line = await next();
		if (!expected.test(line)) throw new Error(`unexpected reply to ${String(text).slice(0, 40).trim()}: ${line}`);
	};
	try {
		expect(await next()).toMatch(/^220 /);
		await command('EHLO tester\r\n', /^250 /);
		await command(`MAIL FROM:<${from}>\r\n`, /^250 /);
		await command(`RCPT TO:<${to}>\r\n`, /^250 /);
		await command('DATA\r\n', /^354 /);
		const stuffed = Buffer.from(data.toString('latin1').replace(/^\./gm, '..'), 'latin1');
		await command(Buffer.concat([stuffed, Buffer.from('\r\n.\r\n')]), /^\d{3} /);
		await command('QUIT\r\n', /^221 /);
	} finally {
		socket.destroy();
	}
	return replies;
}

describe('inbound email', () => {
	let server: RunningServer;
	let fx: Fixture;
	let client: Api;
	let port: number;
	let transport: Transporter;

	const tickets = async (): Promise<{ id: string; subject: string }[]> => {
		const res = await client.request('GET', '/api/v1/tickets?limit=100');
		expect(res.status).toBe(200);
		return res.body.tickets;
	};
	const ticket = async (id: string) => {
		const res = await client.request('GET', `/api/v1/tickets/${id}`);
		expect(res.status).toBe(200);
		return res.body;
	};
	const bySubject = async (subject: string) => (await tickets()).filter((t) => t.subject === subject);
	const eventCount = (type: string) => countRows(server.dataDir, sql`SELECT count(*) AS n FROM events WHERE type = ${type}`);

	beforeAll(async () => {
		const dataDir = tempDataDir();
		fx = await prepare(dataDir, { bots: { mail: ['email'] } });
		server = await startServer({
			dataDir,
			env: { SMTP_PORT: '0', MAX_EMAIL_BYTES: String(MAX_EMAIL_BYTES), MAX_ATTACHMENT_BYTES: String(MAX_ATTACHMENT_BYTES) }
		});
		client = api(server, fx.tokens.mail.token);
		port = smtpPort(server);
		transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
	});
	afterAll(async () => {
		transport?.close();
		expect(await server.stop()).toBe(0);
	});

	let firstId: string;

	it('opens a ticket for a new mail, with its text', async () => {
		const info = await transport.sendMail({
			from: 'Val Jones <val@example.com>',
			to: SUPPORT,
			subject: 'Broken order',
			text: 'Order 7 arrived broken.',
			messageId: '<m1@example.com>'
		});
		expect(info.response).toMatch(/^250 /);
		const found = await bySubject('Broken order');
		expect(found).toHaveLength(1);
		firstId = found[0]!.id;
		const detail = await ticket(firstId);
		expect(detail).toMatchObject({ channel: 'email', status: 'new' });
		expect(detail.entries).toHaveLength(1);
		expect(detail.entries[0]).toMatchObject({
			kind: 'message',
			channel: 'email',
			direction: 'in',
			visibility: 'public',
			authorType: 'customer',
			authorId: detail.requesterId,
			body: 'Order 7 arrived broken.',
			meta: { messageId: '<m1@example.com>', subject: 'Broken order' }
		});
		expect(detail.entries[0].meta.from).toContain('val@example.com');
	});

	it('threads a reply by In-Reply-To into the same ticket', async () => {
		const before = (await tickets()).length;
		await transport.sendMail({
			from: 'val@example.com',
			to: SUPPORT,
			subject: 'Re: Broken order (changed)',
			text: 'Any news?',
			messageId: '<m2@example.com>',
			inReplyTo: '<m1@example.com>',
			references: ['<m1@example.com>']
		});
		expect((await tickets()).length).toBe(before);
		const detail = await ticket(firstId);
		expect(detail.entries.map((e: { body: string }) => e.body)).toEqual(['Order 7 arrived broken.', 'Any news?']);
	});

	it('threads a mail sent to a plus-address, and does not store a redelivery twice', async () => {
		const before = (await tickets()).length;
		const mail = { from: 'val@example.com', to: `support+${firstId.toLowerCase()}@tandem.local`, subject: 'One more thing', text: 'Also the lid.', messageId: '<m3@example.com>' };
		await transport.sendMail(mail);
		await transport.sendMail(mail);
		expect((await tickets()).length).toBe(before);
		const detail = await ticket(firstId);
		expect(detail.entries.map((e: { body: string }) => e.body)).toEqual(['Order 7 arrived broken.', 'Any news?', 'Also the lid.']);
	});

	it('refuses a recipient other than the support address', async () => {
		const error = await transport.sendMail({ from: 'val@example.com', to: 'sales@tandem.local', subject: 'x', text: 'x' }).catch((e: Error & { responseCode?: number }) => e);
		expect(error).toBeInstanceOf(Error);
		expect(error.responseCode).toBe(550);
	});

	it('stores an HTML-only mail as text, and its HTML without scripts', async () => {
		await transport.sendMail({
			from: 'html@example.com',
			to: SUPPORT,
			subject: 'HTML only',
			html: '<p>Hello <b>there</b></p><script>alert(1)</script><a href="javascript:alert(2)" onclick="steal()">link</a><img src=x onerror="steal()">'
		});
		const [row] = await bySubject('HTML only');
		const entry = (await ticket(row!.id)).entries[0];
		expect(entry.body).toContain('Hello there');
		expect(entry.body).not.toContain('alert');
		expect(entry.meta.html).toContain('<b>there</b>');
		for (const bad of ['<script', 'alert(1)', 'javascript:', 'onclick', 'onerror']) expect(entry.meta.html).not.toContain(bad);
	});

	it('stores an attachment by its SHA-256 and lists it; one over the limit is listed as skipped', async () => {
		const small = 'attachment body ' + Date.now();
		const big = Buffer.alloc(MAX_ATTACHMENT_BYTES + 1, 7);
		await transport.sendMail({
			from: 'files@example.com',
			to: SUPPORT,
			subject: 'With files',
			text: 'See attached.',
			attachments: [
				{ filename: 'notes.txt', content: small, contentType: 'text/plain' },
				{ filename: 'big.bin', content: big, contentType: 'application/octet-stream' }
			]
		});
		const [row] = await bySubject('With files');
		const entry = (await ticket(row!.id)).entries[0];
		expect(entry.meta.attachments).toEqual([
			{ name: 'notes.txt', contentType: 'text/plain', size: small.length, sha256: sha256(small) },
			{ name: 'big.bin', contentType: 'application/octet-stream', size: big.length, sha256: sha256(big), skipped: true }
		]);
		expect((await storedFile(server.dataDir, sha256(small)))?.toString('utf8')).toBe(small);
		expect(await storedFile(server.dataDir, sha256(big))).toBeNull();
	});

	it('truncates a body over 64 KiB with a marker and keeps the full text as a file', async () => {
		const text = 'All the details. '.repeat(5000).trim();
		await transport.sendMail({ from: 'long@example.com', to: SUPPORT, subject: 'Long story', text });
		const [row] = await bySubject('Long story');
		const entry = (await ticket(row!.id)).entries[0];
		expect(Buffer.byteLength(entry.body)).toBeLessThanOrEqual(64 * 1024);
		expect(entry.body).toMatch(/message truncated/);
		expect(entry.meta.attachments).toEqual([{ name: 'message.txt', contentType: 'text/plain; charset=utf-8', size: Buffer.byteLength(text), sha256: sha256(text) }]);
		expect((await storedFile(server.dataDir, sha256(text)))?.toString('utf8')).toBe(text);
	});

	it('accepts auto-replies and bounces but opens no ticket', async () => {
		const before = (await tickets()).length;
		const ignored = await eventCount('email.ignored');
		const info = await transport.sendMail({
			from: 'away@example.com',
			to: SUPPORT,
			subject: 'Out of office',
			text: 'I am away.',
			headers: { 'Auto-Submitted': 'auto-replied' }
		});
		expect(info.response).toMatch(/^250 /);
		const bounce = Buffer.from(`From: MAILER-DAEMON@example.com\r\nTo: ${SUPPORT}\r\nSubject: Undelivered Mail\r\n\r\nDelivery failed.\r\n`);
		const replies = await rawSmtp(port, '', SUPPORT, bounce);
		expect(replies.at(-2)).toMatch(/^250 /);
		expect((await tickets()).length).toBe(before);
		expect(await eventCount('email.ignored')).toBe(ignored + 2);
		expect(await countRows(server.dataDir, sql`SELECT count(*) AS n FROM customer_addresses WHERE address = 'away@example.com'`)).toBe(0);
	});

	it('refuses an oversize message with 552 and stores nothing', async () => {
		const before = (await tickets()).length;
		const error = await transport
			.sendMail({ from: 'big@example.com', to: SUPPORT, subject: 'Huge', text: 'x'.repeat(MAX_EMAIL_BYTES + 10_000) })
			.catch((e: Error & { responseCode?: number }) => e);
		expect(error).toBeInstanceOf(Error);
		expect(error.responseCode).toBe(552);
		expect((await tickets()).length).toBe(before);
		expect(await countRows(server.dataDir, sql`SELECT count(*) AS n FROM customer_addresses WHERE address = 'big@example.com'`)).toBe(0);
	});

	it('keeps a malformed message in the file store, named by its event, and keeps serving', async () => {
		const before = (await tickets()).length;
		const garbage = Buffer.concat([
			Buffer.from('Content-Type: multipart/mixed; boundary="\r\n\r\n--nope\r\n'),
			Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 37 + 11) % 256).filter((b) => b !== 0x0a && b !== 0x0d)),
			Buffer.from('\r\n--nope--\r\n--')
		]);
		const replies = await rawSmtp(port, 'garbage@example.com', SUPPORT, garbage);
		expect(replies.at(-2)).toMatch(/^250 /);
		const events = await withStore(server.dataDir, (store) => {
			const { events } = store.tables;
			return store.db.select({ data: events.data }).from(events).where(eq(events.type, 'email.unparsed'));
		});
		expect(events).toHaveLength(1);
		const { sha256: kept, size, sender } = events[0]!.data as { sha256: string; size: number; sender: string };
		expect(sender).toBe('garbage@example.com');
		// As received: the bytes sent, then the line end before the terminating dot.
		const raw = await storedFile(server.dataDir, kept);
		expect(raw?.length).toBe(size);
		expect(raw?.subarray(0, garbage.length).equals(garbage)).toBe(true);
		expect((await tickets()).length).toBe(before);

		await transport.sendMail({ from: 'after@example.com', to: SUPPORT, subject: 'Still there?', text: 'Yes.' });
		expect(await bySubject('Still there?')).toHaveLength(1);
	});
});
