/**
 * The durable update log and snapshots of ticket documents, on either engine of the store. An
 * update is appended here before it is applied and acknowledged; a ticket loads as its latest
 * snapshot plus the rows after it.
 *
 * Each ticket's rows are numbered 1, 2, 3… without gaps (`seq`), in the order they commit: the
 * next seq is taken under the ticket's `ticket_heads` row lock, in the transaction that writes the
 * row. Entry ids are unique per ticket in the database (`ticket_entry_ids`, written in the same
 * transaction), so the database refuses a repeated id whichever process accepted the first.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { and, count, desc, eq, gt, inArray, lt, lte, sql } from 'drizzle-orm';
import * as Y from 'yjs';
import type { Store } from './store';

export class StorageError extends Error {
	override readonly name = 'StorageError';
	readonly reason = 'storage-unavailable';
	constructor(
		message: string,
		readonly cause: unknown
	) {
		super(message);
	}
}

export class DamagedTicketError extends Error {
	readonly reason = 'ticket-damaged';
}

/** An update refused because the ticket already has one of its entry ids (written nothing). */
export class DuplicateEntryError extends Error {
	override readonly name = 'DuplicateEntryError';
	readonly reason = 'duplicate-entry';
}

/** An update refused because one of the Yjs client ids it writes first is recorded for another writer (who claimed it on another process). */
export class ForeignClientError extends Error {
	override readonly name = 'ForeignClientError';
	readonly reason = 'foreign-client-id';
}

/** Why the log refused an update (it wrote nothing). */
export type Refusal = DuplicateEntryError | ForeignClientError;

export interface RepairReport {
	/** Log rows that were read and kept. */
	kept: number;
	quarantined: { kind: 'update' | 'snapshot'; seq: number; error: string }[];
}

export interface LoadedState {
	/** Seq of the newest log row now applied. */
	lastSeq: number;
	/** Seq of the last row the snapshot holds (0 without one). */
	snapshotSeq: number;
	rowsSinceSnapshot: number;
	bytesSinceSnapshot: number;
	snapshotBytes: number;
}

export interface LoadedLog {
	snapshot: Uint8Array | null;
	/** Seq of the last row the snapshot holds (0 without one). */
	snapshotSeq: number;
	/** Seq of the newest row contained in the returned state. */
	lastSeq: number;
	updates: Uint8Array[];
}

/** What is written in an update's transaction besides its row. */
export interface AppendWith {
	/** Ids of the entries the update adds, recorded as the ticket's: the update is refused (DuplicateEntryError) when the ticket has one already. */
	entryIds?: readonly string[];
	/** Yjs client ids the update writes first, recorded for `owner`: the update is refused (ForeignClientError) when another writer has one already. */
	clients?: { owner: string; ids: readonly number[] };
	/** Runs in the update's transaction (e.g. enqueueing outbound mail): commits with the row or not at all. */
	alongside?: () => Promise<void>;
}

/** An update waiting for its group commit. */
interface PendingAppend extends AppendWith {
	ticketId: string;
	data: Buffer;
	actor: string;
	receivedAt: number;
}

/** Rows of entry ids per insert: two parameters each, well below both engines' limits. */
const ENTRY_IDS_PER_INSERT = 5_000;

/** Update rows per insert: five parameters each, well below both engines' limits. */
const ROWS_PER_INSERT = 1_000;

/** Thrown inside a group commit to roll it back and write its updates again, each in a savepoint. */
class RefusedInBatch extends Error {}

/** Runs a callback outside any transaction open where it was scheduled (group commits start afresh). */
const outsideTransactions = AsyncLocalStorage.snapshot();

const storageError = (error: unknown) =>
	error instanceof StorageError ? error : new StorageError(`could not write to the update log: ${(error as Error).message}`, error);

export class TicketLog {
	private batch: (PendingAppend & { resolve: (seq: number) => void; reject: (error: Error) => void })[] = [];
	/** A group commit is being written: what arrives meanwhile waits for the next one. */
	private committing = false;

	/** `timed`: told how long each transaction of the log took, in seconds (the metrics). */
	constructor(
		private readonly store: Store,
		private readonly timed: (seconds: number) => void = () => {}
	) {}

