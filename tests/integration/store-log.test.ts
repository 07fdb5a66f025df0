/**
 * The ticket log on both engines: what it writes and reads, each ticket's seq gapless and committed
 * in order under concurrent appends, group commit keeping the others when one update is refused,
 * entry ids unique per ticket in the database across processes, and on PostgreSQL a database
 * stopped mid-write: nothing acknowledged lost, writers told, writes resuming once it is back.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { asc, eq } from 'drizzle-orm';
import * as Y from 'yjs';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { openPostgresStore, openSqliteStore, type Engine, type Store } from '../../server/storage/store';
import { DuplicateEntryError, ForeignClientError, StorageError, TicketLog } from '../../server/storage/ticket-log';
import { createDatabaseAt, startPostgres, type Postgres } from '../helpers/postgres';
import { ENGINES, openTestStore } from '../helpers/store';

/** A document with `texts` typed one after another, and the update each typing made. */
function typed(texts: string[], clientId?: number): { doc: Y.Doc; updates: Uint8Array[] } {
	const doc = new Y.Doc();
	if (clientId !== undefined) doc.clientID = clientId;
	const updates: Uint8Array[] = [];
	doc.on('update', (update: Uint8Array) => updates.push(update));
	for (const text of texts) doc.getArray<string>('lines').push([text]);
	return { doc, updates };
}

const linesOf = (doc: Y.Doc) => doc.getArray<string>('lines').toArray();

/** Two stores on one database, as two processes would have: the same SQLite file, or the same PostgreSQL database. */
async function openTwins(engine: Engine): Promise<{ stores: [Store, Store]; close(): Promise<void> }> {
	if (engine === 'postgres') {
		const url = await createDatabaseAt(inject('postgresUrl'), 'log');
		const first = await openPostgresStore(url);
		const stores: [Store, Store] = [first, await openPostgresStore(url)];
		return { stores, close: async () => void (await Promise.all(stores.map((s) => s.close()))) };
	}
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-log-'));
	const stores: [Store, Store] = [openSqliteStore(path.join(dir, 'tandem.sqlite')), openSqliteStore(path.join(dir, 'tandem.sqlite'))];
	return {
		stores,
		async close() {
			await Promise.all(stores.map((s) => s.close()));
			fs.rmSync(dir, { recursive: true, force: true });
		}
	};
}

