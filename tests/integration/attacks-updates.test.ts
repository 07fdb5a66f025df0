/**
 * Attacks on the update checker (#12, classes 3 and 8): a writer taking over another peer's Yjs
 * client id to erase its offline work, an entry wedged between entries the sender had, and claims
 * of identity, time and type inside side conversations and drafts. One real server on its own data
 * directory (restarted once, with SIGKILL), real providers and sockets. Each case asserts the
 * refusal by name and what matters: the ticket unchanged for a fresh peer, the victim's
 * acknowledged work stored, honest concurrent and offline work accepted.
 */
import { sql } from 'drizzle-orm';
import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
	addDraftAuthor,
	appendEntry,
	draftText,
	entryIndex,
	newId,
	openSide,
	readDrafts,
	readEntries,
	readFields,
	readSides,
	type Entry
} from '../../src/lib/ticket';
import { countRows, storedDocument, withStore } from '../helpers/db';
import { encodeStruct } from '../helpers/docs';
import { noteBy } from '../helpers/entries';
import { prepare, type Fixture } from '../helpers/fixtures';
import { api, servers, tempDataDir, waitFor, type Peer, type RunningServer } from '../helpers/server';

let fx: Fixture;
let server: RunningServer;
const running = servers();

beforeAll(async () => {
	const dataDir = tempDataDir('tandem-attacks-updates-');
	fx = await prepare(dataDir, {
		users: {
			ann: { role: 'agent', groups: ['Support'] }, // the victim, an honest agent
			ben: { role: 'agent', groups: ['Support'] }, // honest peers and fresh observers
			cleo: { role: 'agent', groups: ['Support'] },
			mallory: { role: 'agent', groups: ['Support'] }, // the hostile agent
			root: { role: 'admin' }
		},
		bots: { mailer: ['email'] }
	});
	server = await running.boot(dataDir);
});

afterAll(() => running.cleanup());

type Actor = 'ann' | 'ben' | 'cleo' | 'mallory' | 'root';
const idOf = (actor: Actor) => fx.users[actor].id;
const tokenOf = (actor: Actor) => fx.users[actor].token;

const connect = (ticketId: string, actor: Actor, options: { doc?: Y.Doc; waitSynced?: boolean } = {}) => running.connect(server, ticketId, tokenOf(actor), options);
const disconnect = (peer: Peer) => running.disconnect(peer);

const refusalOf = (peer: Peer, ms = 5_000) => waitFor(() => peer.closeReason(), 'a refusal', ms).catch(() => null);

async function createTicket(): Promise<{ id: string; first: Entry }> {
	const res = await api(server, fx.tokens.mailer.token).request('POST', '/api/v1/tickets', {
		subject: 'Charged twice',
		requester: { email: `pat+${newId().toLowerCase()}@example.com`, name: 'Pat' },
		channel: 'email',
		body: 'I was charged twice.'
	});
	expect(res.status).toBe(201);
	return { id: res.body.id, first: res.body.entries[0] };
}

/** The ticket as a freshly connected peer sees it. */
async function freshView(ticketId: string) {
	const peer = await connect(ticketId, 'ben');
	const view = { stateVector: Y.encodeStateVector(peer.doc), entries: readEntries(peer.doc), fields: readFields(peer.doc), sides: readSides(peer.doc), drafts: readDrafts(peer.doc) };
	disconnect(peer);
	return view;
}

/** The ticket exactly as stored. */
const storedDoc = (ticketId: string) => storedDocument(server.dataDir, ticketId);

const logRows = (ticketId: string) => countRows(server.dataDir, sql`SELECT count(*) AS n FROM ticket_updates WHERE ticket_id = ${ticketId}`);

// ---------------------------------------------------------------------------------------------
// HOSTILE HELPERS: updates no honest Yjs client produces, encoded by hand.

const hostile = {
	/** A garbage range `[clock, clock + length)` under `client`: what Yjs sends for erased content. */
	garbage(client: number, clock: number, length: number): Uint8Array {
		return encodeStruct(new Y.GC(Y.createID(client, clock), length));
	},
	/** An entry after `origin` with no right origin: how an append at the end looks, wherever it lands. */
	entryAfter(origin: Y.ID, client: number, clock: number, entry: Entry): Uint8Array {
		return encodeStruct(new Y.Item(Y.createID(client, clock), null, origin, null, null, null, null, new Y.ContentAny([entry])));
	},
	/** Sends `update` from `peer` as its provider sends any change: a live Update. */
	send(peer: Peer, update: Uint8Array) {
		Y.applyUpdate(peer.doc, update);
	}
};

