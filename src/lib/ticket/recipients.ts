/**
 * CC and BCC of an email reply. A draft holds them as typed (`cc`, `bcc`: comma-separated text,
 * shared with co-writers); sending turns them into `meta.cc` / `meta.bcc` of the entry, lists of
 * checked addresses (entrySchema checks them again wherever an entry comes from). Inbound mail
 * keeps its CCs as `meta.cc` too: the newest one's are offered on the next reply.
 */
import * as Y from 'yjs';
import { draftFieldSchemas, emailAddressSchema, MAX_RECIPIENT_LIST_LENGTH, MAX_RECIPIENTS, type Entry } from './schema';

export type RecipientField = 'cc' | 'bcc';
export const RECIPIENT_LABELS: Record<RecipientField, string> = { cc: 'CC', bcc: 'BCC' };

/** The addresses of a typed list, or why it cannot be sent, in words. */
export function parseRecipients(text: string): { addresses: string[] } | { error: string } {
	const addresses: string[] = [];
	const seen = new Set<string>();
	for (const part of text.split(/[,;\s]+/)) {
		if (!part) continue;
		if (!emailAddressSchema.safeParse(part).success) return { error: `“${part.slice(0, 80)}” is not an email address` };
		if (seen.has(part.toLowerCase())) continue;
		seen.add(part.toLowerCase());
		addresses.push(part);
	}
	if (addresses.length > MAX_RECIPIENTS) return { error: `at most ${MAX_RECIPIENTS} addresses` };
	if (addresses.join(', ').length > MAX_RECIPIENT_LIST_LENGTH) return { error: `at most ${MAX_RECIPIENT_LIST_LENGTH} characters` };
	return { addresses };
}

/** Why the typed CC or BCC cannot be sent (`CC: … is not an email address`), or null. */
export function recipientsProblem(typed: Partial<Record<RecipientField, string>>): string | null {
	for (const field of ['cc', 'bcc'] as const) {
		const parsed = parseRecipients(typed[field] ?? '');
		if ('error' in parsed) return `${RECIPIENT_LABELS[field]}: ${parsed.error}`;
	}
	return null;
}

/**
 * The `meta` a draft's CC and BCC give its email reply (`{cc?, bcc?}`, empty lists left out);
 * throws, saying which list and why, when one cannot be sent.
 */
export function recipientsMeta(draft: Y.Map<unknown>): { cc?: string[]; bcc?: string[] } {
	const meta: { cc?: string[]; bcc?: string[] } = {};
	for (const field of ['cc', 'bcc'] as const) {
		const typed = draft.get(field);
		const parsed = parseRecipients(typeof typed === 'string' ? typed : '');
		if ('error' in parsed) throw new Error(`${RECIPIENT_LABELS[field]}: ${parsed.error}`);
		if (parsed.addresses.length) meta[field] = parsed.addresses;
	}
	return meta;
}

/** Sets a draft's CC or BCC as typed (bounded, no control characters: see draftFieldSchemas). */
export function setDraftRecipients(draft: Y.Map<unknown>, field: RecipientField, text: string): void {
	if (draft.get(field) !== text) draft.set(field, draftFieldSchemas[field].parse(text));
}

/** When two drafts converge: a CC or BCC only the folded draft `from` holds goes to `into` (whose own wins). */
export function foldRecipients(from: Y.Map<unknown>, into: Y.Map<unknown>): void {
	for (const field of ['cc', 'bcc'] as const) {
		const typed = from.get(field);
		if (typeof typed === 'string' && typed.trim() && !String(into.get(field) ?? '').trim()) setDraftRecipients(into, field, typed);
	}
}

/** The CCs of the newest inbound email of `entries` (display-ordered), offered on a reply. */
export function latestInboundCc(entries: readonly Entry[]): string[] {
	for (let i = entries.length - 1; i >= 0; i--) {
		const entry = entries[i]!;
		if (entry.channel !== 'email' || entry.direction !== 'in' || entry.kind !== 'message') continue;
		const cc = entry.meta?.cc;
		return Array.isArray(cc) ? cc.filter((a): a is string => typeof a === 'string') : [];
	}
	return [];
}

/** The CCs a new email reply is offered: those the ticket keeps (`ticket.cc`), then the newest inbound mail's, each once. */
export function offeredCc(ticketCc: readonly string[] | undefined, entries: readonly Entry[]): string[] {
	const offered: string[] = [];
	for (const address of [...(ticketCc ?? []), ...latestInboundCc(entries)]) {
		if (!offered.some((a) => a.toLowerCase() === address.toLowerCase())) offered.push(address);
	}
	return offered.slice(0, MAX_RECIPIENTS);
}
