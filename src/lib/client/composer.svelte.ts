/**
 * The reply composer's state: which shared draft it edits, its mode and channel, the CodeMirror
 * editor bound to the draft's Y.Text (y-codemirror.next), typing presence and sending.
 *
 * Drafts are shared: the composer edits the newest draft of its visibility, so two agents typing
 * in one ticket write the same draft and see each other's caret. A draft is created lazily, on the
 * first keystroke (or macro), never by merely looking; when the bound draft disappears (sent by a
 * colleague) or a newer one of the same kind appears, the composer rebinds — folding what it had
 * written into the newer draft, so two drafts started at once (or one offline) converge and
 * nothing is lost.
 */
import { Compartment, EditorSelection, EditorState, Prec, type Extension } from '@codemirror/state';
import { EditorView, keymap, placeholder, type ViewUpdate } from '@codemirror/view';
import { untrack } from 'svelte';
import { yCollab, ySyncAnnotation, yUndoManagerKeymap } from 'y-codemirror.next';
import * as Y from 'yjs';
import {
	byteLength,
	offeredCc,
	LIMITS,
	newId,
	recipientsProblem,
	type Channel,
	type DraftInfo,
	type Priority,
	type RecipientField,
	type StagedChange,
	type StagedChanges,
	type Status,
	type Visibility
} from '$lib/ticket';
import { AttachmentUploads } from './attachments.svelte';
import { placeCaretLabel } from './caret-labels';
import { fillPlaceholders } from '../macro-placeholders';
import { draftFull, draftTooLong } from './limit-words';
import { MentionPicker } from './mentions.svelte';
import { RequiredFieldsError, type PresenceState, type TicketSession } from './ticket-session.svelte';
import type { CustomerInfo, Person } from './workspace.svelte';

/** Channels a public reply may go out on, when the customer can be reached there. */
export const REPLY_CHANNELS: readonly Channel[] = ['email', 'chat', 'messaging', 'social'];

export const CHANNEL_LABELS: Record<Channel, string> = {
	email: 'Email',
	chat: 'Chat',
	messaging: 'Messaging',
	social: 'Social',
	talk: 'Phone',
	web: 'Web',
	api: 'API',
	internal: 'Internal'
};

/** Typing presence lapses after this long without a keystroke. */
export const TYPING_IDLE_MS = 5000;

export interface Macro {
	id: string;
	title: string;
	body: string;
	actions: { status?: Status; priority?: Priority; addTags?: string[]; visibility?: Visibility };
}

/** Statuses a reply can be sent with ("Send and set …"). */
export const SEND_AND_SET: readonly Status[] = ['pending', 'solved'];

/** Where a ticket's composer remembers being collapsed: per ticket, for this browser tab. */
const collapsedKey = (ticketId: string) => `tandem:composer-collapsed:${ticketId}`;

/** The composer of each open ticket, for what inserts into its draft from outside (the context panel). */
const composers = new WeakMap<TicketSession, Composer>();

export function composerOf(session: TicketSession): Composer | undefined {
	return composers.get(session);
}

export class Composer {
	/** The mode chosen here; a bound draft's own visibility wins (it is shared). */
	private modeChoice = $state<Visibility>('public');
	private channelChoice = $state<Channel | null>(null);
	/** Where a reply goes when the ticket's own channel is over (email after a chat ended), if reachable there. */
	followUp = $state<Channel | null>(null);
	/** The draft the editor is bound to, if any. */
	draftId = $state<string | null>(null);
	/** Whether the editor holds anything but white space. */
	hasText = $state(false);
	/** The draft's length as a message body counts it (UTF-8 bytes), against LIMITS.draftTextLength. */
	size = $state(0);
	/** Why the last keystroke, paste or Send did nothing, in words; the next change clears it. */
	refusal = $state<string | null>(null);
	focused = $state(false);
	/** Why a public reply deserves a second look, while the agent decides. */
	warnings = $state.raw<string[] | null>(null);
	sending = $state(false);
	/** Channels the customer has an address on (from their record). */
	reachable = $state.raw<Channel[]>([]);
	/** The requester's name, for macros' placeholders (null until loaded, or when unknown). */
	requesterName: string | null = null;
	/** Folded to one line so the conversation gets the height; remembered for this ticket in this tab. */
	collapsed = $state(false);
	/** The status "Send and set …" asked for, kept while the agent answers the warnings. */
	private sendingWith: Pick<StagedChanges, 'status'> = {};
	/** Files this agent attaches to what they send next. */
	readonly attachments: AttachmentUploads;
	/** Colleagues who may see the ticket: whom an internal note may mention. */
	colleagues = $state.raw<Person[]>([]);
	/** The @mention list of an internal note, and where it shows (under the `@`, in the page's coordinates). */
	readonly mentions = new MentionPicker(() => this.colleagues);
	mentionAt = $state<{ left: number; top: number } | null>(null);
	/** Where the `@` being completed is in the draft. */
	private mentionFrom = 0;

