/**
 * One open ticket in the browser: its Yjs document synced through the shared connection, and
 * reactive views of it for the components. Every read and write goes through the ticket module.
 */
import { HocuspocusProvider } from '@hocuspocus/provider';
import * as Y from 'yjs';
import {
	addDraftAuthor,
	addTag,
	addSideParticipants,
	appendSideEntry,
	applyStagedNow,
	compareEntries,
	draftText,
	entryIndex,
	findDraftText,
	mergeDraft,
	newId,
	openSide,
	readDrafts,
	readEntries,
	readFields,
	readSides,
	removeTag,
	sendDraft,
	setDraftOptions,
	setDraftRecipientText,
	setField,
	setCustomValues,
	missingFieldsMessage,
	type CustomValue,
	type FieldRules,
	setSideStatus,
	stageChanges,
	ticketDocumentName,
	unstageChange,
	type DraftInfo,
	type DraftOptions,
	type Entry,
	type SendOptions,
	type RecipientField,
	type SideConversation,
	type StagedChange,
	type StagedChanges,
	type TicketFieldName,
	type Status,
	type TicketFields
} from '$lib/ticket';
import type { VisitorAwareness } from '$lib/api/chat';
import type { CollabConnection } from './connection.svelte';

export interface Me {
	id: string;
	name: string;
	role: 'admin' | 'supervisor' | 'agent';
}

/** What a peer publishes about itself; `user` is set by the server from the connection. */
export interface PresenceState {
	clientId: number;
	user: { id: string; name: string; color: string; role: string; readOnly: boolean } | null;
	/** The draft this peer is typing in, if any. */
	typing: string | null;
	typingVisibility: 'public' | 'internal' | null;
}

/** Delivery state of an outbound message (GET /api/v1/tickets/:id/deliveries). */
export interface Delivery {
	status: 'queued' | 'sent' | 'failed';
	attempts: number;
	lastError?: string;
	sentAt?: number;
}

/** How long entry changes settle before deliveries are fetched again; how often while some are queued. */
const DELIVERIES_DEBOUNCE_MS = 500;
const DELIVERIES_POLL_MS = 3000;
/** How long an outbound email seen arriving is looked for in the deliveries before giving up. */
const DELIVERY_AWAIT_MS = 2 * 60_000;

/** Solving refused here: the ticket's form needs fields still empty (the message names them). */
export class RequiredFieldsError extends Error {
	override readonly name = 'RequiredFieldsError';
}

export class TicketSession {
	readonly doc = new Y.Doc();
	readonly provider: HocuspocusProvider;

	fields = $state<TicketFields | null>(null);
	entries = $state.raw<Entry[]>([]);
	sides = $state.raw<SideConversation[]>([]);
	drafts = $state.raw<DraftInfo[]>([]);
	presence = $state.raw<PresenceState[]>([]);
	synced = $state(false);
	readOnly = $state(false);
	/** The custom field definitions (loaded by the header's editor): what solving needs, said before the server would refuse it. */
	fieldRules = $state.raw<FieldRules | null>(null);
	/** Why the server closed or refused this ticket, if it did. */
	refusal = $state<string | null>(null);
	/** Local changes the server has not acknowledged yet. */
	unsynced = $state(0);
	/** Outbound messages' delivery state by entry id. */
	deliveries = $state.raw<Record<string, Delivery>>({});
	/** A chat visitor, as the server publishes them in the document's awareness while it knows. */
	visitor = $state.raw<VisitorAwareness | null>(null);

	private refreshQueued = false;
	private deliveriesTimer: ReturnType<typeof setTimeout> | null = null;
	/**
	 * Outbound emails added while the ticket is open, by when they were seen: a fetch made before
	 * the server stored one (a slow acknowledgement) does not list it yet, so it is looked for again.
	 */
	private readonly awaitingDelivery = new Map<string, number>();
	private destroyed = false;

