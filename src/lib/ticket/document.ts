/**
 * The ticket document (DESIGN.md, "Ticket document contract"): the one module that touches its
 * roots. Everything else — server, UI, bots, tests — reads and writes a ticket through these
 * typed accessors.
 */
import * as Y from 'yjs';
import { writeVarUint } from 'lib0/encoding';
import {
	cappedDepth,
	draftFieldSchemas,
	entrySchema,
	MAX_META_DEPTH,
	MAX_TAGS,
	STAGED_DRAFT_FIELDS,
	tagSchema,
	ticketFieldSchemas,
	type Entry,
	type Priority,
	type Status,
	type TicketFieldName,
	type TicketFields
} from './schema';
import type { CustomValue, FieldRules } from './custom-fields';
import { foldRecipients, recipientsMeta, setDraftRecipients, type RecipientField } from './recipients';

export const ROOTS = { ticket: 'ticket', entries: 'entries', sides: 'sides', drafts: 'drafts' } as const;
export type RootName = (typeof ROOTS)[keyof typeof ROOTS];

const ticketMap = (doc: Y.Doc) => doc.getMap<unknown>(ROOTS.ticket);
/** Exported for the update checker and the server-side writer only. */
export const entriesArray = (doc: Y.Doc) => doc.getArray<Entry>(ROOTS.entries);
const sidesMap = (doc: Y.Doc) => doc.getMap<Y.Map<unknown>>(ROOTS.sides);
const draftsMap = (doc: Y.Doc) => doc.getMap<Y.Map<unknown>>(ROOTS.drafts);

