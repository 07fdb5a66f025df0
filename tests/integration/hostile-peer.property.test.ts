/**
 * Property: whatever a hostile peer sends — well-formed and malformed Yjs updates, updates that
 * speak for honest peers' client ids, awareness frames, noise, HTTP bodies — while honest agents
 * write a ticket online and offline, every entry an honest peer had acknowledged is stored exactly
 * once, honest peers keep their own work, and the ticket opens for everyone afterwards.
 *
 * fast-check draws the hostile actions and how they interleave with the honest ones; runs are
 * bounded in count and time, and a failure prints the seed and the shrunk sequence to replay.
 */
import { sql } from 'drizzle-orm';
import * as fc from 'fast-check';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addDraftAuthor, appendEntry, draftText, newId, readEntries, ticketDocumentName, type Entry } from '../../src/lib/ticket';
import { countRows } from '../helpers/db';
import { noteBy } from '../helpers/entries';
import { prepare, type Fixture } from '../helpers/fixtures';
import { awarenessFrame, awarenessUpdate, frame, gcUpdate, RawClient, SYNC, syncFrame } from '../helpers/raw-collab';
import { api, connectPeer, startServer, tempDataDir, TEST_ENGINE, waitFor, type Peer, type RunningServer } from '../helpers/server';

let server: RunningServer;
let fx: Fixture;

beforeAll(async () => {
	const dataDir = tempDataDir('tandem-hostile-');
	fx = await prepare(dataDir, {
		users: {
			ann: { role: 'agent', groups: ['Support'] },
			ben: { role: 'agent', groups: ['Support'] },
			mallory: { role: 'agent', groups: ['Support'] },
			root: { role: 'admin' }
		},
		bots: { mailer: ['email'], sneaky: ['messaging'] }
	});
	server = await startServer({ dataDir, env: { MAX_MESSAGE_BYTES: String(256 * 1024) } });
});

afterAll(async () => {
	await server?.stop();
});

// ---------------------------------------------------------------------------------------------
// What the hostile peer does. Each action is data (so fast-check can shrink and print it).

type Hostile =
	| { kind: 'noise'; bytes: Uint8Array; as: 'update' | 'step2' | 'frame' }
	| { kind: 'entry'; entry: Record<string, unknown>; handshake: boolean }
	| { kind: 'delete'; from: number; length: number }
	| { kind: 'field'; key: string; value: unknown }
	| { kind: 'gc-victim'; ahead: number; length: number }
	| { kind: 'item-as-victim'; body: string }
	| { kind: 'flipped'; at: number; to: number }
	| { kind: 'draft'; chars: number }
	| { kind: 'awareness'; victim: boolean; state: unknown }
	| { kind: 'http'; as: 'mallory' | 'sneaky'; body: unknown };

const jsonish = fc.jsonValue({ maxDepth: 4 });
const hostileEntry = fc.record(
	{
		id: fc.oneof(fc.constant('NEW'), fc.string({ maxLength: 30 })),
		kind: fc.constantFrom('message', 'note', 'call', 'event', 'confession'),
		channel: fc.constantFrom('email', 'chat', 'internal', 'messaging', 'talk', 'nowhere'),
		direction: fc.constantFrom('in', 'out', undefined),
		visibility: fc.constantFrom('public', 'internal', 'secret'),
		authorType: fc.constantFrom('agent', 'customer', 'bot', 'system'),
		authorId: fc.constantFrom('MALLORY', 'ANN', 'system', 'someone'),
		body: fc.string({ maxLength: 200 }),
		createdAt: fc.oneof(fc.constant('NOW'), fc.integer({ min: -1, max: 2 ** 45 })),
		meta: jsonish
	},
	{ requiredKeys: ['id', 'kind', 'channel', 'authorType', 'authorId', 'body', 'createdAt'] }
);