	constructor(
		readonly ticketId: string,
		connection: CollabConnection,
		readonly me: Me,
		/** Told the subject whenever it changes (tab titles). */
		private readonly onSubject: (subject: string) => void = () => {}
	) {
		this.provider = new HocuspocusProvider({
			websocketProvider: connection.socket,
			name: ticketDocumentName(ticketId),
			document: this.doc,
			// The session cookie authenticates the socket: the token the provider sends must be empty
			// (the server reads any non-empty token as an API or session token, and refuses 'cookie').
			token: '',
			onAuthenticated: ({ scope }) => (this.readOnly = scope === 'readonly'),
			onAuthenticationFailed: ({ reason }) => (this.refusal = reason),
			onClose: ({ event }) => {
				if (event?.reason && event.reason !== 'Server closed the connection') this.refusal = event.reason;
			},
			onSynced: () => {
				this.synced = true;
				this.refusal = null;
				this.entries = readEntries(this.doc);
				this.refresh();
				void this.loadDeliveries();
			},
			onUnsyncedChanges: ({ number }) => (this.unsynced = number)
		});
		this.provider.attach();
		this.doc.on('update', () => this.queueRefresh());
		entryIndex(this.doc).listeners.add((added, place) => {
			if (this.synced) {
				// Side conversations' outgoing emails are delivered like replies.
				if (place === 'conversation') this.entries = insertSorted(this.entries, added);
				for (const entry of added) {
					if (entry.kind === 'message' && entry.channel === 'email' && entry.direction === 'out') this.awaitingDelivery.set(entry.id, Date.now());
				}
				this.loadDeliveriesSoon(DELIVERIES_DEBOUNCE_MS);
			}
		});
		this.provider.awareness?.on('change', () => this.refreshPresence());
		this.provider.awareness?.setLocalState({ typing: null, typingVisibility: null });
	}

	// --- reading --------------------------------------------------------------------------------

	/** Shows the newest entries the page was served with until the document has synced. */
	preload(entries: Entry[]) {
		if (!this.synced && this.entries.length === 0) this.entries = entries;
	}

	private queueRefresh() {
		if (this.refreshQueued) return;
		this.refreshQueued = true;
		queueMicrotask(() => {
			this.refreshQueued = false;
			this.refresh();
		});
	}

	private refresh() {
		const subject = this.fields?.subject;
		this.fields = readFields(this.doc);
		if (this.fields.subject && this.fields.subject !== subject) this.onSubject(this.fields.subject);
		this.sides = readSides(this.doc);
		this.drafts = readDrafts(this.doc);
	}

	private loadDeliveriesSoon(delayMs: number) {
		if (this.deliveriesTimer) clearTimeout(this.deliveriesTimer);
		this.deliveriesTimer = setTimeout(() => void this.loadDeliveries(), delayMs);
	}

	private async loadDeliveries() {
		if (this.deliveriesTimer) clearTimeout(this.deliveriesTimer);
		this.deliveriesTimer = null;
		try {
			const response = await fetch(`/api/v1/tickets/${encodeURIComponent(this.ticketId)}/deliveries`, { headers: { accept: 'application/json' } });
			if (!response.ok || this.destroyed) return;
			this.deliveries = ((await response.json()) as { deliveries: Record<string, Delivery> }).deliveries;
		} catch {
			return; // offline: the next change or poll tries again
		}
		// Messages still queued, or not listed yet: look again until they are sent or failed.
		for (const [id, seenAt] of this.awaitingDelivery) {
			const status = this.deliveries[id]?.status;
			if ((status && status !== 'queued') || Date.now() - seenAt > DELIVERY_AWAIT_MS) this.awaitingDelivery.delete(id);
		}
		const pending = this.awaitingDelivery.size > 0 || Object.values(this.deliveries).some((d) => d.status === 'queued');
		if (!this.destroyed && !this.deliveriesTimer && pending) this.loadDeliveriesSoon(DELIVERIES_POLL_MS);
	}

	private refreshPresence() {
		const states = this.provider.awareness?.getStates() ?? new Map();
		const mine = this.provider.awareness?.clientID;
		this.presence = [...states.entries()]
			.filter(([clientId, state]) => clientId !== mine && state.user)
			.map(([clientId, state]) => ({
				clientId,
				user: state.user,
				typing: state.typing ?? null,
				typingVisibility: state.typingVisibility ?? null
			}));
		// The server publishes the visitor as itself, the one state without the `user` it stamps on
		// every peer's (and it drops a `visitor` a peer publishes).
		const visitor = [...states.values()].find((state) => !('user' in state) && state.visitor)?.visitor as VisitorAwareness | undefined;
		if (JSON.stringify(visitor ?? null) !== JSON.stringify(this.visitor)) this.visitor = visitor ?? null;
	}

