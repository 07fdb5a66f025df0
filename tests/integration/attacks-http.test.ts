/**
 * Attacks on the HTTP and upgrade boundary (issue #12, classes 1, 5, 9 and 11), each against a real
 * server process: malformed requests and sockets that must not end the process, websocket upgrades
 * carrying the session cookie from another origin, JSON and forms built to break the parser, stored
 * content built to break a page, and headers a client sends to pass for a proxy.
 */
import { sql } from 'drizzle-orm';
import net from 'node:net';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { entriesArray, readEntries, ticketDocumentName, type Entry } from '../../src/lib/ticket';
import { REFUSE, YWS_CLOSE } from '../../server/close-reasons';
import { SESSION_COOKIE } from '../../server/auth/sessions';
import { TicketLog } from '../../server/storage/ticket-log';
import { countRows, withStore } from '../helpers/db';
import { noteBy } from '../helpers/entries';
import { PASSWORD, prepare, type Fixture } from '../helpers/fixtures';
import { sendPage } from '../helpers/pages';
import { api, connectPeer, emailTicket, startServer, tempDataDir, waitFor, type Peer, type RunningServer } from '../helpers/server';

let server: RunningServer;
let fx: Fixture;

beforeAll(async () => {
	const dataDir = tempDataDir('tandem-attacks-http-');
	fx = await prepare(dataDir, {
		users: { ann: { role: 'agent', groups: ['Support'] }, root: { role: 'admin' } },
		bots: { mailer: ['email'] }
	});
	server = await startServer({ dataDir });
});
afterAll(async () => {
	await server?.stop();
});

const closers: (() => void)[] = [];
afterEach(() => {
	for (const close of closers.splice(0)) close();
});

const createTicket = (on: RunningServer = server, botToken = fx.tokens.mailer.token) => emailTicket(on, botToken);

async function healthy(on: RunningServer = server) {
	const res = await fetch(on.url + '/healthz');
	expect(res.status).toBe(200);
	expect(await res.json()).toMatchObject({ status: 'ok', database: 'ok' });
}

const updateRows = (on: RunningServer, ticketId: string) => countRows(on.dataDir, sql`SELECT count(*) AS n FROM ticket_updates WHERE ticket_id = ${ticketId}`);

/**
 * Writes `bytes` on a fresh TCP connection and reads until the server answers or closes: the
 * status of the answer's first line, or 'closed' when it closed without one.
 */
function rawExchange(on: RunningServer, bytes: string | Buffer): Promise<number | 'closed'> {
	const { port } = new URL(on.url);
	return new Promise((resolve, reject) => {
		const socket = net.connect(Number(port), '127.0.0.1');
		let received = '';
		const timer = setTimeout(() => {
			socket.destroy();
			reject(new Error(`no answer and no close: ${JSON.stringify(received.slice(0, 200))}`));
		}, 10_000);
		const done = () => {
			clearTimeout(timer);
			socket.destroy();
			const status = /^HTTP\/1\.[01] (\d{3})/.exec(received);
			resolve(status ? Number(status[1]) : 'closed');
		};
		socket.on('data', (chunk) => {
			received += chunk.toString('latin1');
			if (received.includes('\r\n')) done();
		});
		socket.on('end', done);
		socket.on('close', done);
		socket.on('error', () => {});
		socket.write(bytes);
	});
}

const request = (method: string, target: string, headers: Record<string, string> = {}) =>
	`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
		.map(([k, v]) => `${k}: ${v}\r\n`)
		.join('')}\r\n`;
const upgrade = (target: string, headers: Record<string, string> = {}) =>
	request('GET', target, { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers });

// ---------------------------------------------------------------------------------------------

