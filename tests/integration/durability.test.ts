import { WebSocketStatus } from '@hocuspocus/provider';
import { sql } from 'drizzle-orm';
import * as decoding from 'lib0/decoding';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { appendEntries, newId, readEntries, readFields, setField, type Entry } from '../../src/lib/ticket';
import { countRows, storedDocument } from '../helpers/db';
import { replyBy } from '../helpers/entries';
import { prepare, type Fixture } from '../helpers/fixtures';
import { startInProcess } from '../helpers/in-process';
import { api, connectPeer, servers, tempDataDir, waitFor, type Peer } from '../helpers/server';

const pool = servers();
const { boot, connect } = pool;
afterEach(pool.cleanup);

async function setup(env: Record<string, string> = {}) {
	const dataDir = tempDataDir();
	const fx = await prepare(dataDir, { users: { ann: { role: 'agent' } }, bots: { chat: ['chat'] } });
	const server = await boot(dataDir, env);
	const created = await api(server, fx.tokens.chat.token).request('POST', '/api/v1/tickets', {
		subject: 'Where is my parcel?',
		requester: { email: 'kim@example.com' },
		channel: 'chat',
		body: 'Hello?'
	});
	expect(created.status).toBe(201);
	return { dataDir, fx, server, ticketId: created.body.id as string };
}

/** Ann's 200-character reply number `i`. */
const agentEntry = (fx: Fixture, i: number) => replyBy(fx.users.ann.id, `reply ${i} `.padEnd(200, '.'));

function assertExactlyOnce(entries: Entry[], ids: string[]) {
	const counts = new Map<string, number>();
	for (const e of entries) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
	expect([...counts.values()].every((n) => n === 1)).toBe(true);
	const missing = ids.filter((id) => !counts.has(id));
	expect(missing).toEqual([]);
}

/** Message types of the Hocuspocus protocol, and the sync steps that carry changes. */
const SYNC = 0;
const SYNC_STATUS = 8;
const CHANGE_STEPS = new Set([1, 2]); // SyncStep2, Update

function frameType(frame: Uint8Array): { type: number; step: number | null } {
	const decoder = decoding.createDecoder(frame);
	decoding.readVarString(decoder);
	const type = decoding.readVarUint(decoder);
	return { type, step: type === SYNC ? decoding.readVarUint(decoder) : null };
}

/**
 * Counts the times the provider said every change was answered (unsyncedChanges 0) while a frame
 * carrying changes that it sent on the current socket had no SyncStatus answer yet: an
 * acknowledgement of something the server may not have stored.
 */
function earlyAcknowledgements(peer: Peer): () => number {
	let sent = 0;
	let answered = 0;
	let early = 0;
	peer.socket.on('open', () => {
		sent = answered = 0;
		const ws = peer.socket.webSocket as unknown as { send(frame: Uint8Array): void };
		const send = ws.send.bind(ws);
		ws.send = (frame) => {
			const { type, step } = frameType(frame);
			if (type === SYNC && CHANGE_STEPS.has(step!)) sent++;
			send(frame);
		};
	});
	// Told before the provider applies the message, so a SyncStatus is counted before it takes one off.
	peer.provider.on('message', ({ event }: { event: MessageEvent }) => {
		if (frameType(new Uint8Array(event.data)).type === SYNC_STATUS) answered++;
	});
	peer.provider.on('unsyncedChanges', ({ number }: { number: number }) => {
		if (number === 0 && answered < sent) early++;
	});
	return () => early;
}

