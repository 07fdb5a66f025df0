/**
 * Attack suite: hostile peers, bots, tokens and raw sockets against one running server.
 *
 * Every case runs on a fresh ticket with an honest agent connected throughout, and checks that
 *   1. the attack is refused, with the exact reason (websocket) or status and error code (HTTP);
 *   2. the ticket, as a freshly connected peer sees it, is identical before and after (and the
 *      update log gained no row);
 *   3. the honest peer received nothing: after the attack a third peer makes a legitimate change,
 *      and once the honest peer has it, that change must be the only update it ever got (a hostile
 *      broadcast, sent earlier on the same document, would have arrived first);
 *   4. the server keeps serving (healthz, a new connection), and a refused websocket update is
 *      recorded as an `update.rejected` event.
 * Each websocket rule is attacked twice: as a live update of a connected peer, and inside the
 * sync handshake of a peer that replicated the ticket, edited it offline and reconnects.
 */
import { sql } from 'drizzle-orm';
import Database from 'better-sqlite3';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import { applyAwarenessUpdate } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
	appendEntry,
	appendSideEntry,
	newId,
	openSide,
	readDrafts,
	readEntries,
	readFields,
	readSides,
	setField,
	ticketDocumentName,
	type Entry
} from '../../src/lib/ticket';
import { hashToken, randomToken } from '../../server/auth/secrets';
import { countRows, withStore } from '../helpers/db';
import { noteBy, replyBy } from '../helpers/entries';
import { prepare, revokeToken, type Fixture } from '../helpers/fixtures';
import { authFrame, awarenessUpdate, frame, MESSAGE, RawClient, SYNC, syncFrame } from '../helpers/raw-collab';
import { api, connectPeer, startServer, tempDataDir, waitFor, type Peer, type RunningServer } from '../helpers/server';

/** Websocket frames (and so updates) above this are cut off by the socket layer. */
const FRAME_LIMIT = 256 * 1024;
const DAY = 24 * 60 * 60 * 1000;

let server: RunningServer;
let fx: Fixture;
const expiredTokens: string[] = [];

beforeAll(async () => {
	const dataDir = tempDataDir('tandem-attacks-');
	fx = await prepare(dataDir, {
		users: {
			ann: { role: 'agent', groups: ['Support'] }, // the honest peer
			ben: { role: 'agent', groups: ['Support'] }, // fresh observers and the legitimate third peer
			mallory: { role: 'agent', groups: ['Support'] }, // the hostile agent
			carl: { role: 'agent', groups: ['Billing'] }, // outside the Support group
			lapsed: { role: 'agent', groups: ['Support'] }, // only ever has expired sessions
			root: { role: 'admin' },
			sue: { role: 'supervisor' }
		},
		bots: { mailer: ['email'], chatter: ['chat'], retired: ['email'] }
	});
	server = await startServer({ dataDir, env: { MAX_MESSAGE_BYTES: String(FRAME_LIMIT) } });
	// Revoked while the server runs: it must stop working at once.
	expect(await revokeToken(dataDir, fx.tokens.retired.id)).toBe(true);
	// Sessions of the `lapsed` agent, made to have expired (as the brief's `expires_at = 1`): one per use.
	await withStore(dataDir, async (store) => {
		for (let i = 0; i < 8; i++) {
			const token = randomToken();
			await store.db.insert(store.tables.sessions).values({ id: hashToken(token), userId: fx.users.lapsed.id, expiresAt: 1, createdAt: Date.now() });
			expiredTokens.push(token);
		}
	});
});

afterAll(async () => {
	await server?.stop();
});

const peers: Peer[] = [];
const sockets: WebSocket[] = [];
afterEach(() => {
	for (const peer of peers.splice(0)) peer.destroy();
	for (const socket of sockets.splice(0)) socket.terminate();
});

// ---------------------------------------------------------------------------------------------
// Principals, tickets, views

type Actor = 'ann' | 'ben' | 'mallory' | 'carl' | 'root' | 'sue' | 'mailer' | 'chatter';

const idOf = (actor: Actor) => (fx.users[actor] ?? fx.tokens[actor]).id;
const tokenOf = (actor: Actor) => (fx.users[actor] ?? fx.tokens[actor]).token;