/** Display order: `createdAt`, then `id` (DESIGN.md): oldest first, newest at the bottom. */
export function compareEntries(a: Entry, b: Entry): number {
	return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export class DuplicateEntryError extends Error {
	override readonly name = 'DuplicateEntryError';
	constructor(readonly entryId: string) {
		super(`entry ${entryId} is already in the ticket`);
	}
}

// ---------------------------------------------------------------------------------------------
// Entry index: what the server needs on every update, kept incrementally per document.

/**
 * Per-document facts derived from the entries, maintained after every transaction from the
 * structs the transaction added (never by walking the array again), so that checking a new
 * entry's id or projecting the ticket costs the same at 10 and at 10,000 entries.
 */
export interface EntryIndex {
	/** Every entry id in the conversation and in side conversations, with its entry. */
	readonly byId: Map<string, Entry>;
	/** Conversation entries (side conversations excluded). */
	count: number;
	/** The newest public message by display order, for previews. */
	lastPublic: Entry | null;
	/** The item at the end of the conversation array, origin of the next server-side append. */
	lastItem: Y.Item | null;
	/** Told of entries as transactions add them, with the transaction's origin. */
	readonly listeners: Set<EntriesAddedListener>;
}

export type EntriesAddedListener = (entries: Entry[], place: 'conversation' | 'side', origin: unknown) => void;

const indexes = new WeakMap<Y.Doc, EntryIndex>();

export function entryIndex(doc: Y.Doc): EntryIndex {
	let index = indexes.get(doc);
	if (index) return index;
	const built: EntryIndex = { byId: new Map(), count: 0, lastPublic: null, lastItem: null, listeners: new Set() };
	index = built;
	const entries = entriesArray(doc);
	for (let item = entries._start; item !== null; item = item.right) {
		if (!item.deleted) addEntries(built, item.content.getContent() as Entry[], false);
		built.lastItem = item;
	}
	for (const side of sidesMap(doc).values()) {
		const sideEntries = side.get('entries');
		if (sideEntries instanceof Y.Array) addEntries(built, sideEntries.toArray() as Entry[], true);
	}
	doc.on('afterTransaction', (tr: Y.Transaction) => indexTransaction(built, doc, tr));
	indexes.set(doc, built);
	return built;
}

function addEntries(index: EntryIndex, entries: Entry[], inSide: boolean) {
	for (const entry of entries) {
		index.byId.set(entry.id, entry);
		if (inSide) continue;
		index.count++;
		if (
			entry.kind === 'message' &&
			entry.visibility === 'public' &&
			(index.lastPublic === null || compareEntries(index.lastPublic, entry) < 0)
		) {
			index.lastPublic = entry;
		}
	}
}

function indexTransaction(index: EntryIndex, doc: Y.Doc, tr: Y.Transaction) {
	const entries = entriesArray(doc);
	for (const [client, after] of tr.afterState) {
		const before = tr.beforeState.get(client) ?? 0;
		if (after <= before) continue;
		const structs = doc.store.clients.get(client)!;
		for (let i = Y.findIndexSS(structs, before); i < structs.length; i++) {
			const item = structs[i];
			if (item.id.clock >= after) break;
			if (!(item instanceof Y.Item) || item.deleted || !(item.content instanceof Y.ContentAny)) continue;
			const inConversation = item.parent === entries;
			if (!inConversation && !isSideEntriesArray(item.parent as Y.AbstractType<unknown>)) continue;
			const skip = Math.max(0, before - item.id.clock);
			const added = item.content.arr.slice(skip) as Entry[];
			addEntries(index, added, !inConversation);
			for (const listener of index.listeners) listener(added, inConversation ? 'conversation' : 'side', tr.origin);
			if (inConversation && item.right === null) index.lastItem = item;
		}
	}
	if (index.lastItem && index.lastItem.right !== null) {
		// Another peer's append landed after ours in the same transaction: find the true end.
		let last = index.lastItem;
		while (last.right !== null) last = last.right;
		index.lastItem = last;
	}
}

function isSideEntriesArray(type: Y.AbstractType<unknown> | null): boolean {
	const sideItem = type?._item;
	if (!sideItem || sideItem.parentSub !== 'entries') return false;
	const side = (sideItem.parent as Y.AbstractType<unknown>)._item;
	return !!side && side.parent instanceof Y.Map && side.parent._item === null && Y.findRootTypeKey(side.parent) === ROOTS.sides;
}

// ---------------------------------------------------------------------------------------------
// Entries

/** The conversation in display order. */
export function readEntries(doc: Y.Doc): Entry[] {
	return readable(entriesArray(doc).toArray()).sort(compareEntries);
}

/**
 * Entries as pages and the API hand them out. One stored before `meta` had a depth limit may nest
 * deeper than anything can copy or serialise without running out of stack: its `meta` is cut
 * at the limit, so the ticket still opens.
 */
function readable(entries: Entry[]): Entry[] {
	return entries.map((entry) => {
		if (entry.meta === undefined) return entry;
		const meta = cappedDepth(entry.meta, MAX_META_DEPTH);
		return meta === entry.meta ? entry : { ...entry, meta: meta as Entry['meta'] };
	});
}

/**
 * From the whole conversation: when the first public reply to the customer was written, and since
 * when the customer has been waiting for one (null: the newest public message is not theirs).
 */
export function replyTimes(doc: Y.Doc): { firstReplyAt: number | null; awaitingSince: number | null } {
	let firstReplyAt: number | null = null;
	let awaitingSince: number | null = null;
	for (const entry of readEntries(doc)) {
		if (entry.kind !== 'message' || entry.visibility !== 'public') continue;
		if (entry.authorType === 'customer') awaitingSince ??= entry.createdAt;
		else {
			awaitingSince = null;
			firstReplyAt ??= entry.createdAt;
		}
	}
	return { firstReplyAt, awaitingSince };
}

export function getEntry(doc: Y.Doc, id: string): Entry | undefined {
	return entryIndex(doc).byId.get(id);
}

/**
 * Appends entries as a peer does (at the end of this peer's view). Each is checked by the entry
 * schema; an id the ticket already has throws DuplicateEntryError and appends nothing.
 */
export function appendEntries(doc: Y.Doc, entries: Entry[]): void {
	const checked = checkNewEntries(doc, entries);
	entriesArray(doc).push(checked);
}

export const appendEntry = (doc: Y.Doc, entry: Entry) => appendEntries(doc, [entry]);

function checkNewEntries(doc: Y.Doc, entries: Entry[]): Entry[] {
	const index = entryIndex(doc);
	const seen = new Set<string>();
	return entries.map((entry) => {
		const parsed = entrySchema.parse(entry);
		if (index.byId.has(parsed.id) || seen.has(parsed.id)) throw new DuplicateEntryError(parsed.id);
		seen.add(parsed.id);
		return parsed;
	});
}

/**
 * Encodes, without applying it, the update that appends `entries` at the end of the
 * conversation as Yjs client `clientId`. The server writes this to its log and only then applies
 * it, so an append is never visible before it is durable; and it costs the same whatever the size
 * of the ticket (no copy or re-encoding of the document).
 */
export function encodeAppend(doc: Y.Doc, entries: Entry[], clientId: number): Uint8Array {
	const checked = checkNewEntries(doc, entries);
	const type = entriesArray(doc);
	const last = entryIndex(doc).lastItem;
	const clock = Y.getState(doc.store, clientId);
	const origin = last ? last.lastId : null;
	const item = new Y.Item(
		Y.createID(clientId, clock),
		null,
		origin,
		null,
		null,
		origin ? null : type,
		null,
		new Y.ContentAny(checked)
	);
	const encoder = new Y.UpdateEncoderV1();
	writeVarUint(encoder.restEncoder, 1); // one client
	writeVarUint(encoder.restEncoder, 1); // one struct
	encoder.writeClient(clientId);
	writeVarUint(encoder.restEncoder, clock);
	item.write(encoder, 0);
	writeVarUint(encoder.restEncoder, 0); // empty delete set
	return encoder.toUint8Array();
}

// ---------------------------------------------------------------------------------------------
// Ticket fields

/** Whether the document holds a ticket (a new or empty Y.Doc does not). */
export function isTicketDocument(doc: Y.Doc): boolean {
	return ticketMap(doc).has('requesterId');
}

export function readFields(doc: Y.Doc): TicketFields {
	const map = ticketMap(doc);
	const tags = map.get('tags');
	return {
		subject: (map.get('subject') as string) ?? '',
		status: (map.get('status') as TicketFields['status']) ?? 'new',
		priority: (map.get('priority') as TicketFields['priority']) ?? 'normal',
		assigneeId: (map.get('assigneeId') as string | null) ?? null,
		groupId: (map.get('groupId') as string | null) ?? null,
		requesterId: (map.get('requesterId') as string) ?? '',
		channel: (map.get('channel') as TicketFields['channel']) ?? 'api',
		createdAt: (map.get('createdAt') as number) ?? 0,
		...(typeof map.get('number') === 'number' ? { number: map.get('number') as number } : {}),
		...(typeof map.get('parentId') === 'string' ? { parentId: map.get('parentId') as string } : {}),
		...(map.has('snoozedUntil') ? { snoozedUntil: (map.get('snoozedUntil') as number | null) ?? null } : {}),
		...(typeof map.get('mergedIntoId') === 'string' ? { mergedIntoId: map.get('mergedIntoId') as string } : {}),
		...(Array.isArray(map.get('cc')) ? { cc: map.get('cc') as string[] } : {}),
		...(typeof map.get('satisfaction') === 'string' ? { satisfaction: map.get('satisfaction') as TicketFields['satisfaction'] } : {}),
		...(typeof map.get('satisfactionComment') === 'string' ? { satisfactionComment: map.get('satisfactionComment') as string } : {}),
		...(map.has('formId') ? { formId: (map.get('formId') as string | null) ?? null } : {}),
		...(map.get('custom') instanceof Y.Map ? { custom: (map.get('custom') as Y.Map<CustomValue>).toJSON() as Record<string, CustomValue> } : {}),
		tags: tags instanceof Y.Array ? (tags.toArray() as string[]) : []
	};
}

/**
 * The custom field values and form the server's document holds, read through the root's items
 * (the update checker must not create roots in the document it checks).
 */
export function readStoredCustom(doc: Y.Doc): { values: Record<string, CustomValue>; formId: string | null } {
	const custom = storedItem(doc, 'custom');
	const values = custom?.content instanceof Y.ContentType ? (custom.content.type as Y.Map<CustomValue>).toJSON() : {};
	const form = storedItem(doc, 'formId');
	const formId = form?.content instanceof Y.ContentAny ? ((form.content.arr[0] as string | null) ?? null) : null;
	return { values: values as Record<string, CustomValue>, formId };
}

/** The status the server's document holds, read as readStoredCustom reads (without creating the root). */
export function readStoredStatus(doc: Y.Doc): Status {
	const status = storedItem(doc, 'status');
	return status?.content instanceof Y.ContentAny ? (status.content.arr[0] as Status) : 'new';
}

/** The live item under `key` of the server document's ticket map, read without creating the root. */
function storedItem(doc: Y.Doc, key: string): Y.Item | null {
	const item = doc.share.get(ROOTS.ticket)?._map.get(key);
	return item && !item.deleted ? item : null;
}

/**
 * The ticket map's nested type under `key`, created when a ticket from before it lacks one (the
 * first writer creates it; the checker refuses a second, which would drop the first one's writes).
 */
function nestedType<T extends Y.Map<never> | Y.Array<never>>(doc: Y.Doc, key: string, Type: new () => T): T {
	const found = ticketMap(doc).get(key);
	if (found instanceof Type) return found;
	const created = new Type();
	ticketMap(doc).set(key, created);
	return created;
}

const customMap = (doc: Y.Doc) => nestedType(doc, 'custom', Y.Map) as unknown as Y.Map<CustomValue>;

/**
 * Writes custom field values as a peer does, in one transaction (null clears a value). Checked by
 * `rules` first (null: the caller has checked them), so a workspace's own mistake is said before
 * the server would close the socket.
 */
export function setCustomValues(doc: Y.Doc, values: Readonly<Record<string, CustomValue>>, rules: FieldRules | null): void {
	for (const [key, value] of Object.entries(values)) {
		const problem = rules?.valueProblem(key, value);
		if (problem) throw new Error(problem);
	}
	doc.transact(() => {
		const custom = customMap(doc);
		for (const [key, value] of Object.entries(values)) {
			if (JSON.stringify(custom.get(key) ?? null) !== JSON.stringify(value)) custom.set(key, value);
		}
	});
}

export function setField<K extends TicketFieldName>(doc: Y.Doc, name: K, value: TicketFields[K]): void {
	const parsed = ticketFieldSchemas[name].parse(value);
	ticketMap(doc).set(name, parsed);
}

/** Sets every field of a new ticket, tags included, in one transaction. */
export function initTicket(doc: Y.Doc, fields: TicketFields): void {
	doc.transact(() => {
		for (const name of Object.keys(ticketFieldSchemas) as TicketFieldName[]) {
			if (fields[name] !== undefined) setField(doc, name, fields[name]);
		}
		ticketMap(doc).set('tags', Y.Array.from(fields.tags.map((t) => tagSchema.parse(t.trim()))));
		// Created with the ticket, so concurrent peers write into one map (see customMap).
		const custom = customMap(doc);
		for (const [key, value] of Object.entries(fields.custom ?? {})) custom.set(key, value);
	});
}

const tagsArray = (doc: Y.Doc) => nestedType(doc, 'tags', Y.Array) as unknown as Y.Array<string>;

export function addTag(doc: Y.Doc, tag: string): void {
	const parsed = tagSchema.parse(tag.trim());
	const tags = tagsArray(doc);
	if (!tags.toArray().includes(parsed)) tags.push([parsed]);
}

export function removeTag(doc: Y.Doc, tag: string): void {
	const tags = tagsArray(doc);
	doc.transact(() => {
		for (let i = tags.length - 1; i >= 0; i--) if (tags.get(i) === tag) tags.delete(i, 1);
	});
}

// ---------------------------------------------------------------------------------------------
// Side conversations

export interface SideConversation {
	id: string;
	subject: string;
	channel: 'email' | 'internal' | 'child';
	status: 'open' | 'closed';
	createdBy: string;
	createdAt: number;
	participants: string[];
	entries: Entry[];
	/** The child ticket, on a side conversation of channel `child` (written by the server). */
	childId?: string;
}

export function openSide(
	doc: Y.Doc,
	side: Omit<SideConversation, 'status' | 'entries'>
): void {
	const map = new Y.Map<unknown>();
	doc.transact(() => {
		sidesMap(doc).set(side.id, map);
		map.set('id', side.id);
		map.set('subject', side.subject);
		map.set('channel', side.channel);
		map.set('status', 'open');
		map.set('createdBy', side.createdBy);
		map.set('createdAt', side.createdAt);
		if (side.childId !== undefined) map.set('childId', side.childId);
		map.set('participants', Y.Array.from(side.participants));
		map.set('entries', new Y.Array<Entry>());
	});
}

export function readSides(doc: Y.Doc): SideConversation[] {
	return [...sidesMap(doc).values()]
		.map((map) => ({
			id: map.get('id') as string,
			subject: map.get('subject') as string,
			channel: map.get('channel') as SideConversation['channel'],
			status: map.get('status') as SideConversation['status'],
			createdBy: map.get('createdBy') as string,
			createdAt: map.get('createdAt') as number,
			participants: (map.get('participants') as Y.Array<string> | undefined)?.toArray() ?? [],
			entries: readable((map.get('entries') as Y.Array<Entry> | undefined)?.toArray() ?? []).sort(compareEntries),
			...(typeof map.get('childId') === 'string' ? { childId: map.get('childId') as string } : {})
		}))
		.sort((a, b) => a.createdAt - b.createdAt);
}

/** Each side conversation's status by id: cheap enough to read after every change. */
export function sideStatuses(doc: Y.Doc): Map<string, SideConversation['status']> {
	return new Map([...sidesMap(doc).entries()].map(([id, side]) => [id, side.get('status') as SideConversation['status']]));
}

function sideMap(doc: Y.Doc, sideId: string): Y.Map<unknown> {
	const side = sidesMap(doc).get(sideId);
	if (!side) throw new Error(`no side conversation ${sideId}`);
	return side;
}

export function appendSideEntry(doc: Y.Doc, sideId: string, entry: Entry): void {
	const [checked] = checkNewEntries(doc, [entry]);
	(sideMap(doc, sideId).get('entries') as Y.Array<Entry>).push([checked]);
}

/** Adds participants to a side conversation (they are never removed: earlier messages went to them). */
export function addSideParticipants(doc: Y.Doc, sideId: string, participants: string[]): void {
	(sideMap(doc, sideId).get('participants') as Y.Array<string>).push(participants);
}

export function setSideStatus(doc: Y.Doc, sideId: string, status: 'open' | 'closed'): void {
	sideMap(doc, sideId).set('status', status);
}

// ---------------------------------------------------------------------------------------------
// Drafts

export interface DraftInfo {
	id: string;
	text: string;
	channel: Entry['channel'];
	visibility: Entry['visibility'];
	authors: string[];
	createdAt: number;
	/** Ticket changes that go with the draft when it is sent. */
	staged: StagedChanges;
	/** An email reply's copies as typed; absent until someone sets them (then CC is offered from the mail). */
	cc?: string;
	bcc?: string;
}

/** Ticket changes staged with a draft (by a macro): applied in the transaction that sends it. */
export interface StagedChanges {
	status?: Status;
	priority?: Priority;
	/** Tags to add. */
	tags?: string[];
}

export interface DraftOptions {
	channel: Entry['channel'];
	visibility: Entry['visibility'];
}

/** The draft's shared text, creating the draft when it does not exist yet. */
export function draftText(doc: Y.Doc, draftId: string, init: DraftOptions): Y.Text {
	const drafts = draftsMap(doc);
	let draft = drafts.get(draftId);
	if (!draft) {
		draft = new Y.Map<unknown>();
		const created = draft;
		doc.transact(() => {
			drafts.set(draftId, created);
			created.set('channel', init.channel);
			created.set('visibility', init.visibility);
			created.set('createdAt', Date.now());
			created.set('authors', new Y.Array<string>());
			created.set('text', new Y.Text());
		});
	}
	return draft.get('text') as Y.Text;
}

/** The draft's shared text, or null when there is no such draft (never creates one). */
export function findDraftText(doc: Y.Doc, draftId: string): Y.Text | null {
	const text = draftsMap(doc).get(draftId)?.get('text');
	return text instanceof Y.Text ? text : null;
}

/**
 * Folds one draft into another, in one transaction: the text of `fromId` goes to the end of
 * `intoId` (after a blank line when both hold text) and `fromId` is removed. Used when two
 * agents started a draft of the same kind at once (or one of them offline): they converge on
 * one, and nothing either wrote (or staged) is lost. Returns whether anything was moved.
 */
export function mergeDraft(doc: Y.Doc, fromId: string, intoId: string): boolean {
	if (fromId === intoId) return false;
	const from = findDraftText(doc, fromId);
	const into = findDraftText(doc, intoId);
	if (!from || !into) return false;
	const moved = from.toString();
	const drafts = draftsMap(doc);
	const staged = readStaged(drafts.get(fromId)!);
	const kept = readStaged(drafts.get(intoId)!);
	doc.transact(() => {
		if (moved.trim()) {
			const separator = into.toString().trim() ? '\n\n' : '';
			into.insert(into.length, separator + moved);
		}
		// Staged changes come along; where both stage a status or priority, `intoId`'s stays.
		stageChanges(doc, intoId, { status: kept.status ? undefined : staged.status, priority: kept.priority ? undefined : staged.priority, tags: staged.tags });
		foldRecipients(drafts.get(fromId)!, drafts.get(intoId)!);
		drafts.delete(fromId);
	});
	return true;
}

/** Changes where a draft will go (public reply or internal note, and on which channel). */
export function setDraftOptions(doc: Y.Doc, draftId: string, options: Partial<DraftOptions>): void {
	const draft = draftsMap(doc).get(draftId);
	if (!draft) return;
	doc.transact(() => {
		if (options.channel && draft.get('channel') !== options.channel) draft.set('channel', draftFieldSchemas.channel.parse(options.channel));
		if (options.visibility && draft.get('visibility') !== options.visibility) {
			draft.set('visibility', draftFieldSchemas.visibility.parse(options.visibility));
		}
	});
}

/** Sets the CC or BCC of a draft, as typed. */
export function setDraftRecipientText(doc: Y.Doc, draftId: string, field: RecipientField, text: string): void {
	const draft = draftsMap(doc).get(draftId);
	if (draft) setDraftRecipients(draft, field, text);
}

export function addDraftAuthor(doc: Y.Doc, draftId: string, authorId: string): void {
	const authors = draftsMap(doc).get(draftId)?.get('authors') as Y.Array<string> | undefined;
	if (authors && !authors.toArray().includes(authorId)) authors.push([authorId]);
}

export function readDrafts(doc: Y.Doc): DraftInfo[] {
	return [...draftsMap(doc).entries()]
		.map(([id, map]) => ({
			id,
			text: (map.get('text') as Y.Text | undefined)?.toString() ?? '',
			channel: map.get('channel') as Entry['channel'],
			visibility: map.get('visibility') as Entry['visibility'],
			authors: (map.get('authors') as Y.Array<string> | undefined)?.toArray() ?? [],
			createdAt: (map.get('createdAt') as number | undefined) ?? 0,
			staged: readStaged(map),
			...(typeof map.get('cc') === 'string' ? { cc: map.get('cc') as string } : {}),
			...(typeof map.get('bcc') === 'string' ? { bcc: map.get('bcc') as string } : {})
		}))
		.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** What a draft's map stages; a value that does not pass its schema is left out. */
function readStaged(draft: Y.Map<unknown>): StagedChanges {
	const status = draftFieldSchemas.stagedStatus.safeParse(draft.get('stagedStatus'));
	const priority = draftFieldSchemas.stagedPriority.safeParse(draft.get('stagedPriority'));
	const tags = draftFieldSchemas.stagedTags.safeParse(draft.get('stagedTags'));
	return {
		...(status.success ? { status: status.data } : {}),
		...(priority.success ? { priority: priority.data } : {}),
		...(tags.success ? { tags: tags.data } : {})
	};
}

/**
 * Stages ticket changes with a draft, in one transaction: a status or priority replaces the one
 * staged before, tags join those staged. Does nothing when there is no such draft.
 */
export function stageChanges(doc: Y.Doc, draftId: string, changes: StagedChanges): void {
	const draft = draftsMap(doc).get(draftId);
	if (!draft) return;
	doc.transact(() => {
		if (changes.status) draft.set('stagedStatus', draftFieldSchemas.stagedStatus.parse(changes.status));
		if (changes.priority) draft.set('stagedPriority', draftFieldSchemas.stagedPriority.parse(changes.priority));
		const before = readStaged(draft).tags ?? [];
		const tags = [...new Set([...before, ...(changes.tags ?? []).map((tag) => tag.trim())])].slice(0, MAX_TAGS);
		if (tags.length !== before.length) draft.set('stagedTags', draftFieldSchemas.stagedTags.parse(tags));
	});
}

/** One staged change, as taken back: the status, the priority, or one staged tag. */
export type StagedChange = { field: 'status' | 'priority' } | { field: 'tag'; tag: string };

export function unstageChange(doc: Y.Doc, draftId: string, change: StagedChange): void {
	const draft = draftsMap(doc).get(draftId);
	if (!draft) return;
	if (change.field !== 'tag') return draft.delete(change.field === 'status' ? 'stagedStatus' : 'stagedPriority');
	const tags = (readStaged(draft).tags ?? []).filter((tag) => tag !== change.tag);
	if (tags.length) draft.set('stagedTags', tags);
	else draft.delete('stagedTags');
}

/**
 * Applies the draft's staged changes to the ticket now and clears them from the draft, in one
 * transaction ("Apply now").
 */
export function applyStagedNow(doc: Y.Doc, draftId: string): void {
	const draft = draftsMap(doc).get(draftId);
	if (!draft) return;
	doc.transact(() => {
		applyChanges(doc, readStaged(draft));
		for (const field of STAGED_DRAFT_FIELDS) if (draft.has(field)) draft.delete(field);
	});
}

/**
 * Makes the ticket's fields what `changes` says, writing only what differs. Tags past the
 * ticket's cap are left out: the update that sends a reply must not be refused for a tag.
 */
function applyChanges(doc: Y.Doc, changes: StagedChanges): void {
	const map = ticketMap(doc);
	if (changes.status && map.get('status') !== changes.status) setField(doc, 'status', changes.status);
	if (changes.priority && map.get('priority') !== changes.priority) setField(doc, 'priority', changes.priority);
	for (const tag of changes.tags ?? []) {
		const tags = tagsArray(doc);
		if (tags.length >= MAX_TAGS) break;
		addTag(doc, tag);
	}
}

/**
 * Sends a draft: appends it as an entry whose id is the draft's id, applies the ticket changes
 * staged with it (and `alsoSet`, which wins over them: "Send and set Solved") and removes the
 * draft, in one transaction, so every peer sees the reply and its changes in one update. A draft
 * already sent (a double click, a retry) sends nothing: returns null.
 */
export interface SendOptions {
	/** A status set with the send, over any staged one. */
	alsoSet?: Pick<StagedChanges, 'status'>;
	/** What the entry carries beside its text (its attachments). */
	meta?: Entry['meta'];
}

export function sendDraft(doc: Y.Doc, draftId: string, author: { type: 'agent'; id: string }, now = Date.now(), { alsoSet = {}, meta }: SendOptions = {}): Entry | null {
	if (entryIndex(doc).byId.has(draftId)) return null;
	const draft = draftsMap(doc).get(draftId);
	const body = (draft?.get('text') as Y.Text | undefined)?.toString().trim();
	if (!draft || !body) return null;
	const visibility = draft.get('visibility') as Entry['visibility'];
	const entry: Entry = {
		id: draftId,
		kind: visibility === 'internal' ? 'note' : 'message',
		channel: visibility === 'internal' ? 'internal' : (draft.get('channel') as Entry['channel']),
		visibility,
		authorType: author.type,
		authorId: author.id,
		body,
		createdAt: now
	};
	if (visibility === 'public') entry.direction = 'out';
	if (meta) entry.meta = meta;
	if (visibility === 'public' && entry.channel === 'email') {
		const recipients = recipientsMeta(draft);
		if (recipients.cc || recipients.bcc) entry.meta = { ...entry.meta, ...recipients };
	}
	doc.transact(() => {
		appendEntry(doc, entry);
		applyChanges(doc, { ...readStaged(draft), ...alsoSet });
		draftsMap(doc).delete(draftId);
	});
	return entry;
}

export function deleteDraft(doc: Y.Doc, draftId: string): void {
	draftsMap(doc).delete(draftId);
}