const hostileAction: fc.Arbitrary<Hostile> = fc.oneof(
	fc.record({ kind: fc.constant('noise' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 300 }), as: fc.constantFrom('update' as const, 'step2' as const, 'frame' as const) }),
	fc.record({ kind: fc.constant('entry' as const), entry: hostileEntry, handshake: fc.boolean() }),
	fc.record({ kind: fc.constant('delete' as const), from: fc.nat(20), length: fc.integer({ min: 1, max: 5 }) }),
	fc.record({ kind: fc.constant('field' as const), key: fc.constantFrom('subject', 'status', 'priority', 'groupId', 'assigneeId', 'requesterId', 'channel', 'bogus'), value: jsonish }),
	fc.record({ kind: fc.constant('gc-victim' as const), ahead: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 30 })), length: fc.oneof(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 2 ** 30 })) }),
	fc.record({ kind: fc.constant('item-as-victim' as const), body: fc.string({ maxLength: 50 }) }),
	fc.record({ kind: fc.constant('flipped' as const), at: fc.nat(), to: fc.integer({ min: 0, max: 255 }) }),
	fc.record({ kind: fc.constant('draft' as const), chars: fc.integer({ min: 1, max: 200_000 }) }),
	fc.record({ kind: fc.constant('awareness' as const), victim: fc.boolean(), state: fc.oneof(jsonish, fc.record({ visitor: fc.record({ name: fc.string(), status: fc.constant('online') }) })) }),
	fc.record({ kind: fc.constant('http' as const), as: fc.constantFrom('mallory' as const, 'sneaky' as const), body: fc.oneof(jsonish, hostileEntry) })
);

/**
 * An honest step: an agent appends online, or goes offline, writes, and comes back; `during` is
 * what the hostile peer does while the agent is away (aimed at ann, the victim).
 */
type Honest = { kind: 'online'; who: 'ann' | 'ben' } | { kind: 'offline'; who: 'ann' | 'ben'; notes: number; draft: boolean; during: Hostile[] };
const honestAction: fc.Arbitrary<Honest> = fc.oneof(
	fc.record({ kind: fc.constant('online' as const), who: fc.constantFrom('ann' as const, 'ben' as const) }),
	fc.record({
		kind: fc.constant('offline' as const),
		who: fc.constantFrom('ann' as const, 'ben' as const),
		notes: fc.integer({ min: 1, max: 3 }),
		draft: fc.boolean(),
		during: fc.array(hostileAction, { maxLength: 2 })
	})
);

const step = fc.oneof({ arbitrary: hostileAction, weight: 3 }, { arbitrary: honestAction, weight: 2 });

// ---------------------------------------------------------------------------------------------
// One run: a fresh ticket, two honest agents, the drawn steps, then the checks.

interface HonestAgent {
	name: 'ann' | 'ben';
	peer: Peer;
	/** Entries the server acknowledged for this agent. */
	acknowledged: Entry[];
}

async function createTicket(): Promise<string> {
	const res = await api(server, fx.tokens.mailer.token).request('POST', '/api/v1/tickets', {
		subject: 'Order 1142 arrived broken',
		requester: { email: `pat+${newId().toLowerCase()}@example.com`, name: 'Pat' },
		channel: 'email',
		body: 'The box was crushed.'
	});
	expect(res.status).toBe(201);
	return res.body.id;
}

/**
 * Shows the agent's presence, as the workspace does, and waits until the server has it: the only
 * way other peers learn an agent's Yjs client id before the agent writes (which also claims it).
 */
async function present(peer: Peer, ticketId: string) {
	peer.provider.setAwarenessField('typing', false);
	const claimed = sql`SELECT count(*) AS n FROM ticket_client_owners WHERE ticket_id = ${ticketId} AND client_id = ${peer.doc.clientID}`;
	await waitFor(async () => (await countRows(server.dataDir, claimed)) === 1, 'the presence to reach the server');
}