/** An expired session of the `lapsed` agent, not used before. */
function expiredSession(): string {
	const token = expiredTokens.shift();
	if (!token) throw new Error('no expired session left: make more in beforeAll');
	return token;
}

interface Ticket {
	id: string;
	/** The customer's first message. */
	first: Entry;
	requesterId: string;
	sideId?: string;
}

async function createTicket(): Promise<Ticket> {
	const res = await api(server, tokenOf('mailer')).request('POST', '/api/v1/tickets', {
		subject: 'Refund for order 1142',
		requester: { email: `pat+${newId().toLowerCase()}@example.com`, name: 'Pat' },
		channel: 'email',
		body: 'I was charged twice.'
	});
	expect(res.status).toBe(201);
	return { id: res.body.id, first: res.body.entries[0], requesterId: res.body.requesterId };
}

async function connect(ticketId: string, token: string, options: { doc?: Y.Doc; waitSynced?: boolean } = {}) {
	const peer = await connectPeer(server, ticketId, token, options);
	peers.push(peer);
	return peer;
}

function disconnect(peer: Peer) {
	peer.destroy();
	peers.splice(peers.indexOf(peer), 1);
}

/** The reason the server closed `peer`'s document with, or null if it did not within `ms`. */
const refusalOf = (peer: Peer, ms = 5_000) => waitFor(() => peer.closeReason(), 'a refusal', ms).catch(() => null);

/** A message the mailer bot relays on email. */
const botMessage = (extra: Record<string, unknown> = {}) => replyBy(idOf('mailer'), 'Relayed message', { channel: 'email', authorType: 'bot', ...extra });

interface View {
	snapshot: Y.Snapshot;
	stateVector: Uint8Array;
	entries: Entry[];
	fields: ReturnType<typeof readFields>;
	sides: ReturnType<typeof readSides>;
	drafts: ReturnType<typeof readDrafts>;
}

function viewOf(doc: Y.Doc): Omit<View, 'snapshot'> {
	return { stateVector: Y.encodeStateVector(doc), entries: readEntries(doc), fields: readFields(doc), sides: readSides(doc), drafts: readDrafts(doc) };
}

/** The ticket as a freshly connected peer sees it. */
async function freshView(ticketId: string): Promise<View> {
	const peer = await connect(ticketId, tokenOf('ben'));
	const view = { snapshot: Y.snapshot(peer.doc), ...viewOf(peer.doc) };
	disconnect(peer);
	return view;
}

const logRows = (ticketId: string) => countRows(server.dataDir, sql`SELECT count(*) AS n FROM ticket_updates WHERE ticket_id = ${ticketId}`);

async function rejectionReasons(ticketId: string): Promise<string[]> {
	const res = await api(server, tokenOf('root')).request('GET', `/api/v1/tickets/${ticketId}/events`);
	expect(res.status).toBe(200);
	return (res.body.events as { type: string; data: { reason?: string } }[]).filter((e) => e.type === 'update.rejected').map((e) => e.data.reason ?? '');
}

async function openSideConversation(ticketId: string): Promise<string> {
	const peer = await connect(ticketId, tokenOf('ben'));
	const sideId = newId();
	openSide(peer.doc, { id: sideId, subject: 'Ask the warehouse', channel: 'internal', createdBy: idOf('ben'), createdAt: Date.now(), participants: [idOf('ben')] });
	appendSideEntry(peer.doc, sideId, noteBy(idOf('ben'), 'Did order 1142 ship twice?'));
	await peer.acknowledged();
	disconnect(peer);
	return sideId;
}

/** Puts the ticket in the Support group (an admin's edit), and waits until access follows. */
async function restrictToSupport(ticketId: string) {
	const admin = await connect(ticketId, tokenOf('root'));
	setField(admin.doc, 'groupId', fx.groups.Support);
	await admin.acknowledged();
	disconnect(admin);
	const outsider = api(server, tokenOf('carl'));
	await waitFor(async () => (await outsider.request('GET', `/api/v1/tickets/${ticketId}`)).status === 404, 'the group to take effect');
}

// ---------------------------------------------------------------------------------------------
// The harness: one fresh ticket, an honest peer, the attack, and the four checks