describe.each(ENGINES)('the ticket log on %s', (engine) => {
	let store: Store;
	let log: TicketLog;
	beforeAll(async () => {
		store = await openTestStore(engine);
		log = new TicketLog(store);
	});
	afterAll(async () => {
		await store?.close();
	});

	const seqsOf = async (ticketId: string) => {
		const { ticketUpdates } = store.tables;
		return (await store.db.select({ seq: ticketUpdates.seq }).from(ticketUpdates).where(eq(ticketUpdates.ticketId, ticketId)).orderBy(asc(ticketUpdates.seq))).map((r) => r.seq);
	};

	it('numbers each ticket’s rows 1, 2, 3… and loads them back', async () => {
		const a = typed(['a1', 'a2', 'a3']);
		const b = typed(['b1', 'b2']);
		expect(await log.append('LA', a.updates[0]!, 'user:ann')).toBe(1);
		expect(await log.append('LB', b.updates[0]!, 'user:bob')).toBe(1);
		expect(await Promise.all([log.appendSoon('LA', a.updates[1]!, 'user:ann'), log.appendSoon('LB', b.updates[1]!, 'user:bob'), log.appendSoon('LA', a.updates[2]!, 'user:ann')])).toEqual([2, 2, 3]);
		const read = await log.read('LA');
		expect(read).toMatchObject({ snapshot: null, lastSeq: 3 });
		expect(read.updates.map((u) => Buffer.from(u))).toEqual(a.updates.map((u) => Buffer.from(u)));
		const doc = new Y.Doc();
		expect(await log.loadInto('LB', doc)).toEqual({ lastSeq: 2, snapshotSeq: 0, rowsSinceSnapshot: 2, bytesSinceSnapshot: b.updates[0]!.length + b.updates[1]!.length, snapshotBytes: 0 });
		expect(linesOf(doc)).toEqual(['b1', 'b2']);
		expect(await log.read('NOTHING')).toEqual({ snapshot: null, snapshotSeq: 0, lastSeq: 0, updates: [] });
	});

	it('compacts into snapshots, keeping the previous one with the rows after it', async () => {
		const { doc, updates } = typed(['c1', 'c2', 'c3', 'c4']);
		for (const update of updates) await log.append('LC', update, 'system');
		const upTo = (n: number) => {
			const partial = new Y.Doc();
			for (const update of updates.slice(0, n)) Y.applyUpdate(partial, update);
			return Y.encodeStateAsUpdate(partial);
		};
		await log.compact('LC', upTo(2), 2);
		expect(await log.rowsAfter('LC', 2)).toBe(2);
		expect(await seqsOf('LC')).toEqual([1, 2, 3, 4]); // no snapshot before: every row stays
		await log.compact('LC', upTo(3), 3);
		expect(await seqsOf('LC')).toEqual([3, 4]); // the rows the previous snapshot (2) holds go
		const read = await log.read('LC');
		expect(read).toMatchObject({ snapshotSeq: 3, lastSeq: 4 });
		expect(read.updates).toHaveLength(1);
		const loaded = new Y.Doc();
		await log.loadInto('LC', loaded);
		expect(linesOf(loaded)).toEqual(linesOf(doc));
		// Appending goes on after the head, whatever was compacted.
		expect(await log.append('LC', typed(['c5']).updates[0]!, 'system')).toBe(5);
	});

	it('repairs a ticket by quarantining what cannot be read, under the seqs it had', async () => {
		const { updates } = typed(['r1', 'r2']);
		await log.append('LR', updates[0]!, 'system');
		await log.append('LR', new Uint8Array([0xff, 0xff, 0xff, 0x01]), 'system');
		await log.append('LR', updates[1]!, 'system');
		await expect(log.loadInto('LR', new Y.Doc())).rejects.toThrow('could not be loaded');
		const report = await log.repair('LR');
		expect(report.kept).toBe(2);
		expect(report.quarantined).toEqual([{ kind: 'update', seq: 2, error: expect.any(String) }]);
		const { ticketQuarantine } = store.tables;
		expect(await store.db.select({ seq: ticketQuarantine.seq, kind: ticketQuarantine.kind }).from(ticketQuarantine).where(eq(ticketQuarantine.ticketId, 'LR'))).toEqual([{ seq: 2, kind: 'update' }]);
		const doc = new Y.Doc();
		await log.loadInto('LR', doc);
		expect(linesOf(doc)).toEqual(['r1', 'r2']);
		// The quarantined seq is never given again.
		expect(await log.append('LR', typed(['r3']).updates[0]!, 'system')).toBe(4);
	});

	it('records client owners with their rows, and derives the missing ones from the log', async () => {
		const ann = typed(['o1'], 101);
		const bob = typed(['o2'], 202);
		const old = typed(['o3'], 303);
		await log.append('LO', ann.updates[0]!, 'user:ann', Date.now(), { clients: { owner: 'user:ann', ids: [101] } });
		await log.append('LO', bob.updates[0]!, 'user:bob');
		const doc = new Y.Doc();
		for (const update of [...ann.updates, ...bob.updates, ...old.updates]) Y.applyUpdate(doc, update);
		const owners = await log.clientOwners('LO', doc, 'system');
		expect(Object.fromEntries(owners)).toEqual({ 101: 'user:ann', 202: 'user:bob', 303: 'system' });
		// Recorded for good: a later claim changes nothing.
		await log.claimClients('LO', 'user:mallory', [101, 202, 303]);
		expect(Object.fromEntries(await log.clientOwners('LO', doc, 'system'))).toEqual({ 101: 'user:ann', 202: 'user:bob', 303: 'system' });
	});

	it('gives concurrent appends to one ticket gapless seqs, committed in seq order', async () => {
		const { updates } = typed(Array.from({ length: 40 }, (_, i) => `g${i}`));
		// A reader that ever saw seq n without every seq below it would have caught rows committing out of order.
		let writing = true;
		const seen: number[][] = [];
		const reader = (async () => {
			while (writing) {
				seen.push(await seqsOf('LG'));
				await new Promise((resolve) => setImmediate(resolve)); // reads on SQLite resolve without leaving the microtask queue
			}
		})();
		const seqs = await Promise.all(updates.map((update, i) => (i % 2 ? log.append('LG', update, 'system') : log.appendSoon('LG', update, 'system'))));
		writing = false;
		await reader;
		expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
		expect(await seqsOf('LG')).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
		for (const snapshot of seen) expect(snapshot).toEqual(Array.from({ length: snapshot.length }, (_, i) => i + 1));
		const doc = new Y.Doc();
		await log.loadInto('LG', doc);
		expect(linesOf(doc)).toHaveLength(40);
	});

	it('refuses an update whose entry id the ticket has, inside a group commit that keeps the others', async () => {
		const { updates } = typed(['d1', 'd2', 'd3', 'd4']);
		await log.append('LD', updates[0]!, 'system', Date.now(), { entryIds: ['E1'] });
		const outcomes = await Promise.allSettled([
			log.appendSoon('LD', updates[1]!, 'system', { entryIds: ['E2'] }),
			log.appendSoon('LD', updates[2]!, 'system', { entryIds: ['E3', 'E1'], clients: { owner: 'user:mallory', ids: [999] } }),
			log.appendSoon('LD', updates[3]!, 'system', { entryIds: ['E4'] })
		]);
		expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).constructor.name))).toEqual([2, 'DuplicateEntryError', 3]);
		expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ reason: 'duplicate-entry', message: 'entry E1 is already in the ticket' });
		expect(await seqsOf('LD')).toEqual([1, 2, 3]);
		const { ticketEntryIds, ticketClientOwners } = store.tables;
		const ids = await store.db.select({ id: ticketEntryIds.entryId }).from(ticketEntryIds).where(eq(ticketEntryIds.ticketId, 'LD'));
		expect(ids.map((r) => r.id).sort()).toEqual(['E1', 'E2', 'E4']); // nothing of the refused update
		expect(await store.db.select().from(ticketClientOwners).where(eq(ticketClientOwners.ticketId, 'LD'))).toEqual([]);
		// Two updates of one group commit adding the same entry: the first is kept.
		const twice = await Promise.allSettled([log.appendSoon('LD', typed(['d5']).updates[0]!, 'system', { entryIds: ['E5'] }), log.appendSoon('LD', typed(['d6']).updates[0]!, 'system', { entryIds: ['E5'] })]);
		expect(twice.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).constructor.name))).toEqual([4, 'DuplicateEntryError']);
		// The same id in another ticket is another entry.
		await expect(log.append('LD2', updates[0]!, 'system', Date.now(), { entryIds: ['E1'] })).resolves.toBe(1);
		// append() refuses the same way.
		await expect(log.append('LD', updates[1]!, 'system', Date.now(), { entryIds: ['E2'] })).rejects.toBeInstanceOf(DuplicateEntryError);
	});

	it('learns the entry ids of tickets stored before they were recorded', async () => {
		await log.claimEntryIds('LE', ['N1']);
		await log.recordEntryIds('LE', ['N1', 'N2', 'N3']);
		await log.recordEntryIds('LE', ['N1', 'N2', 'N3']); // known: nothing to do
		await expect(log.claimEntryIds('LE', ['N3'])).rejects.toBeInstanceOf(DuplicateEntryError);
		const many = Array.from({ length: 12_000 }, (_, i) => `M${i}`);
		await log.recordEntryIds('LE', many);
		const { ticketEntryIds } = store.tables;
		expect((await store.db.select({ id: ticketEntryIds.entryId }).from(ticketEntryIds).where(eq(ticketEntryIds.ticketId, 'LE'))).length).toBe(12_003);
	});

	describe('two processes on one database', () => {
		let twins: Awaited<ReturnType<typeof openTwins>>;
		beforeAll(async () => {
			twins = await openTwins(engine);
		});
		afterAll(async () => {
			await twins?.close();
		});

		it('accept an entry id once between them, and share one gapless seq', async () => {
			const [one, two] = twins.stores.map((s) => new TicketLog(s));
			const { updates } = typed(Array.from({ length: 20 }, (_, i) => `p${i}`));
			// Ten rounds, each a race of both processes to send the same entry.
			const rounds = await Promise.all(
				Array.from({ length: 10 }, (_, round) =>
					Promise.allSettled([
						one!.appendSoon('LP', updates[round * 2]!, 'user:ann', { entryIds: [`S${round}`] }),
						two!.appendSoon('LP', updates[round * 2 + 1]!, 'user:ann', { entryIds: [`S${round}`] })
					])
				)
			);
			for (const outcomes of rounds) {
				expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
				expect(outcomes.find((o) => o.status === 'rejected')!.reason).toBeInstanceOf(DuplicateEntryError);
			}
			const accepted = rounds.flatMap((outcomes) => outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : [])));
			expect(accepted.sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
		});

		it('give a Yjs client id to the first writer to claim it, refusing it to another in a group commit that keeps the rest', async () => {
			const [one, two] = twins.stores.map((s) => new TicketLog(s));
			const { updates } = typed(['c1', 'c2', 'c3']);
			expect(await one!.append('LQ', updates[0]!, 'user:ann', Date.now(), { clients: { owner: 'user:ann', ids: [4242] } })).toBe(1);
			const [refused, kept, same] = await Promise.allSettled([
				two!.appendSoon('LQ', updates[1]!, 'user:bob', { clients: { owner: 'user:bob', ids: [4242] } }),
				two!.appendSoon('LQ', updates[2]!, 'user:bob', { clients: { owner: 'user:bob', ids: [4343] } }),
				two!.appendSoon('LQ', updates[0]!, 'user:ann', { clients: { owner: 'user:ann', ids: [4242] } })
			]);
			expect(refused.status === 'rejected' && refused.reason).toBeInstanceOf(ForeignClientError);
			expect(kept).toEqual({ status: 'fulfilled', value: 2 });
			// Its own owner claiming it again (from another process that had not heard) is no refusal.
			expect(same).toEqual({ status: 'fulfilled', value: 3 });
			expect(await two!.ownersOf('LQ', [4242, 4343])).toEqual(new Map([[4242, 'user:ann'], [4343, 'user:bob']]));
		});
	});
});

