/**
 * Durability: a change is written to the update log (SQLite or PostgreSQL) before it is applied and
 * acknowledged (in beforeSync, which Hocuspocus awaits before applying and sending SyncStatus),
 * so an acknowledged change survives a killed process. Loading replays snapshot + log; the log
 * is folded into a snapshot once it grows, from the rows as stored: a snapshot holds every row it
 * claims, whatever order the commits' answers came back in.
 */
import type {
	beforeSyncPayload,
	Extension,
	onLoadDocumentPayload,
	onStoreDocumentPayload
} from '@hocuspocus/server';
import * as Y from 'yjs';
import { entryIndex, parseTicketDocumentName, REJECT, type Entry } from '../../src/lib/ticket';
import { actorOf, SYSTEM } from '../auth/principal';
import { REFUSE, refusal } from '../close-reasons';
import type { Logger } from '../log';
import { clientsOf, DamagedTicketError, DuplicateEntryError, ForeignClientError, StorageError, type AppendWith, type LoadedState, type TicketLog } from '../storage/ticket-log';
import type { ConnectionContext } from './authenticate';
import { acceptedChanges, acceptedClaims, acceptedEntries, acceptedSideEntryIds, acceptedSince } from './accepted';

const SYNC_STEP_1 = 0;

/** The origin of log rows applied by catching up: written by the system, for the projection. */
const CAUGHT_UP = { source: 'log' };

/** What this process knows of a loaded document's log. */
interface LogState {
	ticketId: string;
	/** The newest snapshot's last row: the rows after it are the log still to fold. */
	snapshotSeq: number;
	/** The last row the document held when it was loaded. */
	loadedSeq: number;
	rowsSinceSnapshot: number;
	bytesSinceSnapshot: number;
	snapshotBytes: number;
	compactionQueued: boolean;
	/** A compaction is being written: another would only repeat it. */
	compacting: boolean;
	/** Who owns each Yjs client id of the ticket (stored in the log's database, kept here). */
	owners: Map<number, string>;
}

/** What a log row's transaction claims: Yjs client ids first written by it, and for whom. */
interface Claims {
	owner: string;
	clients: readonly number[];
}

export interface PersistSettings {
	log: TicketLog;
	logger: Logger;
	/**
	 * Fold the log into a snapshot after this many rows, once they also add up to a quarter of the
	 * snapshot's size: re-encoding a large ticket is then paid for by as many bytes of new work,
	 * so an append costs the same at 10 and at 10,000 entries.
	 */
	compactAfter: number;
	/** Told of each peer update stored (with the seconds since its check began) or refused, by reason (the metrics). */
	observe?: { stored(seconds: number): void; refused(reason: string): void };
	/** Told of every row this process logged, once committed: a cluster node publishes it. */
	committed?: (document: Y.Doc, ticketId: string, seq: number, update: Uint8Array) => void;
	/** Takes the outbound entries of an update (those of `sideEntryIds` are in side conversations), inside the transaction that logs it. */
	outbox?: { enqueue(ticketId: string, entries: Entry[], sideEntryIds?: ReadonlySet<string>): void | Promise<void> };
}

export class Persist implements Extension {
	priority = 100;
	private readonly states = new WeakMap<Y.Doc, LogState>();

	constructor(private readonly settings: PersistSettings) {}

	async onLoadDocument({ documentName, document }: onLoadDocumentPayload) {
		const ticketId = parseTicketDocumentName(documentName);
		if (!ticketId) throw refusal(REFUSE.unknownDocument);
		let loaded: LoadedState;
		try {
			loaded = await this.settings.log.loadInto(ticketId, document);
		} catch (error) {
			if (error instanceof DamagedTicketError) {
				this.settings.logger.error({ ticketId, err: error.message }, 'ticket could not be loaded');
				throw refusal(REFUSE.damaged, error.message);
			}
			throw error;
		}
		const state: LogState = {
			ticketId,
			snapshotSeq: loaded.snapshotSeq,
			loadedSeq: loaded.lastSeq,
			rowsSinceSnapshot: loaded.rowsSinceSnapshot,
			bytesSinceSnapshot: loaded.bytesSinceSnapshot,
			snapshotBytes: loaded.snapshotBytes,
			compactionQueued: false,
			compacting: false,
			owners: await this.settings.log.clientOwners(ticketId, document, actorOf(SYSTEM))
		};
		// Tickets stored before the database knew their entry ids learn them here.
		await this.settings.log.recordEntryIds(ticketId, entryIndex(document).byId.keys());
		this.states.set(document, state);
		if (this.logHasGrown(state)) await this.compact(document, state);
	}

