/**
 * Caps (issue #12, class 4) and peer awareness (class 8, the fake visitor): one writer must not
 * make a ticket unusable for everyone. Every part of the document a peer can grow is capped
 * (src/lib/ticket/limits.ts): past a cap the change is refused as `limit-exceeded`, nothing is
 * stored, honest peers stay connected and a fresh peer opens the ticket. A ticket already over
 * the caps (written before them, straight into the log here) still opens, in a provider and in
 * the browser. Awareness keeps only the fields the workspace reads, within size and client-id
 * bounds per connection.
 */
import { sql } from 'drizzle-orm';
import path from 'node:path';
import * as encoding from 'lib0/encoding';
import { applyAwarenessUpdate } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
	addTag,
	appendEntry,
	appendSideEntry,
	draftText,
	LIMITS,
	newId,
	openSide,
	readDrafts,
	readEntries,
	readFields,
	readSides
} from '../../src/lib/ticket';
import { TicketLog } from '../../server/storage/ticket-log';
import { openDatabase } from '../../server/storage/database';
import { launchBrowser } from '../helpers/browser';
import { countRows, withStore } from '../helpers/db';
import { noteBy } from '../helpers/entries';
import { PASSWORD, prepare, type Fixture } from '../helpers/fixtures';
import { api, connectPeer, startServer, tempDataDir, waitFor, type Peer, type RunningServer } from '../helpers/server';

/** What the attacker sent twenty times: just under the default 2 MB frame limit. */
const HUGE_TEXT = 'x'.repeat(1_900_000);

let server: RunningServer;
let fx: Fixture;

beforeAll(async () => {
	const dataDir = tempDataDir('tandem-caps-');
	fx = await prepare(dataDir, {
		users: {
			ann: { role: 'agent', groups: ['Support'] }, // the honest peer
			ben: { role: 'agent', groups: ['Support'] }, // fresh observers
			mallory: { role: 'agent', groups: ['Support'] } // the hostile agent
		},
		bots: { mailer: ['email'] }
	});
	server = await startServer({ dataDir });
});

afterAll(async () => {
	await server?.stop();
});

const peers: Peer[] = [];
afterEach(() => {
	for (const peer of peers.splice(0)) peer.destroy();
});

type Actor = 'ann' | 'ben' | 'mallory';
const idOf = (actor: Actor) => fx.users[actor].id;

async function connect(on: RunningServer, ticketId: string, actor: Actor, options: { waitSynced?: boolean } = {}) {
	const peer = await connectPeer(on, ticketId, fx.users[actor].token, options);
	peers.push(peer);
	return peer;
}

function disconnect(peer: Peer) {
	peer.destroy();
	peers.splice(peers.indexOf(peer), 1);
}

async function createTicket(on: RunningServer = server): Promise<string> {
	const res = await api(on, fx.tokens.mailer.token).request('POST', '/api/v1/tickets', {
		subject: 'Refund for order 1142',
		requester: { email: `pat+${newId().toLowerCase()}@example.com`, name: 'Pat' },
		channel: 'email',
		body: 'I was charged twice.'
	});
	expect(res.status).toBe(201);
	return res.body.id;
}

/** The reason the server closed `peer`'s document with, or null if it did not within `ms`. */
const refusalOf = (peer: Peer, ms = 15_000) => waitFor(() => peer.closeReason(), 'a refusal', ms).catch(() => null);
const logRows = (on: RunningServer, ticketId: string) => countRows(on.dataDir, sql`SELECT count(*) AS n FROM ticket_updates WHERE ticket_id = ${ticketId}`);

/** The messages of the `update.rejected` events of a ticket. */
async function rejections(on: RunningServer, ticketId: string): Promise<string[]> {
	const rows = await withStore(on.dataDir, (store) =>
		store.all<{ data: string }>(sql`SELECT CAST(data AS text) AS data FROM events WHERE ticket_id = ${ticketId} AND type = 'update.rejected' ORDER BY id`)
	);
	return rows.map((row) => (JSON.parse(row.data) as { reason: string; message: string }).message);
}

/** The honest peer still writes, is acknowledged, and a fresh peer sees its work. */
async function stillServes(on: RunningServer, ticketId: string, honest: Peer) {
	expect(honest.closeReason()).toBeNull();
	const note = noteBy(idOf('ann'), 'Still working');
	appendEntry(honest.doc, note);
	await honest.acknowledged(30_000);
	const fresh = await connect(on, ticketId, 'ben');
	expect(readEntries(fresh.doc).map((e) => e.id)).toContain(note.id);
	disconnect(fresh);
	expect((await fetch(on.url + '/healthz')).status).toBe(200);
}

