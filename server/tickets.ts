/**
 * Ticket operations shared by the HTTP API, the CLI and the seed: create a ticket, append an
 * entry exactly once, read a ticket. Every write is logged durably before it is applied.
 */
import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { ZodError } from 'zod';
import type { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import {
	absorb,
	appendEntries,
	appendEntry,
	appendSideEntry,
	compareEntries,
	copiedEntry,
	mergeBreach,
	MAX_RECIPIENT_LIST_LENGTH,
	MAX_RECIPIENTS,
	encodeAppend,
	ENTRY_TIME_WINDOW,
	entryIndex,
	entrySchema,
	getEntry,
	MAX_SUBJECT_LENGTH,
	initTicket,
	LIMITS,
	limitMessage,
	newId,
	openSide,
	readEntries,
	readFields,
	readSides,
	setField,
	addTag,
	removeTag,
	type Attachment,
	setSideStatus,
	sideStatuses,
	type Channel,
	type CopyOrigin,
	type Entry,
	type EntryInput,
	type Priority,
	type SideConversation,
	type Status,
	type TicketFieldName,
	type TicketFields,
	NO_FIELD_RULES,
	setCustomValues,
	type CustomValue,
	type FieldRules
} from '../src/lib/ticket';
import { VIEW_DESCRIPTIONS, VIEW_IDS, VIEW_NAMES, type TicketSort, type ViewId } from '../src/lib/api/views';
import type { LinkedTicket, NewChildTicket, TicketFamily } from '../src/lib/api/children';
import type { SplitRequest } from '../src/lib/api/merge';
import type { Accounts } from './accounts';
import { listedAttachments, type Attachments, type Uploads } from './attachments';
import { actorOf, SYSTEM, type Principal, type UserPrincipal } from './auth/principal';
import { ticketAccess, writePolicy } from './auth/policy';
import type { Customers } from './customers';
import { ApiError, forbidden, notFound } from './errors';
import type { Events } from './events';
import type { Store } from './storage/store';
import { clientsOf, type TicketLog } from './storage/ticket-log';
import type { TicketIndex, TicketRow } from './ticket-index';

/** A ticket document held open: it stays loaded (and its awareness live) until released. */
export interface HeldDocument {
	doc: Y.Doc & { awareness: Awareness };
	release(): Promise<void>;
}

/** Access to ticket documents: the live ones in the server, or ones loaded from storage. */
export interface DocumentAccess {
	withDocument<T>(ticketId: string, use: (doc: Y.Doc) => T | Promise<T>): Promise<T>;
	hold(ticketId: string): Promise<HeldDocument>;
	/** The ticket's document if it is loaded now (someone has it open), else null. */
	loaded(ticketId: string): HeldDocument['doc'] | null;
	/**
	 * Writes `update` to the log (enqueueing the outbound ones of the `entries` it adds in the same
	 * transaction), then applies it to `doc`. Throws StorageError.
	 */
	commit(ticketId: string, doc: Y.Doc, update: Uint8Array, actor: string, entries?: Entry[]): Promise<void>;
}

export interface NewTicket {
	subject: string;
	requester: { email: string; name?: string };
	channel: Channel;
	body: string;
	priority?: Priority;
	tags?: string[];
	groupId?: string | null;
	custom?: Record<string, CustomValue>;
	formId?: string | null;
}

/** A ticket as the seed or an importer writes it: history with its own dates and authors. */
export interface TicketRecord {
	id?: string;
	/** The number is not the writer's to choose: the server gives the next one. */
	fields: Omit<TicketFields, 'createdAt' | 'number'> & { createdAt?: number };
	entries: Entry[];
}

/** Fields a writer changes through the server (PATCH /tickets/{id}, bulk actions, the router). */
export type FieldChanges = Partial<Pick<TicketFields, 'subject' | 'status' | 'priority' | 'assigneeId' | 'groupId' | 'snoozedUntil' | 'tags' | 'formId' | 'custom'>> & {
	addTags?: readonly string[];
	removeTags?: readonly string[];
};

export interface TicketDetail extends Omit<TicketFields, 'number'> {
	id: string;
	/** Null only for a ticket whose number was lost with its index row (see reindex). */
	number: number | null;
	entryCount: number;
	updatedAt: number;
	entries: Entry[];
}

export interface TicketTail {
	number: number | null;
	subject: string;
	channel: Channel;
	/** The newest entries, in display order. */
	entries: Entry[];
	/** Authors' names by id (agents and the customer). */
	names: Record<string, string>;
}

export interface Delivery {
	status: 'queued' | 'sent' | 'failed';
	attempts: number;
	lastError?: string;
	sentAt?: number;
}

/** How much of a customer's first message becomes the subject of a ticket a channel opens. */
const SUBJECT_CHARS = 80;

/** A subject from a customer's first words, for channels whose messages have none. */
export function subjectFrom(text: string): string {
	return text.replace(/\s+/g, ' ').trim().slice(0, Math.min(SUBJECT_CHARS, MAX_SUBJECT_LENGTH)) || '(no text)';
}

/** One ticket of a merge: its id, live document and index row as read before the decision. */
interface MergeSide {
	id: string;
	doc: Y.Doc;
	row: TicketRow;
}

/** "#1042", or "a ticket" for one without a number. */
const ticketName = (row: { number: number | null }) => (row.number === null ? 'a ticket' : `#${row.number}`);

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** An entry id the ticket has already: found in the document (ticket module) or refused by the log (storage), two classes of one name. */
const isDuplicateEntry = (error: unknown) => (error as Error | null)?.name === 'DuplicateEntryError';

/** Refuses (409) a merge or split involving a ticket that has been merged into another. */
function refuseMerged(rows: readonly { number: number | null; mergedIntoId?: string | null }[]) {
	const merged = rows.find((row) => row.mergedIntoId);
	if (merged) throw new ApiError(409, 'already_merged', `${ticketName(merged)} has been merged into another ticket`);
}

/** The server's note of a merge or split in a conversation. */
function systemNote(body: string, createdAt: number, meta: Entry['meta']): Entry {
	return { id: newId(), kind: 'event', channel: 'internal', visibility: 'internal', authorType: 'system', authorId: 'system', body, createdAt, meta };
}

/** Runs `copy`, which copies entries into another ticket: one that no longer fits the entry schema with its origin added is refused by name (409). */
function copying<T>(copy: () => T): T {
	try {
		return copy();
	} catch (error) {
		if (!(error instanceof ZodError)) throw error;
		throw new ApiError(409, 'limit_exceeded', `an entry cannot be copied: ${error.issues[0]?.path.join('.') ?? ''} ${error.issues[0]?.message ?? ''}`.trim());
	}
}

/** The first custom value `rules` refuse, as an API error's message and field. */
function customProblem(rules: FieldRules, custom: Record<string, unknown>): { message: string; field: string } | null {
	for (const [key, value] of Object.entries(custom)) {
		const problem = rules.valueProblem(key, value);
		if (problem) return { message: `custom.${key}: ${problem}`, field: `custom.${key}` };
	}
	return null;
}

/** Statuses of a ticket whose work is done: a parent is told when its child reaches one. */
export const DONE_STATUSES: string[] = ['solved', 'closed'];

/** How much of a linked ticket's newest message the parent or child shows. */
const LINKED_PREVIEW_CHARS = 300;

/** How many of a customer's tickets their context lists. */
const CUSTOMER_TICKETS_LIMIT = 50;

export class Tickets {
	/** Yjs client ids this process writes server-side appends as, one per document. */
	private readonly writers = new WeakMap<Y.Doc, number>();
	/** The last server-side write queued for each ticket (see `writing`). */
	private readonly writes = new Map<string, Promise<unknown>>();
	/** Told of each ticket recorded whole (see `onRecorded`). */
	private readonly recordedListeners = new Set<(ticketId: string, doc: Y.Doc, actor: string) => void>();

	constructor(
		private readonly store: Store,
		private readonly log: TicketLog,
		private readonly index: TicketIndex,
		private readonly customers: Customers,
		private readonly accounts: Accounts,
		private readonly eventLog: Events,
		private readonly documents: DocumentAccess,
		private readonly attachments: Pick<Attachments, 'refused' | 'uploadsOf' | 'upload' | 'usage'>,
		/** The custom field definitions values are checked against (server/custom-fields.ts). */
		private readonly customFields: { rules(): Promise<FieldRules> } = { rules: async () => NO_FIELD_RULES }
	) {}

	/** Creates a ticket from a customer's first message. */
	async create(input: NewTicket, principal: Principal): Promise<TicketDetail> {
		if (principal.kind === 'user' && principal.role === 'supervisor') throw forbidden('supervisors are read-only');
		if (principal.kind === 'bot' && !principal.channels.includes(input.channel)) {
			throw forbidden(`this token may not write on channel ${input.channel}`);
		}
		const rules = await this.customFields.rules();
		const formProblem = input.formId !== undefined ? rules.formProblem(input.formId) : null;
		if (formProblem) throw new ApiError(400, 'invalid_field', `formId: ${formProblem}`, 'formId');
		const problem = customProblem(rules, input.custom ?? {});
		if (problem) throw new ApiError(400, 'invalid_field', problem.message, problem.field);
		const requester = await this.customers.findOrCreate('email', input.requester.email, input.requester.name);
		const now = Date.now();
		const id = newId();
		const firstEntry: Entry = {
			id: newId(),
			kind: 'message',
			channel: input.channel,
			direction: 'in',
			visibility: 'public',
			authorType: 'customer',
			authorId: requester.id,
			body: input.body,
			createdAt: now
		};
		return this.record(
			{
				id,
				fields: {
					subject: input.subject,
					status: 'new',
					priority: input.priority ?? 'normal',
					assigneeId: null,
					groupId: input.groupId ?? null,
					requesterId: requester.id,
					channel: input.channel,
					createdAt: now,
					tags: input.tags ?? [],
					...(input.formId !== undefined && { formId: input.formId }),
					...(input.custom && { custom: input.custom })
				},
				entries: [firstEntry]
			},
			principal
		);
	}

	/**
	 * Opens a ticket from a customer's message that arrived on a channel (email…), written by the
	 * server. `within` runs in the same transaction as the logged update (e.g. a threading row).
	 */
	createFromChannel(
		input: { subject: string; requesterId: string; channel: Channel; entry: Entry; groupId?: string | null },
		within?: (ticketId: string) => unknown
	): Promise<TicketDetail> {
		return this.record(
			{
				fields: {
					subject: input.subject,
					status: 'new',
					priority: 'normal',
					assigneeId: null,
					groupId: input.groupId ?? null,
					requesterId: input.requesterId,
					channel: input.channel,
					createdAt: input.entry.createdAt,
					tags: []
				},
				entries: [input.entry]
			},
			SYSTEM,
			within
		);
	}

	/**
	 * Writes a whole new ticket document (fields and history) as one logged update. Its number is
	 * taken in the same transaction: every creation path (API, channels, CLI, seed) comes here. A
	 * ticket is recorded once under an id: a second record of it fails (409 id_taken) and writes nothing.
	 */
	async record(ticket: TicketRecord, principal: Principal, within?: (ticketId: string) => unknown): Promise<TicketDetail> {
		const id = ticket.id ?? newId();
		const doc = new Y.Doc();
		const createdAt = ticket.fields.createdAt ?? ticket.entries[0]?.createdAt ?? Date.now();
		const actor = actorOf(principal);
		const lastActivity = ticket.entries.reduce((latest, e) => Math.max(latest, e.createdAt), createdAt);
		const row = await this.index.transaction(async () => {
			const number = await this.index.takeNumber();
			// Checked once the number is taken: creators take it one at a time, so of two records of
			// one id the second sees the first's row.
			if (ticket.id && (await this.index.exists(id))) throw new ApiError(409, 'id_taken', `id: a ticket ${id} exists already`, 'id');
			initTicket(doc, { ...ticket.fields, createdAt, number });
			appendEntries(doc, ticket.entries);
			const update = Y.encodeStateAsUpdate(doc);
			await this.log.append(id, update, actor);
			await this.log.claimClients(id, actorOf(SYSTEM), clientsOf(update)); // written server-side
			const row = await this.index.project(id, doc, actor, lastActivity);
			await this.eventLog.record({ ticketId: id, actor, type: 'ticket.created', data: { channel: ticket.fields.channel }, createdAt });
			await within?.(id);
			return row;
		});
		for (const listener of this.recordedListeners) listener(id, doc, actor);
		return this.detail(row, doc);
	}

	/**
	 * Calls `listener` with each ticket recorded whole from now on (created by a channel, the API,
	 * the seed), once stored: its first entries never pass through a loaded document, whose changes
	 * the extensions follow. Returns the stop.
	 */
	onRecorded(listener: (ticketId: string, doc: Y.Doc, actor: string) => void): () => void {
		this.recordedListeners.add(listener);
		return () => this.recordedListeners.delete(listener);
	}

	/**
	 * Appends one entry exactly once: a repeat of an id already in the ticket returns the stored
	 * entry with `created: false` and writes nothing.
	 */
	async append(ticketId: string, input: EntryInput, principal: Principal): Promise<{ entry: Entry; created: boolean }> {
		const row = await this.readable(ticketId, principal);
		const supervisorNote = principal.kind === 'user' && principal.role === 'supervisor' && input.kind === 'note';
		if (ticketAccess(principal, row) !== 'write' && !supervisorNote) throw forbidden('you may not write to this ticket');
		return this.writing(ticketId, async (doc) => {
			const existing = input.id ? getEntry(doc, input.id) : undefined;
			if (existing) return { entry: existing, created: false };
			const uploads = await this.attachments.uploadsOf(ticketId);
			const entry = this.complete(input, principal, doc);
			const policy = this.policyFor(principal, doc, uploads);
			const denied = policy.entryAllowed(entry, 'conversation');
			if (denied) throw forbidden(denied);
			const attachmentsDenied = policy.attachmentsAllowed?.(entry);
			if (attachmentsDenied) throw new ApiError(400, 'invalid_attachment', attachmentsDenied, 'meta.attachments');
			try {
				await this.documents.commit(ticketId, doc, encodeAppend(doc, [entry], this.writerFor(doc)), actorOf(principal), [entry]);
			} catch (error) {
				// Stored meanwhile by another node (a retry that reached two nodes), whether this node
				// heard of it already or only the log knows: answered as a repeat is here.
				const stored = isDuplicateEntry(error) ? (getEntry(doc, entry.id) ?? (await this.storedEntry(ticketId, entry.id))) : undefined;
				if (!stored) throw error;
				return { entry: stored, created: false };
			}
			return { entry, created: true };
		});
	}

	/** Entry `entryId` as the log has it now, whatever this process has applied. */
	private async storedEntry(ticketId: string, entryId: string): Promise<Entry | undefined> {
		const doc = new Y.Doc();
		try {
			await this.log.loadInto(ticketId, doc);
			return getEntry(doc, entryId);
		} finally {
			doc.destroy();
		}
	}

	/**
	 * The newest entries of a ticket with their authors' names: what a page can show at once, before
	 * its live document has synced.
	 */
	async tail(ticketId: string, principal: Principal, limit: number): Promise<TicketTail> {
		const row = await this.readable(ticketId, principal);
		const { fields, entries } = await this.documents.withDocument(ticketId, (doc) => ({ fields: readFields(doc), entries: readEntries(doc).slice(-limit) }));
		const names: Record<string, string> = {};
		for (const entry of entries) {
			const name = entry.authorType === 'agent' ? (await this.accounts.get(entry.authorId))?.name : entry.authorType === 'customer' ? (await this.customers.get(entry.authorId))?.name : undefined;
			if (name) names[entry.authorId] = name;
		}
		return { number: row.number, subject: fields.subject, channel: fields.channel, entries, names };
	}

	/**
	 * Sets ticket fields as `principal` (the router assigning a ticket, PATCH /tickets/{id}), checked
	 * by the policy as the same principal's change from a peer would be: the change is built on a
	 * copy of the live document, logged, then applied, so it merges with what peers write meanwhile.
	 * `tags` is the whole list the ticket is to have: the missing ones are added, the others
	 * removed (tags a peer adds at the same moment are kept); `addTags` and `removeTags` change the
	 * list the ticket has when the change is made (bulk actions). Returns the fields.
	 */
	async setFields(ticketId: string, changes: FieldChanges, principal: Principal): Promise<TicketFields> {
		const row = await this.readable(ticketId, principal);
		if (ticketAccess(principal, row) !== 'write') throw forbidden('you may not write to this ticket');
		const { tags, addTags, removeTags, ...fields } = changes;
		const edited = addTags || removeTags ? (current: readonly string[]) => [...new Set([...current, ...(addTags ?? [])])].filter((tag) => !removeTags?.includes(tag)) : undefined;
		return this.writeFields(ticketId, fields, principal, tags ?? edited);
	}

	/** Sets fields as setFields does, then projects the ticket at once: its index row as it now is. */
	async patch(ticketId: string, changes: FieldChanges, principal: Principal): Promise<TicketRow> {
		await this.setFields(ticketId, changes, principal);
		return this.documents.withDocument(ticketId, (doc) => this.index.project(ticketId, doc, actorOf(principal)));
	}

	/** Files a ticket under another customer (a chat visitor's contact linked to who they are): a field only the server sets. */
	async setRequester(ticketId: string, requesterId: string): Promise<void> {
		await this.writeFields(ticketId, { requesterId }, SYSTEM);
		// Histories and calls find tickets by requester in the index: up to date at once, not after the projection's delay.
		await this.documents.withDocument(ticketId, (doc) => this.index.project(ticketId, doc));
	}

	/**
	 * Appends `entry` and sets server-owned `fields` with it, in one logged update written by the
	 * server (a customer's satisfaction rating: the entry and the field it sets never part). Exactly
	 * once per entry id: false, writing nothing, when the ticket has the entry already.
	 */
	appendWithFields(ticketId: string, entry: Entry, fields: Partial<Omit<TicketFields, 'tags'>>): Promise<boolean> {
		const checked = entrySchema.parse(entry);
		return this.writing(ticketId, async (doc) => {
			if (getEntry(doc, checked.id)) return false;
			await this.commitAsServer(
				ticketId,
				doc,
				actorOf(SYSTEM),
				(copy) => {
					appendEntry(copy, checked);
					for (const [name, value] of Object.entries(fields) as [TicketFieldName, never][]) setField(copy, name, value);
				},
				[checked]
			);
			return true;
		});
	}

	/** Sets fields only the server writes (`satisfaction` when a survey is asked), as the server. */
	setServerFields(ticketId: string, fields: Partial<Omit<TicketFields, 'tags'>>): Promise<TicketFields> {
		return this.writeFields(ticketId, fields, SYSTEM);
	}

	/** `tags`: the list the ticket is to have, or how to make it from the list it has. */
	private writeFields(ticketId: string, changes: Partial<Omit<TicketFields, 'tags'>>, principal: Principal, tags?: readonly string[] | ((current: readonly string[]) => readonly string[])): Promise<TicketFields> {
		const { custom = {}, ...named } = changes;
		return this.writing(ticketId, async (doc) => {
			const policy = this.policyFor(principal, doc);
			const current = readFields(doc);
			const changed = (Object.entries(named) as [TicketFieldName, never][]).filter(([name, value]) => current[name] !== value);
			const customChanged = Object.entries(custom).filter(([key, value]) => JSON.stringify(current.custom?.[key] ?? null) !== JSON.stringify(value));
			const wanted = new Set(typeof tags === 'function' ? tags(current.tags) : (tags ?? current.tags));
			const added = [...wanted].filter((tag) => !current.tags.includes(tag));
			const removed = current.tags.filter((tag) => !wanted.has(tag));
			if (!changed.length && !customChanged.length && !added.length && !removed.length) return current;
			// The limit a peer's update is held to (growth.ts); a server-side write is not checked there.
			if (added.length && wanted.size > LIMITS.tagsPerTicket) throw new ApiError(400, 'invalid_field', `tags: ${limitMessage('tagsPerTicket', 'tags per ticket:')}`, 'tags');
			for (const [name, value] of changed) {
				const denied = name === 'formId' ? policy.customAllowed?.() : policy.fieldAllowed(name, value);
				if (denied) throw forbidden(denied);
			}
			const tagsDenied = added.length || removed.length ? policy.tagsAllowed?.() : null;
			if (tagsDenied) throw forbidden(tagsDenied);
			const customDenied = customChanged.length ? policy.customAllowed?.() : null;
			if (customDenied) throw forbidden(customDenied);
			await this.checkCustom(current, changed, Object.fromEntries(customChanged));
			await this.commitAsServer(ticketId, doc, actorOf(principal), (copy) => {
				for (const [name, value] of changed) setField(copy, name, value);
				if (customChanged.length) setCustomValues(copy, Object.fromEntries(customChanged), null);
				for (const tag of added) addTag(copy, tag);
				for (const tag of removed) removeTag(copy, tag);
			});
			return readFields(doc);
		});
	}

	/**
	 * The rules a peer's update is held to (update-check.ts), for a server-side change: values and
	 * form by their definitions, and solving only with the fields the ticket's form requires.
	 */
	private async checkCustom(current: TicketFields, changed: [TicketFieldName, unknown][], custom: Record<string, CustomValue>) {
		const rules = await this.customFields.rules();
		const named = Object.fromEntries(changed) as Partial<TicketFields>;
		const formProblem = 'formId' in named ? rules.formProblem(named.formId) : null;
		if (formProblem) throw new ApiError(400, 'invalid_field', `formId: ${formProblem}`, 'formId');
		const problem = customProblem(rules, custom);
		if (problem) throw new ApiError(400, 'invalid_field', problem.message, problem.field);
		const before = { formId: current.formId ?? null, values: current.custom ?? {} };
		const after = { formId: 'formId' in named ? (named.formId ?? null) : before.formId, values: { ...before.values, ...custom } };
		const required = rules.requiredProblem({ storedStatus: current.status, statusWritten: named.status, before, after });
		if (required) throw new ApiError(409, 'required_fields', required.message, `custom.${required.fields[0]!.key}`);
	}

	/** The ticket's side conversations, for the server's own use (threading inbound mail). */
	sides(ticketId: string): Promise<SideConversation[]> {
		return this.documents.withDocument(ticketId, readSides);
	}

	/**
	 * Appends a received entry to side conversation `sideId` exactly once (false when its id is in
	 * the ticket already). A closed side conversation is reopened with it: the reply is news that
	 * the agents would not see in a closed one.
	 */
	appendToSide(ticketId: string, sideId: string, entry: Entry): Promise<boolean> {
		return this.writing(ticketId, async (doc) => {
			if (getEntry(doc, entry.id)) return false;
			await this.commitAsServer(ticketId, doc, actorOf(SYSTEM), (copy) => {
				appendSideEntry(copy, sideId, entry);
				if (sideStatuses(copy).get(sideId) === 'closed') setSideStatus(copy, sideId, 'open');
			});
			return true;
		});
	}

	/**
	 * Makes `change` on a copy of the document as this process's writer, logs the difference, then
	 * applies it: a server-side write of anything besides conversation appends. Call it in the
	 * ticket's turn (`writing`).
	 */
	private commitAsServer(ticketId: string, doc: Y.Doc, actor: string, change: (copy: Y.Doc) => void, entries?: Entry[]): Promise<void> {
		const copy = this.copyFor(doc);
		copy.transact(() => change(copy));
		return this.documents.commit(ticketId, doc, Y.encodeStateAsUpdate(copy, Y.encodeStateVector(doc)), actor, entries);
	}

	/**
	 * Runs a server-side write of a ticket in its turn: in this process one at a time per ticket,
	 * each deciding on the document as the one before left it (whether an entry or side
	 * conversation id is taken; where this process's writer appends next). A write's log append
	 * awaits the store, and the document changes only once it is stored.
	 */
	private writing<T>(ticketId: string, use: (doc: Y.Doc) => Promise<T>): Promise<T> {
		const turn = (this.writes.get(ticketId) ?? Promise.resolve()).then(() => this.documents.withDocument(ticketId, use));
		const done = turn.catch(() => {});
		this.writes.set(ticketId, done);
		void done.then(() => {
			if (this.writes.get(ticketId) === done) this.writes.delete(ticketId);
		});
		return turn;
	}

	/**
	 * Creates a child ticket of `parentId` exactly once per `input.id`: the child records its parent
	 * (`parentId`), and the parent a side conversation of channel `child` naming it, written in the
	 * same transaction. Only an agent (or admin) who may write the parent creates one; the group and
	 * assignee follow the rules of moving and assigning a ticket.
	 */
	async createChild(parentId: string, input: NewChildTicket, principal: Principal): Promise<{ child: LinkedTicket; created: boolean }> {
		const parent = await this.readable(parentId, principal);
		if (principal.kind !== 'user' || ticketAccess(principal, parent) !== 'write') throw forbidden('only an agent who may write this ticket creates a child ticket');
		// In the parent's turn: of concurrent requests with one id, the first creates the child and
		// the others find its link.
		const { childId, created } = await this.writing(parentId, async (doc) => {
			const side = readSides(doc).find((s) => s.id === input.id);
			if (side?.childId) return { childId: side.childId, created: false };
			if (side) throw new ApiError(409, 'id_taken', `id: ${input.id} is a side conversation of another kind`, 'id');
			// The link is a side conversation: the parent's cap on them holds for the server's writes too.
			if (readSides(doc).length >= LIMITS.sidesPerTicket) throw new ApiError(409, 'limit_exceeded', limitMessage('sidesPerTicket', 'side conversations per ticket:'));
			const policy = this.policyFor(principal, doc);
			const groupId = input.groupId === undefined ? parent.groupId : input.groupId;
			const assigneeId = input.assigneeId ?? null;
			for (const [name, value] of [['groupId', groupId], ['assigneeId', assigneeId]] as const) {
				const denied = policy.fieldAllowed(name, value);
				if (denied) throw new ApiError(400, 'invalid_field', `${name}: ${denied}`, name);
			}
			const requesterId = input.requester ? (await this.customers.findOrCreate('email', input.requester.email, input.requester.name)).id : parent.requesterId;
			const now = Date.now();
			const note: Entry = { id: newId(), kind: 'note', channel: 'internal', visibility: 'internal', authorType: 'agent', authorId: principal.id, body: input.body, createdAt: now };
			const child = await this.record(
				{
					fields: { subject: input.subject, status: 'open', priority: parent.priority as Priority, assigneeId, groupId, requesterId, channel: parent.channel as Channel, parentId, createdAt: now, tags: [] },
					entries: [note]
				},
				principal,
				async (id) => {
					// The link in the parent names the child by number only: whoever sees the parent learns no more.
					const number = (await this.index.get(id))?.number;
					await this.commitAsServer(parentId, doc, actorOf(principal), (copy) =>
						openSide(copy, { id: input.id, subject: number ? `Child ticket #${number}` : 'Child ticket', channel: 'child', createdBy: principal.id, createdAt: now, participants: [], childId: id })
					);
				}
			);
			return { childId: child.id, created: true };
		});
		return { child: await this.linked(childId, principal), created };
	}

	/**
	 * Tells each parent when its child is solved or closed, and when it is reopened: an event entry
	 * in the child's side conversation in the parent, written when the child's index row changes.
	 * Returns the stop.
	 */
	followChildren(onError: (error: unknown, ticketId: string) => void): () => void {
		return this.index.onChange((row) => {
			if (row.parentId) this.noteChildStatus(row, row.parentId).catch((error: unknown) => onError(error, row.parentId!));
		});
	}

	private noteChildStatus(child: TicketRow, parentId: string): Promise<void> {
		const done = DONE_STATUSES.includes(child.status);
		return this.writing(parentId, async (doc) => {
			const side = readSides(doc).find((s) => s.childId === child.id);
			if (!side) return;
			// The last such entry says what the parent was told: one entry per change, however often the child's row is written.
			const told = side.entries.findLast((e) => e.kind === 'event' && typeof e.meta?.childStatus === 'string')?.meta?.childStatus as string | undefined;
			if (done === DONE_STATUSES.includes(told ?? 'open')) return;
			const entry: Entry = {
				id: newId(),
				kind: 'event',
				channel: 'internal',
				visibility: 'internal',
				authorType: 'system',
				authorId: 'system',
				body: `Child ticket #${child.number ?? '?'} was ${done ? child.status : 'reopened'}.`,
				createdAt: Date.now(),
				meta: { childStatus: child.status }
			};
			await this.commitAsServer(parentId, doc, 'system', (copy) => appendSideEntry(copy, side.id, entry));
		});
	}

	/**
	 * Merges ticket `sourceId` into `targetId` as `principal`, an agent or admin who may write both
	 * (a bulk merge calls this per ticket). The target gets the source's conversation (copies in
	 * time order, with their authors, under ids of their own, `meta.mergedFrom` saying where each
	 * came from), side conversations, drafts (carryDrafts: none lost, none overwritten), the
	 * source's requester as a CC when they differ, its parent when it has none, and a note "Merged
	 * from #B"; the source is closed with a note "Merged into #A" and `mergedIntoId`, and its
	 * children become the target's. Refused as a whole past any of the target's caps. Exactly once:
	 * decided in one transaction holding both tickets' index rows, locked in id order, which
	 * refuses a ticket merged meanwhile either way round (409 already_merged); both documents'
	 * changes are logged in it and applied once it commits.
	 */
	async merge(targetId: string, sourceId: string, principal: Principal): Promise<{ target: TicketRow; source: TicketRow }> {
		if (targetId === sourceId) throw new ApiError(400, 'invalid_field', 'sourceId: a ticket cannot be merged into itself', 'sourceId');
		const rows = [await this.readable(targetId, principal), await this.readable(sourceId, principal)] as const;
		this.mayRestructure(principal, rows[0], 'merges tickets');
		this.mayRestructure(principal, rows[1], 'merges tickets');
		refuseMerged(rows);
		const agent = principal;
		const [first, second] = [targetId, sourceId].sort();
		const merged = await this.writing(first!, (firstDoc) =>
			this.writing(second!, (secondDoc) => {
				const [targetDoc, sourceDoc] = first === targetId ? [firstDoc, secondDoc] : [secondDoc, firstDoc];
				return this.mergeDocuments({ id: targetId, doc: targetDoc, row: rows[0] }, { id: sourceId, doc: sourceDoc, row: rows[1] }, agent);
			})
		);
		for (const child of await this.index.childrenOf(sourceId)) {
			if (child.id === targetId) continue;
			await this.writeFields(child.id, { parentId: targetId }, SYSTEM);
			// Families are read from the index: the target lists its new children at once.
			await this.documents.withDocument(child.id, (doc) => this.index.project(child.id, doc));
		}
		return merged;
	}

	private async mergeDocuments(target: MergeSide, source: MergeSide, principal: UserPrincipal): Promise<{ target: TicketRow; source: TicketRow }> {
		const now = Date.now();
		const actor = actorOf(principal);
		const origin: CopyOrigin = { key: 'mergedFrom', ticketId: source.id, number: source.row.number };
		const targetFields = readFields(target.doc);
		const sourceFields = readFields(source.doc);
		// Merged meanwhile by this process (the rows were read before this turn); another's merge is caught in the transaction.
		refuseMerged([{ ...target.row, mergedIntoId: targetFields.mergedIntoId }, { ...source.row, mergedIntoId: sourceFields.mergedIntoId }]);
		const requesterEmail = sourceFields.requesterId === targetFields.requesterId ? null : await this.emailOf(sourceFields.requesterId);
		const targetCopy = this.copyFor(target.doc);
		const sourceCopy = this.copyFor(source.doc);
		copying(() =>
			targetCopy.transact(() => {
				absorb(targetCopy, source.doc, (id) => `merged.${sha256(`${source.id} ${id}`).slice(0, 40)}`, origin);
				appendEntry(targetCopy, systemNote(`Merged from ${ticketName(source.row)} by ${principal.name}.`, now, { merge: { from: source.id, number: source.row.number } }));
				// Whoever the source copied, and its requester: as many as a reply's CC holds.
				const copies = [...(targetFields.cc ?? [])];
				for (const address of [...(sourceFields.cc ?? []), ...(requesterEmail ? [requesterEmail] : [])]) {
					const fits = copies.length < MAX_RECIPIENTS && [...copies, address].join(', ').length <= MAX_RECIPIENT_LIST_LENGTH;
					if (fits && !copies.some((a) => a.toLowerCase() === address.toLowerCase())) copies.push(address);
				}
				if (copies.length > (targetFields.cc ?? []).length) setField(targetCopy, 'cc', copies);
				if (sourceFields.parentId && !targetFields.parentId && sourceFields.parentId !== target.id) setField(targetCopy, 'parentId', sourceFields.parentId);
			})
		);
		const breach = mergeBreach(target.doc, targetCopy);
		if (breach) throw new ApiError(409, 'limit_exceeded', `${ticketName(target.row)} cannot take ${ticketName(source.row)}: ${breach}`);
		sourceCopy.transact(() => {
			appendEntry(sourceCopy, systemNote(`Merged into ${ticketName(target.row)} by ${principal.name}.`, now, { merge: { into: target.id, number: target.row.number } }));
			setField(sourceCopy, 'mergedIntoId', target.id);
			if (sourceFields.status !== 'closed') setField(sourceCopy, 'status', 'closed');
		});
		const newEntryIds = [...entryIndex(targetCopy).byId.keys()].filter((id) => !entryIndex(target.doc).byId.has(id));
		const { tickets } = this.store.tables;
		return this.index.transaction(async () => {
			const ids = [target.id, source.id].sort();
			for (const id of ids) await this.store.lock(this.store.db, tickets, eq(tickets.id, id));
			const rows = await Promise.all([target.id, source.id].map(async (id) => (await this.index.get(id))!));
			refuseMerged(rows);
			const targetRow = await this.index.project(target.id, targetCopy, actor, now);
			const sourceRow = await this.index.project(source.id, sourceCopy, actor, now);
			await this.eventLog.recordMany([
				{ ticketId: target.id, actor, type: 'ticket.merged', data: { from: source.id, entries: newEntryIds.length }, createdAt: now },
				{ ticketId: source.id, actor, type: 'ticket.merged', data: { into: target.id }, createdAt: now }
			]);
			await this.log.claimEntryIds(target.id, newEntryIds);
			for (const id of ids) {
				const { doc, copy } = id === target.id ? { doc: target.doc, copy: targetCopy } : { doc: source.doc, copy: sourceCopy };
				await this.documents.commit(id, doc, Y.encodeStateAsUpdate(copy, Y.encodeStateVector(doc)), actor);
			}
			return { target: targetRow, source: sourceRow };
		});
	}

	/**
	 * Starts a new ticket from entries of ticket `ticketId`, as `principal` (an agent or admin who
	 * may write it): copies with their authors and times (`meta.splitFrom`), the same requester,
	 * channel, group, assignee and priority, the subject given or the first entry's words. The
	 * entries stay in the ticket (a document's history cannot lose them); it gets a note "Split
	 * into #B" in the transaction that creates B, and B one "Split from #A". Returns B's row.
	 */
	/**
	 * Starts a new ticket from entries of `ticketId`. With `request.id`, exactly once: a retry finds
	 * the note of the split it made (`created: false`); an id any other ticket has is refused.
	 */
	async split(ticketId: string, request: SplitRequest, principal: Principal): Promise<{ row: TicketRow; created: boolean }> {
		const row = await this.readable(ticketId, principal);
		this.mayRestructure(principal, row, 'splits tickets');
		refuseMerged([row]);
		const { name } = principal;
		return this.writing(ticketId, async (doc) => {
			const made = request.id && readEntries(doc).some((entry) => (entry.meta?.split as { into?: string } | undefined)?.into === request.id);
			if (made) return { row: (await this.index.get(request.id!))!, created: false };
			refuseMerged([{ ...row, mergedIntoId: readFields(doc).mergedIntoId }]);
			const conversation = new Map(readEntries(doc).map((entry) => [entry.id, entry]));
			const chosen = request.entryIds.map((id, i) => {
				const entry = conversation.get(id);
				if (!entry) throw new ApiError(400, 'invalid_field', `entryIds.${i}: the conversation has no entry ${id}`, `entryIds.${i}`);
				if (entry.kind === 'event') throw new ApiError(400, 'invalid_field', `entryIds.${i}: events are the ticket's own history and stay with it`, `entryIds.${i}`);
				return entry;
			});
			chosen.sort(compareEntries);
			const fields = readFields(doc);
			const now = Date.now();
			const origin: CopyOrigin = { key: 'splitFrom', ticketId, number: row.number };
			const entries = copying(() => chosen.map((entry) => entrySchema.parse(copiedEntry(entry, entry.id, origin))));
			const created = await this.record(
				{
					id: request.id,
					fields: { subject: request.subject ?? subjectFrom(chosen[0]!.body), status: 'open', priority: fields.priority, assigneeId: fields.assigneeId, groupId: fields.groupId, requesterId: fields.requesterId, channel: fields.channel, createdAt: now, tags: [] },
					entries: [...entries, systemNote(`Split from ${ticketName(row)} by ${name}.`, now, { split: { from: ticketId, number: row.number } })]
				},
				principal,
				async (newId) => {
					const number = (await this.index.get(newId))?.number ?? null;
					const note = systemNote(`Split into ${ticketName({ number })} by ${name}.`, now, { split: { into: newId, number } });
					await this.commitAsServer(ticketId, doc, actorOf(principal), (copy) => appendEntry(copy, note));
					await this.eventLog.record({ ticketId, actor: actorOf(principal), type: 'ticket.split', data: { into: newId, entries: entries.length }, createdAt: now });
				}
			);
			return { row: (await this.index.get(created.id))!, created: true };
		});
	}

	/** Where what channels deliver to ticket `ticketId` belongs: the ticket it was merged into, if it was (see TicketIndex.mergeTarget). */
	mergeTarget(ticketId: string): Promise<string> {
		return this.index.mergeTarget(ticketId);
	}

	/** Refuses (403) anyone but an agent or admin who may write `row`: merging and splitting change two tickets at once. */
	private mayRestructure(principal: Principal, row: TicketRow, what: string): asserts principal is UserPrincipal {
		if (principal.kind !== 'user' || ticketAccess(principal, row) !== 'write') throw forbidden(`only an agent who may write ${ticketName(row)} ${what}`);
	}

	/** A customer's first email address, if they have one. */
	private async emailOf(customerId: string): Promise<string | null> {
		return (await this.customers.get(customerId))?.addresses.find((a) => a.channel === 'email')?.address ?? null;
	}

	/** A copy of `doc` to make a server-side change on, as this process's writer of it. */
	private copyFor(doc: Y.Doc): Y.Doc {
		const copy = new Y.Doc();
		copy.clientID = this.writerFor(doc);
		Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
		return copy;
	}

	/** A ticket's parent and children as `principal` may know them (see LinkedTicket). */
	async family(ticketId: string, principal: Principal): Promise<TicketFamily> {
		const row = await this.readable(ticketId, principal);
		const children = await Promise.all((await this.index.childrenOf(ticketId)).map((child) => this.linked(child.id, principal)));
		return { parent: row.parentId ? await this.linked(row.parentId, principal) : null, children };
	}

	private async linked(ticketId: string, principal: Principal): Promise<LinkedTicket> {
		const row = await this.index.get(ticketId);
		if (!row || !ticketAccess(principal, row)) return { id: ticketId, number: row?.number ?? null, visible: false };
		const latest = await this.documents.withDocument(ticketId, (doc) => readEntries(doc).findLast((e) => e.kind === 'message' || e.kind === 'note') ?? null);
		return {
			id: ticketId,
			number: row.number,
			visible: true,
			subject: row.subject,
			status: row.status as Status,
			latest: latest && { body: latest.body.slice(0, LINKED_PREVIEW_CHARS), authorType: latest.authorType, authorId: latest.authorId, createdAt: latest.createdAt }
		};
	}

	async read(ticketId: string, principal: Principal): Promise<TicketDetail> {
		const row = await this.readable(ticketId, principal);
		return this.documents.withDocument(ticketId, (doc) => this.detail(row, doc));
	}

	list(
		query: { view?: ViewId; status?: string; assignee?: string; group?: string; q?: string; sort?: TicketSort; limit: number; cursor?: string },
		principal: Principal
	) {
		return this.index.list({
			viewer: principal,
			view: query.view,
			status: query.status,
			assigneeId: query.assignee,
			groupId: query.group,
			q: query.q,
			sort: query.sort ?? 'updated',
			limit: query.limit,
			cursor: query.cursor
		});
	}

	/** The workspace views with how many tickets each holds for `principal`. */
	async views(principal: Principal): Promise<{ id: ViewId; name: string; description: string; count: number }[]> {
		const counts = await this.index.countViews(principal);
		return VIEW_IDS.map((id) => ({ id, name: VIEW_NAMES[id], description: VIEW_DESCRIPTIONS[id], count: counts[id] }));
	}

	/** A customer, their addresses and the tickets of theirs `principal` may see, most recently updated first. */
	async customerContext(customerId: string, principal: Principal) {
		const customer = await this.customers.visibleTo(customerId, principal);
		return { ...customer, tickets: await this.index.ofRequester(customerId, principal, CUSTOMER_TICKETS_LIMIT) };
	}

	/**
	 * Calls `listener` with the index row of every ticket written from now on (on any node) that
	 * `principal` may see, once stored. Returns the unsubscribe function.
	 */
	watch(principal: Principal, listener: (row: TicketRow) => void): () => void {
		return this.index.feed.watch((row) => {
			if (ticketAccess(principal, row)) listener(row);
		});
	}

	async events(ticketId: string, principal: Principal, after = 0) {
		await this.readable(ticketId, principal);
		return await this.eventLog.forTicket(ticketId, after);
	}

	/** Stores a file to attach to an entry of a ticket the principal may write (see Attachments.upload). */
	async upload(ticketId: string, input: Parameters<Attachments['upload']>[2], principal: Principal): Promise<Attachment> {
		const row = await this.readable(ticketId, principal);
		if (ticketAccess(principal, row) !== 'write') throw forbidden('you may not write to this ticket');
		return this.attachments.upload(ticketId, actorOf(principal), input);
	}

	/** The attachment limits and what the ticket's uploads take so far, for a principal who may see the ticket. */
	async attachmentUsage(ticketId: string, principal: Principal) {
		await this.readable(ticketId, principal);
		return this.attachments.usage(ticketId);
	}

	/**
	 * The attachment `sha256` as an entry of the ticket lists it, for a principal who may see that
	 * entry (whoever may open a ticket sees all its entries, internal notes included); 404 otherwise.
	 */
	async attachment(ticketId: string, sha256: string, principal: Principal): Promise<Attachment> {
		await this.readable(ticketId, principal);
		const listed = await this.documents.withDocument(ticketId, (doc) =>
			readEntries(doc)
				.flatMap(listedAttachments)
				.find((a) => a.sha256 === sha256)
		);
		if (!listed) throw notFound('attachment');
		return listed;
	}

	/** Delivery state of the ticket's outbound messages (the outbox), by entry id. */
	async deliveries(ticketId: string, principal: Principal): Promise<Record<string, Delivery>> {
		await this.readable(ticketId, principal);
		const { outbox } = this.store.tables;
		const rows = await this.store.db.select().from(outbox).where(eq(outbox.ticketId, ticketId));
		const deliveries: Record<string, Delivery> = {};
		for (const row of rows) {
			const delivery: Delivery = { status: row.status, attempts: row.attempts };
			if (row.lastError) delivery.lastError = row.lastError;
			if (row.sentAt) delivery.sentAt = row.sentAt;
			deliveries[row.entryId] = delivery;
		}
		return deliveries;
	}

	private async readable(ticketId: string, principal: Principal): Promise<TicketRow> {
		const row = await this.index.get(ticketId);
		// A ticket the caller may not see is reported as missing: its existence is not disclosed.
		if (!row || !ticketAccess(principal, row)) throw notFound('ticket');
		return row;
	}

	/** The write policy on `doc`; entries may list attachments only when the ticket's `uploads` are given. */
	private policyFor(principal: Principal, doc: Y.Doc, uploads?: Uploads) {
		return writePolicy(principal, {
			requesterId: () => readFields(doc).requesterId,
			scope: () => readFields(doc),
			directory: this.accounts,
			attachmentsRefused: uploads && ((entry) => this.attachments.refused(uploads, entry))
		});
	}

	/** Fills in what a writer may leave out: id, time, author, direction. */
	private complete(input: EntryInput, principal: Principal, doc: Y.Doc): Entry {
		const now = Date.now();
		const createdAt = input.createdAt ?? now;
		if (createdAt < now - ENTRY_TIME_WINDOW.pastMs || createdAt > now + ENTRY_TIME_WINDOW.futureMs) {
			throw new ApiError(400, 'invalid_field', 'createdAt must lie within the last 24 hours', 'createdAt');
		}
		const authorType = input.authorType ?? (principal.kind === 'user' ? 'agent' : principal.kind === 'bot' ? 'bot' : 'system');
		const authorId =
			input.authorId ??
			(authorType === 'customer' ? readFields(doc).requesterId : principal.kind === 'system' ? 'system' : principal.id);
		const visibility = input.kind === 'note' ? 'internal' : input.visibility;
		const direction =
			input.direction ?? (visibility === 'internal' || input.kind !== 'message' ? undefined : authorType === 'customer' ? 'in' : 'out');
		const entry: Entry = {
			id: input.id ?? newId(),
			kind: input.kind,
			channel: input.channel,
			visibility,
			authorType,
			authorId,
			body: input.body,
			createdAt
		};
		if (direction) entry.direction = direction;
		if (input.meta) entry.meta = input.meta;
		return entry;
	}

	private writerFor(doc: Y.Doc): number {
		let id = this.writers.get(doc);
		if (id === undefined) {
			// A client id of its own, never the document's: Yjs re-keys a document that receives
			// an update carrying its own client id.
			do id = (Math.random() * 0xffffffff) >>> 0;
			while (id === doc.clientID || doc.store.clients.has(id));
			this.writers.set(doc, id);
		}
		return id;
	}

	/** The ticket as the API shows it: the document's fields, with the number and time from its index row. */
	private detail(row: TicketRow, doc: Y.Doc): TicketDetail {
		const { id, number, updatedAt } = row;
		return { id, ...readFields(doc), number, entryCount: entryIndex(doc).count, updatedAt, entries: readEntries(doc) };
	}
}