	async beforeSync({ type, payload, connection, document, context }: beforeSyncPayload<ConnectionContext>) {
		if (type === SYNC_STEP_1 || connection.readOnly) return;
		if (acceptedChanges(payload) === 0) return; // nothing new: nothing to store
		const state = this.stateOf(document);
		const actor = actorOf(context.principal);
		// Claimed at once, before the write completes: a concurrent update of another principal
		// for the same new client id is refused from here on.
		const claims: Claims = { owner: actor, clients: acceptedClaims(payload) };
		for (const client of claims.clients) state.owners.set(client, actor);
		let logged: { seq: number; update: Uint8Array } | null;
		try {
			logged = await this.logPeerUpdate(document, state, payload, actor, claims);
		} catch (error) {
			for (const client of claims.clients) state.owners.delete(client);
			const refused = await this.refusalOf(state, claims, error);
			this.settings.observe?.refused(refused.reason);
			throw refused;
		}
		const since = acceptedSince(payload);
		if (since !== undefined) this.settings.observe?.stored((performance.now() - since) / 1000);
		if (!logged) return; // stored already: acknowledged as it is
		this.logged(document, state, logged.seq, logged.update);
	}

	/** What a peer is told of an update the log did not take. */
	private async refusalOf(state: LogState, claims: Claims, error: unknown) {
		if (error instanceof DuplicateEntryError) return refusal(REJECT.duplicateEntry, error.message);
		if (error instanceof ForeignClientError) {
			// Claimed elsewhere first: this process learns by whom, and refuses as the checker would have.
			const owners = await this.settings.log.ownersOf(state.ticketId, claims.clients).catch(() => new Map<number, string>());
			for (const [client, owner] of owners) state.owners.set(client, owner);
			return refusal(REJECT.foreignClient, error.message);
		}
		return this.storageRefusal(state, error);
	}

	/**
	 * Logs a peer's update. It is refused for an entry id the ticket has, unless the log holds it
	 * already: a commit whose answer was lost (the connection cut during COMMIT) stored it, the peer
	 * was told `storage-unavailable`, and sends it again. The document then catches up from the log,
	 * and only what is still new is logged (null when nothing is).
	 */
	private async logPeerUpdate(document: Y.Doc, state: LogState, payload: Uint8Array, actor: string, claims: Claims): Promise<{ seq: number; update: Uint8Array } | null> {
		const entries = acceptedEntries(payload);
		const sideEntryIds = acceptedSideEntryIds(payload);
		try {
			return { seq: await this.settings.log.appendSoon(state.ticketId, payload, actor, this.writtenWith(state, entries, claims, sideEntryIds)), update: payload };
		} catch (error) {
			if (!(error instanceof DuplicateEntryError)) throw error;
			const caughtUp = await this.catchUpAfter(document, state.snapshotSeq).catch((cause: unknown) => {
				throw new StorageError(`could not read the update log: ${(cause as Error).message}`, cause);
			});
			if (!caughtUp.changed) throw error;
		}
		if (Y.snapshotContainsUpdate(Y.snapshot(document), payload)) {
			this.settings.logger.info({ ticketId: state.ticketId, actor }, 'an update sent again was stored already (its commit answer was lost)');
			return null;
		}
		const rest = Y.diffUpdate(payload, Y.encodeStateVector(document));
		const known = entryIndex(document).byId;
		const newEntries = entries.filter((entry) => !known.has(entry.id));
		return { seq: await this.settings.log.appendSoon(state.ticketId, rest, actor, this.writtenWith(state, newEntries, claims, sideEntryIds)), update: rest };
	}