describe('the ticket log on a PostgreSQL stopped mid-write', () => {
	let postgres: Postgres;
	let store: Store | undefined;
	beforeAll(async () => {
		postgres = await startPostgres();
	}, 60_000);
	afterEach(async () => {
		await store?.close();
	});
	afterAll(async () => {
		await postgres?.destroy();
	});

	it('acknowledges nothing it did not commit, tells the writers, and writes again once the database is back', async () => {
		store = await openPostgresStore(await postgres.createDatabase('crash'), { connectTimeoutMs: 1_000, statementTimeoutMs: 2_000 });
		const log = new TicketLog(store);
		const { updates } = typed(Array.from({ length: 400 }, (_, i) => `k${i}`));
		const acknowledged: number[] = [];
		const refusals: unknown[] = [];
		let next = 0;
		// Writers keep appending (group commits of several updates) until the database goes away.
		const writer = async () => {
			while (next < updates.length) {
				const i = next++;
				try {
					await log.appendSoon('LK', updates[i]!, 'system');
					acknowledged.push(i);
				} catch (error) {
					refusals.push(error);
					return;
				}
			}
		};
		const writers = Array.from({ length: 4 }, writer);
		while (acknowledged.length < 20) await new Promise((resolve) => setImmediate(resolve));
		await postgres.stop('immediate');
		await Promise.all(writers);
		expect(refusals.length).toBeGreaterThan(0);
		for (const refusal of refusals) expect(refusal).toBeInstanceOf(StorageError);
		expect(refusals[0]).toMatchObject({ reason: 'storage-unavailable' });
		// Still down: an append is refused, not left waiting.
		await expect(log.appendSoon('LK', updates[next]!, 'system')).rejects.toBeInstanceOf(StorageError);

		await postgres.start();
		// The pool drops its broken connections and makes new ones: the next append is stored.
		const seq = await log.appendSoon('LK', typed(['after'], 7).updates[0]!, 'system');
		const read = await log.read('LK');
		expect(read.lastSeq).toBe(seq);
		const doc = new Y.Doc();
		await log.loadInto('LK', doc);
		const stored = new Set(linesOf(doc));
		for (const i of acknowledged) expect(stored.has(`k${i}`)).toBe(true);
		expect(stored.has('after')).toBe(true);
		// Gapless across the crash: the rows are 1…seq.
		const { ticketUpdates } = store.tables;
		const seqs = (await store.db.select({ seq: ticketUpdates.seq }).from(ticketUpdates).where(eq(ticketUpdates.ticketId, 'LK')).orderBy(asc(ticketUpdates.seq))).map((r) => r.seq);
		expect(seqs).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
	}, 60_000);
});