	private view: EditorView | null = null;
	private text: Y.Text | null = null;
	private undo: Y.UndoManager | null = null;
	/** A draft this composer created whose refresh may not have reached `session.drafts` yet. */
	private justCreated: string | null = null;
	private idle: ReturnType<typeof setTimeout> | null = null;
	private viewQueued = false;
	private pendingSelection: EditorSelection | null = null;
	/** Where the agent's cursor was when the editor last had focus (macros go there), if anywhere. */
	private lastCaret: { from: number; to: number } | null = null;
	private readonly editable = new Compartment();
	private readonly labels = new Compartment();

	constructor(readonly session: TicketSession) {
		this.attachments = new AttachmentUploads(session.ticketId);
		composers.set(session, this);
		this.collapsed = readCollapsed(session.ticketId);
	}

	setCollapsed(collapsed: boolean) {
		this.collapsed = collapsed;
		try {
			if (collapsed) sessionStorage.setItem(collapsedKey(this.session.ticketId), '1');
			else sessionStorage.removeItem(collapsedKey(this.session.ticketId));
		} catch {
			/* storage unavailable (private mode): the choice lasts while the ticket is open */
		}
		if (!collapsed) queueMicrotask(() => this.focus());
	}

	// --- what the component shows -------------------------------------------------------------

	get readOnly(): boolean {
		return this.session.readOnly;
	}

	get boundDraft(): DraftInfo | undefined {
		const id = this.draftId;
		return id ? this.session.drafts.find((d) => d.id === id) : undefined;
	}

	get mode(): Visibility {
		return this.boundDraft?.visibility ?? this.modeChoice;
	}

	get ticketChannel(): Channel {
		return this.session.fields?.channel ?? 'email';
	}

	get channel(): Channel {
		const followUp = this.followUp && this.reachable.includes(this.followUp) ? this.followUp : null;
		return this.boundDraft?.channel ?? this.channelChoice ?? followUp ?? this.ticketChannel;
	}

	/** Reply channels offered: the customer's reachable ones, the ticket's own, the current one. */
	get channels(): Channel[] {
		const offered = new Set<Channel>([this.ticketChannel, ...this.reachable, this.channel]);
		const ordered = REPLY_CHANNELS.filter((c) => offered.has(c));
		for (const c of offered) if (!ordered.includes(c) && c !== 'internal') ordered.push(c);
		return ordered;
	}

	/** Colleagues typing in this ticket right now. */
	get typists(): PresenceState[] {
		return this.session.viewers.filter((p) => p.typing);
	}

	get typingLine(): string {
		const typists = this.typists;
		if (!typists.length) return '';
		const describe = (p: PresenceState) =>
			p.typingVisibility === 'internal' ? 'an internal note' : p.typingVisibility === 'public' ? 'a public reply' : '';
		const kinds = new Set(typists.map(describe));
		const names = typists.map((p) => p.user!.name.split(/\s+/)[0] || p.user!.name);
		const who = names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
		const what = kinds.size === 1 && [...kinds][0] ? ` ${[...kinds][0]}` : '';
		return `${who} ${names.length > 1 ? 'are' : 'is'} typing${what}…`;
	}

	/** Ticket changes staged with the bound draft (by macros), applied when it is sent. */
	get staged(): StagedChanges {
		return this.boundDraft?.staged ?? {};
	}

	get canSend(): boolean {
		return !this.readOnly && !this.sending && !!this.draftId && this.hasText && !this.attachments.blocker && !this.recipientProblem;
	}

	// --- CC and BCC of an email reply ---------------------------------------------------------

	/** Whether this reply goes out by email, with CC and BCC. */
	get offersRecipients(): boolean {
		return this.mode === 'public' && this.channel === 'email';
	}

