/**
 * Every update a peer sends — a live Update or the offline edits in its SyncStep2 — is checked
 * before it is applied, logged or broadcast (the ticket module's checker). A refused update
 * closes the document for that peer with the reason and is recorded as an event.
 */
import type { beforeSyncPayload, Extension } from '@hocuspocus/server';
import * as Y from 'yjs';
import { checkUpdate, LIMITS, limitMessage, parseTicketDocumentName, readFields, REJECT } from '../../src/lib/ticket';
import { actorOf } from '../auth/principal';
import { ticketAccess, writePolicy, type Directory } from '../auth/policy';
import { REFUSE, refusal } from '../close-reasons';
import type { Events } from '../events';
import type { Logger } from '../log';
import type { ConnectionContext } from './authenticate';
import { markAccepted } from './accepted';

const SYNC_STEP_1 = 0;
const UPDATE = 2;

/** The stored size of a loaded ticket (the persist extension's measure). */
export interface DocumentSizes {
	storedBytes(document: Y.Doc): number;
	compactedBytes(document: Y.Doc): number;
}

export interface ValidateSettings {
	maxUpdateBytes: number;
	sizes: DocumentSizes;
	directory: Directory;
	events: Events;
	logger: Logger;
}

export class Validate implements Extension {
	priority = 200;

	constructor(private readonly settings: ValidateSettings) {}

	async beforeSync({ type, payload, connection, document, documentName, context }: beforeSyncPayload<ConnectionContext>) {
		const { principal } = context;
		// Access is live (LiveAccess closes such a connection too): checked here as well, so a
		// message already on its way when the access went is neither stored nor answered.
		if (context.revoked || !ticketAccess(principal, readFields(document))) {
			throw this.refuse(documentName, actorOf(principal), REFUSE.accessRevoked, 'you no longer have access to this ticket');
		}
		if (type === SYNC_STEP_1) return;
		if (connection.readOnly) {
			// Hocuspocus applies nothing from a read-only peer; a write is refused outright, live or
			// as offline edits in the handshake (the handshake of a peer with nothing new passes).
			if (type === UPDATE || !Y.snapshotContainsUpdate(Y.snapshot(document), payload)) {
				throw this.refuse(documentName, actorOf(principal), REFUSE.readOnly, 'this connection is read-only');
			}
			return;
		}
		if (payload.length > this.settings.maxUpdateBytes) {
			throw this.refuse(documentName, actorOf(principal), REFUSE.tooLarge, `updates are limited to ${this.settings.maxUpdateBytes} bytes`);
		}
		const policy = writePolicy(principal, {
			requesterId: () => readFields(document).requesterId,
			directory: this.settings.directory
		});
		const result = checkUpdate(document, payload, policy);
		if (!result.ok) throw this.refuse(documentName, actorOf(principal), result.reason, result.message);
		if (!result.appendsOnly && this.wouldOverfill(document, payload.length)) {
			throw this.refuse(documentName, actorOf(principal), REJECT.limitExceeded, limitMessage('documentBytes', 'a ticket is stored in') + ' bytes; only conversation entries are still accepted');
		}
		markAccepted(payload, result.changes, result.entries);
	}

	/** Whether storing `bytes` more takes the ticket past LIMITS.documentBytes, even once compacted. */
	private wouldOverfill(document: Y.Doc, bytes: number): boolean {
		const { sizes } = this.settings;
		if (sizes.storedBytes(document) + bytes <= LIMITS.documentBytes) return false;
		return sizes.compactedBytes(document) + bytes > LIMITS.documentBytes;
	}

	private refuse(documentName: string, actor: string, reason: string, message: string) {
		this.settings.logger.warn({ documentName, actor, reason, detail: message }, 'update refused');
		this.settings.events.record({
			ticketId: parseTicketDocumentName(documentName),
			actor,
			type: 'update.rejected',
			data: { reason, message }
		});
		return refusal(reason, message);
	}
}
