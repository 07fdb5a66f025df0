/**
 * The y-websocket endpoint (`/yws/<document name>`) against a real server, driven by y-websocket's
 * own WebsocketProvider: it syncs and appends like a Hocuspocus peer on /collab, and is refused
 * by the same authentication and the same update checks.
 */
import WebSocket from 'ws';
import * as Y from 'yjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { appendEntry, newId, readEntries, readFields, ticketDocumentName, type Entry } from '../../src/lib/ticket';
import { REFUSE, SHUTDOWN, YWS_CLOSE } from '../../server/close-reasons';
import { SESSION_COOKIE } from '../../server/auth/sessions';
import { noteBy, replyBy } from '../helpers/entries';
import { prepare, withServices, type Fixture } from '../helpers/fixtures';
import { api, connectPeer, startServer, tempDataDir, waitFor, type Peer, type RunningServer } from '../helpers/server';
import { connectYws, type WebSocketClass, type YwsClient } from '../helpers/yws';

/** Websocket frames above this are cut off by the socket layer, on /yws as on /collab. */
const FRAME_LIMIT = 256 * 1024;
const ENV = { MAX_MESSAGE_BYTES: String(FRAME_LIMIT) };

let server: RunningServer;
let fx: Fixture;

beforeAll(async () => {
	const dataDir = tempDataDir('tandem-yws-');
	fx = await prepare(dataDir, {
		users: { ann: { role: 'agent', groups: ['Support'] }, root: { role: 'admin' }, sue: { role: 'supervisor' } },
		bots: { mailer: ['email'], retired: ['email'] }
	});
	expect(await withServices(dataDir, async ({ auth }) => auth.tokens.revoke(fx.tokens.retired.id))).toBe(true);
	server = await startServer({ dataDir, env: ENV });
});
afterAll(async () => {
	await server?.stop();
});

const peers: Peer[] = [];
const clients: YwsClient[] = [];
afterEach(() => {
	for (const peer of peers.splice(0)) peer.destroy();
	for (const client of clients.splice(0)) client.provider.destroy();
});

async function createTicket(): Promise<{ id: string; entries: Entry[] }> {
	const res = await api(server, fx.tokens.mailer.token).request('POST', '/api/v1/tickets', {
		subject: 'Refund for order 1142',
		requester: { email: `pat+${newId().toLowerCase()}@example.com`, name: 'Pat' },
		channel: 'email',
		body: 'I was charged twice.'
	});
	expect(res.status).toBe(201);
	return res.body;
}

async function peer(ticketId: string, token: string) {
	const connected = await connectPeer(server, ticketId, token);
	peers.push(connected);
	return connected;
}

/** A y-websocket peer of `documentName`, with `token` in the query string when given (closed after each case). */
function yws(documentName: string, token?: string, options: { doc?: Y.Doc; WebSocketPolyfill?: WebSocketClass } = {}): YwsClient {
	const client = connectYws(server, documentName, token, options);
	clients.push(client);
	return client;
}

const synced = (client: YwsClient) => waitFor(() => client.provider.synced, 'the y-websocket client to sync');
const closedWith = (client: YwsClient) => waitFor(() => client.closed(), 'the server to close the socket');

/** A message the mailer bot relays on email (`extra` may break the rules on purpose). */
const botMessage = (extra: Record<string, unknown> = {}) => replyBy(fx.tokens.mailer.id, 'Relayed message', { channel: 'email', authorType: 'bot', ...extra });

async function rejectionReasons(ticketId: string): Promise<string[]> {
	const res = await api(server, fx.users.root.token).request('GET', `/api/v1/tickets/${ticketId}/events`);
	expect(res.status).toBe(200);
	return (res.body.events as { type: string; data: { reason?: string } }[]).filter((e) => e.type === 'update.rejected').map((e) => e.data.reason ?? '');
}