	/** The draft's CC or BCC as typed; before there is a draft, CC offers the ticket's CCs and the newest mail's. */
	recipientText(field: RecipientField): string {
		const draft = this.boundDraft;
		if (draft) return draft[field] ?? '';
		return field === 'cc' ? offeredCc(this.session.fields?.cc, this.session.entries).join(', ') : '';
	}

	/** Why the CC or BCC cannot be sent, in words (Send waits until it is fixed), or null. */
	get recipientProblem(): string | null {
		return this.offersRecipients ? recipientsProblem({ cc: this.recipientText('cc'), bcc: this.recipientText('bcc') }) : null;
	}

	/** Sets the CC or BCC, starting the (shared) draft if there is none yet. */
	setRecipients(field: RecipientField, text: string) {
		if (this.readOnly) return;
		if (!this.draftId) {
			this.createDraft('');
			this.queueView(EditorSelection.single(0));
		}
		this.session.setDraftRecipients(this.draftId!, field, text);
	}

	/**
	 * A draft becoming an email reply that has no CC yet gets the ticket's CCs and the newest inbound mail's (its
	 * visibility and channel are passed in: `session.drafts` catches up a moment later).
	 */
	private offerInboundCc(draftId: string, visibility: Visibility, channel: Channel) {
		const draft = this.session.drafts.find((d) => d.id === draftId);
		if (visibility !== 'public' || channel !== 'email' || draft?.cc !== undefined) return;
		const cc = offeredCc(this.session.fields?.cc, this.session.entries);
		if (cc.length) this.session.setDraftRecipients(draftId, 'cc', cc.join(', '));
	}

	// --- choices ------------------------------------------------------------------------------

	setMode(mode: Visibility) {
		if (mode === this.mode) return;
		const bound = this.boundDraft;
		this.warnings = null;
		if (bound && !this.readOnly && bound.text.trim() && !this.session.currentDraft(mode)) {
			// The text follows the switch, as a note or as a reply: it is the same shared draft.
			this.session.setDraftOptions(bound.id, { visibility: mode });
			this.modeChoice = mode;
			this.offerInboundCc(bound.id, mode, this.channel);
			this.updateLabels(mode);
			return;
		}
		this.modeChoice = mode;
		this.bind(this.session.currentDraft(mode)?.id ?? null);
		this.updateLabels(mode);
	}

	setChannel(channel: Channel) {
		this.channelChoice = channel;
		if (this.draftId) {
			this.session.setDraftOptions(this.draftId, { channel });
			this.offerInboundCc(this.draftId, this.mode, channel);
		}
	}

	/** Learns where the customer can be reached (without them, the ticket's own channel is offered). */
	async loadReachable(load: Promise<CustomerInfo | null>) {
		const customer = await load.catch(() => null);
		this.requesterName = customer?.name ?? null;
		// An unverified chat contact is written to at the address they gave (the outbox sends it there).
		const claimed: Channel[] = customer?.claimedEmail ? ['email'] : [];
		const channels = [...(customer?.addresses ?? []).map((a) => a.channel as Channel), ...claimed].filter((c) => REPLY_CHANNELS.includes(c));
		this.reachable = [...new Set(channels)];
	}

	// --- following the shared drafts ----------------------------------------------------------

	/** Rebinds when the bound draft went away or a newer one of its kind appeared. Call from an effect. */
	reconcile() {
		const drafts = this.session.drafts; // the only dependency
		untrack(() => {
			const id = this.draftId;
			const mine = id ? drafts.find((d) => d.id === id) : undefined;
			if (mine && id === this.justCreated) this.justCreated = null;
			const newest = this.session.currentDraft(this.mode);
			if (!id || (!mine && id !== this.justCreated)) {
				if ((newest?.id ?? null) !== id) this.bind(newest?.id ?? null);
				return;
			}
			if (newest && newest.id > id) {
				// Two drafts of one kind: converge on the newer. Its starter folds the older one in.
				if (mine && mine.authors[0] === this.session.me.id) this.session.mergeDraft(id, newest.id);
				this.bind(newest.id, true);
			}
		});
	}

