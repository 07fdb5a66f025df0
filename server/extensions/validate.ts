/**
 * Every update a peer sends — a live Update or the offline edits in its SyncStep2 — is checked
 * before it is applied, logged or broadcast (the ticket module's checker). A refused update
 * closes the document for that peer with the reason and is recorded as an event.
 */
import type { beforeSyncPayload, Connection, Extension } from '@hocuspocus/server';
import * as Y from 'yjs';
import { checkUpdate, type FieldRules, LIMITS, limitMessage, parseTicketDocumentName, readFields, REJECT, type UpdateSender } from '../../src/lib/ticket';
import { actorOf } from '../auth/principal';
import { ticketAccess, writePolicy, type Directory } from '../auth/policy';
import { REFUSE, refusal } from '../close-reasons';
import type { Attachments, Uploads } from '../attachments';
import type { Events } from '../events';
import type { Logger } from '../log';
import type { ConnectionContext } from './authenticate';
import { markAccepted } from './accepted';

const SYNC_STEP_1 = 0;
const UPDATE = 2;
const NOTHING_SEEN: ReadonlyMap<number, number> = new Map();

/** The stored size of a loaded ticket (the persist extension's measure). */
export interface DocumentSizes {
	storedBytes(document: Y.Doc): number;
	compactedBytes(document: Y.Doc): Promise<number>;
}

export interface ValidateSettings {
	maxUpdateBytes: number;
	sizes: DocumentSizes;
	directory: Directory;
	/** Which uploads an entry may list (server/attachments.ts). */
	attachments: Pick<Attachments, 'refused' | 'uploadsOf'>;
	/** Who owns each Yjs client id of a loaded ticket document. */
	ownersOf: (document: Y.Doc) => ReadonlyMap<number, string>;
	events: Events;
	logger: Logger;
	/**
	 * A cluster node: reads from the log what the document lacks. An update refused by a node that
	 * had not caught up (it builds on rows written elsewhere) is checked again after it.
	 */
	catchUp?: (document: Y.Doc) => Promise<void>;
	/** Counts refusals by reason (the metrics). */
	refused?: (reason: string) => void;
	/** The custom field definitions values are checked against, as they now are (server/custom-fields.ts). */
	fields: { rules(): Promise<FieldRules> };
}

export class Validate implements Extension {
	priority = 200;
	/** The state vector each connection's peer sent in its SyncStep1: what it had by then. */
	private readonly declared = new WeakMap<Connection, Map<number, number>>();

	constructor(private readonly settings: ValidateSettings) {}

	async beforeSync({ type, payload, connection, document, documentName, context }: beforeSyncPayload<ConnectionContext>) {
		const { principal } = context;
		const since = performance.now();
		// Access is live (LiveAccess closes such a connection too): checked here as well, so a
		// message already on its way when the access went is neither stored nor answered.
		if (context.revoked || !ticketAccess(principal, readFields(document))) {
			throw await this.refuse(documentName, actorOf(principal), REFUSE.accessRevoked, 'you no longer have access to this ticket');
		}
		if (type === SYNC_STEP_1) return this.declare(connection, document, payload);
		if (connection.readOnly) {
			// Hocuspocus applies nothing from a read-only peer; a write is refused outright, live or
			// as offline edits in the handshake (the handshake of a peer with nothing new passes).
			if (type === UPDATE || !Y.snapshotContainsUpdate(Y.snapshot(document), payload)) {
				throw await this.refuse(documentName, actorOf(principal), REFUSE.readOnly, 'this connection is read-only');
			}
			return;
		}
		if (payload.length > this.settings.maxUpdateBytes) {
			throw await this.refuse(documentName, actorOf(principal), REFUSE.tooLarge, `updates are limited to ${this.settings.maxUpdateBytes} bytes`);
		}
		// The ticket's uploads are read only for an update whose entries list attachments: the check
		// runs once without them, and again with them when an entry asked.
		let uploads: Uploads | null = null;
		let listsAttachments = false;
		const fields = await this.settings.fields.rules();
		const check = () =>
			checkUpdate(
				document,
				payload,
				writePolicy(principal, {
					requesterId: () => readFields(document).requesterId,
					scope: () => readFields(document),
					directory: this.settings.directory,
					attachmentsRefused: (entry) => {
						listsAttachments = true;
						return uploads ? this.settings.attachments.refused(uploads, entry) : null;
					}
				}),
				this.sender(connection, document, type, fields)
			);
		let result = check();
		if (listsAttachments) {
			uploads = await this.settings.attachments.uploadsOf(parseTicketDocumentName(documentName) ?? '');
			result = check();
		}
		if (!result.ok && this.settings.catchUp) {
			await this.settings.catchUp(document);
			result = check();
		}
		if (!result.ok) throw await this.refuse(documentName, actorOf(principal), result.reason, result.message);
		if (!result.appendsOnly && (await this.wouldOverfill(document, payload.length))) {
			throw await this.refuse(documentName, actorOf(principal), REJECT.limitExceeded, limitMessage('documentBytes', 'a ticket is stored in') + ' bytes; only conversation entries are still accepted');
		}
		markAccepted(payload, result.changes, result.entries, result.claims, result.sideEntryIds, since);
	}

	private declare(connection: Connection, document: Y.Doc, stateVector: Uint8Array) {
		let received: Map<number, number>;
		try {
			received = Y.decodeStateVector(stateVector);
		} catch {
			return; // Hocuspocus refuses what it cannot read
		}
		// Only what the document has can lie after an append's origin: the rest is not kept.
		const declared = this.declared.get(connection) ?? new Map<number, number>();
		for (const [client, clock] of received) {
			if (document.store.clients.has(client)) declared.set(client, Math.max(clock, declared.get(client) ?? 0));
		}
		this.declared.set(connection, declared);
	}

	/**
	 * What the sender provably had. A live update is made after the handshake began, so on top of
	 * what the handshake declared. The offline edits in a SyncStep2 may be older than that: an
	 * update lost when the previous connection dropped comes back in the next handshake, after the
	 * peer had received newer entries, so they are held to the sender's own earlier writes only.
	 */
	private sender(connection: Connection, document: Y.Doc, type: number, fields: FieldRules): UpdateSender {
		const seen = type === UPDATE ? this.declared.get(connection) : undefined;
		return { owners: this.settings.ownersOf(document), seen: seen ?? NOTHING_SEEN, fields };
	}

	/** Whether storing `bytes` more takes the ticket past LIMITS.documentBytes, even once compacted. */
	private async wouldOverfill(document: Y.Doc, bytes: number): Promise<boolean> {
		const { sizes } = this.settings;
		if (sizes.storedBytes(document) + bytes <= LIMITS.documentBytes) return false;
		return (await sizes.compactedBytes(document)) + bytes > LIMITS.documentBytes;
	}

	private async refuse(documentName: string, actor: string, reason: string, message: string) {
		this.settings.refused?.(reason);
		this.settings.logger.warn({ documentName, actor, reason, detail: message }, 'update refused');
		await this.settings.events.record({
			ticketId: parseTicketDocumentName(documentName),
			actor,
			type: 'update.rejected',
			data: { reason, message }
		});
		return refusal(reason, message);
	}
}