describe('no request ends the process (class 1)', () => {
	const signedIn = () => ({ Cookie: `${SESSION_COOKIE}=${fx.users.ann.token}` });
	const cases: [string, () => string | Buffer][] = [
		['a signed-out page with bad percent-encoding (GET /%ff)', () => request('GET', '/%ff')],
		['a lone percent sign', () => request('GET', '/%')],
		['a percent sign before non-hex digits', () => request('GET', '/%zz')],
		['a truncated UTF-8 sequence in a ticket path', () => request('GET', '/tickets/%E0%A4%A')],
		['bad percent-encoding, signed in', () => request('GET', '/tickets/%ff', signedIn())],
		['bad percent-encoding in an API path', () => request('GET', '/api/v1/tickets/%ff')],
		['bad percent-encoding in an admin form post', () => request('POST', '/admin/%ff?/createGroup', { ...signedIn(), 'Content-Length': '0' })],
		['an overlong path (9 KB)', () => request('GET', '/' + 'a'.repeat(9 * 1024))],
		['a path beyond the header limit (100 KB)', () => request('GET', '/' + 'a'.repeat(100 * 1024))],
		['an unknown method', () => request('FROB', '/')],
		['a WebDAV method', () => request('PROPFIND', '/')],
		['TRACE', () => request('TRACE', '/')],
		['CONNECT', () => request('CONNECT', '127.0.0.1:443')],
		['an absolute-form target', () => request('GET', 'http://evil.example/')],
		['a scheme-relative target', () => request('GET', '//evil.example/')],
		['no Host header', () => 'GET /login HTTP/1.0\r\n\r\n'],
		['raw bytes', () => Buffer.from([0, 255, 1, 254, 13, 10, 13, 10])],
		['a request line of garbage', () => 'hello there\r\n\r\n'],
		['an upgrade without a key', () => request('GET', '/collab', { Connection: 'Upgrade', Upgrade: 'websocket' })],
		['an upgrade with an unknown version', () => upgrade('/collab', { 'Sec-WebSocket-Version': '7' })],
		['an upgrade to a path with bad percent-encoding', () => upgrade('/yws/%ff')],
		['an upgrade to /yws with a truncated UTF-8 sequence', () => upgrade('/yws/ticket:%E0%A4%A')],
		['an upgrade to an unknown path', () => upgrade('/nowhere')],
		['an upgrade by an unknown method', () => upgrade('/collab').replace(/^GET/, 'FROB')],
		['an upgrade to another protocol', () => request('GET', '/collab', { Connection: 'Upgrade', Upgrade: 'h2c' })],
		['an upgrade followed by garbage frames', () => Buffer.concat([Buffer.from(upgrade('/collab')), Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 1, 2, 3])])]
	];

	it.each(cases)('%s gets a 4xx/5xx or a closed socket, and the server keeps serving', async (_name, bytes) => {
		const answer = await rawExchange(server, bytes());
		// The upgrades that are well-formed are taken (101) and closed by the peer layer; nothing else succeeds.
		if (answer !== 'closed' && answer !== 101) expect(answer).toBeGreaterThanOrEqual(400);
		await healthy();
	});

	it.each([
		['a protocol header that names a host', request('GET', '/login', { 'X-Forwarded-Proto': 'https://evil.example:' })],
		['two Host headers', request('GET', '/login', { Host: 'evil.example' })],
		['an address header naming no address', request('GET', '/login', { 'X-Forwarded-For': ',,,' })]
	])('%s (headers only a trusted proxy may set) is answered, and the server keeps serving', async (_name, bytes) => {
		expect(await rawExchange(server, bytes)).not.toBe('closed');
		await healthy();
	});

	it('the original crash: GET /%ff from a browser, repeated, answers 400 each time and the server stays up', async () => {
		for (let i = 0; i < 5; i++) {
			const res = await fetch(server.url + '/%ff', { headers: { accept: 'text/html' } });
			expect(res.status).toBe(400);
		}
		await healthy();
		expect(server.process.exitCode).toBeNull();
	});

	it('a socket reset in the middle of an upgrade and of a request leaves the server serving', async () => {
		const { port } = new URL(server.url);
		for (const bytes of [upgrade('/collab').slice(0, 40), request('POST', '/api/v1/tickets', { 'Content-Length': '1000' }) + '{"subj']) {
			const socket = net.connect(Number(port), '127.0.0.1');
			await new Promise((resolve) => socket.once('connect', resolve));
			socket.write(bytes);
			socket.resetAndDestroy();
		}
		await healthy();
	});
});

// ---------------------------------------------------------------------------------------------

/** A Hocuspocus peer of `ticketId` signed in by `session` as a cookie, its upgrade sent with `headers` (Origin…). */
async function cookiePeer(on: RunningServer, ticketId: string, headers: Record<string, string>, session = fx.users.ann.token): Promise<Peer> {
	const peer = await connectPeer(on, ticketId, '', { waitSynced: false, headers: { cookie: `${SESSION_COOKIE}=${session}`, ...headers } });
	closers.push(() => peer.destroy());
	return peer;
}