describe('the migration to per-ticket seqs (SQLite)', () => {
	it('renumbers each ticket’s rows, snapshots and quarantined rows in order, and starts the heads after them', () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-log-migration-'));
		try {
			const source = path.resolve('drizzle', 'migrations');
			const older = path.join(dir, 'older-migrations');
			fs.cpSync(source, older, { recursive: true });
			const journalFile = path.join(older, 'meta', '_journal.json');
			const journal = JSON.parse(fs.readFileSync(journalFile, 'utf8'));
			const cut = journal.entries.findIndex((e: { tag: string }) => e.tag.endsWith('_per_ticket_seq'));
			expect(cut).toBeGreaterThan(0);
			journal.entries = journal.entries.slice(0, cut);
			fs.writeFileSync(journalFile, JSON.stringify(journal));
			const sqlite = new Database(path.join(dir, 'tandem.sqlite'));
			migrate(drizzle(sqlite), { migrationsFolder: older });
			// Global seqs as the previous release gave them: tickets interleaved, compacted (rows up to
			// the older snapshot gone), a row quarantined, a snapshot of an empty log at 0.
			const row = sqlite.prepare("INSERT INTO ticket_updates (seq, ticket_id, data, received_at, actor) VALUES (?, ?, ?, 0, 'system')");
			for (const [seq, ticket] of [[5, 'A'], [6, 'B'], [8, 'A'], [9, 'B'], [12, 'A']] as const) row.run(seq, ticket, Buffer.from(`${ticket}${seq}`));
			const snapshot = sqlite.prepare('INSERT INTO ticket_snapshots (ticket_id, up_to_seq, state, created_at) VALUES (?, ?, ?, 0)');
			for (const [ticket, upTo] of [['A', 3], ['A', 8], ['B', 6], ['C', 0]] as const) snapshot.run(ticket, upTo, Buffer.from(`${ticket}@${upTo}`));
			sqlite.prepare("INSERT INTO ticket_quarantine (ticket_id, kind, seq, data, error, quarantined_at) VALUES ('A', 'update', 10, x'00', 'unreadable', 0)").run();
			migrate(drizzle(sqlite), { migrationsFolder: source });
			// A: old 3 (snapshot), 5, 8, 10 (quarantined), 12 → 1, 2, 3, 4, 5. B: old 6, 9 → 1, 2.
			expect(sqlite.prepare('SELECT ticket_id, seq, CAST(data AS TEXT) AS data FROM ticket_updates ORDER BY ticket_id, seq').all()).toEqual([
				{ ticket_id: 'A', seq: 2, data: 'A5' },
				{ ticket_id: 'A', seq: 3, data: 'A8' },
				{ ticket_id: 'A', seq: 5, data: 'A12' },
				{ ticket_id: 'B', seq: 1, data: 'B6' },
				{ ticket_id: 'B', seq: 2, data: 'B9' }
			]);
			expect(sqlite.prepare('SELECT ticket_id, up_to_seq, CAST(state AS TEXT) AS state FROM ticket_snapshots ORDER BY ticket_id, up_to_seq').all()).toEqual([
				{ ticket_id: 'A', up_to_seq: 1, state: 'A@3' },
				{ ticket_id: 'A', up_to_seq: 3, state: 'A@8' },
				{ ticket_id: 'B', up_to_seq: 1, state: 'B@6' },
				{ ticket_id: 'C', up_to_seq: 0, state: 'C@0' }
			]);
			expect(sqlite.prepare('SELECT seq FROM ticket_quarantine').all()).toEqual([{ seq: 4 }]);
			expect(sqlite.prepare('SELECT ticket_id, last_seq FROM ticket_heads ORDER BY ticket_id').all()).toEqual([
				{ ticket_id: 'A', last_seq: 5 },
				{ ticket_id: 'B', last_seq: 2 }
			]);
			sqlite.close();
		} finally {
			fs.rmSync(dir, { recursive: true, force: true });
		}
	});
});