interface Scenario {
	setup?: 'side' | 'group';
	attack: (ticket: Ticket, honest: Peer) => Promise<void>;
	/** For refused websocket updates: the reason the `update.rejected` event must carry. */
	rejected?: string;
}

async function runScenario(scenario: Scenario) {
	const ticket = await createTicket();
	if (scenario.setup === 'side') ticket.sideId = await openSideConversation(ticket.id);
	if (scenario.setup === 'group') await restrictToSupport(ticket.id);
	const honest = await connect(ticket.id, tokenOf('ann'));
	const before = await freshView(ticket.id);
	const rowsBefore = await logRows(ticket.id);
	const received: Uint8Array[] = [];
	honest.doc.on('update', (update: Uint8Array) => received.push(update));

	await scenario.attack(ticket, honest);

	// 2. Unchanged, as a fresh peer sees it, and nothing logged.
	const after = await freshView(ticket.id);
	expect(Y.equalSnapshots(after.snapshot, before.snapshot), 'snapshot unchanged').toBe(true);
	expect(after.entries).toEqual(before.entries);
	expect(after.fields).toEqual(before.fields);
	expect(after.sides).toEqual(before.sides);
	expect(after.drafts).toEqual(before.drafts);
	expect(after.stateVector).toEqual(before.stateVector);
	expect(await logRows(ticket.id), 'update log rows').toBe(rowsBefore);

	// 3. The honest peer got nothing: a legitimate change sent after the attack arrives alone.
	const third = await connect(ticket.id, tokenOf('ben'));
	const legit = noteBy(idOf('ben'), 'Legitimate follow-up');
	appendEntry(third.doc, legit);
	await third.acknowledged();
	await waitFor(() => readEntries(honest.doc).some((e) => e.id === legit.id), 'the legitimate change at the honest peer');
	expect(received, 'updates the honest peer received').toHaveLength(1);
	const { structs, ds } = Y.decodeUpdate(received[0]);
	expect(structs.map((s) => s.id.client)).toEqual([third.doc.clientID]);
	expect(ds.clients.size).toBe(0);

	// 4. Still serving: healthz, and a new connection sees exactly what the honest peer has.
	const health = await fetch(server.url + '/healthz');
	expect(health.status).toBe(200);
	const final = await freshView(ticket.id);
	expect(final.entries).toEqual([...before.entries, legit]);
	const { snapshot: _s, ...finalView } = final;
	expect(viewOf(honest.doc)).toEqual(finalView);
	if (scenario.rejected) {
		expect.soft(await rejectionReasons(ticket.id), 'update.rejected events').toContain(scenario.rejected);
	}
}

// ---------------------------------------------------------------------------------------------
// HOSTILE HELPERS. The only code in this suite that writes to the ticket document's Yjs roots
// directly, around the ticket module's accessors and their checks — which is what an attacker
// does. Everything else goes through src/lib/ticket.

const hostile = {
	entries: (doc: Y.Doc) => doc.getArray<unknown>('entries'),
	ticket: (doc: Y.Doc) => doc.getMap<unknown>('ticket'),
	sides: (doc: Y.Doc) => doc.getMap<unknown>('sides'),
	drafts: (doc: Y.Doc) => doc.getMap<unknown>('drafts'),
	push: (doc: Y.Doc, entry: unknown) => hostile.entries(doc).push([entry]),
	/** An update, without applying it anywhere: `mutate` applied to a copy of `doc`. */
	updateFrom(doc: Y.Doc, mutate: (copy: Y.Doc) => void): Uint8Array {
		const copy = new Y.Doc();
		Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
		const sv = Y.encodeStateVector(copy);
		mutate(copy);
		return Y.encodeStateAsUpdate(copy, sv);
	}
};

interface WsRule {
	name: string;
	as: Actor;
	reason: string;
	setup?: 'side';
	mutate: (doc: Y.Doc, ticket: Ticket) => void;
}