// ---------------------------------------------------------------------------------------------
// Class 3: client ids belong to whoever wrote them first

describe("a writer cannot take over another peer's client id", () => {
	it("garbage under the victim's client id up to a huge clock is refused; the victim's offline work is acknowledged and stored, across a restart", async () => {
		const ticket = await createTicket();
		const victim = await connect(ticket.id, 'ann');
		const acknowledgedEarlier = noteBy(idOf('ann'), 'Customer called back, refund approved');
		appendEntry(victim.doc, acknowledgedEarlier);
		await victim.acknowledged();
		const victimClient = victim.doc.clientID;
		const storedClock = Y.getState((await storedDoc(ticket.id)).store, victimClient);
		expect(storedClock).toBeGreaterThan(0);

		// The victim goes offline and works on.
		const victimDoc = victim.doc;
		disconnect(victim);
		const offlineNote = noteBy(idOf('ann'), 'Refund sent, reference R-88');
		appendEntry(victimDoc, offlineNote);
		draftText(victimDoc, newId(), { channel: 'email', visibility: 'public' }).insert(0, 'Dear Pat, ');

		// The attacker saw the victim's client id (every peer does) and takes its next clocks.
		const rowsBefore = await logRows(ticket.id);
		const attacker = await connect(ticket.id, 'mallory');
		hostile.send(attacker, hostile.garbage(victimClient, storedClock, 2 ** 40));
		expect(await refusalOf(attacker)).toBe('foreign-client-id');
		expect(await logRows(ticket.id)).toBe(rowsBefore);

		// The victim comes back: its offline work is acknowledged, kept on its side and stored.
		const back = await connect(ticket.id, 'ann', { doc: victimDoc });
		await back.acknowledged();
		expect(back.closeReason()).toBeNull();
		expect(readEntries(victimDoc)).toContainEqual(offlineNote);
		const fresh = await freshView(ticket.id);
		expect(fresh.entries).toEqual([ticket.first, acknowledgedEarlier, offlineNote]);
		expect(fresh.drafts.map((d) => d.text)).toEqual(['Dear Pat, ']);
		expect(fresh.stateVector).toEqual(Y.encodeStateVector(victimDoc));
		expect(readEntries(await storedDoc(ticket.id))).toEqual(fresh.entries);
		disconnect(back);

		// Ownership is stored with the log: after a SIGKILL and a restart it still holds.
		expect(await countRows(server.dataDir, sql`SELECT count(*) AS n FROM ticket_client_owners WHERE ticket_id = ${ticket.id} AND client_id = ${victimClient} AND owner = ${`user:${idOf('ann')}`}`)).toBe(1);
		await server.kill();
		server = await running.boot(server.dataDir);
		const again = await connect(ticket.id, 'mallory');
		hostile.send(again, hostile.garbage(victimClient, Y.getState(victimDoc.store, victimClient), 2 ** 40));
		expect(await refusalOf(again)).toBe('foreign-client-id');
		const owner = await connect(ticket.id, 'ann', { doc: victimDoc });
		const later = noteBy(idOf('ann'), 'Customer confirmed receipt');
		appendEntry(victimDoc, later);
		await owner.acknowledged();
		expect(owner.closeReason()).toBeNull();
		expect((await freshView(ticket.id)).entries).toEqual([ticket.first, acknowledgedEarlier, offlineNote, later]);
	});

	it("a reader's client id, seen in its presence, cannot be taken before the reader writes", async () => {
		const ticket = await createTicket();
		const reader = await connect(ticket.id, 'ann');
		const readerClient = reader.doc.clientID;
		reader.provider.setAwarenessField('typing', false);
		const attacker = await connect(ticket.id, 'mallory');
		await waitFor(() => attacker.provider.awareness!.getStates().has(readerClient), "the reader's presence at the attacker");
		hostile.send(attacker, hostile.garbage(readerClient, 0, 2 ** 40));
		expect(await refusalOf(attacker)).toBe('foreign-client-id');

		// The reader writes offline and comes back: stored.
		const doc = reader.doc;
		disconnect(reader);
		const note = noteBy(idOf('ann'), 'Written after reading offline');
		appendEntry(doc, note);
		const back = await connect(ticket.id, 'ann', { doc });
		await back.acknowledged();
		expect(back.closeReason()).toBeNull();
		expect((await freshView(ticket.id)).entries).toEqual([ticket.first, note]);
	});

	it("the server's own client ids (ticket creation, HTTP appends) are the system's, whoever asked for the write", async () => {
		const ticket = await createTicket();
		const res = await api(server, tokenOf('mallory')).request('POST', `/api/v1/tickets/${ticket.id}/entries`, { kind: 'note', channel: 'internal', body: 'Posted over HTTP' });
		expect(res.status).toBe(201);
		const peer = await connect(ticket.id, 'mallory');
		const entries = peer.doc.getArray<Entry>('entries');
		const writers = [entries._start!.id.client, entries._start!.right!.id.client];
		for (const client of writers) {
			expect(await countRows(server.dataDir, sql`SELECT count(*) AS n FROM ticket_client_owners WHERE ticket_id = ${ticket.id} AND client_id = ${client} AND owner = ${'system'}`)).toBe(1);
		}
		hostile.send(peer, hostile.garbage(writers[1], Y.getState(peer.doc.store, writers[1]), 1));
		expect(await refusalOf(peer)).toBe('foreign-client-id');
	});

	it('a ticket stored before owners were recorded gets them when it loads: from the log, else the system', async () => {
		const ticket = await createTicket();
		const writer = await connect(ticket.id, 'ann');
		appendEntry(writer.doc, noteBy(idOf('ann'), 'Written before the upgrade'));
		await writer.acknowledged();
		const doc = writer.doc;
		// Killed while the peer is there, so its row is still in the log (not folded into a snapshot).
		await server.kill();
		disconnect(writer);
		// As a database from before this rule: the log without owners.
		await withStore(server.dataDir, (store) => store.run(sql`DELETE FROM ticket_client_owners WHERE ticket_id = ${ticket.id}`));
		server = await running.boot(server.dataDir);

		const attacker = await connect(ticket.id, 'mallory');
		hostile.send(attacker, hostile.garbage(doc.clientID, Y.getState(doc.store, doc.clientID), 2 ** 40));
		expect(await refusalOf(attacker)).toBe('foreign-client-id');
		const owners = (client: number) => countRows(server.dataDir, sql`SELECT count(*) AS n FROM ticket_client_owners WHERE ticket_id = ${ticket.id} AND client_id = ${client} AND owner = ${`user:${idOf('ann')}`}`);
		expect(await owners(doc.clientID)).toBe(1);
		const back = await connect(ticket.id, 'ann', { doc });
		const after = noteBy(idOf('ann'), 'Written after the upgrade');
		appendEntry(doc, after);
		await back.acknowledged();
		expect(back.closeReason()).toBeNull();
		expect((await freshView(ticket.id)).entries).toContainEqual(after);
	});

	it('an item written under another writer’s client id is refused too', async () => {
		const ticket = await createTicket();
		const victim = await connect(ticket.id, 'ann');
		appendEntry(victim.doc, noteBy(idOf('ann')));
		await victim.acknowledged();
		const before = await freshView(ticket.id);
		const attacker = await connect(ticket.id, 'mallory');
		const last = entryIndex(attacker.doc).lastItem!.lastId;
		hostile.send(attacker, hostile.entryAfter(last, victim.doc.clientID, Y.getState(attacker.doc.store, victim.doc.clientID), noteBy(idOf('mallory'))));
		expect(await refusalOf(attacker)).toBe('foreign-client-id');
		expect(await freshView(ticket.id)).toEqual(before);
	});

	it('an honest client that inserted and deleted text offline (garbage of its own) reconnects and is stored', async () => {
		const ticket = await createTicket();
		const peer = await connect(ticket.id, 'ann');
		const doc = peer.doc;
		disconnect(peer);
		const note = noteBy(idOf('ann'), 'Checked the payment provider');
		appendEntry(doc, note);
		const draftId = newId();
		const text = draftText(doc, draftId, { channel: 'email', visibility: 'public' });
		text.insert(0, 'A first attempt that goes away');
		text.delete(0, text.length);
		doc.getMap('drafts').delete(draftId); // the draft goes too: its content becomes garbage
		const offline = Y.encodeStateAsUpdate(doc, Y.encodeStateVector(await storedDoc(ticket.id)));
		expect(Y.decodeUpdate(offline).structs.some((s) => s instanceof Y.GC && s.id.client === doc.clientID)).toBe(true);

		const back = await connect(ticket.id, 'ann', { doc });
		await back.acknowledged();
		expect(back.closeReason()).toBeNull();
		const fresh = await freshView(ticket.id);
		expect(fresh.entries).toEqual([ticket.first, note]);
		expect(fresh.stateVector).toEqual(Y.encodeStateVector(doc));
		expect(Y.encodeStateVector(await storedDoc(ticket.id))).toEqual(Y.encodeStateVector(doc));
	});
});