/** A y-websocket client of `ticketId` at /yws, with the cookie and `headers`, or `?token=`. */
function ywsClient(on: RunningServer, ticketId: string, auth: { headers?: Record<string, string>; token?: string }) {
	const doc = new Y.Doc();
	class Client extends WebSocket {
		constructor(address: string, protocols?: string | string[]) {
			const cookie = auth.token ? {} : { cookie: `${SESSION_COOKIE}=${fx.users.ann.token}` };
			super(address, protocols, { headers: { ...cookie, ...auth.headers } });
		}
	}
	const provider = new WebsocketProvider(on.url.replace(/^http/, 'ws') + '/yws', ticketDocumentName(ticketId), doc, {
		WebSocketPolyfill: Client as never,
		disableBc: true,
		params: auth.token ? { token: auth.token } : {}
	});
	let closed: { code: number; reason: string } | null = null;
	provider.on('connection-close', (event) => {
		if (event) closed ??= { code: event.code, reason: event.reason };
	});
	closers.push(() => provider.destroy());
	return { doc, provider, closed: () => closed };
}

/** Another port of the same host and a sibling host: pages there share the site, so the cookie. */
const foreignOrigins = () => {
	const { port } = new URL(server.url);
	return [`http://127.0.0.1:${Number(port) === 65535 ? 1 : Number(port) + 1}`, `http://widget.localhost:${port}`, 'null'];
};

describe('cross-site websocket hijacking (class 5)', () => {
	it.each([0, 1, 2])('a cookie upgrade to /collab from a foreign origin (#%i) is refused, reads nothing and writes nothing', async (which) => {
		const ticket = await createTicket();
		const rows = await updateRows(server, ticket.id);
		const origin = foreignOrigins()[which];
		const peer = await cookiePeer(server, ticket.id, { origin });
		// It tries to write at once: frames sent before authentication are queued, then dropped.
		entriesArray(peer.doc).push([noteBy(fx.users.ann.id, 'hijacked')]);
		expect(await waitFor(() => peer.closeReason(), 'the refusal')).toBe(REFUSE.crossOrigin);
		expect(peer.provider.isSynced).toBe(false);
		expect(readEntries(peer.doc).map((e) => e.body)).toEqual(['hijacked']);
		// A fresh, legitimate peer sees the ticket as it was; nothing was stored.
		const fresh = await connectPeer(server, ticket.id, fx.users.ann.token);
		closers.push(() => fresh.destroy());
		expect(readEntries(fresh.doc)).toEqual(ticket.entries);
		expect(await updateRows(server, ticket.id)).toBe(rows);
	});

	it('a cookie upgrade to /yws from a foreign origin is closed with 4403 cross-origin and gets nothing', async () => {
		const ticket = await createTicket();
		const client = ywsClient(server, ticket.id, { headers: { origin: foreignOrigins()[0] } });
		expect(await waitFor(() => client.closed(), 'the close')).toEqual({ code: YWS_CLOSE.refused, reason: REFUSE.crossOrigin });
		expect(readEntries(client.doc)).toEqual([]);
	});

	it('a cookie upgrade from the workspace’s own origin works on /collab and /yws, and writes', async () => {
		const ticket = await createTicket();
		const peer = await cookiePeer(server, ticket.id, { origin: server.url });
		await waitFor(() => peer.provider.isSynced, 'sync');
		expect(readEntries(peer.doc)).toEqual(ticket.entries);
		const note = noteBy(fx.users.ann.id, 'same origin');
		entriesArray(peer.doc).push([note]);
		await peer.acknowledged();
		const client = ywsClient(server, ticket.id, { headers: { origin: server.url } });
		await waitFor(() => client.provider.synced, 'the /yws sync');
		expect(readEntries(client.doc).map((e) => e.id)).toEqual([...ticket.entries.map((e) => e.id), note.id]);
	});

	it('a cookie upgrade without Origin (not a browser) is let in: browsers always send one', async () => {
		const ticket = await createTicket();
		const peer = await cookiePeer(server, ticket.id, {});
		await waitFor(() => peer.provider.isSynced, 'sync');
		expect(readEntries(peer.doc)).toEqual(ticket.entries);
	});

	it('a bot token works from any origin, on /collab and /yws', async () => {
		const ticket = await createTicket();
		const origin = foreignOrigins()[1];
		const peer = await connectPeer(server, ticket.id, fx.tokens.mailer.token, { headers: { origin } });
		closers.push(() => peer.destroy());
		expect(readEntries(peer.doc)).toEqual(ticket.entries);
		const client = ywsClient(server, ticket.id, { token: fx.tokens.mailer.token, headers: { origin } });
		await waitFor(() => client.provider.synced, 'the /yws bot to sync');
		expect(readEntries(client.doc)).toEqual(ticket.entries);
	});
});