const sideOf = (author: Actor) => ({ id: newId(), subject: 'Ask the warehouse', channel: 'internal' as const, createdBy: idOf(author), createdAt: Date.now(), participants: [idOf(author)] });

describe('caps on what a peer can grow', () => {
	it('twenty 1.9 MB drafts are each refused by name; the honest peer stays connected and a fresh peer opens the ticket', async () => {
		const ticketId = await createTicket();
		const honest = await connect(server, ticketId, 'ann');
		const rows = await logRows(server, ticketId);
		for (let i = 0; i < 20; i++) {
			const attacker = await connect(server, ticketId, 'mallory');
			attacker.doc.transact(() => draftText(attacker.doc, newId(), { channel: 'email', visibility: 'public' }).insert(0, HUGE_TEXT));
			expect(await refusalOf(attacker)).toBe('limit-exceeded');
			disconnect(attacker);
		}
		expect(await logRows(server, ticketId)).toBe(rows);
		expect(readDrafts(honest.doc)).toEqual([]);
		expect(await rejections(server, ticketId)).toHaveLength(20);
		expect((await rejections(server, ticketId))[0]).toContain('draftTextLength');
		await stillServes(server, ticketId, honest);
	}, 180_000);

	it('a draft grows up to LIMITS.draftTextLength characters and not one more', async () => {
		const ticketId = await createTicket();
		const writer = await connect(server, ticketId, 'ann');
		const draftId = newId();
		const text = draftText(writer.doc, draftId, { channel: 'email', visibility: 'public' });
		text.insert(0, 'y'.repeat(LIMITS.draftTextLength - 10));
		text.insert(text.length, 'z'.repeat(10));
		await writer.acknowledged();
		// Replacing text keeps the length: accepted at the cap.
		writer.doc.transact(() => {
			text.delete(0, 5);
			text.insert(0, 'w'.repeat(5));
		});
		await writer.acknowledged();
		text.insert(0, '!');
		expect(await refusalOf(writer)).toBe('limit-exceeded');
		const fresh = await connect(server, ticketId, 'ben');
		expect(readDrafts(fresh.doc).map((d) => d.text.length)).toEqual([LIMITS.draftTextLength]);
	});

	it('5,000 side conversations in one update are refused; a ticket takes LIMITS.sidesPerTicket of them', async () => {
		const ticketId = await createTicket();
		const honest = await connect(server, ticketId, 'ann');
		const rows = await logRows(server, ticketId);
		const attacker = await connect(server, ticketId, 'mallory');
		attacker.doc.transact(() => {
			for (let i = 0; i < 5000; i++) openSide(attacker.doc, sideOf('mallory'));
		});
		expect(await refusalOf(attacker)).toBe('limit-exceeded');
		expect(await logRows(server, ticketId)).toBe(rows);
		expect((await rejections(server, ticketId)).at(-1)).toContain('sidesPerTicket');

		// Up to the cap, in two updates; one more is refused.
		const writer = await connect(server, ticketId, 'ben');
		writer.doc.transact(() => {
			for (let i = 0; i < LIMITS.sidesPerTicket - 1; i++) openSide(writer.doc, sideOf('ben'));
		});
		await writer.acknowledged();
		openSide(writer.doc, sideOf('ben'));
		await writer.acknowledged();
		openSide(writer.doc, sideOf('ben'));
		expect(await refusalOf(writer)).toBe('limit-exceeded');
		await waitFor(() => readSides(honest.doc).length === LIMITS.sidesPerTicket, 'the sides at the honest peer');
		await stillServes(server, ticketId, honest);
		expect(readSides(honest.doc)).toHaveLength(LIMITS.sidesPerTicket);
	});

	it('participants per side conversation and tags per ticket are capped', async () => {
		const ticketId = await createTicket();
		const participants = await connect(server, ticketId, 'mallory');
		openSide(participants.doc, { ...sideOf('mallory'), channel: 'email', participants: Array.from({ length: LIMITS.participantsPerSide + 1 }, (_, i) => `p${i}@example.com`) });
		expect(await refusalOf(participants)).toBe('limit-exceeded');
		const tags = await connect(server, ticketId, 'mallory');
		tags.doc.transact(() => {
			for (let i = 0; i <= LIMITS.tagsPerTicket; i++) addTag(tags.doc, `tag-${i}`);
		});
		expect(await refusalOf(tags)).toBe('limit-exceeded');
		expect((await rejections(server, ticketId)).slice(-2).map((m) => m.split(':')[0])).toEqual(['limit participantsPerSide exceeded', 'limit tagsPerTicket exceeded']);
		const fresh = await connect(server, ticketId, 'ben');
		expect(readSides(fresh.doc)).toEqual([]);
		expect(readFields(fresh.doc).tags).toEqual([]);
	});

	it('past LIMITS.documentBytes a ticket takes only conversation entries; it still opens for everyone', async () => {
		const ticketId = await createTicket();
		const honest = await connect(server, ticketId, 'ann');
		const writer = await connect(server, ticketId, 'mallory');
		const side = sideOf('mallory');
		openSide(writer.doc, side);
		await writer.acknowledged();
		// Side entries are append-only and each within the entry schema: only the total is capped.
		const rounds = Math.ceil(LIMITS.documentBytes / (28 * 60_000)) + 2;
		let refused: string | null = null;
		for (let round = 0; round < rounds && !refused; round++) {
			writer.doc.transact(() => {
				for (let i = 0; i < 28; i++) appendSideEntry(writer.doc, side.id, noteBy(idOf('mallory'), `${round}.${i} `.padEnd(60_000, 'n')));
			});
			await waitFor(() => writer.closeReason() ?? (writer.provider.unsyncedChanges === 0 ? 'ack' : null), 'an answer', 30_000);
			if (writer.closeReason()) refused = writer.closeReason();
		}
		expect(refused).toBe('limit-exceeded');
		expect((await rejections(server, ticketId)).at(-1)).toContain('documentBytes');
		// The conversation still takes replies, and the ticket opens.
		await stillServes(server, ticketId, honest);
	}, 180_000);
});