describe('syncing and writing over /yws', () => {
	it("a bot token syncs an existing ticket's entries and fields", async () => {
		const ticket = await createTicket();
		const client = yws(ticketDocumentName(ticket.id), fx.tokens.mailer.token);
		await synced(client);
		expect(readEntries(client.doc)).toEqual(ticket.entries);
		expect(readFields(client.doc).subject).toBe('Refund for order 1142');
	});

	it('an append reaches a Hocuspocus peer live and survives a SIGKILL', async () => {
		const ticket = await createTicket();
		const honest = await peer(ticket.id, fx.users.ann.token);
		const client = yws(ticketDocumentName(ticket.id), fx.tokens.mailer.token);
		await synced(client);
		const entry = botMessage();
		appendEntry(client.doc, entry);
		// Broadcast only after it is stored (the update log is written before an update is applied).
		await waitFor(() => readEntries(honest.doc).some((e) => e.id === entry.id), 'the append at the Hocuspocus peer');
		expect(client.closed()).toBeNull();

		client.provider.destroy();
		honest.destroy();
		await server.kill();
		server = await startServer({ dataDir: server.dataDir, env: ENV });
		const res = await api(server, fx.tokens.mailer.token).request('GET', `/api/v1/tickets/${ticket.id}`);
		expect(res.status).toBe(200);
		expect((res.body.entries as Entry[]).map((e) => e.id)).toEqual([...ticket.entries.map((e) => e.id), entry.id]);
	});

	it('a session cookie is accepted like on /collab', async () => {
		const ticket = await createTicket();
		const cookie = `${SESSION_COOKIE}=${fx.users.ann.token}`;
		class CookieWebSocket extends WebSocket {
			constructor(address: string, protocols?: string | string[]) {
				super(address, protocols, { headers: { cookie } });
			}
		}
		const client = yws(ticketDocumentName(ticket.id), undefined, { WebSocketPolyfill: CookieWebSocket });
		await synced(client);
		expect(readEntries(client.doc)).toEqual(ticket.entries);
	});
});