	private bind(id: string | null, caretAtEnd = false) {
		const text = id ? this.session.existingDraftText(id) : null;
		if (id && !text && id !== this.justCreated) id = null;
		if (id === this.draftId && text === this.text) return;
		this.undo?.destroy();
		this.text = text;
		this.undo = text ? new Y.UndoManager(text) : null;
		this.draftId = text ? id : null;
		this.lastCaret = null;
		this.warnings = null;
		this.measure(text?.toString() ?? '');
		if (this.focused && !this.readOnly && this.idle) this.session.markTyping(this.draftId, this.draftId ? this.mode : null);
		this.queueView(caretAtEnd && text ? EditorSelection.single(text.length) : EditorSelection.single(0));
	}

	/** Creates the shared draft this composer writes, starting with `initial`. */
	private createDraft(initial: string): Y.Text {
		const id = newId();
		const text = this.session.draftText(id, { channel: this.channel, visibility: this.mode });
		if (initial) text.insert(0, initial);
		this.justCreated = id;
		this.undo?.destroy();
		this.text = text;
		this.undo = new Y.UndoManager(text);
		this.draftId = id;
		this.session.markTyping(id, this.mode); // records the author: the starter of the draft
		this.offerInboundCc(id, this.mode, this.channel);
		return text;
	}

	// --- the editor ---------------------------------------------------------------------------

	/** Mounts the editor in `element` (a Svelte attachment); returns its teardown. */
	attach = (element: HTMLElement) => {
		// Untracked: an attachment re-runs when what it reads changes, and the editor must live on.
		const view = untrack(() => new EditorView({ parent: element, state: this.makeState(EditorSelection.single(0)) }));
		this.view = view;
		// Remote carets' name labels are drawn from `data-name` (see Composer.svelte's styles), kept inside the editor.
		const labels = new MutationObserver(() => {
			const frame = view.scrollDOM.getBoundingClientRect();
			for (const info of view.contentDOM.querySelectorAll<HTMLElement>('.cm-ySelectionInfo')) {
				if (info.dataset.name !== info.textContent) info.dataset.name = info.textContent ?? '';
				placeCaretLabel(info, frame);
			}
		});
		// Text typed before a caret moves it without adding nodes: character changes count too.
		labels.observe(view.contentDOM, { childList: true, characterData: true, subtree: true });
		return () => {
			labels.disconnect();
			view.destroy();
			if (this.view === view) this.view = null;
		};
	};

	focus() {
		this.view?.focus();
	}

	private makeState(selection: EditorSelection): EditorState {
		const doc = this.text?.toString() ?? '';
		const clamp = (n: number) => Math.min(n, doc.length);
		const extensions: Extension[] = [
			this.editable.of(this.editableExtension(this.readOnly)),
			this.labels.of(this.labelExtension(this.mode)),
			EditorView.lineWrapping,
			// Above every other key binding: while the mention list is open, these keys are its own.
			Prec.highest(
				keymap.of([
					{ key: 'ArrowDown', run: () => this.mentionKey(() => this.mentions.move(1)) },
					{ key: 'ArrowUp', run: () => this.mentionKey(() => this.mentions.move(-1)) },
					{ key: 'Enter', run: () => this.mentionKey(() => this.chooseMention()) },
					{ key: 'Tab', run: () => this.mentionKey(() => this.chooseMention()) },
					{ key: 'Escape', run: () => this.mentionKey(() => this.mentions.close()) }
				])
			),
			keymap.of([
				{ key: 'Mod-Enter', run: () => (this.requestSend(), true) },
				{ key: 'Mod-Shift-Enter', run: () => (this.requestSend({ status: 'solved' }), true) }
			]),
			EditorView.updateListener.of((update) => this.onUpdate(update)),
			// The server refuses a draft longer than the cap (and closes the ticket for this tab), and
			// a message body is capped in bytes: typing or pasting past it is refused here, in words.
			// Colleagues' edits always apply.
			EditorState.transactionFilter.of((tr) => {
				const grows = tr.docChanged && !tr.annotation(ySyncAnnotation) && tr.newDoc.length > tr.startState.doc.length;
				// A UTF-16 unit is at most 3 bytes: a short document need not be measured.
				if (!grows || tr.newDoc.length * 3 <= LIMITS.draftTextLength || byteLength(tr.newDoc.toString()) <= LIMITS.draftTextLength) return tr;
				this.refusal = draftFull(LIMITS.draftTextLength);
				return [];
			})
		];
		if (this.text && this.undo) {
			extensions.push(yCollab(this.text, this.session.provider.awareness ?? undefined, { undoManager: this.undo }), keymap.of(yUndoManagerKeymap));
		}
		return EditorState.create({
			doc,
			selection: EditorSelection.single(clamp(selection.main.anchor), clamp(selection.main.head)),
			extensions
		});
	}