describe('awareness', () => {
	/** An awareness update speaking for `count` client ids from `firstId` on. */
	function awarenessFlood(firstId: number, count: number, state: unknown): Uint8Array {
		const e = encoding.createEncoder();
		encoding.writeVarUint(e, count);
		for (let i = 0; i < count; i++) {
			encoding.writeVarUint(e, firstId + i);
			encoding.writeVarUint(e, 1);
			encoding.writeVarString(e, JSON.stringify(state));
		}
		return encoding.toUint8Array(e);
	}

	const statesOf = (observer: Peer, actor: Actor) =>
		[...observer.provider.awareness!.getStates().entries()].filter(([, state]) => (state.user as { id?: string } | undefined)?.id === idOf(actor));

	it('a huge state and thousands of client ids from one connection are refused; honest presence still flows', async () => {
		const ticketId = await createTicket();
		const honest = await connect(server, ticketId, 'ann');
		const observer = await connect(server, ticketId, 'ben');
		const attacker = await connect(server, ticketId, 'mallory');
		const seen: unknown[] = [];
		observer.provider.awareness!.on('change', () => {
			for (const [, state] of statesOf(observer, 'mallory')) seen.push(state);
		});

		attacker.provider.setAwarenessField('typing', 'before');
		await waitFor(() => statesOf(observer, 'mallory').some(([, state]) => state.typing === 'before'), "the attacker's first state");
		attacker.provider.awareness!.setLocalState({ typing: 'huge', junk: 'j'.repeat(1_500_000) });
		applyAwarenessUpdate(attacker.provider.awareness!, awarenessFlood(1_000_000, 5000, { typing: 'flood' }), 'flood'); // the provider sends it on
		// Back to a small state in one change: two (junk dropped, then typing changed) would publish
		// { typing: 'huge' } in between, which is small and so rightly shown when the server relays
		// them apart (on PostgreSQL, where claiming the client id waits for the database).
		attacker.provider.awareness!.setLocalState({ typing: 'after-flood' });
		await waitFor(() => statesOf(observer, 'mallory').some(([, state]) => state.typing === 'after-flood'), "the attacker's later, small state");
		honest.provider.setAwarenessField('typing', 'honest');
		await waitFor(() => statesOf(observer, 'ann').some(([, state]) => state.typing === 'honest'), "the honest peer's presence");

		expect(statesOf(observer, 'mallory').length).toBeLessThanOrEqual(LIMITS.awarenessClientsPerConnection);
		expect(seen.some((state) => (state as { typing?: string }).typing === 'huge')).toBe(false);
		expect(seen.every((state) => !('junk' in (state as object)))).toBe(true);
		expect(attacker.closeReason()).toBeNull();
		expect((await fetch(server.url + '/healthz')).status).toBe(200);
	});

	it('a peer-published `visitor` never reaches another peer; the rest of its state does', async () => {
		const ticketId = await createTicket();
		const attacker = await connect(server, ticketId, 'mallory');
		attacker.provider.awareness!.setLocalState({
			typing: 'marker',
			visitor: { chatId: 'chat-1', name: 'Your customer', presence: 'here', typing: true, status: 'waiting', page: null }
		});
		const observer = await connect(server, ticketId, 'ben');
		const state = await waitFor(() => statesOf(observer, 'mallory').find(([, s]) => s.typing === 'marker')?.[1], "the attacker's presence");
		expect(state).not.toHaveProperty('visitor');
		expect([...observer.provider.awareness!.getStates().values()].some((s) => 'visitor' in s)).toBe(false);
	});
});

