/**
 * Keeps the ticket index and the event log current: after a change, the ticket's row is
 * re-projected from its document within `delayMs` (changes in between fold into one write), with
 * events for the entries added and side conversations opened or closed since.
 */
import type { afterLoadDocumentPayload, Extension, onChangePayload } from '@hocuspocus/server';
import type * as Y from 'yjs';
import { entryIndex, parseTicketDocumentName, readSides, sideStatuses, type Entry } from '../../src/lib/ticket';
import { actorOf } from '../auth/principal';
import type { NewEvent } from '../events';
import type { Logger } from '../log';
import { REMOTE } from './cluster-sync';
import type { TicketIndex, TicketRow } from '../ticket-index';
import type { ConnectionContext } from './authenticate';

export interface ProjectSettings {
	index: TicketIndex;
	logger: Logger;
	delayMs: number;
}

interface Tracked {
	doc: Y.Doc;
	actor: string;
	timer: NodeJS.Timeout | null;
	events: NewEvent[];
	sideStatus: Map<string, string>;
	/** The row the last projection wrote or found: lets the next one skip a read (see TicketIndex.project). */
	row: TicketRow | null;
}

/** Who made a transaction, from Hocuspocus's transaction origin. */
export function actorOfOrigin(origin: unknown): string {
	const o = origin as { source?: string; connection?: { context?: Partial<ConnectionContext> }; context?: { actor?: string } } | null;
	if (o?.source === 'connection' && o.connection?.context?.principal) return actorOf(o.connection.context.principal);
	return o?.context?.actor ?? 'system';
}

/** Changes another node of the cluster wrote: that node projects them. */
export const isRemote = (origin: unknown) => (origin as { source?: string } | null)?.source === REMOTE.source;

export class Project implements Extension {
	priority = 50;
	private readonly tracked = new Map<string, Tracked>();

	constructor(private readonly settings: ProjectSettings) {}

	async afterLoadDocument({ documentName, document }: afterLoadDocumentPayload) {
		const ticketId = parseTicketDocumentName(documentName);
		if (!ticketId) return;
		const tracked: Tracked = {
			doc: document,
			actor: 'system',
			timer: null,
			events: [],
			sideStatus: sideStatuses(document),
			row: null
		};
		this.tracked.set(documentName, tracked);
		entryIndex(document).listeners.add((entries: Entry[], place, origin) => {
			if (isRemote(origin)) return;
			const actor = actorOfOrigin(origin);
			for (const entry of entries) {
				// Copies a merge brought in were written by others: the merge's own event (ticket.merged) tells of them.
				if (entry.meta?.mergedFrom) continue;
				tracked.events.push({
					ticketId,
					actor,
					type: 'entry.added',
					data: { entryId: entry.id, kind: entry.kind, channel: entry.channel, visibility: entry.visibility, place },
					createdAt: entry.createdAt
				});
			}
		});
	}

	async onChange({ documentName, transactionOrigin }: onChangePayload) {
		const tracked = this.tracked.get(documentName);
		if (!tracked || isRemote(transactionOrigin)) return;
		tracked.actor = actorOfOrigin(transactionOrigin);
		tracked.timer ??= setTimeout(() => void this.flush(documentName), this.settings.delayMs);
	}

	async beforeUnloadDocument({ documentName }: { documentName: string }) {
		await this.flush(documentName);
	}

	async afterUnloadDocument({ documentName }: { documentName: string }) {
		this.tracked.delete(documentName);
	}

	async onDestroy() {
		await Promise.all([...this.tracked.keys()].map((name) => this.flush(name)));
	}

	/** Projects the ticket now, with the events gathered since; a failed projection is logged, not thrown. */
	async flush(documentName: string): Promise<void> {
		const tracked = this.tracked.get(documentName);
		const ticketId = parseTicketDocumentName(documentName);
		if (!tracked || !ticketId) return;
		if (tracked.timer) clearTimeout(tracked.timer);
		tracked.timer = null;
		// Statuses only, after every change; the whole side conversation only when one changed.
		for (const [sideId, status] of sideStatuses(tracked.doc)) {
			const before = tracked.sideStatus.get(sideId);
			if (before === status) continue;
			tracked.sideStatus.set(sideId, status);
			const side = readSides(tracked.doc).find((s) => s.id === sideId)!;
			const type = before === undefined ? 'side.opened' : status === 'closed' ? 'side.closed' : 'side.reopened';
			tracked.events.push({ ticketId, actor: tracked.actor, type, data: { sideId, subject: side.subject, channel: side.channel } });
		}
		const events = tracked.events.splice(0);
		try {
			tracked.row = await this.settings.index.project(ticketId, tracked.doc, tracked.actor, Date.now(), events, undefined, tracked.row);
		} catch (error) {
			this.settings.logger.error({ ticketId, err: (error as Error).message }, 'projection failed');
		}
	}
}