describe('refusals over /yws', () => {
	const REFUSED_UPDATES = [
		{
			name: 'a bot writing on a channel outside its scope',
			reason: 'forbidden-author',
			mutate: (doc: Y.Doc) => appendEntry(doc, botMessage({ channel: 'chat' }))
		},
		{
			name: 'modifying an entry (delete and reinsert)',
			reason: 'entries-append-only',
			// HOSTILE: around the ticket module, on purpose, as an attacker would (see attacks.test.ts).
			mutate: (doc: Y.Doc) =>
				doc.transact(() => {
					const entries = doc.getArray<Entry>('entries');
					const first = entries.get(0);
					entries.delete(0, 1);
					entries.insert(0, [{ ...first, body: 'Never mind, all is well.' }]);
				})
		}
	];

	// Live: an update of a synced client. Handshake: edits made offline on a copy of the ticket,
	// sent in the client's SyncStep2 when it connects.
	const CASES = REFUSED_UPDATES.flatMap((c) => (['live', 'handshake'] as const).map((when) => ({ ...c, when })));

	it.each(CASES)('refuses $name ($when): closed with the reason, nothing applied or broadcast', async ({ reason, mutate, when }) => {
		const ticket = await createTicket();
		const honest = await peer(ticket.id, fx.users.ann.token);
		const before = Y.encodeStateVector(honest.doc);
		const received: Uint8Array[] = [];
		honest.doc.on('update', (update: Uint8Array) => received.push(update));

		if (when === 'live') {
			const client = yws(ticketDocumentName(ticket.id), fx.tokens.mailer.token);
			await synced(client);
			mutate(client.doc);
			expect(await closedWith(client)).toEqual({ code: YWS_CLOSE.refused, reason });
		} else {
			const offline = new Y.Doc();
			Y.applyUpdate(offline, Y.encodeStateAsUpdate(honest.doc));
			mutate(offline);
			const client = yws(ticketDocumentName(ticket.id), fx.tokens.mailer.token, { doc: offline });
			expect(await closedWith(client)).toEqual({ code: YWS_CLOSE.refused, reason });
		}

		const fresh = await peer(ticket.id, fx.users.ann.token);
		expect(readEntries(fresh.doc)).toEqual(ticket.entries);
		expect(Y.encodeStateVector(fresh.doc)).toEqual(before);
		// A legitimate change made after the refusal is the first and only update the honest peer gets.
		const legit = noteBy(fx.users.ann.id, 'Legitimate follow-up');
		appendEntry(fresh.doc, legit);
		await fresh.acknowledged();
		await waitFor(() => readEntries(honest.doc).some((e) => e.id === legit.id), 'the legitimate change at the honest peer');
		expect(received).toHaveLength(1);
		expect(Y.decodeUpdate(received[0]).structs.map((s) => s.id.client)).toEqual([fresh.doc.clientID]);
		expect(await rejectionReasons(ticket.id)).toContain(reason);
	});

	it.each([
		{ name: 'no token', token: () => undefined },
		{ name: 'a bad token', token: () => 'not-a-token' },
		{ name: 'a revoked token', token: () => fx.tokens.retired.token }
	])('closes a socket with $name before syncing anything', async ({ token }) => {
		const ticket = await createTicket();
		const client = yws(ticketDocumentName(ticket.id), token());
		expect(await closedWith(client)).toEqual({ code: YWS_CLOSE.unauthorized, reason: REFUSE.unauthorized });
		expect(client.provider.synced).toBe(false);
		expect(readEntries(client.doc)).toEqual([]);
	});

	it('refuses a ticket that does not exist', async () => {
		const client = yws(ticketDocumentName(newId()), fx.tokens.mailer.token);
		expect(await closedWith(client)).toEqual({ code: YWS_CLOSE.unknownDocument, reason: REFUSE.unknownDocument });
	});

	it.each([
		['/yws/', 404],
		['/yws/not-a-ticket', 404],
		['/yws/ticket:', 404],
		['/yws/%E0%A4%A', 400]
	])('answers an upgrade on %s with %i', async (route, expected) => {
		const socket = new WebSocket(server.url.replace(/^http/, 'ws') + route);
		const status = await new Promise<number>((resolve, reject) => {
			socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
			socket.once('open', () => reject(new Error('upgraded')));
			socket.once('error', () => {});
		});
		socket.terminate();
		expect(status).toBe(expected);
	});

	it('a frame above the size limit is cut off by the socket layer', async () => {
		const ticket = await createTicket();
		const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/yws/${ticketDocumentName(ticket.id)}?token=${fx.tokens.mailer.token}`);
		const code = await new Promise<number>((resolve, reject) => {
			socket.once('open', () => socket.send(new Uint8Array(FRAME_LIMIT + 1)));
			socket.once('close', resolve);
			socket.once('error', reject);
		});
		expect(code).toBe(1009); // message too big
	});

	it('a supervisor reads but cannot write', async () => {
		const ticket = await createTicket();
		const client = yws(ticketDocumentName(ticket.id), fx.users.sue.token);
		await synced(client);
		expect(readEntries(client.doc)).toEqual(ticket.entries);
		appendEntry(client.doc, noteBy(fx.users.sue.id, 'Looks fine'));
		expect(await closedWith(client)).toEqual({ code: YWS_CLOSE.refused, reason: REFUSE.readOnly });
		const fresh = await peer(ticket.id, fx.users.ann.token);
		expect(readEntries(fresh.doc)).toEqual(ticket.entries);
	});
});

describe('presence over /yws', () => {
	it("a y-websocket client's awareness reaches a Hocuspocus peer with the identity the server set", async () => {
		const ticket = await createTicket();
		const honest = await peer(ticket.id, fx.users.ann.token);
		const client = yws(ticketDocumentName(ticket.id), fx.tokens.mailer.token);
		client.provider.awareness.setLocalState({ user: { id: fx.users.root.id, name: 'The CEO' }, typing: true });
		await synced(client);
		const state = await waitFor(() => honest.provider.awareness?.getStates().get(client.doc.clientID), 'the awareness state at the peer');
		expect(state.typing).toBe(true);
		expect(state.user).toMatchObject({ id: fx.tokens.mailer.id, kind: 'bot', role: 'bot', readOnly: false });
	});
});

describe('shutdown', () => {
	it('closes /yws sockets like /collab ones, so that clients reconnect to the next server', async () => {
		const ticket = await createTicket();
		const client = yws(ticketDocumentName(ticket.id), fx.tokens.mailer.token);
		await synced(client);
		expect(await server.stop()).toBe(0);
		expect(await closedWith(client)).toEqual(SHUTDOWN);
		server = await startServer({ dataDir: server.dataDir, env: ENV });
	});
});
