/**
 * Ticket documents across the nodes of a cluster (DESIGN.md, "Cluster"): the log is the truth and
 * Redis the doorbell. Every row this node commits is published on the ticket's channel with its
 * seq; a node holding the ticket applies what others publish, and reads from the log whatever it
 * did not get — a seq skipped (a lost or late message), everything after Redis was out of reach,
 * and, as a safety net, whatever the ticket heads say it lacks every `catchUpMs`.
 *
 * Rows are applied as they come (Yjs merges in any order); the seqs only tell what is missing.
 * Remote changes carry the origin `{ source: 'redis' }`: Hocuspocus sends them to this node's
 * peers without storing them again, and the projection leaves them to the node that wrote them.
 *
 * Awareness (who views, who types, the visitor's state) goes the same way, never stored: each node
 * publishes the states of its own peers, as the presence extension let them through (identity set
 * by the node holding the connection), and their removal when they leave. A node that loads a
 * ticket asks the others for theirs. The states of a node that died expire after 30 s, as any
 * peer's that stops renewing them.
 */
import type { afterLoadDocumentPayload, afterUnloadDocumentPayload, Document, Extension } from '@hocuspocus/server';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { parseTicketDocumentName } from '../../src/lib/ticket';
import type { Bus } from '../cluster/bus';
import type { Logger } from '../log';
import { clientsOf, type TicketLog } from '../storage/ticket-log';

/** The transaction origin of changes another node wrote. */
export const REMOTE = { source: 'redis' } as const;

/** What a message on a ticket's channel carries. */
const ROW = 0;
const AWARENESS = 1;
/** A node that just loaded the ticket asks for the awareness states the others hold. */
const AWARENESS_QUERY = 2;

type AwarenessChange = { added: number[]; updated: number[]; removed: number[] };

/** How long a skipped seq may take to arrive (a message behind another, a commit answer on its way) before the log is read. */
const GAP_WAIT_MS = 100;

export interface ClusterSyncSettings {
	bus: Bus;
	log: Pick<TicketLog, 'heads'>;
	logger: Logger;
	/** This node's name: its own messages are not applied again. */
	node: string;
	catchUpMs: number;
	/** Messages larger than this are not read (a peer's update is limited to less). */
	maxMessageBytes: number;
	/** The last log row a loaded document held when it was loaded. */
	loadedSeq(document: Y.Doc): number;
	/** Applies what the log holds after row `seq` to a loaded document, as made by `origin`; the last row it then holds. */
	catchUpAfter(document: Y.Doc, seq: number, origin: unknown): Promise<{ lastSeq: number }>;
	/** Reads who owns the client ids another node wrote first. */
	learnOwners(document: Y.Doc, among: Iterable<number>): Promise<void>;
	/** Told of each read of the log for missed rows, and of each row's time from its publishing here (the metrics). */
	observe?: { caughtUp(): void; lag(seconds: number): void };
}

/** What this node holds of one loaded ticket. */
interface Followed {
	ticketId: string;
	document: Document;
	/** Awareness client ids of this node's peers (and its own state): the ones it publishes. */
	localAwareness: Set<number>;
	onAwareness: (change: AwarenessChange, origin: unknown) => void;
	/** Every row up to this one is in the document (or on its way into it, for this node's own). */
	applied: number;
	/** Rows after `applied` held already, while one before them is missing. */
	ahead: Set<number>;
	gapTimer: NodeJS.Timeout | null;
	/** Hands this ticket's messages over (unsubscribed by identity: a reload subscribes a new one). */
	listener: (message: Buffer) => void;
	/** A catch-up in progress, and whether another is wanted after it. */
	catchingUp: Promise<void> | null;
	again: boolean;
}

export const ticketChannel = (ticketId: string) => `tandem:ticket:${ticketId}`;

export class ClusterSync implements Extension {
	private readonly followed = new Map<string, Followed>();
	private readonly timer: NodeJS.Timeout;
	private malformed = 0;