const WS_RULES: WsRule[] = [
	{ name: 'deleting an entry', as: 'mallory', reason: 'entries-append-only', mutate: (doc) => hostile.entries(doc).delete(0, 1) },
	{
		name: 'inserting an entry before existing ones',
		as: 'mallory',
		reason: 'entries-append-only',
		mutate: (doc) => hostile.entries(doc).insert(0, [noteBy(idOf('mallory'))])
	},
	{
		name: 'modifying an entry (delete and reinsert)',
		as: 'mallory',
		reason: 'entries-append-only',
		mutate: (doc, t) =>
			doc.transact(() => {
				hostile.entries(doc).delete(0, 1);
				hostile.entries(doc).insert(0, [{ ...t.first, body: 'Never mind, all is well.' }]);
			})
	},
	{ name: 'an entry with an unknown kind', as: 'mallory', reason: 'invalid-entry', mutate: (doc) => hostile.push(doc, noteBy(idOf('mallory'), undefined, { kind: 'confession' })) },
	{ name: 'an entry with an unknown key', as: 'mallory', reason: 'invalid-entry', mutate: (doc) => hostile.push(doc, noteBy(idOf('mallory'), undefined, { approvedBy: 'ceo' })) },
	{
		name: 'an entry with a 70 KB body',
		as: 'mallory',
		reason: 'invalid-entry',
		mutate: (doc) => hostile.push(doc, noteBy(idOf('mallory'), 'x'.repeat(70 * 1024)))
	},
	{
		name: 'an entry with an id already in the ticket',
		as: 'mallory',
		reason: 'duplicate-entry',
		mutate: (doc, t) => hostile.push(doc, noteBy(idOf('mallory'), undefined, { id: t.first.id }))
	},
	{
		name: 'an entry dated 2 days ago',
		as: 'mallory',
		reason: 'entry-time-out-of-range',
		mutate: (doc) => hostile.push(doc, noteBy(idOf('mallory'), undefined, { createdAt: Date.now() - 2 * DAY }))
	},
	{ name: 'an agent writing as another agent', as: 'mallory', reason: 'forbidden-author', mutate: (doc) => hostile.push(doc, noteBy(idOf('ann'))) },
	{
		name: 'an agent writing as the customer',
		as: 'mallory',
		reason: 'forbidden-author',
		mutate: (doc, t) => hostile.push(doc, botMessage({ authorType: 'customer', authorId: t.requesterId, direction: 'in', body: 'Please close my account.' }))
	},
	{
		name: 'an agent writing a system entry',
		as: 'mallory',
		reason: 'forbidden-author',
		mutate: (doc) => hostile.push(doc, noteBy('system', 'Refund approved by finance', { kind: 'event', authorType: 'system' }))
	},
	{
		name: 'an admin writing a system entry',
		as: 'root',
		reason: 'forbidden-author',
		mutate: (doc) => hostile.push(doc, noteBy('system', 'Refund approved by finance', { kind: 'event', authorType: 'system' }))
	},
	{
		name: 'a bot writing a system entry',
		as: 'mailer',
		reason: 'forbidden-author',
		mutate: (doc) => hostile.push(doc, botMessage({ authorType: 'system', authorId: 'system' }))
	},
	{ name: 'a bot writing on a channel outside its scope', as: 'mailer', reason: 'forbidden-author', mutate: (doc) => hostile.push(doc, botMessage({ channel: 'chat' })) },
	{
		name: "a bot writing as a customer who is not the ticket's requester",
		as: 'mailer',
		reason: 'forbidden-author',
		mutate: (doc) => hostile.push(doc, botMessage({ authorType: 'customer', authorId: 'cus_somebody_else', direction: 'in' }))
	},
	{ name: "setting status to 'exploded'", as: 'mallory', reason: 'invalid-field', mutate: (doc) => hostile.ticket(doc).set('status', 'exploded') },
	{ name: 'setting the read-only field requesterId', as: 'mallory', reason: 'read-only-field', mutate: (doc) => hostile.ticket(doc).set('requesterId', idOf('mallory')) },
	{ name: 'assigning the ticket to a supervisor', as: 'mallory', reason: 'forbidden-author', mutate: (doc) => hostile.ticket(doc).set('assigneeId', idOf('sue')) },
	{ name: 'assigning the ticket to an unknown user id', as: 'mallory', reason: 'forbidden-author', mutate: (doc) => hostile.ticket(doc).set('assigneeId', '01NOBODY0000000000000000') },
	{ name: 'a non-string tag', as: 'mallory', reason: 'invalid-field', mutate: (doc) => (hostile.ticket(doc).get('tags') as Y.Array<unknown>).push([42]) },
	{ name: 'an unknown root map', as: 'mallory', reason: 'unknown-root', mutate: (doc) => doc.getMap('backdoor').set('isAdmin', true) },
	{ name: 'deleting a side conversation', as: 'mallory', reason: 'entries-append-only', setup: 'side', mutate: (doc, t) => hostile.sides(doc).delete(t.sideId!) },
	{ name: 'a supervisor (read-only) writing', as: 'sue', reason: 'read-only', mutate: (doc) => hostile.push(doc, noteBy(idOf('sue'))) }
];

