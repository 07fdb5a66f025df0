/**
 * Keeps the ticket index current: after a change, the ticket's row is re-projected from its
 * document within `delayMs` (changes in between are folded into one write).
 */
import type { Extension, onChangePayload } from '@hocuspocus/server';
import type * as Y from 'yjs';
import { parseTicketDocumentName } from '../../src/lib/ticket';
import { actorOf } from '../auth/principal';
import type { Logger } from '../log';
import type { TicketIndex } from '../ticket-index';
import type { ConnectionContext } from './authenticate';

export interface ProjectSettings {
	index: TicketIndex;
	logger: Logger;
	delayMs: number;
}

interface Pending {
	doc: Y.Doc;
	actor: string;
	timer: NodeJS.Timeout;
}

export class Project implements Extension {
	priority = 50;
	private readonly pending = new Map<string, Pending>();

	constructor(private readonly settings: ProjectSettings) {}

	async onChange({ documentName, document, context }: onChangePayload<Partial<ConnectionContext> & { actor?: string }>) {
		const actor = context?.principal ? actorOf(context.principal) : (context?.actor ?? 'system');
		const queued = this.pending.get(documentName);
		if (queued) {
			queued.actor = actor;
			return;
		}
		const timer = setTimeout(() => this.flush(documentName), this.settings.delayMs);
		this.pending.set(documentName, { doc: document, actor, timer });
	}

	async beforeUnloadDocument({ documentName }: { documentName: string }) {
		this.flush(documentName);
	}

	async onDestroy() {
		for (const name of [...this.pending.keys()]) this.flush(name);
	}

	flush(documentName: string) {
		const queued = this.pending.get(documentName);
		if (!queued) return;
		clearTimeout(queued.timer);
		this.pending.delete(documentName);
		const ticketId = parseTicketDocumentName(documentName);
		if (!ticketId) return;
		try {
			this.settings.index.project(ticketId, queued.doc, queued.actor);
		} catch (error) {
			this.settings.logger.error({ ticketId, err: (error as Error).message }, 'projection failed');
		}
	}
}