	/**
	 * Appends durably, committed together with the other appends made while the previous group
	 * commit was written, or in the same turn of the event loop (group commit): one commit for
	 * many peers' updates, one at a time, so that a busy server writes fewer, larger transactions.
	 * One refused update (a Refusal) leaves the others in. Resolves with the update's seq
	 * once committed; rejects with StorageError, or with the refusal. What comes `with` it is
	 * written in the same transaction.
	 */
	appendSoon(ticketId: string, update: Uint8Array, actor: string, withIt: AppendWith = {}): Promise<number> {
		return new Promise((resolve, reject) => {
			this.batch.push({ ...withIt, ticketId, data: Buffer.from(update), actor, receivedAt: Date.now(), resolve, reject });
			if (this.batch.length === 1 && !this.committing) setImmediate(outsideTransactions, () => void this.commitBatch());
		});
	}

	private async commitBatch() {
		this.committing = true;
		const batch = this.batch;
		this.batch = [];
		try {
			const outcomes = await this.writeInTransaction(batch);
			batch.forEach((b, i) => {
				const outcome = outcomes[i]!;
				if (typeof outcome === 'number') b.resolve(outcome);
				else b.reject(outcome);
			});
		} catch (error) {
			const failure = storageError(error);
			for (const b of batch) b.reject(failure);
		} finally {
			this.committing = false;
			if (this.batch.length > 0) setImmediate(outsideTransactions, () => void this.commitBatch());
		}
	}

	/** Calls `callback` once the calling context's transaction commits (at once outside one): see Store.afterCommit. */
	afterCommit(callback: () => void): void {
		this.store.afterCommit(callback);
	}

	/**
	 * Appends one update durably and returns its seq; inside an open transaction, as part of it.
	 * Throws StorageError, or a Refusal. What comes `with` it is written in the same transaction.
	 */
	async append(ticketId: string, update: Uint8Array, actor: string, receivedAt = Date.now(), withIt: AppendWith = {}): Promise<number> {
		let outcome: number | Refusal;
		try {
			[outcome] = (await this.writeInTransaction([{ ...withIt, ticketId, data: Buffer.from(update), actor, receivedAt }])) as [number | Refusal];
		} catch (error) {
			throw storageError(error);
		}
		if (typeof outcome !== 'number') throw outcome;
		return outcome;
	}

	/**
	 * Writes `updates` in one transaction (a savepoint of an open one); returns each one's seq, or
	 * the refusal that kept it out. Any other failure throws. Refusals are rare (a resent entry, two
	 * processes racing for an id), so the updates are first written together, in a few statements;
	 * only when one is refused is that undone and each written in a savepoint of its own.
	 */
	private async writeInTransaction(updates: readonly PendingAppend[]): Promise<(number | Refusal)[]> {
		const started = performance.now();
		try {
			return await this.store.transaction(() => this.writeAll(updates));
		} catch (error) {
			if (!(error instanceof RefusedInBatch)) throw error;
			return await this.store.transaction(() => this.writeEach(updates));
		} finally {
			this.timed((performance.now() - started) / 1000);
		}
	}

	/**
	 * Writes `updates` in the open transaction, every kind of row in one statement each (SQLite) or
	 * all in one (PostgreSQL, where each statement is a round trip), then what runs alongside each.
	 * Throws RefusedInBatch when one is refused.
	 */
	private async writeAll(updates: readonly PendingAppend[]): Promise<number[]> {
		const entryIds = updates.flatMap((update) => (update.entryIds ?? []).map((entryId) => ({ ticketId: update.ticketId, entryId })));
		// Two updates of the batch adding one entry: the second is refused, which needs savepoints.
		if (new Set(entryIds.map((row) => `${row.ticketId} ${row.entryId}`)).size < entryIds.length) throw new RefusedInBatch();
		const claimedAt = Date.now();
		const clients = updates.flatMap(({ ticketId, clients }) => (clients?.ids ?? []).map((clientId) => ({ ticketId, clientId, owner: clients!.owner, claimedAt })));
		const added = new Map<string, number>();
		for (const update of updates) added.set(update.ticketId, (added.get(update.ticketId) ?? 0) + 1);
		const rows: Rows = { updates, added, entryIds, clients };
		const { heads, claimed, clientsClaimed } = this.store.engine === 'postgres' ? await this.insertRowsPostgres(rows) : await this.insertRowsSqlite(rows);
		if (claimed < entryIds.length || clientsClaimed < clients.length) throw new RefusedInBatch();
		for (const update of updates) await update.alongside?.();
		return seqsAfter(heads, rows);
	}

