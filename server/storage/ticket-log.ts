/**
 * The durable update log and snapshots of ticket documents. An update is appended here before it
 * is applied and acknowledged; a ticket loads as its latest snapshot plus the rows after it.
 * Raw prepared statements: this is the hot path of every accepted change.
 */
import type Database from 'better-sqlite3';
import * as Y from 'yjs';

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

export interface RepairReport {
	/** Log rows that were read and kept. */
	kept: number;
	quarantined: { kind: 'update' | 'snapshot'; seq: number; error: string }[];
}

export interface LoadedState {
	/** Seq of the newest log row now applied. */
	lastSeq: number;
	rowsSinceSnapshot: number;
	bytesSinceSnapshot: number;
	snapshotBytes: number;
}

export interface LoadedLog {
	snapshot: Uint8Array | null;
	/** Seq of the newest row contained in the returned state. */
	lastSeq: number;
	updates: Uint8Array[];
}

type SnapshotRow = { state: Buffer; up_to_seq: number };

export class TicketLog {
	private readonly insert: Database.Statement<[string, Buffer, number, string]>;
	private readonly selectSnapshots: Database.Statement<[string], SnapshotRow>;
	private readonly selectRows: Database.Statement<[string, number], { seq: number; data: Buffer }>;
	private readonly upsertSnapshot: Database.Statement<[string, number, Buffer, number]>;
	private readonly deleteSnapshotsBefore: Database.Statement<[string, number]>;
	private readonly deleteRows: Database.Statement<[string, number]>;
	private readonly countRows: Database.Statement<[string, number], { n: number }>;
	private readonly selectOwners: Database.Statement<[string], { client_id: number; owner: string }>;
	private readonly selectRowActors: Database.Statement<[string], { data: Buffer; actor: string }>;
	private readonly insertOwner: Database.Statement<[string, number, string, number]>;

	constructor(private readonly sqlite: Database.Database) {
		this.insert = sqlite.prepare('INSERT INTO ticket_updates (ticket_id, data, received_at, actor) VALUES (?, ?, ?, ?)');
		this.selectSnapshots = sqlite.prepare('SELECT state, up_to_seq FROM ticket_snapshots WHERE ticket_id = ? ORDER BY up_to_seq DESC');
		this.selectRows = sqlite.prepare('SELECT seq, data FROM ticket_updates WHERE ticket_id = ? AND seq > ? ORDER BY seq');
		this.upsertSnapshot = sqlite.prepare(
			`INSERT INTO ticket_snapshots (ticket_id, up_to_seq, state, created_at) VALUES (?, ?, ?, ?)
			 ON CONFLICT (ticket_id, up_to_seq) DO UPDATE SET state = excluded.state, created_at = excluded.created_at`
		);
		this.deleteSnapshotsBefore = sqlite.prepare('DELETE FROM ticket_snapshots WHERE ticket_id = ? AND up_to_seq < ?');
		this.deleteRows = sqlite.prepare('DELETE FROM ticket_updates WHERE ticket_id = ? AND seq <= ?');
		this.countRows = sqlite.prepare('SELECT count(*) AS n FROM ticket_updates WHERE ticket_id = ? AND seq > ?');
		this.selectOwners = sqlite.prepare('SELECT client_id, owner FROM ticket_client_owners WHERE ticket_id = ?');
		this.selectRowActors = sqlite.prepare('SELECT data, actor FROM ticket_updates WHERE ticket_id = ? ORDER BY seq');
		this.insertOwner = sqlite.prepare('INSERT OR IGNORE INTO ticket_client_owners (ticket_id, client_id, owner, claimed_at) VALUES (?, ?, ?, ?)');
	}

	/**
	 * Appends durably, committed together with the other appends made in the same turn of the
	 * event loop (group commit): one WAL commit for many peers' updates. Resolves with the
	 * update's sequence number once it is on disk; rejects with StorageError. `alongside` runs
	 * inside the same transaction as the insert (e.g. enqueueing outbound mail): it commits with
	 * the row or not at all.
	 */
	appendSoon(ticketId: string, update: Uint8Array, actor: string, alongside?: () => void): Promise<number> {
		return new Promise((resolve, reject) => {
			this.batch.push({ ticketId, data: Buffer.from(update), actor, receivedAt: Date.now(), alongside, resolve, reject });
			if (this.batch.length === 1) setImmediate(() => this.commitBatch());
		});
	}

	private readonly batch: {
		ticketId: string;
		data: Buffer;
		actor: string;
		receivedAt: number;
		alongside?: () => void;
		resolve: (seq: number) => void;
		reject: (error: StorageError) => void;
	}[] = [];

	private commitBatch() {
		const batch = this.batch.splice(0);
		let seqs: number[];
		try {
			seqs = this.sqlite.transaction(() =>
				batch.map((b) => {
					const seq = Number(this.insert.run(b.ticketId, b.data, b.receivedAt, b.actor).lastInsertRowid);
					b.alongside?.();
					return seq;
				})
			)();
		} catch (error) {
			const failure = new StorageError(`could not write to the update log: ${(error as Error).message}`, error);
			for (const b of batch) b.reject(failure);
			return;
		}
		batch.forEach((b, i) => b.resolve(seqs[i]));
	}