// ---------------------------------------------------------------------------------------------

/** `{"a":{"a":…1}}`, `levels` objects deep. */
const nested = (levels: number): unknown => JSON.parse('{"a":'.repeat(levels) + '1' + '}'.repeat(levels));

describe('bad input gives a 4xx, never a 500 (class 9)', () => {
	it.each([
		['just past the meta limit (17 levels)', 17, 400, 'invalid_field'],
		['where it used to be a 500 (1,600 levels)', 1_600, 400, 'json_too_deep'],
		['where it used to be stored (20,000 levels)', 20_000, 400, 'json_too_deep']
	])('an entry with meta nested %s is refused in the API’s error shape', async (_name, levels, status, code) => {
		const ticket = await createTicket();
		const raw = `{"kind":"note","channel":"internal","visibility":"internal","body":"deep","meta":${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}}`;
		const res = await api(server, fx.users.ann.token).request('POST', `/api/v1/tickets/${ticket.id}/entries`, undefined, { raw });
		expect(res.status).toBe(status);
		expect(res.body.error.code).toBe(code);
		const read = await api(server, fx.users.ann.token).request('GET', `/api/v1/tickets/${ticket.id}`);
		expect(read.status).toBe(200);
		expect(read.body.entries).toEqual(ticket.entries);
	});

	it('meta nested 16 levels is still accepted', async () => {
		const ticket = await createTicket();
		const res = await api(server, fx.users.ann.token).request('POST', `/api/v1/tickets/${ticket.id}/entries`, {
			kind: 'note',
			channel: 'internal',
			visibility: 'internal',
			body: 'deep enough',
			meta: nested(16)
		});
		expect(res.status).toBe(201);
	});

	it('any JSON endpoint refuses a deeply nested body (arrays, 100,000 levels) with 400 json_too_deep', async () => {
		for (const [route, token] of [
			['/api/v1/tickets', fx.tokens.mailer.token],
			['/api/v1/objects', fx.users.root.token],
			['/api/v1/macros', fx.users.root.token]
		] as const) {
			const res = await api(server, token).request('POST', route, undefined, { raw: '['.repeat(100_000) + ']'.repeat(100_000) });
			expect(res.status, route).toBe(400);
			expect(res.body.error.code, route).toBe('json_too_deep');
		}
		await healthy();
	});

	it('a websocket entry with meta nested too deep is refused as invalid-entry and not stored', async () => {
		const ticket = await createTicket();
		const rows = await updateRows(server, ticket.id);
		const peer = await connectPeer(server, ticket.id, fx.users.ann.token);
		closers.push(() => peer.destroy());
		entriesArray(peer.doc).push([noteBy(fx.users.ann.id, 'deep', { meta: nested(200) })]);
		expect(await waitFor(() => peer.closeReason(), 'the refusal')).toBe('invalid-entry');
		expect(await updateRows(server, ticket.id)).toBe(rows);
	});

	it('a malformed multipart body to POST /login answers 400, and sign-in still works', async () => {
		for (const body of ['--x\r\nContent-Disposition: form-data\r\n\r\nno closing boundary', 'not multipart at all', '--x--\r\n\u0000\u0001']) {
			const res = await fetch(server.url + '/login', {
				method: 'POST',
				headers: { 'content-type': 'multipart/form-data; boundary=x', origin: server.url, accept: 'text/html' },
				body
			});
			expect(res.status).toBe(400);
		}
		const res = await fetch(server.url + '/login', {
			method: 'POST',
			headers: { 'content-type': 'multipart/form-data; boundary=x', origin: server.url, accept: 'text/html' },
			body: '--x\r\nContent-Disposition: form-data; name="email"\r\n\r\nann@test.local\r\n--x\r\nContent-Disposition: form-data; name="password"\r\n\r\n' + PASSWORD + '\r\n--x--\r\n',
			redirect: 'manual'
		});
		expect(res.status).toBe(303);
		await healthy();
	});

	it('a malformed multipart body to an admin form answers 400 and changes nothing', async () => {
		const before = await countRows(server.dataDir, sql`SELECT count(*) AS n FROM groups`);
		for (const action of ['/admin?/createGroup', '/admin/context?/saveApp', '/admin/routing?/saveSettings']) {
			const res = await fetch(server.url + action, {
				method: 'POST',
				headers: { 'content-type': 'multipart/form-data; boundary=x', origin: server.url, cookie: `${SESSION_COOKIE}=${fx.users.root.token}`, accept: 'text/html' },
				body: '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nHalf a group'
			});
			expect(res.status, action).toBe(400);
		}
		expect(await countRows(server.dataDir, sql`SELECT count(*) AS n FROM groups`)).toBe(before);
	});

	it('a ticket whose stored entry meta is absurdly deep (written before the limit) still opens: page, JSON and live document', async () => {
		const dataDir = tempDataDir('tandem-attacks-http-deep-');
		const own = await prepare(dataDir, { users: { ann: { role: 'agent', groups: ['Support'] } }, bots: { mailer: ['email'] } });
		let running = await startServer({ dataDir });
		const ticketId = (await emailTicket(running, own.tokens.mailer.token, 'Deep meta')).id;
		await running.stop();
		// Straight into the log, as an older version (without the depth limit) would have stored it.
		const deep = { ...noteBy(own.users.ann.id, 'The deep one'), meta: nested(3_000) } as Entry;
		await withStore(dataDir, async (store) => {
			const log = new TicketLog(store);
			const doc = new Y.Doc();
			await log.loadInto(ticketId, doc);
			const before = Y.encodeStateVector(doc);
			entriesArray(doc).push([deep]);
			await log.append(ticketId, Y.encodeStateAsUpdate(doc, before), 'test');
		});
		running = await startServer({ dataDir });
		try {
			const page = await sendPage(running, 'GET', `/tickets/${ticketId}`, own.users.ann.token);
			expect(page.status).toBe(200);
			expect(page.text).toContain('The deep one');
			const read = await api(running, own.users.ann.token).request('GET', `/api/v1/tickets/${ticketId}`);
			expect(read.status).toBe(200);
			expect(read.body.entries.map((e: Entry) => e.body)).toEqual(['I was charged twice.', 'The deep one']);
			const peer = await connectPeer(running, ticketId, own.users.ann.token);
			closers.push(() => peer.destroy());
			expect(readEntries(peer.doc).map((e) => e.body)).toEqual(['I was charged twice.', 'The deep one']);
			await healthy(running);
		} finally {
			await running.stop();
		}
	});
});