	/** Replaces the editor's state with one bound to the current draft, after the current update. */
	private queueView(selection: EditorSelection) {
		this.pendingSelection = selection;
		if (this.viewQueued) return;
		this.viewQueued = true;
		queueMicrotask(() => {
			this.viewQueued = false;
			if (!this.view) return;
			const hadFocus = this.view.hasFocus;
			this.view.setState(this.makeState(this.pendingSelection ?? EditorSelection.single(0)));
			if (hadFocus) this.view.focus();
			this.measure(this.view.state.doc.toString());
		});
	}

	private editableExtension(readOnly: boolean): Extension {
		return [EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly)];
	}

	private labelExtension(mode: Visibility): Extension {
		const internal = mode === 'internal';
		return [
			placeholder(
				this.readOnly
					? 'Nobody is writing right now.'
					: internal
						? 'Write an internal note — only your team sees it…'
						: 'Write a public reply to the customer…'
			),
			EditorView.contentAttributes.of({
				'aria-label': internal ? 'Internal note text' : 'Public reply text',
				'aria-multiline': 'true',
				...(this.readOnly ? { 'aria-readonly': 'true' } : {})
			})
		];
	}

	setReadOnly(readOnly: boolean) {
		this.view?.dispatch({
			effects: [
				this.editable.reconfigure(this.editableExtension(readOnly)),
				this.labels.reconfigure(this.labelExtension(this.mode))
			]
		});
		if (readOnly) this.stopTyping();
	}

	updateLabels(mode: Visibility) {
		this.view?.dispatch({ effects: this.labels.reconfigure(this.labelExtension(mode)) });
	}

	private measure(text: string) {
		this.hasText = !!text.trim();
		this.size = byteLength(text);
	}

	private onUpdate(update: ViewUpdate) {
		if (update.view.hasFocus && (update.selectionSet || update.focusChanged || update.docChanged)) {
			this.lastCaret = update.state.selection.main;
		}
		if (update.docChanged || update.selectionSet || update.focusChanged) this.followMention(update.view);
		if (update.focusChanged) {
			this.focused = update.view.hasFocus;
			if (!this.focused) {
				this.stopTyping();
				// y-codemirror leaves the caret where it was; a caret means "editing here now".
				const awareness = this.session.provider.awareness;
				if (awareness?.getLocalState()?.cursor) awareness.setLocalStateField('cursor', null);
			}
		}
		if (!update.docChanged) return;
		this.measure(update.state.doc.toString());
		this.refusal = null;
		const local = update.transactions.some((tr) => tr.docChanged && !tr.annotation(ySyncAnnotation));
		if (!local || this.readOnly) return;
		if (!this.text) {
			// The first keystroke: the draft is created now, holding what was typed.
			this.createDraft(update.state.doc.toString());
			this.queueView(update.state.selection);
		}
		this.noteTyping();
	}

	private noteTyping() {
		if (!this.draftId || this.readOnly) return;
		this.session.markTyping(this.draftId, this.mode);
		if (this.idle) clearTimeout(this.idle);
		this.idle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
	}

	private stopTyping() {
		if (this.idle) clearTimeout(this.idle);
		this.idle = null;
		this.session.markTyping(null);
	}

	// --- @mentions -----------------------------------------------------------------------------

	/** Opens, narrows or closes the mention list after a keystroke or a move of the caret (internal notes only). */
	private followMention(view: EditorView) {
		const caret = view.state.selection.main;
		if (this.mode !== 'internal' || this.readOnly || !view.hasFocus || !caret.empty) return this.mentions.close();
		const line = view.state.doc.lineAt(caret.head);
		this.mentions.follow(view.state.sliceDoc(line.from, caret.head));
		if (!this.mentions.open) return;
		this.mentionFrom = line.from + this.mentions.from;
		const coords = view.coordsAtPos(this.mentionFrom);
		this.mentionAt = coords && { left: coords.left, top: coords.bottom + 4 };
	}

	/** Runs a key's action on the mention list when it is open (the key is then used up). */
	private mentionKey(action: () => void): boolean {
		if (!this.mentions.open || !this.mentions.matches.length) return false;
		action();
		return true;
	}

	/** Puts `@Name` of the active colleague (or `person`) in place of what was typed after the `@`. */
	chooseMention(person?: Person) {
		const view = this.view;
		const insert = this.mentions.choose(person);
		if (!view || !insert) return;
		const caret = view.state.selection.main.head;
		view.dispatch({ changes: { from: this.mentionFrom, to: caret, insert }, selection: { anchor: this.mentionFrom + insert.length }, userEvent: 'input.complete' });
		view.focus();
	}

	// --- sending ------------------------------------------------------------------------------

	/**
	 * Send (and set the ticket's status to `alsoSet.status`), unless a public reply collides with
	 * a colleague's work or new customer messages.
	 */
	requestSend(alsoSet: Pick<StagedChanges, 'status'> = {}) {
		if (!this.canSend || this.refuseTooLong()) return;
		this.sendingWith = alsoSet;
		const id = this.draftId!;
		const draft: DraftInfo = this.boundDraft ?? {
			id,
			text: this.text?.toString() ?? '',
			channel: this.channel,
			visibility: this.mode,
			authors: [],
			createdAt: Date.now(),
			staged: {}
		};
		const reasons = draft.visibility === 'public' ? this.session.collisions(draft) : [];
		if (reasons.length) {
			this.warnings = reasons;
			return;
		}
		this.send();
	}

	/** Sends without asking (after "Send anyway"). */
	send() {
		if (!this.canSend || this.refuseTooLong()) return;
		this.sending = true;
		try {
			const files = this.attachments.ready;
			// Only a note mentions: a public reply's `@Name` stays text (the customer would see whom it named).
			const mentions = this.mode === 'internal' ? this.mentions.mentionsIn(this.text?.toString() ?? '') : [];
			const meta = { ...(files.length ? { attachments: files } : {}), ...(mentions.length ? { mentions } : {}) };
			const sent = this.session.send(this.draftId!, { alsoSet: this.sendingWith, meta: Object.keys(meta).length ? meta : undefined });
			this.warnings = null;
			if (sent) {
				this.mentions.reset();
				this.attachments.clear();
				this.stopTyping();
				this.bind(null);
			}
		} catch (error) {
			this.warnings = null;
			if (error instanceof RequiredFieldsError) {
				this.refusal = `Not sent: ${error.message}. It is kept as a draft.`;
				return;
			}
			// The entry contract refused it (nothing was written): say so rather than nothing.
			console.error(error);
			this.refusal = 'This message could not be sent; it is kept as a draft.';
		} finally {
			this.sending = false;
			this.sendingWith = {};
		}
	}

	/** Refuses, in words, a draft too long to become a message (a colleague's edits may make it so). */
	private refuseTooLong(): boolean {
		if (this.size <= LIMITS.draftTextLength) return false;
		this.refusal = draftTooLong(this.size, LIMITS.draftTextLength);
		return true;
	}

	cancelSend() {
		this.warnings = null;
		this.sendingWith = {};
		this.focus();
	}

	// --- inserting: macros and the context panel ----------------------------------------------

	/**
	 * Inserts a macro's body at the cursor (through the editor into the draft), its placeholders
	 * filled in (the requester's name as loaded for the ticket, `agent` the one applying it), and
	 * stages its ticket changes with the draft: they apply when it is sent, or on "Apply now".
	 */
	applyMacro(macro: Macro, agent: { name: string }) {
		if (this.readOnly) return;
		const { actions } = macro;
		if (actions.visibility) this.setMode(actions.visibility);
		const fields = this.session.fields;
		const values = { ticket: { number: fields?.number ?? null, subject: fields?.subject ?? '' }, requester: { name: this.requesterName }, agent };
		if (macro.body) this.insertText(fillPlaceholders(macro.body, values), 'input.macro');
		const changes: StagedChanges = { status: actions.status, priority: actions.priority, tags: actions.addTags };
		if (changes.status || changes.priority || changes.tags?.length) {
			if (!this.text) {
				this.createDraft('');
				this.queueView(EditorSelection.single(0));
			}
			this.session.stage(this.draftId!, changes);
		}
		queueMicrotask(() => this.focus());
	}

	/** Takes a staged change back (its chip's remove button). */
	unstage(change: StagedChange) {
		if (this.draftId) this.session.unstage(this.draftId, change);
	}

	/** Applies the staged changes to the ticket now, without sending. */
	applyStagedNow() {
		if (!this.draftId) return;
		try {
			this.session.applyStaged(this.draftId);
		} catch (error) {
			if (!(error instanceof RequiredFieldsError)) throw error;
			this.refusal = `Not applied: ${error.message}.`;
		}
	}

	/**
	 * Inserts `body` into the draft at the agent's cursor (where it was when the editor last had
	 * focus: a menu or the context panel took it since), else at the end, set off as a paragraph.
	 * Macros, help-centre links and quotes, and apps insert through here.
	 */
	insertText(body: string, userEvent = 'input.paste') {
		if (this.readOnly || !body) return;
		if (this.view && this.text && !this.viewQueued) {
			const state = this.view.state;
			const length = state.doc.length;
			const from = Math.min(this.lastCaret?.from ?? length, length);
			const to = Math.min(this.lastCaret?.to ?? length, length);
			const { insert, caret } = joinAt(state.sliceDoc(Math.max(0, from - 2), from), body, state.sliceDoc(to, to + 2));
			this.view.dispatch({
				changes: { from, to, insert },
				selection: { anchor: from + caret },
				userEvent,
				scrollIntoView: true
			});
			this.lastCaret = { from: from + caret, to: from + caret };
		} else {
			const text = this.text ?? this.createDraft('');
			const current = text.toString();
			const at = Math.min(this.lastCaret?.from ?? current.length, current.length);
			const { insert, caret } = joinAt(current.slice(Math.max(0, at - 2), at), body, current.slice(at, at + 2));
			text.insert(at, insert);
			this.measure(text.toString());
			this.queueView(EditorSelection.single(at + caret));
			this.lastCaret = { from: at + caret, to: at + caret };
			this.noteTyping();
		}
	}

	destroy() {
		try {
			this.stopTyping();
		} catch {
			/* the session went first (its tab was closed) */
		}
		this.undo?.destroy();
		this.view?.destroy();
		this.view = null;
		if (composers.get(this.session) === this) composers.delete(this.session);
	}
}