// ---------------------------------------------------------------------------------------------
// Class 8a: an append goes at the end of what its sender had

describe('an entry wedged between entries the sender had is refused', () => {
	it('as a live update from a peer whose handshake declared the later entries', async () => {
		const ticket = await createTicket();
		const ben = await connect(ticket.id, 'ben');
		appendEntry(ben.doc, noteBy(idOf('ben'), 'Second entry'));
		await ben.acknowledged();
		// A replica that reconnects declares in its handshake that it has both entries.
		const replica = await connect(ticket.id, 'mallory');
		const doc = replica.doc;
		disconnect(replica);
		const attacker = await connect(ticket.id, 'mallory', { doc });
		const before = await freshView(ticket.id);
		const rowsBefore = await logRows(ticket.id);
		const firstItem = doc.getArray<Entry>('entries')._start!;
		expect(firstItem.content.getContent()).toEqual([ticket.first]);
		expect(firstItem.right).not.toBeNull();
		hostile.send(attacker, hostile.entryAfter(firstItem.lastId, 7_000_001, 0, noteBy(idOf('mallory'), 'Wedged in')));
		expect(await refusalOf(attacker)).toBe('entries-append-only');
		expect(await freshView(ticket.id)).toEqual(before);
		expect(await logRows(ticket.id)).toBe(rowsBefore);
	});

	it("in the handshake, before the sender's own earlier entry", async () => {
		const ticket = await createTicket();
		const peer = await connect(ticket.id, 'mallory');
		const doc = peer.doc;
		const origin = entryIndex(doc).lastItem!.lastId;
		appendEntry(doc, noteBy(idOf('mallory'), 'My own entry'));
		await peer.acknowledged();
		disconnect(peer);
		const before = await freshView(ticket.id);
		Y.applyUpdate(doc, hostile.entryAfter(origin, doc.clientID, Y.getState(doc.store, doc.clientID), noteBy(idOf('mallory'), 'Before my own')));
		const attacker = await connect(ticket.id, 'mallory', { doc, waitSynced: false });
		expect(await refusalOf(attacker)).toBe('entries-append-only');
		expect(await freshView(ticket.id)).toEqual(before);
	});

	it('honest concurrent appends of four peers at once, and offline appends from older views, are all stored', async () => {
		const ticket = await createTicket();
		const offlinePeers = await Promise.all((['ann', 'ben'] as const).map((actor) => connect(ticket.id, actor)));
		const offlineDocs = offlinePeers.map((peer) => peer.doc);
		for (const peer of offlinePeers) disconnect(peer);
		const live = await Promise.all((['ann', 'ben', 'cleo', 'root'] as const).map((actor) => connect(ticket.id, actor)));
		const written: Entry[] = [];
		const appendAll = () => {
			for (const [i, peer] of live.entries()) {
				const entry = noteBy(idOf((['ann', 'ben', 'cleo', 'root'] as const)[i]), `live ${written.length}`);
				written.push(entry);
				appendEntry(peer.doc, entry);
			}
		};
		appendAll();
		for (const [i, doc] of offlineDocs.entries()) {
			for (let n = 0; n < 2; n++) {
				const entry = noteBy(idOf((['ann', 'ben'] as const)[i]), `offline ${i}.${n}`);
				written.push(entry);
				appendEntry(doc, entry);
			}
		}
		// The offline peers come back while the live ones append again.
		const returning = offlineDocs.map((doc, i) => connect(ticket.id, (['ann', 'ben'] as const)[i], { doc }));
		appendAll();
		const back = await Promise.all(returning);
		for (const peer of [...live, ...back]) {
			await peer.acknowledged();
			expect(peer.closeReason()).toBeNull();
		}
		const fresh = await freshView(ticket.id);
		expect(fresh.entries.map((e) => e.id).sort()).toEqual([ticket.first, ...written].map((e) => e.id).sort());
		expect(readEntries(await storedDoc(ticket.id))).toEqual(fresh.entries);
	});
});