// ---------------------------------------------------------------------------------------------

const policies = (res: Response) => (res.headers.get('content-security-policy') ?? '').split(',').map((p) => p.trim());

describe('headers and proxies (class 11)', () => {
	it('a page gets a nonce-based CSP, nosniff, a referrer policy, and may only be framed by the workspace', async () => {
		for (const [route, cookie] of [
			['/login', ''],
			['/', `${SESSION_COOKIE}=${fx.users.ann.token}`]
		]) {
			const res = await fetch(server.url + route, { headers: { accept: 'text/html', cookie } });
			expect(res.status, route).toBe(200);
			expect(res.headers.get('x-content-type-options')).toBe('nosniff');
			expect(res.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
			const [page, framing] = policies(res);
			expect(page).toMatch(/script-src 'self' 'nonce-[^']+'/);
			expect(page).toContain("object-src 'none'");
			expect(page).not.toContain('unsafe-eval');
			expect(framing).toBe("frame-ancestors 'self'");
			// Every inline script the page carries has the nonce of its policy.
			const nonce = /'nonce-([^']+)'/.exec(page)![1];
			const html = await res.text();
			const inline = [...html.matchAll(/<script(?![^>]*\ssrc=)([^>]*)>/g)].map((m) => m[1]);
			expect(inline.length).toBeGreaterThan(0);
			for (const attributes of inline) expect(attributes).toContain(`nonce="${nonce}"`);
		}
	});

	it('an API answer and a static file get nosniff and a referrer policy; the API may not be framed', async () => {
		const res = await fetch(server.url + '/api/v1/tickets', { headers: { authorization: `Bearer ${fx.users.ann.token}` } });
		expect(res.status).toBe(200);
		expect(res.headers.get('x-content-type-options')).toBe('nosniff');
		expect(res.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
		expect(policies(res)).toEqual(["frame-ancestors 'self'"]);
		const file = await fetch(server.url + '/widget.js');
		expect(file.status).toBe(200);
		expect(file.headers.get('x-content-type-options')).toBe('nosniff');
		const refused = await fetch(server.url + '/%ff');
		expect(refused.headers.get('x-content-type-options')).toBe('nosniff');
	});

	it('the chat page may be framed by any site (the widget embeds it), with the page policy otherwise', async () => {
		const res = await fetch(server.url + '/chat?embed=1', { headers: { accept: 'text/html' } });
		expect(res.status).toBe(200);
		expect(res.headers.get('x-content-type-options')).toBe('nosniff');
		const all = policies(res);
		expect(all).toHaveLength(1);
		expect(all[0]).toMatch(/script-src 'self' 'nonce-/);
		expect(all[0]).not.toContain('frame-ancestors');
	});

	/** A sign-in form post with `headers`: the session cookie's line when it signed in. */
	async function signIn(on: RunningServer, headers: Record<string, string>) {
		return fetch(on.url + '/login', {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', origin: on.url, ...headers },
			body: new URLSearchParams({ email: 'ann@test.local', password: PASSWORD }),
			redirect: 'manual'
		});
	}

	/** Visitor sessions started, each claiming another client address, until one is refused. */
	async function visitorSessions(on: RunningServer, count: number) {
		const statuses: number[] = [];
		for (let i = 0; i < count; i++) {
			const res = await fetch(on.url + '/api/v1/visitor', { method: 'POST', headers: { 'x-forwarded-for': `10.1.${i >> 8}.${i & 255}` } });
			statuses.push(res.status);
		}
		return statuses;
	}

	it('without TRUST_PROXY, X-Forwarded-Proto, -Host and -For from a client change nothing', async () => {
		// Claimed https: the session cookie is still not Secure.
		const res = await signIn(server, { 'x-forwarded-proto': 'https' });
		expect(res.status).toBe(303);
		expect(res.headers.getSetCookie().find((c) => c.startsWith(SESSION_COOKIE))).not.toMatch(/;\s*Secure/i);
		// Claimed another origin: a form post from there is still cross-site (SvelteKit's CSRF check).
		const forged = await signIn(server, { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example', origin: 'https://evil.example' });
		expect(forged.status).toBe(403);
		// Claimed other addresses: the per-address limit of visitor sessions (30 a minute) still counts one address.
		const statuses = await visitorSessions(server, 31);
		expect(statuses.slice(0, 30).every((s) => s === 201)).toBe(true);
		expect(statuses[30]).toBe(429);
	});

	it('with TRUST_PROXY=1 and ORIGIN, the proxy’s headers are honoured and sockets must come from ORIGIN', async () => {
		const dataDir = tempDataDir('tandem-attacks-http-proxy-');
		const own = await prepare(dataDir, { users: { ann: { role: 'agent', groups: ['Support'] } }, bots: { mailer: ['email'] } });
		const origin = 'https://help.example.com';
		const proxied = await startServer({ dataDir, env: { TRUST_PROXY: '1', ORIGIN: origin } });
		try {
			// As the proxy passes it on: the scheme the browser used, and the browser's address.
			const res = await signIn(proxied, { 'x-forwarded-proto': 'https', origin });
			expect(res.status).toBe(303);
			expect(res.headers.getSetCookie().find((c) => c.startsWith(SESSION_COOKIE))).toMatch(/;\s*Secure/i);
			// ORIGIN is the workspace's origin: a post from the server's own address is now the foreign one.
			expect((await signIn(proxied, { origin: proxied.url })).status).toBe(403);
			expect(await visitorSessions(proxied, 31)).toEqual(Array(31).fill(201));
			// The websocket origin check follows ORIGIN too.
			const ticket = await createTicket(proxied, own.tokens.mailer.token);
			const fromOrigin = await cookiePeer(proxied, ticket.id, { origin }, own.users.ann.token);
			await waitFor(() => fromOrigin.provider.isSynced, 'sync from ORIGIN');
			const fromServerAddress = await cookiePeer(proxied, ticket.id, { origin: proxied.url }, own.users.ann.token);
			expect(await waitFor(() => fromServerAddress.closeReason(), 'the refusal')).toBe(REFUSE.crossOrigin);
		} finally {
			await proxied.stop();
		}
	});
});