function readCollapsed(ticketId: string): boolean {
	try {
		return sessionStorage.getItem(collapsedKey(ticketId)) === '1';
	} catch {
		return false;
	}
}

/**
 * A macro's body as inserted between `before` and `after` (the text around the cursor), set off
 * as a paragraph of its own from text it would otherwise run into; `caret` is where the body ends.
 */
export function joinAt(before: string, body: string, after = ''): { insert: string; caret: number } {
	let lead = '';
	if (body && before && !/\n\n$/.test(before)) lead = before.endsWith('\n') ? '\n' : /\s$/.test(before) ? '' : '\n\n';
	let trail = '';
	if (body && after && !after.startsWith('\n\n')) trail = after.startsWith('\n') ? '\n' : /^\s/.test(after) ? '' : '\n\n';
	return { insert: lead + body + trail, caret: lead.length + body.length };
}

/** The macro menu's state: the list (loaded on first open), whether it is open, the active item. */
export class MacroMenuState {
	open = $state(false);
	macros = $state.raw<Macro[]>([]);
	loaded = $state(false);
	error = $state<string | null>(null);
	active = $state(0);

	async load() {
		try {
			const response = await fetch('/api/v1/macros', { headers: { accept: 'application/json' } });
			if (!response.ok) throw new Error(response.status === 404 ? 'Macros are not available yet.' : `Could not load macros (${response.status}).`);
			const body = (await response.json()) as { macros: Macro[] };
			this.macros = body.macros ?? [];
			this.error = null;
			this.loaded = true;
		} catch (error) {
			this.error = (error as Error).message;
		}
	}

	show() {
		this.open = true;
		this.active = 0;
		if (!this.loaded) void this.load();
	}

	hide() {
		this.open = false;
	}

	move(delta: number) {
		const n = this.macros.length;
		if (n) this.active = (this.active + delta + n) % n;
	}

	moveTo(index: number) {
		if (this.macros.length) this.active = Math.max(0, Math.min(this.macros.length - 1, index));
	}
}