	constructor(private readonly settings: ClusterSyncSettings) {
		this.timer = setInterval(() => void this.catchUpBehind(), settings.catchUpMs);
		this.timer.unref();
		settings.bus.onReconnect(() => {
			for (const state of this.followed.values()) this.catchUp(state);
		});
	}

	async afterLoadDocument({ documentName, document }: afterLoadDocumentPayload) {
		const ticketId = parseTicketDocumentName(documentName);
		if (!ticketId) return;
		const state: Followed = {
			ticketId,
			document,
			localAwareness: new Set(),
			onAwareness: (change, origin) => this.awarenessChanged(state, change, origin),
			applied: this.settings.loadedSeq(document),
			ahead: new Set(),
			gapTimer: null,
			listener: (message) => this.received(state, message),
			catchingUp: null,
			again: false
		};
		this.followed.set(ticketId, state);
		document.awareness.on('update', state.onAwareness);
		await this.settings.bus.subscribe(ticketChannel(ticketId), state.listener);
		this.publish(ticketId, AWARENESS_QUERY, new Uint8Array());
		// What was committed elsewhere between the load and the subscription.
		await this.catchUp(state);
	}

	async afterUnloadDocument({ documentName, instance }: afterUnloadDocumentPayload) {
		const ticketId = parseTicketDocumentName(documentName);
		const state = ticketId ? this.followed.get(ticketId) : undefined;
		// Loaded again meanwhile: that state is the new document's.
		if (!state || instance.documents.get(documentName) === state.document) return;
		this.followed.delete(state.ticketId);
		state.document.awareness.off('update', state.onAwareness);
		if (state.gapTimer) clearTimeout(state.gapTimer);
		await this.settings.bus.unsubscribe(ticketChannel(state.ticketId), state.listener);
	}

	async onDestroy() {
		clearInterval(this.timer);
	}

	/** A row this node committed: counted as held, and published for the others. */
	committed(document: Y.Doc, ticketId: string, seq: number, update: Uint8Array): void {
		const state = this.followed.get(ticketId);
		if (state?.document === document) this.saw(state, seq);
		this.publish(ticketId, ROW, update, seq);
	}

	private publish(ticketId: string, kind: number, payload: Uint8Array, seq = 0) {
		const encoder = encoding.createEncoder();
		encoding.writeVarUint(encoder, kind);
		encoding.writeVarString(encoder, this.settings.node);
		encoding.writeVarUint(encoder, Date.now());
		encoding.writeVarUint(encoder, seq);
		encoding.writeVarUint8Array(encoder, payload);
		this.settings.bus.publish(ticketChannel(ticketId), encoding.toUint8Array(encoder));
	}

	/** Publishes the awareness changes of this node's peers; those applied from elsewhere, and others' states timing out here, stay here. */
	private awarenessChanged(state: Followed, { added, updated, removed }: AwarenessChange, origin: unknown) {
		if (origin === REMOTE) return;
		const source = (origin as { source?: string } | null)?.source;
		// A peer's update through its connection, or this node's own state ('local', y-protocols' origin).
		const fromHere = source === 'connection' || origin === 'local';
		let changed: number[];
		if (fromHere) {
			for (const id of [...added, ...updated]) state.localAwareness.add(id);
			changed = [...added, ...updated, ...removed];
		} else {
			// Hocuspocus removing a closed connection's states (origin null): only this node's peers' are news.
			changed = removed.filter((id) => state.localAwareness.has(id));
		}
		for (const id of removed) state.localAwareness.delete(id);
		if (changed.length) this.publish(state.ticketId, AWARENESS, encodeAwarenessUpdate(state.document.awareness, changed));
	}

	/** Reads from the log what `document` lacks; resolves once it holds every row committed before the call. */
	catchUpDocument(document: Y.Doc): Promise<void> {
		const state = [...this.followed.values()].find((s) => s.document === document);
		return state ? this.catchUp(state) : Promise.resolve();
	}

