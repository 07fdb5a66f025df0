/**
 * A customer's interaction history across their tickets: tickets opened, messages on each channel,
 * calls, chat events, newest first. Read from the ticket documents (the source of truth: seeded
 * and imported history has no event rows), over the tickets the caller may see.
 */
import type { Interaction } from '../src/lib/api/context';
import { readEntries, SATISFACTION_RATINGS, type Entry, type SatisfactionRating } from '../src/lib/ticket';
import type { Principal } from './auth/principal';
import type { Customers } from './customers';
import type { TicketIndex } from './ticket-index';
import type { DocumentAccess } from './tickets';

/** Tickets read for the history (most recently updated first) and interactions returned. */
const TICKETS_READ = 25;
const INTERACTIONS_KEPT = 200;
const PREVIEW_CHARS = 140;

export class InteractionHistory {
	constructor(
		private readonly customers: Customers,
		private readonly index: TicketIndex,
		private readonly documents: DocumentAccess
	) {}

	async of(customerId: string, principal: Principal): Promise<Interaction[]> {
		await this.customers.visibleTo(customerId, principal);
		const tickets = await this.index.ofRequester(customerId, principal, TICKETS_READ);
		const all: Interaction[] = [];
		for (const ticket of tickets) {
			const row = await this.index.get(ticket.id);
			if (!row) continue;
			all.push({ id: `opened:${row.id}`, ticketId: row.id, subject: row.subject, kind: 'opened', channel: row.channel, direction: null, preview: '', createdAt: row.createdAt });
			const entries = await this.documents.withDocument(row.id, (doc) => readEntries(doc));
			for (const entry of entries) {
				// What passed between the customer and the team, and chat or call events: not notes.
				if (entry.kind === 'note' || (entry.kind === 'message' && entry.visibility !== 'public')) continue;
				all.push({
					id: entry.id,
					ticketId: row.id,
					subject: row.subject,
					kind: entry.kind as Interaction['kind'],
					channel: entry.channel,
					direction: entry.direction ?? null,
					preview: preview(entry.body),
					createdAt: entry.createdAt,
					...ratingOf(entry)
				});
			}
		}
		return all.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1)).slice(0, INTERACTIONS_KEPT);
	}
}

/** A satisfaction rating's answer (server/satisfaction.ts writes it in `meta.satisfaction`). */
function ratingOf(entry: Entry): { satisfaction?: SatisfactionRating } {
	const rating = (entry.meta?.satisfaction as { rating?: unknown } | undefined)?.rating;
	return entry.kind === 'event' && SATISFACTION_RATINGS.includes(rating as SatisfactionRating) ? { satisfaction: rating as SatisfactionRating } : {};
}

function preview(body: string): string {
	const flat = body.replace(/\s+/g, ' ').trim();
	return flat.length > PREVIEW_CHARS ? flat.slice(0, PREVIEW_CHARS - 1) + '…' : flat;
}