	/**
	 * Applies what the log holds after row `seq` to the document (a loaded ticket): rows it has
	 * change nothing; rows committed although their answer was lost, whose answer is still on its
	 * way here, or written by another process, are applied now, as made by `origin`. Returns
	 * whether the document changed, and the last row it now holds (at least `seq`).
	 */
	async catchUpAfter(document: Y.Doc, seq: number, origin: unknown = CAUGHT_UP): Promise<{ changed: boolean; lastSeq: number; bytes: number }> {
		const { snapshot, rows } = await this.settings.log.since(this.stateOf(document).ticketId, seq);
		let changed = false;
		const onUpdate = () => (changed = true);
		document.on('update', onUpdate);
		try {
			Y.transact(
				document,
				() => {
					if (snapshot) Y.applyUpdate(document, snapshot.state);
					for (const row of rows) Y.applyUpdate(document, row.data);
				},
				origin
			);
		} finally {
			document.off('update', onUpdate);
		}
		await this.learnOwners(document);
		return { changed, lastSeq: rows.length ? rows[rows.length - 1]!.seq : Math.max(seq, snapshot?.upToSeq ?? 0), bytes: rows.reduce((sum, row) => sum + row.data.length, 0) };
	}

	/** The last log row a loaded document held when it was loaded. */
	loadedSeq(document: Y.Doc): number {
		return this.stateOf(document).loadedSeq;
	}

	/**
	 * Reads the owners of the document's client ids this process does not know: ids first written
	 * by another process (or in a commit whose answer was lost). Until then they count as nobody's,
	 * which the checker refuses to anyone. `among`: only these (an update's own), else all of them.
	 */
	async learnOwners(document: Y.Doc, among: Iterable<number> = document.store.clients.keys()): Promise<void> {
		const state = this.stateOf(document);
		const unknown = [...among].filter((client) => !state.owners.has(client));
		if (unknown.length === 0) return;
		for (const [client, owner] of await this.settings.log.ownersOf(state.ticketId, unknown)) {
			if (!state.owners.has(client)) state.owners.set(client, owner);
		}
	}

	/** Who owns each Yjs client id of a loaded document (what the update checker needs). */
	ownersOf(document: Y.Doc): ReadonlyMap<number, string> {
		return this.stateOf(document).owners;
	}

	/**
	 * Claims `client` for `owner` when nobody owns it yet, stored at once: a peer showing its
	 * presence under a client id owns it before it writes, so no one who saw the id can take it
	 * first. Returns whether `owner` owns it.
	 */
	async claimClient(document: Y.Doc, client: number, owner: string): Promise<boolean> {
		const state = this.stateOf(document);
		const current = state.owners.get(client);
		if (current !== undefined) return current === owner;
		// Claimed at once, before the write completes, as an update's client ids are.
		state.owners.set(client, owner);
		try {
			// The database decides: another process may have recorded an owner first (read only then).
			if (!(await this.settings.log.claimClients(state.ticketId, owner, [client])).has(client)) {
				const recorded = (await this.settings.log.ownersOf(state.ticketId, [client])).get(client);
				if (recorded !== undefined) state.owners.set(client, recorded);
			}
		} catch (error) {
			state.owners.delete(client);
			this.settings.logger.warn({ ticketId: state.ticketId, err: (error as Error).message }, 'client id not claimed');
			return false;
		}
		return state.owners.get(client) === owner;
	}

	/**
	 * Server-side writes: log `update` (with its outbound `entries` enqueued in the same
	 * transaction), then apply it. Its client ids are the system's, whoever asked for the write.
	 * Throws StorageError, or DuplicateEntryError when the ticket has one of `entries` already,
	 * applying nothing. Inside a store transaction (a write that changes several tickets at once),
	 * applied once that commits: no peer sees a change that could still be rolled back. The client
	 * ids are known as the system's from then on too (no peer can name the server's ids before it
	 * has seen a write of them), so a rolled-back write leaves no claim the database lacks.
	 */
	async commit(document: Y.Doc, update: Uint8Array, actor: string, origin: unknown, entries: Entry[] = []): Promise<void> {
		const state = this.stateOf(document);
		const claims: Claims = { owner: actorOf(SYSTEM), clients: clientsOf(update).filter((client) => !state.owners.has(client)) };
		let seq: number;
		try {
			seq = await this.settings.log.append(state.ticketId, update, actor, Date.now(), this.writtenWith(state, entries, claims));
		} catch (error) {
			throw this.storageRefusal(state, error);
		}
		this.settings.log.afterCommit(() => {
			for (const client of claims.clients) state.owners.set(client, claims.owner);
			this.logged(document, state, seq, update);
			Y.applyUpdate(document, update, origin);
		});
	}