	private received(state: Followed, message: Buffer) {
		let kind: number, node: string, sentAt: number, seq: number, update: Uint8Array;
		try {
			if (message.length > this.settings.maxMessageBytes) throw new Error(`${message.length} bytes`);
			const decoder = decoding.createDecoder(message);
			kind = decoding.readVarUint(decoder);
			node = decoding.readVarString(decoder);
			sentAt = decoding.readVarUint(decoder);
			seq = decoding.readVarUint(decoder);
			update = decoding.readVarUint8Array(decoder);
		} catch (error) {
			if (this.malformed++ === 0) this.settings.logger.warn({ ticketId: state.ticketId, err: (error as Error).message }, 'a cluster message could not be read; reading the log instead');
			this.catchUp(state);
			return;
		}
		if (node === this.settings.node || this.followed.get(state.ticketId) !== state) return; // its own, or unloaded meanwhile
		if (kind === AWARENESS) return this.applyAwareness(state, update);
		if (kind === AWARENESS_QUERY) {
			const ids = [...state.localAwareness].filter((id) => state.document.awareness.getStates().has(id));
			if (ids.length) this.publish(state.ticketId, AWARENESS, encodeAwarenessUpdate(state.document.awareness, ids));
			return;
		}
		if (kind !== ROW || seq <= state.applied || state.ahead.has(seq)) return;
		try {
			Y.applyUpdate(state.document, update, REMOTE);
		} catch (error) {
			this.settings.logger.warn({ ticketId: state.ticketId, seq, err: (error as Error).message }, 'a cluster message could not be applied; reading the log instead');
			this.catchUp(state);
			return;
		}
		this.settings.observe?.lag(Math.max(0, Date.now() - sentAt) / 1000);
		this.saw(state, seq);
		if (state.ahead.size > 0) this.watchGap(state);
		this.settings.learnOwners(state.document, clientsOf(update)).catch((error: unknown) => {
			this.settings.logger.warn({ ticketId: state.ticketId, err: (error as Error).message }, 'reading client owners failed');
		});
	}

	private applyAwareness(state: Followed, update: Uint8Array) {
		try {
			applyAwarenessUpdate(state.document.awareness, update, REMOTE);
		} catch (error) {
			if (this.malformed++ === 0) this.settings.logger.warn({ ticketId: state.ticketId, err: (error as Error).message }, 'a cluster awareness message could not be read');
		}
	}

	private saw(state: Followed, seq: number) {
		if (seq <= state.applied) return;
		state.ahead.add(seq);
		while (state.ahead.delete(state.applied + 1)) state.applied++;
	}

	/** A seq was skipped: read the log unless it turns up soon. */
	private watchGap(state: Followed) {
		state.gapTimer ??= setTimeout(() => {
			state.gapTimer = null;
			if (state.ahead.size > 0) this.catchUp(state);
		}, GAP_WAIT_MS);
	}

	/** One catch-up at a time per ticket; one asked for during another runs after it. */
	private catchUp(state: Followed): Promise<void> {
		if (state.catchingUp) {
			state.again = true;
			return state.catchingUp;
		}
		const run = async () => {
			do {
				state.again = false;
				this.settings.observe?.caughtUp();
				try {
					const { lastSeq } = await this.settings.catchUpAfter(state.document, state.applied, REMOTE);
					if (lastSeq > state.applied) state.applied = lastSeq;
					for (const seq of state.ahead) if (seq <= state.applied) state.ahead.delete(seq);
					while (state.ahead.delete(state.applied + 1)) state.applied++;
				} catch (error) {
					this.settings.logger.warn({ ticketId: state.ticketId, err: (error as Error).message }, 'catching up from the log failed; trying again later');
					return;
				}
			} while (state.again && this.followed.get(state.ticketId) === state);
		};
		state.catchingUp = run().finally(() => (state.catchingUp = null));
		return state.catchingUp;
	}

	/** The safety net: every loaded ticket whose head is past what this node holds catches up. */
	private async catchUpBehind() {
		if (this.followed.size === 0) return;
		try {
			const heads = await this.settings.log.heads([...this.followed.keys()]);
			for (const state of this.followed.values()) {
				if ((heads.get(state.ticketId) ?? 0) > state.applied) void this.catchUp(state);
			}
		} catch (error) {
			this.settings.logger.warn({ err: (error as Error).message }, 'reading the ticket heads failed');
		}
	}
}