describe('acknowledged means stored', () => {
	it('550 acknowledged entries (500 by provider in batches, 50 over HTTP) survive SIGKILL right after the last acknowledgement, none twice', async () => {
		const { dataDir, fx, server, ticketId } = await setup({ COMPACT_AFTER: '25' });
		const peer = await connect(server, ticketId, fx.users.ann.token);
		const providerIds: string[] = [];
		const httpIds: string[] = [];
		const client = api(server, fx.tokens.chat.token);
		const httpWrites: Promise<void>[] = [];
		for (let batch = 0; batch < 50; batch++) {
			const entries = Array.from({ length: 10 }, (_, i) => agentEntry(fx, batch * 10 + i));
			appendEntries(peer.doc, entries);
			providerIds.push(...entries.map((e) => e.id));
			const id = newId();
			httpIds.push(id);
			httpWrites.push(
				client.request('POST', `/api/v1/tickets/${ticketId}/entries`, { id, channel: 'chat', body: `bot ${batch}` }).then((res) => {
					expect(res.status).toBe(201);
				})
			);
		}
		await Promise.all([peer.acknowledged(), ...httpWrites]);
		await server.kill();

		const restarted = await boot(dataDir);
		const fresh = await connect(restarted, ticketId, fx.users.ann.token);
		const entries = readEntries(fresh.doc);
		expect(entries).toHaveLength(551);
		assertExactlyOnce(entries, [...providerIds, ...httpIds]);
		// The log was folded into snapshots along the way, and nothing was lost by it.
		const snapshots = await countRows(dataDir, sql`SELECT count(*) AS n FROM ticket_snapshots WHERE ticket_id = ${ticketId}`);
		expect(snapshots).toBeGreaterThanOrEqual(1);
		expect(snapshots).toBeLessThanOrEqual(2);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM ticket_updates WHERE ticket_id = ${ticketId}`)).toBeLessThan(500);
	});

	it('a restart reproduces the document exactly, after SIGKILL and after SIGTERM', async () => {
		const { dataDir, fx, server, ticketId } = await setup({ COMPACT_AFTER: '7' });
		const peer = await connect(server, ticketId, fx.users.ann.token);
		for (let i = 0; i < 30; i++) {
			appendEntries(peer.doc, [agentEntry(fx, i)]);
			if (i % 5 === 0) setField(peer.doc, 'status', i % 10 === 0 ? 'open' : 'pending');
		}
		await peer.acknowledged();
		const expected = Y.snapshot(peer.doc);
		peer.destroy();
		await server.kill();

		const afterKill = await boot(dataDir);
		const a = await connect(afterKill, ticketId, fx.users.ann.token);
		expect(Y.equalSnapshots(Y.snapshot(a.doc), expected)).toBe(true);
		expect(readEntries(a.doc)).toEqual(readEntries(peer.doc));
		expect(readFields(a.doc)).toEqual(readFields(peer.doc));
		a.destroy();
		expect(await afterKill.stop()).toBe(0);

		const afterTerm = await boot(dataDir);
		const b = await connect(afterTerm, ticketId, fx.users.ann.token);
		expect(Y.equalSnapshots(Y.snapshot(b.doc), expected)).toBe(true);
	});

	it('a provider that edited offline while the server restarted catches up with no gaps and no duplicates', async () => {
		const { dataDir, fx, server, ticketId } = await setup();
		const peer = await connect(server, ticketId, fx.users.ann.token);
		appendEntries(peer.doc, [agentEntry(fx, 0)]);
		await peer.acknowledged();
		const early = earlyAcknowledgements(peer);
		await server.kill();
		await waitFor(() => peer.socket.status === WebSocketStatus.Disconnected, 'the provider to see the server gone');
		// Offline: the provider keeps its document and buffers the edits.
		const offline = [agentEntry(fx, 1), agentEntry(fx, 2)];
		appendEntries(peer.doc, offline.slice(0, 1));
		appendEntries(peer.doc, offline.slice(1));
		const restarted = await boot(dataDir, { PORT: String(new URL(server.url).port) });
		// Someone else wrote while our peer was away.
		const other = await api(restarted, fx.tokens.chat.token).request('POST', `/api/v1/tickets/${ticketId}/entries`, { channel: 'chat', body: 'Are you there?', authorType: 'customer' });
		expect(other.status).toBe(201);
		await waitFor(() => readEntries(peer.doc).some((e) => e.id === other.body.id), 'catch-up after reconnect', 20_000);
		await peer.acknowledged(20_000);
		const fresh = await connect(restarted, ticketId, fx.users.ann.token);
		expect(readEntries(fresh.doc)).toEqual(readEntries(peer.doc));
		expect(readEntries(fresh.doc)).toHaveLength(5);
		expect(early()).toBe(0);
	});

	it('a compaction while an earlier commit is still on its way back keeps that commit, and what was written after it, loadable', async () => {
		// Two writers' commits can come back in either order: a peer's group commit (seq n) answered
		// after an HTTP append (seq n + 1), as happens on PostgreSQL with two connections. A snapshot
		// taken in between must not claim seq n without holding it.
		const dataDir = tempDataDir();
		const fx = await prepare(dataDir, { users: { ann: { role: 'agent' } }, bots: { chat: ['chat'] } });
		const server = await startInProcess(dataDir, { COMPACT_AFTER: '1' });
		try {
			const bot = api(server, fx.tokens.chat.token);
			const created = await bot.request('POST', '/api/v1/tickets', { subject: 'Held back', requester: { email: 'kim@example.com' }, channel: 'chat', body: 'Hello?' });
			const ticketId = created.body.id as string;
			const peer = await connectPeer(server, ticketId, fx.users.ann.token);
			try {
				// The peer's next commit is answered only once `release` is called.
				const { log } = server.services;
				const appendSoon = log.appendSoon.bind(log);
				let release!: () => void;
				const released = new Promise<void>((resolve) => (release = resolve));
				let held = 0;
				log.appendSoon = async (...args) => {
					const seq = await appendSoon(...args);
					if (held++ === 0) await released;
					return seq;
				};
				const first = agentEntry(fx, 1);
				appendEntries(peer.doc, [first]);
				await waitFor(() => held === 1, 'the peer’s commit');
				const snapshotSeq = () => countRows(dataDir, sql`SELECT coalesce(max(up_to_seq), 0) AS n FROM ticket_snapshots WHERE ticket_id = ${ticketId}`);
				const before = await snapshotSeq();
				// Large enough to pass the compaction's size rule: the log is folded right after it.
				const http = await bot.request('POST', `/api/v1/tickets/${ticketId}/entries`, { channel: 'chat', body: 'Still there?'.padEnd(20_000, '.'), authorType: 'customer' });
				expect(http.status).toBe(201);
				await waitFor(async () => (await snapshotSeq()) > before, 'a compaction after the HTTP append');
				release();
				await peer.acknowledged();
				// Written after the held commit, on top of it.
				const second = agentEntry(fx, 2);
				appendEntries(peer.doc, [second]);
				await peer.acknowledged();
				const stored = await storedDocument(dataDir, ticketId);
				assertExactlyOnce(readEntries(stored), [first.id, http.body.id, second.id]);
				expect(Y.equalSnapshots(Y.snapshot(stored), Y.snapshot(peer.doc))).toBe(true);
			} finally {
				peer.destroy();
			}
		} finally {
			await server.close();
		}
	});
});