	/** Colleagues with the ticket open, one per user (a user may have several tabs). */
	get viewers(): PresenceState[] {
		const seen = new Map<string, PresenceState>();
		for (const p of this.presence) {
			const existing = seen.get(p.user!.id);
			if (!existing || (!existing.typing && p.typing)) seen.set(p.user!.id, p);
		}
		return [...seen.values()].filter((p) => p.user!.id !== this.me.id);
	}

	// --- writing --------------------------------------------------------------------------------

	setField<K extends TicketFieldName>(name: K, value: TicketFields[K]) {
		if (this.readOnly) return;
		if (name === 'status') this.checkSolvable(value as Status);
		setField(this.doc, name, value);
	}

	/**
	 * Throws RequiredFieldsError when `status` is solved and the ticket's form needs fields still
	 * empty: the server would refuse the update and close the document.
	 */
	checkSolvable(status: Status | undefined) {
		if (status !== 'solved' || !this.fieldRules) return;
		const fields = readFields(this.doc);
		const missing = this.fieldRules.missingOnSolve(fields.formId, fields.custom ?? {});
		if (missing.length) throw new RequiredFieldsError(missingFieldsMessage(missing));
	}

	/** Writes custom field values, checked by `rules` first (throws with the reason when one is refused). */
	setCustomValues(values: Record<string, CustomValue>, rules: FieldRules) {
		if (!this.readOnly) setCustomValues(this.doc, values, rules);
	}

	addTag(tag: string) {
		if (!this.readOnly && tag.trim()) addTag(this.doc, tag);
	}

	removeTag(tag: string) {
		if (!this.readOnly) removeTag(this.doc, tag);
	}

	/** The draft the composer edits for this visibility: the newest shared one, or a new one. */
	currentDraft(visibility: 'public' | 'internal'): DraftInfo | undefined {
		return this.drafts.filter((d) => d.visibility === visibility).at(-1);
	}

	draftText(draftId: string, options: DraftOptions): Y.Text {
		return draftText(this.doc, draftId, options);
	}

	/** An existing draft's shared text, or null (never creates a draft: safe when read-only). */
	existingDraftText(draftId: string): Y.Text | null {
		return findDraftText(this.doc, draftId);
	}

	/** Folds a draft into another (two agents started one at once): nothing written is lost. */
	mergeDraft(fromId: string, intoId: string) {
		if (!this.readOnly) mergeDraft(this.doc, fromId, intoId);
	}

	setDraftOptions(draftId: string, options: Partial<DraftOptions>) {
		if (!this.readOnly) setDraftOptions(this.doc, draftId, options);
	}

	setDraftRecipients(draftId: string, field: RecipientField, text: string) {
		if (!this.readOnly) setDraftRecipientText(this.doc, draftId, field, text);
	}

	markTyping(draftId: string | null, visibility: 'public' | 'internal' | null = null) {
		if (this.readOnly) return;
		const awareness = this.provider.awareness;
		if (!awareness) return;
		const current = awareness.getLocalState() ?? {};
		if (current.typing === draftId && current.typingVisibility === visibility) return;
		awareness.setLocalState({ ...current, typing: draftId, typingVisibility: visibility });
		if (draftId) addDraftAuthor(this.doc, draftId, this.me.id);
	}