async function honestStep(agent: HonestAgent, ticketId: string, action: Honest, victim: HonestAgent) {
	const id = fx.users[agent.name].id;
	if (action.kind === 'online') {
		const note = noteBy(id, `${agent.name} online`);
		appendEntry(agent.peer.doc, note);
		await agent.peer.acknowledged();
		agent.acknowledged.push(note);
		return;
	}
	// Offline: the provider goes away, the agent keeps working on the same document, then a new
	// connection syncs the offline work in its handshake.
	const doc = agent.peer.doc;
	agent.peer.destroy();
	const written: Entry[] = [];
	for (let i = 0; i < action.notes; i++) {
		const note = noteBy(id, `${agent.name} offline ${i}`);
		appendEntry(doc, note);
		written.push(note);
	}
	if (action.draft) {
		// Typed and partly deleted offline: the handshake carries deletions of its own items.
		const draftId = newId();
		const text = draftText(doc, draftId, { channel: 'internal', visibility: 'internal' });
		addDraftAuthor(doc, draftId, id);
		text.insert(0, 'Checking with the warehouse');
		text.delete(0, 9);
	}
	for (const hostile of action.during) await hostileStep(ticketId, hostile, victim);
	agent.peer = await connectPeer(server, ticketId, fx.users[agent.name].token, { doc });
	await agent.peer.acknowledged();
	await present(agent.peer, ticketId);
	agent.acknowledged.push(...written);
}

/** A replica of the ticket as the hostile agent sees it. */
async function replica(ticketId: string): Promise<Y.Doc> {
	const peer = await connectPeer(server, ticketId, fx.users.mallory.token);
	peer.destroy();
	return peer.doc;
}

/** An update made on a copy of `doc` by `mutate`, optionally as another Yjs client. */
function updateFrom(doc: Y.Doc, mutate: (copy: Y.Doc) => void, clientId?: number): Uint8Array {
	const copy = new Y.Doc();
	Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
	// Set after the replica is in: Yjs gives a document a new id when an update carries its own.
	if (clientId !== undefined) copy.clientID = clientId;
	const sv = Y.encodeStateVector(copy);
	mutate(copy);
	return Y.encodeStateAsUpdate(copy, sv);
}

function concreteEntry(entry: Record<string, unknown>, ids: { mallory: string; ann: string }): Record<string, unknown> {
	const out: Record<string, unknown> = { ...entry };
	if (out.id === 'NEW') out.id = newId();
	if (out.createdAt === 'NOW') out.createdAt = Date.now();
	if (out.authorId === 'MALLORY') out.authorId = ids.mallory;
	if (out.authorId === 'ANN') out.authorId = ids.ann;
	for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
	return out;
}

async function hostileStep(ticketId: string, action: Hostile, victim: HonestAgent) {
	const name = ticketDocumentName(ticketId);
	if (action.kind === 'http') {
		const token = action.as === 'mallory' ? fx.users.mallory.token : fx.tokens.sneaky.token;
		const res = await api(server, token).request('POST', `/api/v1/tickets/${ticketId}/entries`, action.body);
		expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
		return;
	}
	const client = await RawClient.authenticated(server.wsUrl, ticketId, fx.users.mallory.token);
	try {
		if (action.kind === 'noise') {
			if (action.as === 'frame') client.send(frame(name, (e) => encoding.writeUint8Array(e, action.bytes)));
			else client.send(syncFrame(name, action.as === 'update' ? SYNC.update : SYNC.step2, action.bytes));
		} else if (action.kind === 'awareness') {
			const clientId = action.victim ? victim.peer.doc.clientID : 0x7fff_0000 + (action.state === null ? 0 : 1);
			client.send(awarenessFrame(name, awarenessUpdate(clientId, 1_000_000, action.state)));
		} else if (action.kind === 'gc-victim') {
			// From the clock the server holds for the victim (the victim may be ahead, offline).
			const clock = Y.getState((await replica(ticketId)).store, victim.peer.doc.clientID) + action.ahead;
			client.send(syncFrame(name, SYNC.update, gcUpdate(victim.peer.doc.clientID, clock, action.length)));
		} else {
			const doc = await replica(ticketId);
			const ids = { mallory: fx.users.mallory.id, ann: fx.users.ann.id };
			let update: Uint8Array;
			let syncType: number = SYNC.update;
			switch (action.kind) {
				case 'entry':
					update = updateFrom(doc, (copy) => copy.getArray('entries').push([concreteEntry(action.entry, ids)]));
					if (action.handshake) syncType = SYNC.step2;
					break;
				case 'delete':
					update = updateFrom(doc, (copy) => {
						const entries = copy.getArray('entries');
						const from = Math.min(action.from, Math.max(0, entries.length - 1));
						entries.delete(from, Math.min(action.length, entries.length - from));
					});
					break;
				case 'field':
					update = updateFrom(doc, (copy) => copy.getMap('ticket').set(action.key, action.value));
					break;
				case 'item-as-victim':
					// Speaks as the victim's Yjs client, at the clock the victim is at on the server.
					update = updateFrom(doc, (copy) => copy.getArray('entries').push([noteBy(ids.mallory, action.body)]), victim.peer.doc.clientID);
					break;
				case 'flipped': {
					update = updateFrom(doc, (copy) => copy.getArray('entries').push([noteBy(ids.mallory, 'flip me')]));
					update[action.at % update.length] = action.to;
					break;
				}
				case 'draft':
					update = updateFrom(doc, (copy) => {
						const draft = new Y.Map<unknown>();
						copy.getMap('drafts').set(newId(), draft);
						const text = new Y.Text();
						draft.set('text', text);
						text.insert(0, 'x'.repeat(action.chars));
					});
					break;
			}
			client.send(syncFrame(name, syncType, update));
		}
		await client.settled(ticketId);
	} finally {
		client.close();
	}
}