/** The attack on a connected peer: its change goes out as a live Update. */
async function liveAttack(rule: WsRule, ticket: Ticket) {
	const attacker = await connect(ticket.id, tokenOf(rule.as));
	rule.mutate(attacker.doc, ticket);
	expect.soft(await refusalOf(attacker), 'close reason').toBe(rule.reason);
}

/** The attack made offline: the change travels in the SyncStep2 of the reconnecting peer. */
async function offlineAttack(rule: WsRule, ticket: Ticket) {
	const replica = await connect(ticket.id, tokenOf(rule.as));
	disconnect(replica);
	rule.mutate(replica.doc, ticket);
	const attacker = await connect(ticket.id, tokenOf(rule.as), { doc: replica.doc, waitSynced: false });
	expect.soft(await refusalOf(attacker), 'close reason').toBe(rule.reason);
}

describe.each([
	['live update', liveAttack],
	['offline edit in the sync handshake', offlineAttack]
] as const)('websocket rules: %s', (_mode, attack) => {
	it.each(WS_RULES)('refuses $name', (rule) => runScenario({ setup: rule.setup, rejected: rule.reason, attack: (t) => attack(rule, t) }));
});

// ---------------------------------------------------------------------------------------------
// Presence

describe('forged awareness', () => {
	it('an agent claiming to be the admin is shown with its real identity', () =>
		runScenario({
			attack: async (t, honest) => {
				const attacker = await connect(t.id, tokenOf('mallory'));
				attacker.provider.awareness!.setLocalState({
					user: { id: idOf('root'), kind: 'user', name: 'Admin', role: 'admin', color: '#000000', readOnly: false },
					typing: 'forged-identity'
				});
				const seen = await waitFor(() => {
					const state = honest.provider.awareness!.getStates().get(attacker.doc.clientID);
					return state?.typing === 'forged-identity' ? state : null;
				}, "the attacker's presence at the honest peer");
				expect(seen.user).toMatchObject({ id: idOf('mallory'), kind: 'user', name: 'mallory', role: 'agent' });
			}
		}));

	it("a peer speaking for the honest peer's awareness client id changes nothing a third peer sees", () =>
		runScenario({
			attack: async (t, honest) => {
				const honestId = honest.doc.clientID;
				honest.provider.setAwarenessField('typing', 'honest');
				const observer = await connect(t.id, tokenOf('ben'));
				const observed = () => observer.provider.awareness!.getStates().get(honestId);
				await waitFor(() => observed()?.typing === 'honest', "the honest peer's presence at the observer");
				const seenByObserver: unknown[] = [];
				observer.provider.awareness!.on('change', ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) => {
					if ([...added, ...updated, ...removed].includes(honestId)) seenByObserver.push(structuredClone(observed() ?? null));
				});

				const attacker = await connect(t.id, tokenOf('mallory'));
				const awareness = attacker.provider.awareness!;
				await waitFor(() => awareness.meta.get(honestId), "the honest peer's presence at the attacker");
				const forged = awarenessUpdate(honestId, awareness.meta.get(honestId)!.clock + 100, {
					user: { id: idOf('ann'), kind: 'user', name: 'ann', role: 'agent', color: '#000000', readOnly: false },
					typing: 'forged'
				});
				applyAwarenessUpdate(awareness, forged, 'forgery'); // the provider sends it on
				// Sent after the forgery on the same socket: once it arrives, the forgery would have.
				attacker.provider.setAwarenessField('typing', 'after-forgery');
				await waitFor(() => observer.provider.awareness!.getStates().get(attacker.doc.clientID)?.typing === 'after-forgery', "the attacker's later presence");

				expect(seenByObserver).toEqual([]);
				expect(observed()).toMatchObject({ typing: 'honest', user: { id: idOf('ann') } });
				expect(honest.provider.awareness!.getLocalState()).toMatchObject({ typing: 'honest' });
				expect(honest.provider.awareness!.meta.get(honestId)!.clock).toBeLessThan(awareness.meta.get(honestId)!.clock);
			}
		}));
});