// ---------------------------------------------------------------------------------------------
// Class 8b-d: who, when and what type, inside side conversations and drafts

interface Claim {
	name: string;
	reason: string;
	/** Prepares the ticket as an honest peer (ben); returns what the attack needs. */
	setup?: (doc: Y.Doc) => string;
	attack: (doc: Y.Doc, prepared: string) => void;
}

const CLAIMS: Claim[] = [
	{
		name: 'a side conversation opened in another agent’s name',
		reason: 'forbidden-author',
		attack: (doc) => openSide(doc, { id: newId(), subject: 'Escalate', channel: 'internal', createdBy: idOf('ann'), createdAt: Date.now(), participants: [] })
	},
	{
		name: 'a side conversation dated createdAt=1',
		reason: 'time-out-of-range',
		attack: (doc) => openSide(doc, { id: newId(), subject: 'Old news', channel: 'internal', createdBy: idOf('mallory'), createdAt: 1, participants: [] })
	},
	{
		name: 'another agent added to a draft’s authors',
		reason: 'forbidden-author',
		setup: (doc) => {
			const draftId = newId();
			draftText(doc, draftId, { channel: 'email', visibility: 'public' }).insert(0, 'Hello');
			return draftId;
		},
		attack: (doc, draftId) => addDraftAuthor(doc, draftId, idOf('ann'))
	},
	{
		name: 'a draft whose text is a Y.XmlText',
		reason: 'invalid-shape',
		attack: (doc) =>
			doc.transact(() => {
				const draft = new Y.Map<unknown>();
				doc.getMap('drafts').set(newId(), draft);
				draft.set('channel', 'email');
				draft.set('visibility', 'public');
				draft.set('text', new Y.XmlText('Looks like text'));
			})
	}
];