describe('a ticket over the caps from before they existed', () => {
	/** Enough 1.9 MB drafts to take the ticket past LIMITS.documentBytes (16 MB). */
	const HUGE_DRAFTS = 10;
	/**
	 * Below the ticket's size, so that syncing it takes a peer's send buffer past the limit, and
	 * above a quarter of it, the ceiling past which even a reading peer is dropped (server/http.ts).
	 */
	const SEND_BUFFER_BYTES = 8 * 1024 * 1024;

	it('opens for a fresh provider without dropping anyone after a restart, refuses further growth, and shows in the browser', async () => {
		const ticketId = await createTicket();
		const seed = await connect(server, ticketId, 'ann');
		const state = Y.encodeStateAsUpdate(seed.doc);
		disconnect(seed);
		await server.stop();

		// What the attacker left behind, written straight into the log: drafts of 1.9 MB
		// (past LIMITS.documentBytes) and 5,000 side conversations.
		const doc = new Y.Doc();
		Y.applyUpdate(doc, state);
		await withStore(server.dataDir, async (store) => {
			const log = new TicketLog(store);
			const write = async (edit: () => void) => {
				const before = Y.encodeStateVector(doc);
				doc.transact(edit);
				await log.append(ticketId, Y.encodeStateAsUpdate(doc, before), `user:${idOf('mallory')}`);
			};
			for (let i = 0; i < HUGE_DRAFTS; i++) await write(() => draftText(doc, newId(), { channel: 'email', visibility: 'public' }).insert(0, HUGE_TEXT));
			await write(() => {
				for (let i = 0; i < 5000; i++) openSide(doc, sideOf('mallory'));
			});
		});
		server = await startServer({ dataDir: server.dataDir, env: { SEND_BUFFER_BYTES: String(SEND_BUFFER_BYTES) } });

		const first = await connect(server, ticketId, 'ann', { waitSynced: false });
		await waitFor(() => first.provider.isSynced, 'the first peer to sync the large ticket', 60_000);
		first.provider.setAwarenessField('typing', 'present');
		// A second peer receives one frame of ~20 MB (more than SEND_BUFFER_BYTES), followed at once
		// by the first peer's awareness and a change: it must stay connected while it reads.
		const second = await connect(server, ticketId, 'ben', { waitSynced: false });
		let drops = 0;
		second.socket.on('disconnect', () => drops++);
		const note = noteBy(idOf('ann'), 'Written while the second peer syncs');
		appendEntry(first.doc, note);
		await first.acknowledged(60_000);
		await waitFor(() => second.provider.isSynced && readEntries(second.doc).some((e) => e.id === note.id), 'the second peer to sync', 60_000);
		expect(drops).toBe(0);
		expect(server.output()).not.toContain('peer not reading');
		expect(readDrafts(second.doc)).toHaveLength(HUGE_DRAFTS);
		expect(readSides(second.doc)).toHaveLength(5000);

		// Over the caps: growth is refused by name, the conversation still takes a reply.
		second.doc.transact(() => draftText(second.doc, newId(), { channel: 'email', visibility: 'public' }).insert(0, 'hello'));
		expect(await refusalOf(second, 60_000)).toBe('limit-exceeded');
		expect((await rejections(server, ticketId)).at(-1)).toContain('documentBytes');
		await stillServes(server, ticketId, first);

		// The workspace shows the ticket.
		const browser = await launchBrowser();
		try {
			const { page } = await browser.person(server.url, fx.users.ann.email, PASSWORD);
			page.setDefaultTimeout(60_000);
			await page.goto(`/tickets/${ticketId}`);
			await page.getByRole('region', { name: 'Reply composer' }).waitFor();
			await page.getByText('Loading ticket…').waitFor({ state: 'detached' });
			await page.getByRole('log', { name: 'Conversation' }).getByText('Written while the second peer syncs').waitFor();
		} finally {
			await browser.close();
		}
	}, 600_000);
});