// ---------------------------------------------------------------------------------------------
// Who may open the document at all

interface AuthCase {
	name: string;
	setup?: 'group';
	token: () => string;
	reason: string;
}

const AUTH_CASES: AuthCase[] = [
	{ name: "no token ('')", token: () => '', reason: 'unauthorized' },
	{ name: 'a wrong API token', token: () => 'tdm_' + 'a'.repeat(32), reason: 'unauthorized' },
	{ name: 'a wrong session token', token: () => 'b'.repeat(32), reason: 'unauthorized' },
	{ name: 'a revoked API token', token: () => fx.tokens.retired.token, reason: 'unauthorized' },
	{ name: 'an expired session', token: () => expiredSession(), reason: 'unauthorized' },
	{ name: 'a bot outside its channel scope', token: () => tokenOf('chatter'), reason: 'forbidden' },
	{ name: "an agent outside the ticket's group", setup: 'group', token: () => tokenOf('carl'), reason: 'forbidden' }
];

describe('opening a ticket document', () => {
	it.each(AUTH_CASES)('refuses $name', (c) =>
		runScenario({
			setup: c.setup,
			attack: async (t) => {
				// The attacker comes with edits of its own, sent as soon as it is let in (it is not).
				const doc = new Y.Doc();
				hostile.push(doc, noteBy(idOf('mallory'), 'Planted before authenticating'));
				hostile.ticket(doc).set('status', 'closed');
				const attacker = await connect(t.id, c.token(), { doc, waitSynced: false });
				expect(await refusalOf(attacker)).toBe(c.reason);
				expect(attacker.provider.isSynced).toBe(false);
				// Nothing of the ticket reached the attacker.
				expect(readFields(doc).subject).toBe('');
				expect(hostile.entries(doc).length).toBe(1);
			}
		})
	);
});

// ---------------------------------------------------------------------------------------------
// Raw sockets: frames no provider would send

/** Deterministic noise, so a failure can be replayed. */
function noise(seed: number) {
	let a = seed >>> 0;
	return (n: number) => {
		const out = new Uint8Array(n);
		for (let i = 0; i < n; i++) {
			a = (a + 0x6d2b79f5) >>> 0;
			let x = Math.imul(a ^ (a >>> 15), 1 | a);
			x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
			out[i] = (x ^ (x >>> 14)) & 0xff;
		}
		return out;
	};
}

/** A raw /collab socket (closed after each case). */
async function openRaw(): Promise<RawClient> {
	const client = await RawClient.open(server.wsUrl);
	sockets.push(client.socket);
	return client;
}

/** A raw /collab socket authenticated for the ticket's document (closed after each case). */
async function authenticatedRaw(ticketId: string, token: string): Promise<RawClient> {
	const client = await RawClient.authenticated(server.wsUrl, ticketId, token);
	sockets.push(client.socket);
	return client;
}

/** A hostile update made on a replica of the ticket. */
async function replicaUpdate(ticketId: string, mutate: (doc: Y.Doc) => void): Promise<Uint8Array> {
	const replica = await connect(ticketId, tokenOf('mallory'));
	disconnect(replica);
	return hostile.updateFrom(replica.doc, mutate);
}

