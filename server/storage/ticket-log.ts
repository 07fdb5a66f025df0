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

export interface LoadedLog {
	snapshot: Uint8Array | null;
	/** Seq of the newest row contained in the returned state. */
	lastSeq: number;
	updates: Uint8Array[];
}

export class TicketLog {
	private readonly insert: Database.Statement<[string, Buffer, number, string]>;
	private readonly selectSnapshot: Database.Statement<[string], { state: Buffer; up_to_seq: number }>;
	private readonly selectRows: Database.Statement<[string, number], { seq: number; data: Buffer }>;
	private readonly upsertSnapshot: Database.Statement<[string, Buffer, number, number]>;
	private readonly deleteRows: Database.Statement<[string, number]>;
	private readonly countRows: Database.Statement<[string, number], { n: number }>;

	constructor(private readonly sqlite: Database.Database) {
		this.insert = sqlite.prepare('INSERT INTO ticket_updates (ticket_id, data, received_at, actor) VALUES (?, ?, ?, ?)');
		this.selectSnapshot = sqlite.prepare('SELECT state, up_to_seq FROM ticket_snapshots WHERE ticket_id = ?');
		this.selectRows = sqlite.prepare('SELECT seq, data FROM ticket_updates WHERE ticket_id = ? AND seq > ? ORDER BY seq');
		this.upsertSnapshot = sqlite.prepare(
			`INSERT INTO ticket_snapshots (ticket_id, state, up_to_seq, created_at) VALUES (?, ?, ?, ?)
			 ON CONFLICT (ticket_id) DO UPDATE SET state = excluded.state, up_to_seq = excluded.up_to_seq, created_at = excluded.created_at`
		);
		this.deleteRows = sqlite.prepare('DELETE FROM ticket_updates WHERE ticket_id = ? AND seq <= ?');
		this.countRows = sqlite.prepare('SELECT count(*) AS n FROM ticket_updates WHERE ticket_id = ? AND seq > ?');
	}

	/** Appends one update durably and returns its sequence number. Throws StorageError. */
	append(ticketId: string, update: Uint8Array, actor: string, receivedAt = Date.now()): number {
		try {
			const result = this.insert.run(ticketId, Buffer.from(update), receivedAt, actor);
			return Number(result.lastInsertRowid);
		} catch (error) {
			throw new StorageError(`could not write to the update log: ${(error as Error).message}`, error);
		}
	}

	read(ticketId: string): LoadedLog {
		const snapshot = this.selectSnapshot.get(ticketId);
		const rows = this.selectRows.all(ticketId, snapshot?.up_to_seq ?? 0);
		return {
			snapshot: snapshot ? new Uint8Array(snapshot.state) : null,
			lastSeq: rows.length ? rows[rows.length - 1].seq : (snapshot?.up_to_seq ?? 0),
			updates: rows.map((row) => new Uint8Array(row.data))
		};
	}

	/** Applies a ticket's stored state to `doc` in one transaction; returns the last seq applied. */
	loadInto(ticketId: string, doc: Y.Doc, origin: unknown = null): number {
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
		return log.lastSeq;
	}

	rowsAfter(ticketId: string, seq: number): number {
		return this.countRows.get(ticketId, seq)!.n;
	}

	/**
	 * Folds the log into a snapshot in one transaction. `state` must contain every row up to
	 * `upToSeq`; only those rows are removed.
	 */
	compact(ticketId: string, state: Uint8Array, upToSeq: number): void {
		this.sqlite.transaction(() => {
			this.upsertSnapshot.run(ticketId, Buffer.from(state), upToSeq, Date.now());
			this.deleteRows.run(ticketId, upToSeq);
		})();
	}
}