	/**
	 * Adds `added` rows to each ticket's head (made at 0 when new), then writes the rows with their
	 * seqs, the entry ids and the client ids; the new heads, and how many entry ids were new.
	 */
	private async insertRowsSqlite({ updates, added, entryIds, clients }: Rows): Promise<{ heads: Map<string, number>; claimed: number; clientsClaimed: number }> {
		const { ticketHeads, ticketUpdates, ticketEntryIds, ticketClientOwners } = this.store.tables;
		const headRows = await this.store.db
			.insert(ticketHeads)
			.values([...added].map(([ticketId, n]) => ({ ticketId, lastSeq: n })))
			.onConflictDoUpdate({ target: ticketHeads.ticketId, set: { lastSeq: sql`${ticketHeads.lastSeq} + excluded.last_seq` } })
			.returning({ ticketId: ticketHeads.ticketId, lastSeq: ticketHeads.lastSeq });
		const heads = new Map(headRows.map((row) => [row.ticketId, Number(row.lastSeq)]));
		const seqs = seqsAfter(heads, { updates, added });
		const rows = updates.map((update, i) => ({ ticketId: update.ticketId, seq: seqs[i]!, data: update.data, receivedAt: update.receivedAt, actor: update.actor }));
		for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) await this.store.db.insert(ticketUpdates).values(rows.slice(i, i + ROWS_PER_INSERT));
		let claimed = 0;
		for (let i = 0; i < entryIds.length; i += ENTRY_IDS_PER_INSERT) {
			claimed += (await this.store.db.insert(ticketEntryIds).values(entryIds.slice(i, i + ENTRY_IDS_PER_INSERT)).onConflictDoNothing().returning({ entryId: ticketEntryIds.entryId })).length;
		}
		let clientsClaimed = 0;
		for (let i = 0; i < clients.length; i += ENTRY_IDS_PER_INSERT) {
			const inserted = await this.store.db.insert(ticketClientOwners).values(clients.slice(i, i + ENTRY_IDS_PER_INSERT)).onConflictDoNothing().returning({ clientId: ticketClientOwners.clientId });
			clientsClaimed += inserted.length;
		}
		return { heads, claimed, clientsClaimed };
	}

	/**
	 * The same writes as insertRowsSqlite's in one statement, each kind of row passed as arrays. The
	 * heads are moved on and locked in key order, so that two transactions sharing tickets never
	 * wait for each other in a cycle; each ticket's rows take the seqs after its head as it was.
	 */
	private async insertRowsPostgres({ updates, entryIds, clients }: Rows): Promise<{ heads: Map<string, number>; claimed: number; clientsClaimed: number }> {
		const array = (values: unknown[]) => sql.param(values);
		const result = await this.store.all<{ ticket_id: string; last_seq: string | number; claimed: string | number; clients_claimed: string | number }>(sql`
			WITH input AS (
				SELECT * FROM unnest(${array(updates.map((u) => u.ticketId))}::text[], ${array(updates.map((u) => u.data))}::bytea[],
					${array(updates.map((u) => u.receivedAt))}::bigint[], ${array(updates.map((u) => u.actor))}::text[])
					WITH ORDINALITY AS u(ticket_id, data, received_at, actor, ord)
			), added AS (
				SELECT ticket_id, count(*) AS n FROM input GROUP BY ticket_id
			), heads AS (
				INSERT INTO ticket_heads (ticket_id, last_seq) SELECT ticket_id, n FROM added ORDER BY ticket_id
				ON CONFLICT (ticket_id) DO UPDATE SET last_seq = ticket_heads.last_seq + excluded.last_seq
				RETURNING ticket_id, last_seq
			), written AS (
				INSERT INTO ticket_updates (ticket_id, seq, data, received_at, actor)
				SELECT i.ticket_id, h.last_seq - a.n + row_number() OVER (PARTITION BY i.ticket_id ORDER BY i.ord), i.data, i.received_at, i.actor
				FROM input i JOIN heads h ON h.ticket_id = i.ticket_id JOIN added a ON a.ticket_id = i.ticket_id
			), claimed AS (
				INSERT INTO ticket_entry_ids (ticket_id, entry_id)
				SELECT * FROM unnest(${array(entryIds.map((e) => e.ticketId))}::text[], ${array(entryIds.map((e) => e.entryId))}::text[])
				ON CONFLICT DO NOTHING RETURNING 1
			), owners AS (
				INSERT INTO ticket_client_owners (ticket_id, client_id, owner, claimed_at)
				SELECT * FROM unnest(${array(clients.map((c) => c.ticketId))}::text[], ${array(clients.map((c) => c.clientId))}::bigint[],
					${array(clients.map((c) => c.owner))}::text[], ${array(clients.map((c) => c.claimedAt))}::bigint[])
				ON CONFLICT DO NOTHING RETURNING 1
			)
			SELECT ticket_id, last_seq, (SELECT count(*) FROM claimed) AS claimed, (SELECT count(*) FROM owners) AS clients_claimed FROM heads`);
		return {
			heads: new Map(result.map((row) => [row.ticket_id, Number(row.last_seq)])),
			claimed: Number(result[0]?.claimed ?? 0),
			clientsClaimed: Number(result[0]?.clients_claimed ?? 0)
		};
	}

	/**
	 * Writes `updates` in the open transaction, each in a savepoint, with the seqs that follow
	 * their tickets' heads; returns each one's seq, or the refusal that kept it out. Any other
	 * failure throws (the transaction is then lost).
	 */
	private async writeEach(updates: readonly PendingAppend[]): Promise<(number | Refusal)[]> {
		const { ticketUpdates, ticketHeads } = this.store.tables;
		const heads = await this.lockHeads(updates.map((u) => u.ticketId));
		const moved = new Map<string, number>();
		const outcomes: (number | Refusal)[] = [];
		for (const update of updates) {
			try {
				const seq = heads.get(update.ticketId)! + 1;
				await this.store.transaction(async (tx) => {
					await tx.insert(ticketUpdates).values({ ticketId: update.ticketId, seq, data: update.data, receivedAt: update.receivedAt, actor: update.actor });
					if (update.entryIds) await this.claimEntryIds(update.ticketId, update.entryIds);
					if (update.clients) await this.claimClientsFor(update.ticketId, update.clients.owner, update.clients.ids);
					await update.alongside?.();
				});
				heads.set(update.ticketId, seq);
				moved.set(update.ticketId, seq);
				outcomes.push(seq);
			} catch (error) {
				if (!(error instanceof DuplicateEntryError || error instanceof ForeignClientError)) throw error;
				outcomes.push(error);
			}
		}
		// Outside the savepoints: a row lock of PostgreSQL is lost when a savepoint that changed its row rolls back.
		for (const [ticketId, lastSeq] of moved) {
			await this.store.db.update(ticketHeads).set({ lastSeq }).where(eq(ticketHeads.ticketId, ticketId));
		}
		return outcomes;
	}

	/** Locks the heads of `ticketIds` (made at 0 when new) in the open transaction; their last seqs. */
	private async lockHeads(ticketIds: readonly string[]): Promise<Map<string, number>> {
		const { ticketHeads } = this.store.tables;
		const ids = [...new Set(ticketIds)].sort();
		await this.store.db
			.insert(ticketHeads)
			.values(ids.map((ticketId) => ({ ticketId, lastSeq: 0 })))
			.onConflictDoNothing();
		const heads = sql`SELECT ${ticketHeads.ticketId} AS ticket_id, ${ticketHeads.lastSeq} AS last_seq FROM ${ticketHeads} WHERE ${inArray(ticketHeads.ticketId, ids)} ORDER BY ${ticketHeads.ticketId}`;
		// PostgreSQL: row locks until the commit, taken in key order, so that two transactions sharing
		// tickets never wait for each other in a cycle. SQLite: the transaction already excludes every other writer.
		const rows = await this.store.all<{ ticket_id: string; last_seq: number }>(this.store.engine === 'postgres' ? sql`${heads} FOR UPDATE` : heads);
		return new Map(rows.map((row) => [row.ticket_id, Number(row.last_seq)]));
	}

	/**
	 * Records `entryIds` as the ticket's, in the open transaction: throws
	 * DuplicateEntryError when the ticket has one of them already, which refuses the update.
	 */
	async claimEntryIds(ticketId: string, entryIds: Iterable<string>): Promise<void> {
		const { ticketEntryIds } = this.store.tables;
		const ids = [...new Set(entryIds)];
		if (ids.length === 0) return;
		const claimed = await this.store.db
			.insert(ticketEntryIds)
			.values(ids.map((entryId) => ({ ticketId, entryId })))
			.onConflictDoNothing()
			.returning({ entryId: ticketEntryIds.entryId });
		if (claimed.length === ids.length) return;
		const mine = new Set(claimed.map((row) => row.entryId));
		throw new DuplicateEntryError(`entry ${ids.find((id) => !mine.has(id))} is already in the ticket`);
	}

	/**
	 * Records the entry ids a loaded ticket holds that the database does not know yet: tickets
	 * stored before entry ids were, and entries written without claiming theirs.
	 */
	async recordEntryIds(ticketId: string, entryIds: Iterable<string>): Promise<void> {
		const { ticketEntryIds } = this.store.tables;
		const ids = [...new Set(entryIds)];
		const [known] = await this.store.db.select({ n: count() }).from(ticketEntryIds).where(eq(ticketEntryIds.ticketId, ticketId));
		if (known!.n >= ids.length) return;
		for (let i = 0; i < ids.length; i += ENTRY_IDS_PER_INSERT) {
			const values = ids.slice(i, i + ENTRY_IDS_PER_INSERT).map((entryId) => ({ ticketId, entryId }));
			await this.store.db.insert(ticketEntryIds).values(values).onConflictDoNothing();
		}
	}

	async read(ticketId: string): Promise<LoadedLog> {
		const { ticketSnapshots, ticketUpdates } = this.store.tables;
		// One transaction: a compaction elsewhere cannot remove rows between the snapshot and them.
		return this.store.transaction(async (tx) => {
			const [snapshot] = await tx
				.select({ state: ticketSnapshots.state, upToSeq: ticketSnapshots.upToSeq })
				.from(ticketSnapshots)
				.where(eq(ticketSnapshots.ticketId, ticketId))
				.orderBy(desc(ticketSnapshots.upToSeq))
				.limit(1);
			const rows = await tx
				.select({ seq: ticketUpdates.seq, data: ticketUpdates.data })
				.from(ticketUpdates)
				.where(and(eq(ticketUpdates.ticketId, ticketId), gt(ticketUpdates.seq, snapshot?.upToSeq ?? 0)))
				.orderBy(ticketUpdates.seq);
			return {
				snapshot: snapshot ? new Uint8Array(snapshot.state) : null,
				snapshotSeq: snapshot?.upToSeq ?? 0,
				lastSeq: rows.length ? rows[rows.length - 1]!.seq : (snapshot?.upToSeq ?? 0),
				updates: rows.map((row) => new Uint8Array(row.data))
			};
		});
	}

	/** Applies a ticket's stored state to `doc` in one transaction; returns the last seq applied. */
	async loadInto(ticketId: string, doc: Y.Doc, origin: unknown = null): Promise<LoadedState> {
		const log = await this.read(ticketId);
		try {
			Y.transact(
				doc,
				() => {
					if (log.snapshot) Y.applyUpdate(doc, log.snapshot);
					for (const update of log.updates) Y.applyUpdate(doc, update);
				},
				origin
			);
		} catch (error) {
			throw new DamagedTicketError(`ticket ${ticketId} could not be loaded: ${(error as Error).message}`);
		}
		return {
			lastSeq: log.lastSeq,
			snapshotSeq: log.snapshotSeq,
			rowsSinceSnapshot: log.updates.length,
			bytesSinceSnapshot: log.updates.reduce((sum, u) => sum + u.length, 0),
			snapshotBytes: log.snapshot?.length ?? 0
		};
	}

	/**
	 * Makes a damaged ticket loadable again from what can be read: rows and a snapshot that fail
	 * to decode or apply are moved to `ticket_quarantine` (kept, never deleted), and the rest is
	 * folded into a new snapshot. Returns what was kept and what was set aside.
	 */
	async repair(ticketId: string): Promise<RepairReport> {
		const { ticketSnapshots, ticketUpdates, ticketQuarantine } = this.store.tables;
		const report: RepairReport = { kept: 0, quarantined: [] };
		const setAside = async (kind: 'update' | 'snapshot', seq: number, data: Buffer, error: string) => {
			await this.store.db.insert(ticketQuarantine).values({ ticketId, kind, seq, data, error, quarantinedAt: Date.now() });
			report.quarantined.push({ kind, seq, error });
		};
		let doc = new Y.Doc();
		try {
			await this.store.transaction(async (tx) => {
				// The newest snapshot that can be read, else the log from its start.
				let base = 0;
				const snapshots = await tx
					.select({ state: ticketSnapshots.state, upToSeq: ticketSnapshots.upToSeq })
					.from(ticketSnapshots)
					.where(eq(ticketSnapshots.ticketId, ticketId))
					.orderBy(desc(ticketSnapshots.upToSeq));
				for (const snapshot of snapshots) {
					const candidate = new Y.Doc();
					const error = applyReadable(candidate, snapshot.state);
					if (!error) {
						doc = candidate;
						base = snapshot.upToSeq;
						break;
					}
					await setAside('snapshot', snapshot.upToSeq, snapshot.state, error);
					await tx.delete(ticketSnapshots).where(and(eq(ticketSnapshots.ticketId, ticketId), eq(ticketSnapshots.upToSeq, snapshot.upToSeq)));
				}
				let lastSeq = base;
				const rows = await tx
					.select({ seq: ticketUpdates.seq, data: ticketUpdates.data })
					.from(ticketUpdates)
					.where(and(eq(ticketUpdates.ticketId, ticketId), gt(ticketUpdates.seq, base)))
					.orderBy(ticketUpdates.seq);
				for (const row of rows) {
					lastSeq = row.seq;
					const error = applyReadable(doc, row.data);
					if (error) {
						await setAside('update', row.seq, row.data, error);
						await tx.delete(ticketUpdates).where(and(eq(ticketUpdates.ticketId, ticketId), eq(ticketUpdates.seq, row.seq)));
					} else report.kept++;
				}
				await this.compact(ticketId, Y.encodeStateAsUpdate(doc), lastSeq);
			});
		} finally {
			doc.destroy();
		}
		return report;
	}

	/**
	 * Records `owner` as the owner of Yjs client ids nobody owns yet. Call it inside the
	 * transaction of the log row that first writes them (`AppendWith.clients`), so the two cannot part.
	 */
	async claimClients(ticketId: string, owner: string, clients: Iterable<number>): Promise<Set<number>> {
		const { ticketClientOwners } = this.store.tables;
		const claimedAt = Date.now();
		const values = [...clients].map((clientId) => ({ ticketId, clientId, owner, claimedAt }));
		if (!values.length) return new Set();
		const inserted = await this.store.db.insert(ticketClientOwners).values(values).onConflictDoNothing().returning({ clientId: ticketClientOwners.clientId });
		return new Set(inserted.map((row) => Number(row.clientId)));
	}

	/** claimClients for an update's writer: throws ForeignClientError when another writer has one of them already. */
	private async claimClientsFor(ticketId: string, owner: string, clients: readonly number[]): Promise<void> {
		const recorded = await this.claimClients(ticketId, owner, clients);
		const taken = clients.filter((client) => !recorded.has(client));
		if (taken.length === 0) return;
		const owners = await this.ownersOf(ticketId, taken);
		const foreign = taken.find((client) => owners.get(client) !== owner);
		if (foreign !== undefined) throw new ForeignClientError(`client id ${foreign} belongs to another writer`);
	}

	/**
	 * Who owns each client id of `doc` (the ticket as loaded). Client ids written before owners
	 * were recorded get one now, for good: the actor of the first log row still holding them, else
	 * `fallbackOwner` (the server), so that no peer can take over history it did not write.
	 */
	async clientOwners(ticketId: string, doc: Y.Doc, fallbackOwner: string): Promise<Map<number, string>> {
		const { ticketClientOwners, ticketUpdates } = this.store.tables;
		const stored = () =>
			this.store.db
				.select({ clientId: ticketClientOwners.clientId, owner: ticketClientOwners.owner })
				.from(ticketClientOwners)
				.where(eq(ticketClientOwners.ticketId, ticketId));
		const owners = new Map((await stored()).map((row) => [row.clientId, row.owner]));
		const unowned = new Set([...doc.store.clients.keys()].filter((client) => !owners.has(client)));
		if (unowned.size === 0) return owners;
		const derived = new Map<number, string>();
		const rows = await this.store.db
			.select({ data: ticketUpdates.data, actor: ticketUpdates.actor })
			.from(ticketUpdates)
			.where(eq(ticketUpdates.ticketId, ticketId))
			.orderBy(ticketUpdates.seq);
		for (const row of rows) {
			for (const client of clientsOf(row.data)) {
				if (unowned.has(client) && !derived.has(client)) derived.set(client, row.actor);
			}
			if (derived.size === unowned.size) break;
		}
		await this.store.transaction(async () => {
			for (const client of unowned) await this.claimClients(ticketId, derived.get(client) ?? fallbackOwner, [client]);
		});
		// Read back: another process may have recorded some of them first.
		return new Map((await stored()).map((row) => [row.clientId, row.owner]));
	}

	/** The recorded owners of `clients` in a ticket (those without one are left out). */
	async ownersOf(ticketId: string, clients: readonly number[]): Promise<Map<number, string>> {
		const { ticketClientOwners } = this.store.tables;
		const owners = new Map<number, string>();
		for (let i = 0; i < clients.length; i += ENTRY_IDS_PER_INSERT) {
			const rows = await this.store.db
				.select({ clientId: ticketClientOwners.clientId, owner: ticketClientOwners.owner })
				.from(ticketClientOwners)
				.where(and(eq(ticketClientOwners.ticketId, ticketId), inArray(ticketClientOwners.clientId, clients.slice(i, i + ENTRY_IDS_PER_INSERT))));
			for (const row of rows) owners.set(Number(row.clientId), row.owner);
		}
		return owners;
	}

	/** The ticket's log rows after `seq`, in order: what other writers committed since. */
	async updatesAfter(ticketId: string, seq: number): Promise<{ seq: number; data: Uint8Array }[]> {
		const { ticketUpdates } = this.store.tables;
		const rows = await this.store.db
			.select({ seq: ticketUpdates.seq, data: ticketUpdates.data })
			.from(ticketUpdates)
			.where(and(eq(ticketUpdates.ticketId, ticketId), gt(ticketUpdates.seq, seq)))
			.orderBy(ticketUpdates.seq);
		return rows.map((row) => ({ seq: Number(row.seq), data: new Uint8Array(row.data) }));
	}

	/**
	 * What a document that holds every row up to `seq` lacks: the rows after it, or, when some of
	 * those were folded away (by a compaction elsewhere), the newest snapshot and the rows after it.
	 */
	async since(ticketId: string, seq: number): Promise<{ snapshot: { upToSeq: number; state: Uint8Array } | null; rows: { seq: number; data: Uint8Array }[] }> {
		const rows = await this.updatesAfter(ticketId, seq);
		if (rows[0]?.seq === seq + 1 || (rows.length === 0 && (await this.headOf(ticketId)) <= seq)) return { snapshot: null, rows };
		const log = await this.read(ticketId);
		if (log.snapshotSeq <= seq) return { snapshot: null, rows: await this.updatesAfter(ticketId, seq) };
		const after = await this.updatesAfter(ticketId, log.snapshotSeq);
		return { snapshot: log.snapshot ? { upToSeq: log.snapshotSeq, state: log.snapshot } : null, rows: after };
	}

	/** The seq of each ticket's newest log row (0 for none): where a follower checks it is behind. */
	async heads(ticketIds: readonly string[]): Promise<Map<string, number>> {
		const { ticketHeads } = this.store.tables;
		const heads = new Map<string, number>(ticketIds.map((id) => [id, 0]));
		for (let i = 0; i < ticketIds.length; i += ENTRY_IDS_PER_INSERT) {
			const rows = await this.store.db
				.select({ ticketId: ticketHeads.ticketId, lastSeq: ticketHeads.lastSeq })
				.from(ticketHeads)
				.where(inArray(ticketHeads.ticketId, ticketIds.slice(i, i + ENTRY_IDS_PER_INSERT)));
			for (const row of rows) heads.set(row.ticketId, Number(row.lastSeq));
		}
		return heads;
	}

	private async headOf(ticketId: string): Promise<number> {
		return (await this.heads([ticketId])).get(ticketId)!;
	}

	async rowsAfter(ticketId: string, seq: number): Promise<number> {
		const { ticketUpdates } = this.store.tables;
		const [rows] = await this.store.db
			.select({ n: count() })
			.from(ticketUpdates)
			.where(and(eq(ticketUpdates.ticketId, ticketId), gt(ticketUpdates.seq, seq)));
		return rows!.n;
	}

	/**
	 * Folds the log into a snapshot in one transaction. `state` must contain every row up to
	 * `upToSeq`. The previous snapshot stays, with the rows after it, so that a damaged snapshot
	 * can be rebuilt; anything older goes. One compaction of a ticket at a time, whichever process
	 * writes it.
	 */
	async compact(ticketId: string, state: Uint8Array, upToSeq: number): Promise<void> {
		const { ticketSnapshots, ticketUpdates } = this.store.tables;
		await this.store.transaction(async (tx) => {
			await this.store.serialise(tx, `compact ${ticketId}`);
			const [previous] = await tx
				.select({ upToSeq: ticketSnapshots.upToSeq })
				.from(ticketSnapshots)
				.where(and(eq(ticketSnapshots.ticketId, ticketId), lt(ticketSnapshots.upToSeq, upToSeq)))
				.orderBy(desc(ticketSnapshots.upToSeq))
				.limit(1);
			const createdAt = Date.now();
			await tx
				.insert(ticketSnapshots)
				.values({ ticketId, upToSeq, state: Buffer.from(state), createdAt })
				.onConflictDoUpdate({ target: [ticketSnapshots.ticketId, ticketSnapshots.upToSeq], set: { state: Buffer.from(state), createdAt } });
			if (!previous) return;
			await tx.delete(ticketSnapshots).where(and(eq(ticketSnapshots.ticketId, ticketId), lt(ticketSnapshots.upToSeq, previous.upToSeq)));
			await tx.delete(ticketUpdates).where(and(eq(ticketUpdates.ticketId, ticketId), lte(ticketUpdates.seq, previous.upToSeq)));
		});
	}
}