describe('raw frames on /collab', () => {
	it('random bytes before authenticating do not crash the server', () =>
		runScenario({
			attack: async (t) => {
				const random = noise(0x5eed);
				for (let round = 0; round < 4; round++) {
					const client = await openRaw();
					for (let i = 0; i < 12; i++) client.send(random(1 + (random(1)[0] << 2)));
					// A valid request behind the noise: answered, or the socket was closed on it.
					client.send(authFrame(ticketDocumentName(t.id), tokenOf('mallory')));
					await waitFor(() => client.authenticated || client.denied || client.socketClosed, 'the server to handle the noise');
				}
			}
		}));

	it('random bytes after authenticating change nothing', () =>
		runScenario({
			attack: async (t) => {
				const random = noise(0xbad5eed);
				const name = ticketDocumentName(t.id);
				const shapes: ((n: Uint8Array) => Uint8Array)[] = [
					(n) => frame(name, (e) => encoding.writeUint8Array(e, n)),
					(n) => syncFrame(name, SYNC.update, n),
					(n) => syncFrame(name, SYNC.step2, n),
					(n) => syncFrame(name, SYNC.step1, n),
					(n) => frame(name, (e) => (encoding.writeVarUint(e, MESSAGE.awareness), encoding.writeVarUint8Array(e, n)))
				];
				for (const shape of shapes) {
					for (let i = 0; i < 3; i++) {
						const client = await authenticatedRaw(t.id, tokenOf('mallory'));
						client.send(shape(random(8 + random(1)[0])));
						await client.settled(t.id);
					}
				}
			}
		}));

	it('a truncated Hocuspocus frame is refused', () =>
		runScenario({
			attack: async (t) => {
				const update = await replicaUpdate(t.id, (doc) => hostile.push(doc, noteBy(idOf('mallory'), 'Cut short')));
				const client = await authenticatedRaw(t.id, tokenOf('mallory'));
				const whole = syncFrame(ticketDocumentName(t.id), SYNC.update, update);
				client.send(whole.slice(0, whole.length - Math.floor(update.length / 2)));
				await client.settled(t.id);
				// Hocuspocus cannot read the update out of the frame, before any hook sees it, and
				// closes the document with its own generic reason.
				expect(client.closeReason).toBe('Reset Connection');
			}
		}));

	it('a well-formed frame carrying a truncated update is refused as malformed-update', () =>
		runScenario({
			rejected: 'malformed-update',
			attack: async (t) => {
				const update = await replicaUpdate(t.id, (doc) => hostile.push(doc, noteBy(idOf('mallory'), 'Cut short')));
				const client = await authenticatedRaw(t.id, tokenOf('mallory'));
				client.send(syncFrame(ticketDocumentName(t.id), SYNC.update, update.slice(0, Math.floor(update.length / 2))));
				await waitFor(() => client.closeReason, 'the refusal');
				expect(client.closeReason).toBe('malformed-update');
			}
		}));

	it('a deletion sent as a SyncReply frame (type 4) is checked like any sync message', () =>
		runScenario({
			rejected: 'entries-append-only',
			attack: async (t) => {
				const update = await replicaUpdate(t.id, (doc) => hostile.entries(doc).delete(0, 1));
				const client = await authenticatedRaw(t.id, tokenOf('mallory'));
				client.send(syncFrame(ticketDocumentName(t.id), SYNC.update, update, MESSAGE.syncReply));
				await waitFor(() => client.closeReason, 'the refusal');
				expect(client.closeReason).toBe('entries-append-only');
			}
		}));

	it('an update bigger than the frame limit is cut off by the socket layer', () =>
		runScenario({
			attack: async (t) => {
				// A draft of 300 KB: a shape the checker accepts, refused only for its size.
				const update = await replicaUpdate(t.id, (doc) => {
					const draft = new Y.Map<unknown>();
					hostile.drafts(doc).set(newId(), draft);
					draft.set('text', new Y.Text('y'.repeat(300 * 1024)));
				});
				expect(update.length).toBeGreaterThan(FRAME_LIMIT);
				const client = await authenticatedRaw(t.id, tokenOf('mallory'));
				client.send(syncFrame(ticketDocumentName(t.id), SYNC.update, update));
				await waitFor(() => client.socketClosed, 'the socket to be closed');
				expect(client.socketClosed!.code).toBe(1009); // message too big
			}
		}));
});

// ---------------------------------------------------------------------------------------------
// The same rules over HTTP

interface HttpCase {
	name: string;
	setup?: 'group';
	/** A bearer token, or `{cookie}` for a session cookie. */
	as: () => string | { cookie: string };
	body: (t: Ticket) => Record<string, unknown>;
	status: number;
	code?: string;
}