	/**
	 * Appends one update durably and returns its sequence number. Throws StorageError.
	 * `alongside` runs inside the same transaction as the insert.
	 */
	append(ticketId: string, update: Uint8Array, actor: string, receivedAt = Date.now(), alongside?: () => void): number {
		try {
			if (!alongside) return Number(this.insert.run(ticketId, Buffer.from(update), receivedAt, actor).lastInsertRowid);
			return this.sqlite.transaction(() => {
				const seq = Number(this.insert.run(ticketId, Buffer.from(update), receivedAt, actor).lastInsertRowid);
				alongside();
				return seq;
			})();
		} catch (error) {
			throw new StorageError(`could not write to the update log: ${(error as Error).message}`, error);
		}
	}

	read(ticketId: string): LoadedLog {
		const [snapshot] = this.selectSnapshots.all(ticketId);
		const rows = this.selectRows.all(ticketId, snapshot?.up_to_seq ?? 0);
		return {
			snapshot: snapshot ? new Uint8Array(snapshot.state) : null,
			lastSeq: rows.length ? rows[rows.length - 1].seq : (snapshot?.up_to_seq ?? 0),
			updates: rows.map((row) => new Uint8Array(row.data))
		};
	}

	/** Applies a ticket's stored state to `doc` in one transaction; returns the last seq applied. */
	loadInto(ticketId: string, doc: Y.Doc, origin: unknown = null): LoadedState {
		const log = this.read(ticketId);
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
	repair(ticketId: string): RepairReport {
		const report: RepairReport = { kept: 0, quarantined: [] };
		const quarantine = this.sqlite.prepare(
			'INSERT INTO ticket_quarantine (ticket_id, kind, seq, data, error, quarantined_at) VALUES (?, ?, ?, ?, ?, ?)'
		);
		const setAside = (kind: 'update' | 'snapshot', seq: number, data: Buffer, error: string) => {
			quarantine.run(ticketId, kind, seq, data, error, Date.now());
			report.quarantined.push({ kind, seq, error });
		};
		let doc = new Y.Doc();
		this.sqlite.transaction(() => {
			// The newest snapshot that can be read, else the log from its start.
			let base = 0;
			for (const snapshot of this.selectSnapshots.all(ticketId)) {
				const candidate = new Y.Doc();
				const error = applyReadable(candidate, snapshot.state);
				if (!error) {
					doc = candidate;
					base = snapshot.up_to_seq;
					break;
				}
				setAside('snapshot', snapshot.up_to_seq, snapshot.state, error);
				this.sqlite.prepare('DELETE FROM ticket_snapshots WHERE ticket_id = ? AND up_to_seq = ?').run(ticketId, snapshot.up_to_seq);
			}
			let lastSeq = base;
			for (const row of this.selectRows.all(ticketId, base)) {
				lastSeq = row.seq;
				const error = applyReadable(doc, row.data);
				if (error) {
					setAside('update', row.seq, row.data, error);
					this.sqlite.prepare('DELETE FROM ticket_updates WHERE seq = ?').run(row.seq);
				} else report.kept++;
			}
			this.compact(ticketId, Y.encodeStateAsUpdate(doc), lastSeq);
		})();
		doc.destroy();
		return report;
	}

	/**
	 * Records `owner` as the owner of Yjs client ids nobody owns yet. Call it inside the
	 * transaction (`alongside`) of the log row that first writes them, so the two cannot part.
	 */
	claimClients(ticketId: string, owner: string, clients: Iterable<number>): void {
		const now = Date.now();
		for (const client of clients) this.insertOwner.run(ticketId, client, owner, now);
	}

	/**
	 * Who owns each client id of `doc` (the ticket as loaded). Client ids written before owners
	 * were recorded get one now, for good: the actor of the first log row still holding them, else
	 * `fallbackOwner` (the server), so that no peer can take over history it did not write.
	 */
	clientOwners(ticketId: string, doc: Y.Doc, fallbackOwner: string): Map<number, string> {
		const owners = new Map(this.selectOwners.all(ticketId).map((row) => [row.client_id, row.owner]));
		const unowned = new Set([...doc.store.clients.keys()].filter((client) => !owners.has(client)));
		if (unowned.size === 0) return owners;
		const derived = new Map<number, string>();
		for (const row of this.selectRowActors.iterate(ticketId)) {
			for (const client of clientsOf(row.data)) {
				if (unowned.has(client) && !derived.has(client)) derived.set(client, row.actor);
			}
			if (derived.size === unowned.size) break;
		}
		this.sqlite.transaction(() => {
			const now = Date.now();
			for (const client of unowned) {
				const owner = derived.get(client) ?? fallbackOwner;
				owners.set(client, owner);
				this.insertOwner.run(ticketId, client, owner, now);
			}
		})();
		return owners;
	}

	rowsAfter(ticketId: string, seq: number): number {
		return this.countRows.get(ticketId, seq)!.n;
	}

	/**
	 * Folds the log into a snapshot in one transaction. `state` must contain every row up to
	 * `upToSeq`. The previous snapshot stays, with the rows after it, so that a damaged snapshot
	 * can be rebuilt; anything older goes.
	 */
	compact(ticketId: string, state: Uint8Array, upToSeq: number): void {
		this.sqlite.transaction(() => {
			const previous = this.selectSnapshots.all(ticketId).find((s) => s.up_to_seq < upToSeq);
			this.upsertSnapshot.run(ticketId, upToSeq, Buffer.from(state), Date.now());
			if (!previous) return;
			this.deleteSnapshotsBefore.run(ticketId, previous.up_to_seq);
			this.deleteRows.run(ticketId, previous.up_to_seq);
		})();
	}
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