async function checkTicket(ticketId: string, agents: HonestAgent[]) {
	// Still serving.
	expect((await fetch(server.url + '/healthz')).status).toBe(200);
	// The ticket opens for everyone, and holds every acknowledged entry exactly once.
	for (const token of [fx.users.ann.token, fx.users.ben.token, fx.users.root.token]) {
		const fresh = await connectPeer(server, ticketId, token);
		try {
			const ids = readEntries(fresh.doc).map((e) => e.id);
			for (const agent of agents) {
				for (const entry of agent.acknowledged) {
					expect(ids.filter((id) => id === entry.id), `${agent.name}'s acknowledged ${entry.id}`).toHaveLength(1);
				}
			}
		} finally {
			fresh.destroy();
		}
	}
	// Honest peers keep their own work, and still receive each other's.
	for (const agent of agents) {
		const own = new Set(readEntries(agent.peer.doc).map((e) => e.id));
		for (const entry of agent.acknowledged) expect(own.has(entry.id), `${agent.name} still has ${entry.id}`).toBe(true);
	}
	const [ann, ben] = agents;
	const last = noteBy(fx.users.ann.id, 'After the storm');
	appendEntry(ann.peer.doc, last);
	await ann.peer.acknowledged();
	await waitFor(() => readEntries(ben.peer.doc).some((e) => e.id === last.id), 'the last note at the other honest agent');
	const res = await api(server, fx.users.ben.token).request('GET', `/api/v1/tickets/${ticketId}`);
	expect(res.status).toBe(200);
}

it('a hostile peer never loses, duplicates or erases honest acknowledged work', async () => {
	await fc.assert(
		fc.asyncProperty(fc.array(step, { minLength: 2, maxLength: 10 }), async (steps) => {
			const ticketId = await createTicket();
			const agents: HonestAgent[] = [];
			for (const name of ['ann', 'ben'] as const) {
				const peer = await connectPeer(server, ticketId, fx.users[name].token);
				await present(peer, ticketId);
				agents.push({ name, peer, acknowledged: [] });
			}
			try {
				for (const s of steps) {
					if (s.kind === 'online' || s.kind === 'offline') await honestStep(agents.find((a) => a.name === s.who)!, ticketId, s, agents[0]);
					else await hostileStep(ticketId, s, agents[0]);
				}
				await checkTicket(ticketId, agents);
			} finally {
				for (const agent of agents) agent.peer.destroy();
			}
		}),
		// The hostile moves are the same on both engines; on PostgreSQL half as many runs check the storage under them.
		{ numRuns: Number(process.env.HOSTILE_RUNS ?? (TEST_ENGINE === 'postgres' ? 30 : 60)), interruptAfterTimeLimit: 150_000, markInterruptAsFailure: false }
	);
}, 240_000);
