/**
 * Attachments on replies and notes, against a real server: an agent uploads a file to a ticket,
 * an entry lists it, an email reply carries it as a MIME part to a local relay (smtp-server on a
 * free port), and whoever may see the entry downloads the same bytes. Abuse beside each: oversize
 * and over-quota uploads leave nothing stored, entries listing too many files, malformed ones or
 * another ticket's file are refused over HTTP and the websocket, names cannot climb directories,
 * and nobody without access (another group's agent, a token of another channel, a revoked token)
 * downloads anything.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendEntries, newId, setField, type Entry } from '../../src/lib/ticket';
import { scratchFiles, storedFile, storedFiles } from '../helpers/db';
import { prepare, revokeToken, type Fixture } from '../helpers/fixtures';
import { api, connectPeer, servers, smtpPort, tempDataDir, waitFor, type RunningServer } from '../helpers/server';
import { acceptedOf, startRelay, type Relay } from '../helpers/relay';
import { createTicket } from '../helpers/tickets';

const MAX_BYTES = 64 * 1024;
const PER_ENTRY = 2;
const PER_TICKET = 160 * 1024;

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const bytes = (size: number, seed: number) => Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + seed) % 251));

interface Upload {
	status: number;
	body: any;
}

describe('attachments', () => {
	const fleet = servers();
	let server: RunningServer;
	let fx: Fixture;
	let dataDir: string;
	let relay: Relay;

	const upload = async (token: string, ticketId: string, name: string, content: Buffer | ReadableStream<Uint8Array>, type = 'application/pdf'): Promise<Upload> => {
		// The type as a parameter: a text/plain body from outside the workspace's pages is refused as a cross-site form.
		const response = await fetch(`${server.url}/api/v1/tickets/${ticketId}/attachments?name=${encodeURIComponent(name)}&type=${encodeURIComponent(type)}`, {
			method: 'POST',
			headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
			body: content,
			...(content instanceof ReadableStream ? { duplex: 'half' } : {})
		} as RequestInit);
		return { status: response.status, body: await response.json() };
	};
	const download = (token: string, ticketId: string, hash: string, init: RequestInit = {}) =>
		fetch(`${server.url}/api/v1/tickets/${ticketId}/attachments/${hash}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });
	const ann = () => api(server, fx.users.ann.token);
	const reply = (ticketId: string, attachments: unknown, extra: Record<string, unknown> = {}) =>
		ann().request('POST', `/api/v1/tickets/${ticketId}/entries`, { kind: 'message', channel: 'email', visibility: 'public', body: 'See the attached file.', meta: { attachments }, ...extra });
	/** What the installation holds: its files, and any scratch file an upload left. */
	const stored = async () => [...(await storedFiles(dataDir)), ...scratchFiles(dataDir)];
	const ticket = (subject: string) => createTicket(server, fx.tokens.mail.token, subject, { email: 'val@example.com', name: 'Val' });

	beforeAll(async () => {
		relay = await startRelay();
		dataDir = tempDataDir();
		fx = await prepare(dataDir, {
			users: { ann: { role: 'agent' }, outsider: { role: 'agent', groups: ['Sales'] }, sue: { role: 'supervisor' }, root: { role: 'admin', groups: ['Billing'] } },
			bots: { mail: ['email'], chatbot: ['chat'], revoked: ['email'] }
		});
		server = await fleet.boot(dataDir, {
			SMTP_RELAY_URL: `smtp://127.0.0.1:${relay.port}`,
			ATTACHMENT_MAX_BYTES: String(MAX_BYTES),
			ATTACHMENTS_PER_ENTRY: String(PER_ENTRY),
			ATTACHMENTS_PER_TICKET_BYTES: String(PER_TICKET),
			MAX_ATTACHMENT_BYTES: String(100 * 1024)
		});
	});
	afterAll(async () => {
		await fleet.cleanup();
		await relay?.close();
	});

	it('uploads a file, sends it with an email reply as a MIME part, and serves the same bytes to who may see the entry', async () => {
		const { id } = await ticket('Invoice copy');
		const content = bytes(40_000, 1);
		const up = await upload(fx.users.ann.token, id, 'invoice 47102 — März.pdf', content);
		expect(up.status).toBe(201);
		expect(up.body).toEqual({ name: 'invoice 47102 — März.pdf', contentType: 'application/pdf', size: content.length, sha256: sha256(content) });
		expect(await storedFile(dataDir, sha256(content))).toEqual(content);

		const sent = await reply(id, [up.body]);
		expect(sent.status).toBe(201);
		const mail = await waitFor(() => acceptedOf(relay, sent.body.id)[0]?.mail, 'the reply at the relay', 30_000);
		expect(mail.attachments).toHaveLength(1);
		expect(mail.attachments[0]!.filename).toBe('invoice 47102 — März.pdf');
		expect(mail.attachments[0]!.contentType).toBe('application/pdf');
		expect(Buffer.compare(mail.attachments[0]!.content, content)).toBe(0);

		for (const token of [fx.users.ann.token, fx.users.sue.token, fx.users.root.token, fx.tokens.mail.token]) {
			const res = await download(token, id, up.body.sha256);
			expect(res.status).toBe(200);
			expect(Buffer.from(await res.arrayBuffer())).toEqual(content);
			expect(res.headers.get('content-type')).toBe('application/pdf');
			expect(res.headers.get('x-content-type-options')).toBe('nosniff');
			expect(res.headers.get('content-disposition')).toBe(`attachment; filename="invoice 47102 _ M_rz.pdf"; filename*=UTF-8''invoice%2047102%20%E2%80%94%20M%C3%A4rz.pdf`);
		}
	});

	it("serves inbound mail's stored attachments the same way, and not the ones it skipped", async () => {
		const kept = bytes(5000, 5);
		const skipped = bytes(150 * 1024, 6);
		const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort(server), secure: false, ignoreTLS: true });
		await transport.sendMail({
			from: 'Robin <robin@example.com>',
			to: 'support@tandem.local',
			subject: 'Photos of the damage',
			text: 'See the attached photos.',
			attachments: [
				{ filename: 'damage.png', content: kept, contentType: 'image/png' },
				{ filename: 'video.mp4', content: skipped, contentType: 'video/mp4' }
			]
		});
		transport.close();
		const list = await waitFor(async () => {
			const res = await api(server, fx.tokens.mail.token).request('GET', '/api/v1/tickets?limit=50');
			return res.body.tickets.find((t: { subject: string }) => t.subject === 'Photos of the damage');
		}, 'the mailed ticket');
		const detail = await ann().request('GET', `/api/v1/tickets/${list.id}`);
		const listed = detail.body.entries[0].meta.attachments as { name: string; sha256: string; skipped?: true }[];
		expect(listed.map((a) => [a.name, a.skipped ?? false])).toEqual([['damage.png', false], ['video.mp4', true]]);
		const res = await download(fx.users.ann.token, list.id, sha256(kept));
		expect(res.status).toBe(200);
		expect(res.headers.get('content-type')).toBe('image/png');
		expect(Buffer.from(await res.arrayBuffer()).equals(kept)).toBe(true);
		expect((await download(fx.users.ann.token, list.id, sha256(skipped))).status).toBe(404);
	});

	it('answers HEAD and single byte ranges sanely', async () => {
		const { id } = await ticket('Ranges');
		const content = bytes(1000, 2);
		const up = await upload(fx.users.ann.token, id, 'data.bin', content, 'application/octet-stream');
		expect((await reply(id, [up.body])).status).toBe(201);
		const head = await download(fx.users.ann.token, id, up.body.sha256, { method: 'HEAD' });
		expect(head.status).toBe(200);
		expect(head.headers.get('content-length')).toBe('1000');
		expect(head.headers.get('accept-ranges')).toBe('bytes');
		expect((await head.arrayBuffer()).byteLength).toBe(0);
		const cases: [string, number, Buffer | null, string][] = [
			['bytes=10-19', 206, content.subarray(10, 20), 'bytes 10-19/1000'],
			['bytes=990-', 206, content.subarray(990), 'bytes 990-999/1000'],
			['bytes=-5', 206, content.subarray(995), 'bytes 995-999/1000'],
			['bytes=900-5000', 206, content.subarray(900), 'bytes 900-999/1000'],
			['bytes=1000-1001', 416, null, 'bytes */1000'],
			['bytes=20-10', 416, null, 'bytes */1000'],
			['bytes=0-1,5-6', 200, content, ''],
			['lines=1-2', 200, content, '']
		];
		for (const [range, status, body, contentRange] of cases) {
			const res = await download(fx.users.ann.token, id, up.body.sha256, { headers: { range } });
			expect(res.status, range).toBe(status);
			expect(res.headers.get('content-range') ?? '', range).toBe(contentRange);
			const got = Buffer.from(await res.arrayBuffer());
			if (body) expect(got.equals(body), range).toBe(true);
		}
	});

	it('never serves a file as something a browser renders: HTML and SVG go out as octet-stream attachments', async () => {
		const { id } = await ticket('Hostile files');
		const html = await upload(fx.users.ann.token, id, 'page.html', Buffer.from('<script>alert(document.cookie)</script>'), 'text/html');
		const svg = await upload(fx.users.ann.token, id, 'logo.svg', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), 'image/svg+xml');
		expect((await reply(id, [html.body, svg.body])).status).toBe(201);
		for (const file of [html.body, svg.body]) {
			const res = await download(fx.users.ann.token, id, file.sha256);
			expect(res.status).toBe(200);
			expect(res.headers.get('content-type')).toBe('application/octet-stream');
			expect(res.headers.get('content-disposition')).toMatch(/^attachment;/);
			expect(res.headers.get('content-security-policy')).toContain('sandbox');
		}
	});

	it('refuses an oversize upload while it streams in, and leaves no file behind', async () => {
		const { id } = await ticket('Too big');
		const before = await stored();
		// Sent in chunks without a length: the server can only find out by counting.
		let sent = 0;
		const stream = new ReadableStream<Uint8Array>({
			pull(controller) {
				if (sent >= MAX_BYTES * 4) return controller.close();
				sent += 16 * 1024;
				controller.enqueue(bytes(16 * 1024, sent));
			}
		});
		const res = await upload(fx.users.ann.token, id, 'huge.iso', stream);
		expect(res.status).toBe(413);
		expect(res.body.error).toEqual({ code: 'attachment_too_large', message: 'a file may be at most 64 KB' });
		const exact = await upload(fx.users.ann.token, id, 'big.bin', bytes(MAX_BYTES + 1, 3));
		expect(exact.status).toBe(413);
		expect(exact.body.error.code).toBe('attachment_too_large');
		expect(await stored()).toEqual(before);
		// Exactly the limit is fine, and the server still serves.
		expect((await upload(fx.users.ann.token, id, 'fits.bin', bytes(MAX_BYTES, 4))).status).toBe(201);
	});

	it("refuses uploads past the ticket's total, in words, and keeps nothing of them", async () => {
		const { id } = await ticket('Quota');
		for (let i = 0; i < 2; i++) expect((await upload(fx.users.ann.token, id, `part${i}.bin`, bytes(60 * 1024, 10 + i))).status).toBe(201);
		// The same file again costs nothing more.
		expect((await upload(fx.users.ann.token, id, 'part0 again.bin', bytes(60 * 1024, 10))).status).toBe(201);
		const before = await stored();
		const over = await upload(fx.users.ann.token, id, 'part2.bin', bytes(60 * 1024, 12));
		expect(over.status).toBe(413);
		expect(over.body.error.code).toBe('ticket_attachments_full');
		expect(over.body.error.message).toBe("this ticket's attachments may take 160 KB in all; 40 KB is left");
		expect(await stored()).toEqual(before);
	});

	it('keeps directories out of names: an upload named ../../x is stored by hash and named x', async () => {
		const { id } = await ticket('Traversal');
		const content = Buffer.from('not a password file');
		const up = await upload(fx.users.ann.token, id, '../../../etc/passwd', content, 'text/plain');
		expect(up.status).toBe(201);
		expect(up.body.name).toBe('passwd');
		const windows = await upload(fx.users.ann.token, id, '..\\..\\boot.ini', Buffer.from('x'), 'text/plain');
		expect(windows.body.name).toBe('boot.ini');
		const dots = await upload(fx.users.ann.token, id, '..', Buffer.from('y'));
		expect(dots.body.name).toBe('attachment');
		expect(fs.existsSync(path.join(dataDir, '..', 'etc'))).toBe(false);
		// A descriptor naming a path is refused; a hash that is a path is not a hash.
		const refused = await reply(id, [{ ...up.body, name: '../passwd' }]);
		expect(refused.status).toBe(400);
		expect(refused.body.error.code).toBe('invalid_attachment');
		for (const bad of ['..%2F..%2Ftandem.sqlite', '..%2Fattachments%2F' + up.body.sha256, up.body.sha256.toUpperCase()]) {
			const res = await download(fx.users.ann.token, id, bad);
			expect([400, 404]).toContain(res.status);
		}
	});

	it('refuses entries listing too many files, malformed descriptors, or files not uploaded to this ticket (HTTP)', async () => {
		const mine = await ticket('Mine');
		const theirs = await ticket('Theirs');
		const files = [];
		for (let i = 0; i < 3; i++) files.push((await upload(fx.users.ann.token, mine.id, `f${i}.txt`, Buffer.from(`file ${i}`), 'text/plain')).body);
		const foreign = (await upload(fx.users.ann.token, theirs.id, 'secret.pdf', Buffer.from('their secret'))).body;
		expect((await reply(theirs.id, [foreign], { kind: 'note', channel: 'internal', visibility: 'internal' })).status).toBe(201);

		const cases: [string, unknown, RegExp][] = [
			['too many', files, /at most 2 attachments/],
			['another ticket\'s file', [foreign], /secret\.pdf was not uploaded to this ticket/],
			['a wrong size', [{ ...files[0], size: 1 }], /size other than/],
			['a malformed hash', [{ ...files[0], sha256: 'abc' }], /sha256/],
			['an unknown key', [{ ...files[0], url: 'http://evil' }], /meta\.attachments/],
			['not a list', 'f0.txt', /meta\.attachments/]
		];
		for (const [name, attachments, message] of cases) {
			const res = await reply(mine.id, attachments);
			expect(res.status, name).toBe(400);
			expect(res.body.error.code, name).toBe('invalid_attachment');
			expect(res.body.error.message, name).toMatch(message);
		}
		// Nothing of it is in the ticket, and the foreign file cannot be fetched through it.
		const detail = await ann().request('GET', `/api/v1/tickets/${mine.id}`);
		expect(detail.body.entries).toHaveLength(1);
		expect((await download(fx.users.ann.token, mine.id, foreign.sha256)).status).toBe(404);
		// Not even an uploaded but unlisted file is served: only what an entry lists.
		expect((await download(fx.users.ann.token, mine.id, files[0].sha256)).status).toBe(404);
		expect((await reply(mine.id, files.slice(0, 2))).status).toBe(201);
		expect((await download(fx.users.ann.token, mine.id, files[0].sha256)).status).toBe(200);
	});

	it('refuses the same over the websocket, and the ticket stays unchanged for a fresh peer', async () => {
		const mine = await ticket('Live');
		const theirs = await ticket('Live, theirs');
		const foreign = (await upload(fx.users.ann.token, theirs.id, 'secret.pdf', Buffer.from('their live secret'))).body;
		const own = (await upload(fx.users.ann.token, mine.id, 'own.pdf', Buffer.from('mine'))).body;
		const entry = (attachments: unknown): Entry => ({
			id: newId(),
			kind: 'note',
			channel: 'internal',
			visibility: 'internal',
			authorType: 'agent',
			authorId: fx.users.ann.id,
			body: 'attached',
			createdAt: Date.now(),
			meta: { attachments } as Entry['meta']
		});
		for (const attachments of [[foreign], [own, own, own], [{ ...own, sha256: own.sha256.toUpperCase() }]]) {
			const peer = await connectPeer(server, mine.id, fx.users.ann.token);
			appendEntries(peer.doc, [entry(attachments)]);
			expect(await waitFor(() => peer.closeReason(), 'the refusal')).toBe('invalid-attachment');
			peer.destroy();
		}
		const fresh = await connectPeer(server, mine.id, fx.users.ann.token);
		expect(fresh.doc.getArray('entries').length).toBe(1);
		// A well-formed one passes and is downloadable.
		appendEntries(fresh.doc, [entry([own])]);
		await fresh.acknowledged();
		fresh.destroy();
		expect((await download(fx.users.ann.token, mine.id, own.sha256)).status).toBe(200);
	});

	it('serves nothing to an agent of another group, a token of another channel, a revoked token, or no one', async () => {
		const { id } = await ticket('Billing only');
		const content = Buffer.from('billing note attachment');
		const up = (await upload(fx.users.ann.token, id, 'ledger.csv', content, 'text/csv')).body;
		expect((await reply(id, [up], { kind: 'note', channel: 'internal', visibility: 'internal' })).status).toBe(201);
		const revoked = await download(fx.tokens.revoked.token, id, up.sha256);
		expect(revoked.status).toBe(200);
		expect(revoked.headers.get('content-type')).toBe('text/csv; charset=utf-8');
		// The ticket moves to Billing: ann and outsider (no group, Sales) lose it.
		const admin = await connectPeer(server, id, fx.users.root.token);
		setField(admin.doc, 'groupId', fx.groups.Billing!);
		await admin.acknowledged();
		admin.destroy();
		await waitFor(async () => (await api(server, fx.users.outsider.token).request('GET', `/api/v1/tickets/${id}`)).status === 404, 'the move to Billing');
		expect(await revokeToken(dataDir, fx.tokens.revoked.id)).toBe(true);
		for (const [who, token, status] of [
			['outsider', fx.users.outsider.token, 404],
			['ann, moved out', fx.users.ann.token, 404],
			['a chat token', fx.tokens.chatbot.token, 404],
			['a revoked token', fx.tokens.revoked.token, 401],
			['no one', '', 401]
		] as const) {
			const res = await download(token, id, up.sha256);
			expect(res.status, who).toBe(status);
			expect(Buffer.from(await res.arrayBuffer()).includes(content), who).toBe(false);
		}
		expect((await download(fx.users.root.token, id, up.sha256)).status).toBe(200);
		// Nor may they upload to it.
		expect((await upload(fx.users.outsider.token, id, 'x.txt', Buffer.from('x'))).status).toBe(404);
		expect((await upload(fx.users.sue.token, id, 'x.txt', Buffer.from('x'))).status).toBe(403);
		expect((await upload(fx.tokens.revoked.token, id, 'x.txt', Buffer.from('x'))).status).toBe(401);
	});
});