	async onStoreDocument({ document }: onStoreDocumentPayload) {
		const state = this.states.get(document);
		if (!state) return;
		// Compact when the log has grown, and when the last peer leaves after real work, so the next
		// open reads little more than a snapshot.
		const leaving = document.getConnectionsCount() === 0 && state.rowsSinceSnapshot > 1 && state.bytesSinceSnapshot * 4 >= state.snapshotBytes;
		if (leaving || this.logHasGrown(state)) await this.compact(document, state);
	}

	/** What the ticket takes in storage now: its snapshot and the log rows since. */
	storedBytes(document: Y.Doc): number {
		const state = this.stateOf(document);
		return state.snapshotBytes + state.bytesSinceSnapshot;
	}

	/**
	 * The stored size once the log is folded into a snapshot: deleted content (a draft typed and
	 * cleared) then takes almost nothing. Compacts only when the log holds bytes.
	 */
	async compactedBytes(document: Y.Doc): Promise<number> {
		const state = this.stateOf(document);
		if (state.bytesSinceSnapshot > 0) await this.compact(document, state);
		return this.storedBytes(document);
	}

	/** Compacts once the update just logged has been applied (after the current message). */
	private compactSoon(document: Y.Doc, state: LogState) {
		if (state.compactionQueued) return;
		state.compactionQueued = true;
		setImmediate(() => {
			state.compactionQueued = false;
			if (this.states.get(document) === state) void this.compact(document, state);
		});
	}

	/**
	 * What is written in the log row's transaction: the ids of the entries it adds (refusing the
	 * update when the ticket has one already), the client ids it claims, and its outbound entries.
	 */
	private writtenWith(state: LogState, entries: Entry[], claims: Claims, sideEntryIds?: ReadonlySet<string>): AppendWith {
		const outbox = this.settings.outbox;
		return {
			entryIds: entries.map((entry) => entry.id),
			clients: { owner: claims.owner, ids: claims.clients },
			alongside: entries.length > 0 && outbox ? async () => void (await outbox.enqueue(state.ticketId, entries, sideEntryIds)) : undefined
		};
	}

	private logged(document: Y.Doc, state: LogState, seq: number, update: Uint8Array) {
		this.settings.committed?.(document, state.ticketId, seq, update);
		state.rowsSinceSnapshot++;
		state.bytesSinceSnapshot += update.length;
		if (this.logHasGrown(state)) this.compactSoon(document, state);
	}

	private storageRefusal(state: LogState, error: unknown) {
		if (!(error instanceof StorageError)) throw error;
		this.settings.logger.error({ ticketId: state.ticketId, err: error.message }, 'update not stored');
		return refusal(REFUSE.storage, 'the server could not store this change; it was not applied');
	}

	/**
	 * Folds the log into a snapshot; never throws. The snapshot is the document after applying every
	 * row since the last one, read back from the log: that the document has applied a row says
	 * nothing of the rows before it, whose commits' answers (another connection's, another writer's)
	 * may still be on their way, so what claims a seq must be seen to hold everything up to it.
	 */
	private async compact(document: Y.Doc, state: LogState) {
		if (state.compacting) return;
		state.compacting = true;
		try {
			const { lastSeq: upToSeq, bytes } = await this.catchUpAfter(document, state.snapshotSeq);
			if (upToSeq === state.snapshotSeq) return;
			const snapshot = Y.encodeStateAsUpdate(document);
			await this.settings.log.compact(state.ticketId, snapshot, upToSeq);
			state.snapshotSeq = upToSeq;
			state.rowsSinceSnapshot = await this.settings.log.rowsAfter(state.ticketId, upToSeq);
			// What was logged while the snapshot was written is still outside it.
			state.bytesSinceSnapshot = Math.max(0, state.bytesSinceSnapshot - bytes);
			state.snapshotBytes = snapshot.length;
		} catch (error) {
			// The log still holds everything: compaction is only an optimisation.
			this.settings.logger.warn({ ticketId: state.ticketId, err: (error as Error).message }, 'compaction failed');
		} finally {
			state.compacting = false;
		}
	}

	private logHasGrown(state: LogState): boolean {
		return state.rowsSinceSnapshot >= this.settings.compactAfter && state.bytesSinceSnapshot * 4 >= state.snapshotBytes;
	}

	private stateOf(document: Y.Doc): LogState {
		const state = this.states.get(document);
		if (!state) throw refusal(REFUSE.unknownDocument, 'document not loaded through the persist extension');
		return state;
	}
}