	/** Why sending this draft deserves a second look, if it does (the agent can still send). */
	collisions(draft: DraftInfo): string[] {
		if (draft.visibility !== 'public') return [];
		const reasons: string[] = [];
		// Colleagues typing a public reply right now: in another draft, or in this one (sending
		// would cut them off mid-sentence).
		const typing = this.viewers.filter((p) => p.typing && p.typingVisibility === 'public');
		const names = (list: PresenceState[]) => `${list.map((p) => p.user!.name).join(', ')} ${list.length > 1 ? 'are' : 'is'}`;
		const here = typing.filter((p) => p.typing === draft.id);
		const elsewhere = typing.filter((p) => p.typing !== draft.id);
		if (here.length) reasons.push(`${names(here)} also writing in this reply right now.`);
		if (elsewhere.length) reasons.push(`${names(elsewhere)} also writing a public reply.`);
		const arrived = this.arrivedSince(draft).length;
		if (arrived) reasons.push(`${arrived} new customer message${arrived > 1 ? 's' : ''} arrived since you started this reply.`);
		return reasons;
	}

	/** Stages ticket changes with a draft; they apply when it is sent (or with applyStaged). */
	stage(draftId: string, changes: StagedChanges) {
		if (!this.readOnly) stageChanges(this.doc, draftId, changes);
	}

	unstage(draftId: string, change: StagedChange) {
		if (!this.readOnly) unstageChange(this.doc, draftId, change);
	}

	/** Applies a draft's staged changes to the ticket now ("Apply now"). */
	applyStaged(draftId: string) {
		if (this.readOnly) return;
		this.checkSolvable(readDrafts(this.doc).find((d) => d.id === draftId)?.staged.status);
		applyStagedNow(this.doc, draftId);
	}

	/** Customer messages that arrived after the draft was started, oldest first. */
	arrivedSince(draft: Pick<DraftInfo, 'createdAt'>): Entry[] {
		return this.entries.filter((e) => e.direction === 'in' && e.createdAt > draft.createdAt);
	}

	/**
	 * Sends a draft with its staged changes, and `alsoSet` ("Send and set Solved"), in one update;
	 * `meta` goes on the entry (its attachments).
	 */
	send(draftId: string, options: SendOptions = {}): Entry | null {
		if (this.readOnly) return null;
		this.checkSolvable(options.alsoSet?.status ?? readDrafts(this.doc).find((d) => d.id === draftId)?.staged.status);
		const sent = sendDraft(this.doc, draftId, { type: 'agent', id: this.me.id }, Date.now(), options);
		if (sent) this.markTyping(null);
		return sent;
	}

	openSide(subject: string, channel: SideConversation['channel'], participants: string[]): string {
		const id = newId();
		openSide(this.doc, { id, subject, channel, participants, createdBy: this.me.id, createdAt: Date.now() });
		return id;
	}

	/** Writes in a side conversation; `mentions` (colleagues' ids) go with a message of an internal one only. */
	replyInSide(sideId: string, body: string, mentions: readonly string[] = []) {
		const side = this.sides.find((s) => s.id === sideId) ?? readSides(this.doc).find((s) => s.id === sideId);
		if (this.readOnly || !side || !body.trim()) return;
		appendSideEntry(this.doc, sideId, {
			...(side.channel === 'internal' && mentions.length ? { meta: { mentions: [...mentions] } } : {}),
			id: newId(),
			kind: side.channel === 'email' ? 'message' : 'note',
			channel: side.channel === 'email' ? 'email' : 'internal',
			...(side.channel === 'email' ? { direction: 'out' as const } : {}),
			visibility: 'internal',
			authorType: 'agent',
			authorId: this.me.id,
			body: body.trim(),
			createdAt: Date.now()
		});
	}

	addSideParticipants(sideId: string, participants: string[]) {
		if (!this.readOnly) addSideParticipants(this.doc, sideId, participants);
	}

	setSideStatus(sideId: string, status: 'open' | 'closed') {
		if (!this.readOnly) setSideStatus(this.doc, sideId, status);
	}

	destroy() {
		this.destroyed = true;
		if (this.deliveriesTimer) clearTimeout(this.deliveriesTimer);
		this.provider.destroy();
		this.doc.destroy();
	}
}

/** Inserts entries into a display-ordered list; appends at the end cost nothing to place. */
function insertSorted(list: Entry[], added: Entry[]): Entry[] {
	const next = list.slice();
	for (const entry of added) {
		let i = next.length;
		while (i > 0 && compareEntries(next[i - 1], entry) > 0) i--;
		next.splice(i, 0, entry);
	}
	return next;
}
