/**
 * Merging and splitting tickets as document operations: what one ticket's conversation, side
 * conversations and drafts become in another. The server decides, checks and logs them
 * (server/tickets.ts); these only write a document, through its typed accessors.
 */
import * as Y from 'yjs';
import {
	addDraftAuthor,
	appendEntries,
	appendSideEntry,
	draftText,
	findDraftText,
	openSide,
	readDrafts,
	readEntries,
	readSides,
	setDraftRecipientText,
	setSideStatus,
	stageChanges
} from './document';
import { newId } from './ids';
import { LIMITS, limitMessage } from './limits';
import type { Entry } from './schema';

/** Where copied entries came from: kept in their `meta` under `key`, with the entry's id there. */
export interface CopyOrigin {
	key: 'mergedFrom' | 'splitFrom';
	ticketId: string;
	number: number | null;
}

/** `entry` as another ticket holds it: the same author, time and text, id `id`, its origin in `meta`. */
export function copiedEntry(entry: Entry, id: string, origin: CopyOrigin): Entry {
	return { ...entry, id, meta: { ...entry.meta, [origin.key]: { ticketId: origin.ticketId, number: origin.number, entryId: entry.id } } };
}

/**
 * Adds ticket `source`'s conversation, side conversations and drafts to `target`, in one
 * transaction. Entries are copied with their authorship and times under the ids `idFor` gives
 * (display order is by time, so they fall in place among `target`'s); side conversations keep
 * their ids (email replies find them by it) unless `target` has one with that id; drafts are
 * carried over (see carryDrafts). Throws, writing nothing, when a copy fails the entry schema.
 */
export function absorb(target: Y.Doc, source: Y.Doc, idFor: (entryId: string) => string, origin: CopyOrigin): void {
	const entries = readEntries(source).map((entry) => copiedEntry(entry, idFor(entry.id), origin));
	const taken = new Set(readSides(target).map((side) => side.id));
	target.transact(() => {
		if (entries.length) appendEntries(target, entries);
		for (const side of readSides(source)) {
			const id = taken.has(side.id) ? idFor(side.id) : side.id;
			openSide(target, { id, subject: side.subject, channel: side.channel, createdBy: side.createdBy, createdAt: side.createdAt, participants: side.participants, ...(side.childId ? { childId: side.childId } : {}) });
			for (const entry of side.entries) appendSideEntry(target, id, copiedEntry(entry, idFor(entry.id), origin));
			if (side.status === 'closed') setSideStatus(target, id, 'closed');
		}
		carryDrafts(target, source);
	});
}

/**
 * Carries `source`'s drafts into `target`, losing none and overwriting none: a draft whose kind
 * (reply or note) `target` has a draft of is folded into the newest such (its text after a blank
 * line, its staged changes where `target`'s stages none, its CC and BCC where `target`'s has none,
 * its authors), as two agents' drafts of one kind converge; any other is copied. Empty drafts are
 * left behind.
 */
export function carryDrafts(target: Y.Doc, source: Y.Doc): void {
	const kept = readDrafts(target);
	for (const draft of readDrafts(source)) {
		if (!draft.text.trim()) continue;
		const into = kept.filter((d) => d.visibility === draft.visibility).at(-1);
		const id = into?.id ?? (kept.some((d) => d.id === draft.id) ? newId() : draft.id);
		const text = findDraftText(target, id) ?? draftText(target, id, { channel: draft.channel, visibility: draft.visibility });
		text.insert(text.length, (text.toString().trim() ? '\n\n' : '') + draft.text);
		stageChanges(target, id, {
			status: into?.staged.status ? undefined : draft.staged.status,
			priority: into?.staged.priority ? undefined : draft.staged.priority,
			tags: draft.staged.tags
		});
		for (const field of ['cc', 'bcc'] as const) {
			if (draft[field]?.trim() && !into?.[field]?.trim()) setDraftRecipientText(target, id, field, draft[field]);
		}
		for (const author of draft.authors) addDraftAuthor(target, id, author);
		if (!into) kept.push({ ...draft, id });
	}
}

/**
 * The cap `after` (a ticket's document with another merged in) would take the ticket past that
 * `before` (as it was) is within, as the refusal's message; null when it keeps to every cap.
 * A merge is refused as a whole rather than cut: nothing of either ticket may go missing.
 */
export function mergeBreach(before: Y.Doc, after: Y.Doc): string | null {
	const drafts = { before: readDrafts(before), after: readDrafts(after) };
	if (drafts.after.length > LIMITS.draftsPerTicket && drafts.after.length > drafts.before.length) return limitMessage('draftsPerTicket', 'drafts per ticket:');
	const sides = { before: readSides(before).length, after: readSides(after).length };
	if (sides.after > LIMITS.sidesPerTicket && sides.after > sides.before) return limitMessage('sidesPerTicket', 'side conversations per ticket:');
	const lengthBefore = new Map(drafts.before.map((d) => [d.id, d.text.length]));
	for (const draft of drafts.after) {
		if (draft.text.length > LIMITS.draftTextLength && draft.text.length > (lengthBefore.get(draft.id) ?? 0)) {
			return limitMessage('draftTextLength', `draft ${draft.id} holds`) + ' characters';
		}
	}
	if (Y.encodeStateAsUpdate(after).length > LIMITS.documentBytes) return limitMessage('documentBytes', 'bytes of a ticket:');
	return null;
}
