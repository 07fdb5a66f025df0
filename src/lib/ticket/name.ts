/** The one helper that builds and parses ticket document names (`ticket:<id>`). */
import { idSchema } from './schema';

const PREFIX = 'ticket:';

export function ticketDocumentName(ticketId: string): string {
	return PREFIX + ticketId;
}

/** The ticket id in a document name, or null when the name is not a ticket document. */
export function parseTicketDocumentName(name: string): string | null {
	if (!name.startsWith(PREFIX)) return null;
	const id = name.slice(PREFIX.length);
	return idSchema.safeParse(id).success ? id : null;
}
