/**
 * Fault tests: nothing acknowledged is lost, whatever happens to the process, the disk or the
 * stored log; a peer that stops reading cannot make the server buffer without bound.
 */
import fs from 'node:fs';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { appendEntries, readEntries, type Entry } from '../../src/lib/ticket';
import { runCli } from '../helpers/cli';
import { countRows, storedDocument, withStore } from '../helpers/db';
import { noteBy } from '../helpers/entries';
import { prepare, type Fixture } from '../helpers/fixtures';
import type { SqliteStore } from '../../server/storage/store';
import { startInProcess } from '../helpers/in-process';
import { assertOnce, mixedLoad } from '../helpers/load';
import { api, connectPeer, servers, tempDataDir, TEST_ENGINE, waitFor } from '../helpers/server';

const pool = servers();
const { boot, connect } = pool;
afterEach(pool.cleanup);

async function fixture() {
	const dataDir = tempDataDir();
	const fx = await prepare(dataDir, { users: { ann: { role: 'agent' } }, bots: { bot: ['chat'] } });
	return { dataDir, fx };
}

async function createTicket(server: { url: string }, fx: Fixture, subject = 'Fault test') {
	const res = await api(server, fx.tokens.bot.token).request('POST', '/api/v1/tickets', {
		subject,
		requester: { email: 'faulty@example.com' },
		channel: 'chat',
		body: 'first'
	});
	expect(res.status).toBe(201);
	return res.body.id as string;
}

/** Ann's note, its body padded with dots to `size` characters. */
const note = (fx: Fixture, body: string, size = 0) => noteBy(fx.users.ann.id, body.padEnd(size, '.'));

describe('process faults', () => {
	it('SIGKILL at 10 random moments under mixed provider and HTTP load loses no acknowledged entry and duplicates none', async () => {
		const { dataDir, fx } = await fixture();
		let server = await boot(dataDir, { COMPACT_AFTER: '15' });
		const ticketId = await createTicket(server, fx);
		const acknowledged = new Set<string>();
		// Ten rounds: each kill lands at another point of the write path (the suite is CPU-bound on
		// 2 cores, and this runs on both engines); the bench's durability rounds add more.
		for (let round = 0; round < 10; round++) {
			const peer = await connect(server, ticketId, fx.users.ann.token);
			const load = mixedLoad(server, peer, fx, ticketId);
			// The moment of the kill: after a random number of acknowledgements in this round.
			const killAfter = 3 + Math.floor(Math.random() * 40);
			await waitFor(() => load.acknowledged.size >= killAfter, 'load to be acknowledged', 20_000);
			await server.kill();
			await load.stop();
			for (const id of load.acknowledged) acknowledged.add(id);
			peer.destroy();

			server = await boot(dataDir, { COMPACT_AFTER: '15' });
			const fresh = await connect(server, ticketId, fx.users.ann.token);
			assertOnce(readEntries(fresh.doc), acknowledged);
			expect(Y.equalSnapshots(Y.snapshot(fresh.doc), Y.snapshot(await storedDocument(dataDir, ticketId)))).toBe(true);
			fresh.destroy();
		}
		expect(acknowledged.size).toBeGreaterThan(30);
	}, 120_000); // 10 restarts: about 23 s alone, much more beside other test files on 2 cores

	it('a graceful shutdown under load loses nothing acknowledged', async () => {
		const { dataDir, fx } = await fixture();
		const server = await boot(dataDir);
		const ticketId = await createTicket(server, fx);
		const peer = await connect(server, ticketId, fx.users.ann.token);
		const load = mixedLoad(server, peer, fx, ticketId);
		await waitFor(() => load.acknowledged.size >= 50, 'load to be acknowledged', 20_000);
		expect(await server.stop()).toBe(0);
		await load.stop();
		const restarted = await boot(dataDir);
		const fresh = await connect(restarted, ticketId, fx.users.ann.token);
		assertOnce(readEntries(fresh.doc), load.acknowledged);
	});
});