describe.each([
	['live update', false],
	['offline edit in the sync handshake', true]
] as const)('claims inside sides and drafts: %s', (_mode, offline) => {
	it.each(CLAIMS)('refuses $name', async (claim) => {
		const ticket = await createTicket();
		let prepared = '';
		if (claim.setup) {
			const ben = await connect(ticket.id, 'ben');
			prepared = claim.setup(ben.doc);
			await ben.acknowledged();
			disconnect(ben);
		}
		const before = await freshView(ticket.id);
		const rowsBefore = await logRows(ticket.id);
		let attacker = await connect(ticket.id, 'mallory');
		if (offline) {
			disconnect(attacker);
			claim.attack(attacker.doc, prepared);
			attacker = await connect(ticket.id, 'mallory', { doc: attacker.doc, waitSynced: false });
		} else claim.attack(attacker.doc, prepared);
		expect(await refusalOf(attacker)).toBe(claim.reason);
		expect(await freshView(ticket.id)).toEqual(before);
		expect(await logRows(ticket.id)).toBe(rowsBefore);
	});
});

it('the same writer opening a side conversation and adding itself to a draft, as the workspace does, is accepted', async () => {
	const ticket = await createTicket();
	const peer = await connect(ticket.id, 'mallory');
	const sideId = newId();
	openSide(peer.doc, { id: sideId, subject: 'Ask finance', channel: 'internal', createdBy: idOf('mallory'), createdAt: Date.now(), participants: [idOf('ben')] });
	const draftId = newId();
	draftText(peer.doc, draftId, { channel: 'email', visibility: 'public' }).insert(0, 'Hi Pat');
	addDraftAuthor(peer.doc, draftId, idOf('mallory'));
	await peer.acknowledged();
	expect(peer.closeReason()).toBeNull();
	const fresh = await freshView(ticket.id);
	expect(fresh.sides.map((s) => [s.id, s.createdBy])).toEqual([[sideId, idOf('mallory')]]);
	expect(fresh.drafts.map((d) => [d.id, d.authors])).toEqual([[draftId, [idOf('mallory')]]]);
});