const HTTP_CASES: HttpCase[] = [
	{
		name: 'a bot posting a system entry',
		as: () => tokenOf('mailer'),
		body: () => ({ channel: 'email', body: 'Refund approved', authorType: 'system', authorId: 'system' }),
		status: 403,
		code: 'forbidden'
	},
	{
		name: 'an agent posting a system entry',
		as: () => tokenOf('mallory'),
		body: () => ({ kind: 'event', channel: 'internal', visibility: 'internal', body: 'Refund approved', authorType: 'system' }),
		status: 403,
		code: 'forbidden'
	},
	{
		name: 'an agent posting as another agent',
		as: () => tokenOf('mallory'),
		body: () => ({ kind: 'note', channel: 'internal', body: 'I give up', authorId: idOf('ann') }),
		status: 403,
		code: 'forbidden'
	},
	{
		name: 'an agent posting as the customer',
		as: () => tokenOf('mallory'),
		body: () => ({ channel: 'email', body: 'Please close my account', authorType: 'customer' }),
		status: 403,
		code: 'forbidden'
	},
	{ name: 'a bot posting on a channel outside its scope', as: () => tokenOf('mailer'), body: () => ({ channel: 'chat', body: 'Hi' }), status: 403, code: 'forbidden' },
	{
		name: "a bot posting as a customer who is not the ticket's requester",
		as: () => tokenOf('mailer'),
		body: () => ({ channel: 'email', body: 'Hi', authorType: 'customer', authorId: 'cus_somebody_else' }),
		status: 403,
		code: 'forbidden'
	},
	{ name: 'a bot posting to a ticket outside its channel scope', as: () => tokenOf('chatter'), body: () => ({ channel: 'chat', body: 'Hi' }), status: 404, code: 'not_found' },
	{ name: 'a supervisor posting a reply', as: () => tokenOf('sue'), body: () => ({ kind: 'message', channel: 'email', body: 'Hello' }), status: 403, code: 'forbidden' },
	{
		name: 'an entry dated 2 days ago',
		as: () => tokenOf('mallory'),
		body: () => ({ kind: 'note', channel: 'internal', body: 'Back then', createdAt: Date.now() - 2 * DAY }),
		status: 400,
		code: 'invalid_field'
	},
	{ name: 'a revoked API token', as: () => fx.tokens.retired.token, body: () => ({ channel: 'email', body: 'Hi' }), status: 401, code: 'unauthorized' },
	{ name: 'an expired session as a bearer token', as: () => expiredSession(), body: () => ({ kind: 'note', channel: 'internal', body: 'Hi' }), status: 401, code: 'unauthorized' },
	{ name: 'an expired session cookie', as: () => ({ cookie: expiredSession() }), body: () => ({ kind: 'note', channel: 'internal', body: 'Hi' }), status: 401, code: 'unauthorized' },
	{
		name: "an agent outside the ticket's group",
		setup: 'group',
		as: () => tokenOf('carl'),
		body: () => ({ kind: 'note', channel: 'internal', body: 'Hi' }),
		status: 404,
		code: 'not_found'
	},
	{
		name: 'a repeat of an entry id with a different body (answered with the stored entry)',
		as: () => tokenOf('mailer'),
		body: (t) => ({ id: t.first.id, channel: 'email', body: 'Never mind, all is well.', authorType: 'customer' }),
		status: 200
	}
];

describe('HTTP appends', () => {
	it.each(HTTP_CASES)('refuses $name', (c) =>
		runScenario({
			setup: c.setup,
			attack: async (t) => {
				const as = c.as();
				const client = typeof as === 'string' ? api(server, as) : api(server);
				const headers: Record<string, string> = typeof as === 'string' ? {} : { cookie: `tandem_session=${as.cookie}` };
				const res = await client.request('POST', `/api/v1/tickets/${t.id}/entries`, c.body(t), { headers });
				expect(res.status).toBe(c.status);
				if (c.code) expect(res.body.error.code).toBe(c.code);
				else expect(res.body).toEqual(t.first);
			}
		})
	);
});

describe('after every attack', () => {
	it('the server process is still up and never logged an unhandled error', async () => {
		expect(server.process.exitCode).toBeNull();
		expect((await fetch(server.url + '/healthz')).status).toBe(200);
		expect(server.output()).not.toMatch(/unhandled|uncaught/i);
	});
});