describe('storage faults', () => {
	// A full disk as SQLite sees one (max_page_count). Its PostgreSQL counterpart, the database
	// stopped and started again under load: tests/integration/postgres-faults.test.ts.
	it.skipIf(TEST_ENGINE === 'postgres')('when the database cannot be written, nothing is acknowledged, the writer is told, other tickets keep working, and writes resume after', async () => {
		const { dataDir, fx } = await fixture();
		const server = await startInProcess(dataDir);
		try {
			const full = await createTicket(server, fx, 'Will hit a full disk');
			const other = await createTicket(server, fx, 'Other ticket');
			const writer = await connect(server, full, fx.users.ann.token);
			const watcher = await connect(server, other, fx.users.ann.token);
			const { store } = server.services;
			if (store.engine !== 'sqlite') throw new Error('a full disk is simulated with a SQLite pragma');
			const sqlite = (store as SqliteStore).client;
			// A full disk, as SQLite sees one: no page may be added to the database.
			const pages = sqlite.pragma('page_count', { simple: true }) as number;
			sqlite.pragma(`max_page_count = ${pages}`);

			let refused: string | null = null;
			for (let i = 0; i < 200 && !refused; i++) {
				appendEntries(writer.doc, [note(fx, `big ${i}`, 60_000)]);
				await waitFor(() => writer.provider.unsyncedChanges === 0 || writer.closeReason(), 'ack or refusal');
				refused = writer.closeReason();
			}
			expect(refused).toBe('storage-unavailable');
			expect(writer.provider.unsyncedChanges).toBeGreaterThan(0); // the refused change was never acknowledged
			const httpWrite = await api(server, fx.tokens.bot.token).request('POST', `/api/v1/tickets/${other}/entries`, { channel: 'chat', body: 'x'.repeat(60_000) });
			expect(httpWrite.status).toBe(503);
			expect(httpWrite.body.error.code).toBe('storage_unavailable');
			// Reading still works, and the other ticket's peer is still connected and served.
			expect((await api(server, fx.tokens.bot.token).request('GET', `/api/v1/tickets/${other}`)).status).toBe(200);
			expect(watcher.closeReason()).toBeNull();

			// The disk has room again: the same peer's work goes through on a new connection.
			sqlite.pragma('max_page_count = 1073741823');
			const unsent = readEntries(writer.doc).map((e) => e.id);
			writer.destroy();
			const retry = await connect(server, full, fx.users.ann.token);
			Y.applyUpdate(retry.doc, Y.encodeStateAsUpdate(writer.doc));
			await retry.acknowledged();
			const check = await api(server, fx.tokens.bot.token).request('GET', `/api/v1/tickets/${full}`);
			expect(check.body.entries.map((e: Entry) => e.id)).toEqual(unsent);
			const after = await api(server, fx.tokens.bot.token).request('POST', `/api/v1/tickets/${other}/entries`, { channel: 'chat', body: 'room again' });
			expect(after.status).toBe(201);
		} finally {
			await server.close();
		}
	});

	it('a damaged log row or snapshot makes only that ticket fail, clearly, and `cli repair` brings it back from the readable rows', async () => {
		const { dataDir, fx } = await fixture();
		let server = await boot(dataDir, { COMPACT_AFTER: '1000' });
		const damaged = await createTicket(server, fx, 'Damaged');
		const healthy = await createTicket(server, fx, 'Healthy');
		const peer = await connect(server, damaged, fx.users.ann.token);
		const written: Entry[] = [];
		for (let i = 0; i < 8; i++) {
			const entry = note(fx, `kept ${i}`);
			written.push(entry);
			appendEntries(peer.doc, [entry]);
			await peer.acknowledged();
		}
		peer.destroy();
		await server.kill(); // no compaction on the way out: the entries are in log rows

		// Damage the newest log row of one ticket.
		await withStore(dataDir, async (store) => {
			const [newest] = await store.all<{ seq: number }>(sql`SELECT seq FROM ticket_updates WHERE ticket_id = ${damaged} ORDER BY seq DESC LIMIT 1`);
			await store.run(sql`UPDATE ticket_updates SET data = ${Buffer.from([0xff, 0xff, 0xff, 0x01, 0x02])} WHERE seq = ${newest!.seq}`);
		});

		server = await boot(dataDir);
		await expect(connectPeer(server, damaged, fx.users.ann.token)).rejects.toThrow('ticket-damaged');
		const read = await api(server, fx.tokens.bot.token).request('GET', `/api/v1/tickets/${damaged}`);
		expect(read.status).toBe(503);
		expect(read.body.error.code).toBe('ticket_damaged');
		expect((await connect(server, healthy, fx.users.ann.token)).provider.isSynced).toBe(true);
		await server.stop();

		const repair = await runCli(dataDir, 'repair', damaged);
		expect(repair.code).toBe(0);
		expect(repair.stdout).toMatch(/1 set aside/);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM ticket_quarantine WHERE ticket_id = ${damaged}`)).toBe(1);

		server = await boot(dataDir);
		const repaired = await connect(server, damaged, fx.users.ann.token);
		const ids = readEntries(repaired.doc).map((e) => e.id);
		// Everything but the damaged row's entry is back.
		expect(written.slice(0, -1).every((e) => ids.includes(e.id))).toBe(true);
	});

	it('a damaged snapshot is set aside by repair and the ticket is rebuilt from the one before it', async () => {
		const { dataDir, fx } = await fixture();
		let server = await boot(dataDir, { COMPACT_AFTER: '3' });
		const ticketId = await createTicket(server, fx, 'Snapshot damage');
		const peer = await connect(server, ticketId, fx.users.ann.token);
		const written: string[] = [];
		for (let i = 0; i < 9; i++) {
			const entry = note(fx, `n${i}`);
			written.push(entry.id);
			appendEntries(peer.doc, [entry]);
			await peer.acknowledged();
		}
		peer.destroy();
		await server.stop();
		await withStore(dataDir, async (store) => {
			const [newest] = await store.all<{ seq: number; n: number }>(sql`SELECT max(up_to_seq) AS seq, count(*) AS n FROM ticket_snapshots WHERE ticket_id = ${ticketId}`);
			expect(newest!.n).toBe(2);
			await store.run(sql`UPDATE ticket_snapshots SET state = ${Buffer.from([0x07, 0x07, 0x07])} WHERE ticket_id = ${ticketId} AND up_to_seq = ${newest!.seq}`);
		});
		server = await boot(dataDir);
		await expect(connectPeer(server, ticketId, fx.users.ann.token)).rejects.toThrow('ticket-damaged');
		await server.stop();
		const repair = await runCli(dataDir, 'repair', ticketId);
		expect(repair.code).toBe(0);
		expect(repair.stderr).toContain('set aside snapshot');
		server = await boot(dataDir);
		const reopened = await connect(server, ticketId, fx.users.ann.token);
		const ids = readEntries(reopened.doc).map((e) => e.id);
		expect(written.every((id) => ids.includes(id))).toBe(true);
	});
});

describe('peers', () => {
	it('a peer that stops reading is dropped; the server does not buffer for it without bound', async () => {
		const { dataDir, fx } = await fixture();
		const server = await boot(dataDir, { SEND_BUFFER_BYTES: String(1024 * 1024) });
		const ticketId = await createTicket(server, fx);
		const stalled = await connect(server, ticketId, fx.users.ann.token);
		const writer = await connect(server, ticketId, fx.users.ann.token);
		// Stop reading: the TCP socket under the stalled provider is paused.
		const ws = (stalled.socket as unknown as { webSocket: { _socket: { pause(): void } } }).webSocket;
		ws._socket.pause();
		let closed = false;
		stalled.socket.on('close', () => (closed = true));
		const rss = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${server.process.pid}/status`, 'utf8'))![1]) * 1024;
		const before = rss();
		for (let i = 0; i < 60 && !server.output().includes('peer not reading'); i++) {
			appendEntries(writer.doc, Array.from({ length: 8 }, (_, j) => note(fx, `flood ${i}.${j}`, 60_000)));
			await writer.acknowledged();
		}
		expect(server.output()).toContain('peer not reading: dropped');
		// Let the stalled client read again: it finds its connection closed by the server.
		(ws._socket as unknown as { resume(): void }).resume();
		await waitFor(() => closed, 'the stalled peer to be disconnected');
		expect(rss() - before).toBeLessThan(200 * 1024 * 1024);
		expect((await fetch(server.url + '/healthz')).status).toBe(200);
		expect(writer.closeReason()).toBeNull();
	});
});