/** The rows a group commit writes besides what runs alongside its updates. */
interface Rows {
	updates: readonly PendingAppend[];
	/** How many rows each ticket gets. */
	added: ReadonlyMap<string, number>;
	entryIds: { ticketId: string; entryId: string }[];
	clients: { ticketId: string; clientId: number; owner: string; claimedAt: number }[];
}

/** Each update's seq, given its ticket's new head: a ticket's rows take the seqs after its old head, in the order they came. */
function seqsAfter(heads: ReadonlyMap<string, number>, { updates, added }: Pick<Rows, 'updates' | 'added'>): number[] {
	const next = new Map([...heads].map(([ticketId, lastSeq]) => [ticketId, lastSeq - added.get(ticketId)!]));
	return updates.map((update) => {
		const seq = next.get(update.ticketId)! + 1;
		next.set(update.ticketId, seq);
		return seq;
	});
}

/** The Yjs client ids an update writes structs for (none when it cannot be read). */
export function clientsOf(update: Uint8Array): number[] {
	try {
		return [...Y.decodeStateVector(Y.encodeStateVectorFromUpdate(update)).keys()];
	} catch {
		return [];
	}
}

/** Applies `data` to `doc` unless it cannot be read; returns the error, if any. */
function applyReadable(doc: Y.Doc, data: Uint8Array): string | null {
	try {
		Y.decodeUpdate(data); // decoding first: what cannot be read is not half applied
		Y.applyUpdate(doc, data);
		return null;
	} catch (error) {
		return (error as Error).message || String(error);
	}
}
