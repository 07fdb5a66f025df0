/**
 * The ticket's context column: the requester (from the customer API), the interaction history
 * (the ticket's event log, in human words) and side conversations (in the ticket document).
 */
import { LIMITS, SIDE_CHANNELS, type SideConversation } from '$lib/ticket';
import { MentionPicker } from './mentions.svelte';
import { parseAddresses } from './side-email.svelte';
import type { TicketSession } from './ticket-session.svelte';
import type { CustomerInfo, Person, Workspace } from './workspace.svelte';

export interface TicketEvent {
	id: number;
	type: string;
	actor: string;
	data: Record<string, unknown> | null;
	createdAt: number;
}

/** One line of the interaction history: consecutive identical lines fold into one, counted. */
export interface HistoryLine {
	id: number;
	text: string;
	createdAt: number;
	count: number;
}

const EVENTS_DEBOUNCE_MS = 500;
const EVENTS_PAGE = 200;
const EVENTS_KEPT = 500;
/** Side conversations listed at first, and added by each "show more". */
const SIDES_PAGE = 20;
const COLLAPSED_KEY = 'tandem:context:collapsed';

export class ContextPanelState {
	customer = $state.raw<CustomerInfo | null>(null);
	customerState = $state<'loading' | 'ready' | 'missing'>('loading');
	/** Newest first. */
	events = $state.raw<TicketEvent[]>([]);
	eventsError = $state<string | null>(null);
	eventsLoaded = $state(false);
	collapsed = $state<Record<string, boolean>>(restoreCollapsed());

	private timer: ReturnType<typeof setTimeout> | null = null;
	private loading: Promise<void> | null = null;
	private again = false;
	private destroyed = false;

	constructor(
		readonly session: TicketSession,
		readonly workspace: Workspace
	) {}

	toggle(section: string) {
		this.collapsed = { ...this.collapsed, [section]: !this.collapsed[section] };
		try {
			localStorage.setItem(COLLAPSED_KEY, JSON.stringify(this.collapsed));
		} catch {
			/* private mode: the choice lasts the page */
		}
	}

	// --- requester ----------------------------------------------------------------------------

	async loadCustomer(id: string, reload = false) {
		if (this.customer?.id !== id) this.customerState = 'loading';
		const customer = await this.workspace.customer(id, reload);
		if (this.destroyed) return;
		this.customer = customer;
		this.customerState = customer ? 'ready' : 'missing';
	}

	/** The requester's other tickets (this one left out). */
	get otherTickets() {
		return (this.customer?.tickets ?? []).filter((t) => t.id !== this.session.ticketId);
	}

	// --- interaction history ------------------------------------------------------------------

	/** Refreshes the history a moment after the ticket changed (changes in between fold into one). */
	scheduleEvents() {
		if (this.timer) clearTimeout(this.timer);
		this.timer = setTimeout(() => {
			this.timer = null;
			void this.loadEvents();
		}, EVENTS_DEBOUNCE_MS);
	}

	async loadEvents(): Promise<void> {
		if (this.loading) {
			this.again = true;
			return this.loading;
		}
		this.loading = this.fetchNewEvents().finally(() => {
			this.loading = null;
			if (this.again && !this.destroyed) {
				this.again = false;
				void this.loadEvents();
			}
		});
		return this.loading;
	}

	private async fetchNewEvents() {
		try {
			let after = this.events[0]?.id ?? 0;
			const added: TicketEvent[] = [];
			for (let page = 0; page < 20; page++) {
				const response = await fetch(`/api/v1/tickets/${encodeURIComponent(this.session.ticketId)}/events?after=${after}`, {
					headers: { accept: 'application/json' }
				});
				if (!response.ok) throw new Error(`Could not load the history (${response.status}).`);
				const { events } = (await response.json()) as { events: TicketEvent[] };
				added.push(...events);
				if (events.length < EVENTS_PAGE) break;
				after = events.at(-1)!.id;
			}
			if (this.destroyed) return;
			if (added.length) this.events = [...added.reverse(), ...this.events].slice(0, EVENTS_KEPT);
			this.eventsError = null;
		} catch (error) {
			this.eventsError = (error as Error).message;
		} finally {
			this.eventsLoaded = true;
		}
	}

	get history(): HistoryLine[] {
		const lines: HistoryLine[] = [];
		for (const event of this.events) {
			const text = describeEvent(event, this.workspace);
			const last = lines.at(-1);
			if (last && last.text === text) last.count++;
			else lines.push({ id: event.id, text, createdAt: event.createdAt, count: 1 });
		}
		return lines;
	}

	destroy() {
		this.destroyed = true;
		if (this.timer) clearTimeout(this.timer);
	}
}

function restoreCollapsed(): Record<string, boolean> {
	try {
		const saved = JSON.parse(localStorage.getItem(COLLAPSED_KEY) ?? '{}');
		return saved && typeof saved === 'object' ? saved : {};
	} catch {
		return {};
	}
}

// --- wording -------------------------------------------------------------------------------

const FIELD_NAMES: Record<string, string> = { status: 'status', priority: 'priority', subject: 'subject', assigneeId: 'assignee', groupId: 'group' };
const CHANNEL_WORDS: Record<string, string> = {
	email: 'email',
	chat: 'chat',
	messaging: 'messaging',
	social: 'social',
	talk: 'phone',
	web: 'the web form',
	api: 'the API',
	internal: 'internal'
};

/** Who did it, in words: a colleague's name, "A bot", "The customer" or "Tandem". */
export function actorName(actor: string, workspace: Workspace): string {
	const [kind, id] = actor.includes(':') ? [actor.slice(0, actor.indexOf(':')), actor.slice(actor.indexOf(':') + 1)] : [actor, ''];
	if (kind === 'user') {
		const name = workspace.personName(id);
		return name === 'Unknown' ? 'A colleague' : name;
	}
	if (kind === 'bot') return 'A channel bot';
	if (kind === 'customer') return 'The customer';
	if (kind === 'rule') return 'A rule';
	return 'Tandem';
}

function actorRole(actor: string, workspace: Workspace): string | null {
	if (!actor.startsWith('user:')) return null;
	const id = actor.slice(5);
	if (id === workspace.me.id) return workspace.me.role;
	return workspace.people.find((p) => p.id === id)?.role ?? null;
}

const str = (value: unknown) => (typeof value === 'string' ? value : value == null ? '' : String(value));

const SLA_WORDS: Record<string, string> = { firstReply: 'first reply', nextReply: 'next reply', resolution: 'resolution' };

/** An event of the ticket's log in human words ("Alex changed status from open to pending"). */
export function describeEvent(event: TicketEvent, workspace: Workspace): string {
	const who = actorName(event.actor, workspace);
	const data = event.data ?? {};
	switch (event.type) {
		case 'ticket.created':
			return data.channel ? `Ticket created via ${CHANNEL_WORDS[str(data.channel)] ?? str(data.channel)}` : 'Ticket created';
		case 'field.changed': {
			const field = str(data.field);
			const from = data.from ?? null;
			const to = data.to ?? null;
			if (field === 'assigneeId') {
				if (!to) return `${who} unassigned the ticket`;
				if (event.actor === `user:${str(to)}`) return `${who} took the ticket`;
				return `${who} assigned the ticket to ${workspace.personName(str(to))}`;
			}
			if (field === 'groupId') return to ? `${who} moved the ticket to ${workspace.groupName(str(to))}` : `${who} removed the group`;
			if (field === 'subject') return `${who} renamed the ticket to “${str(to)}”`;
			const name = FIELD_NAMES[field] ?? field;
			return from ? `${who} changed ${name} from ${str(from)} to ${str(to)}` : `${who} set ${name} to ${str(to)}`;
		}
		case 'entry.added': {
			if (data.place === 'side') return `${who} wrote in a side conversation`;
			if (data.kind === 'note') return `Note added by ${who}`;
			if (data.kind === 'call') return `Call logged by ${who}`;
			if (data.kind === 'event') return `Event in the conversation (${CHANNEL_WORDS[str(data.channel)] ?? str(data.channel)})`;
			const via = CHANNEL_WORDS[str(data.channel)] ?? str(data.channel);
			if (event.actor.startsWith('user:')) return `${who} replied by ${via}`;
			return `Message received by ${via}`;
		}
		case 'ticket.merged':
			return data.into ? `${who} merged this ticket into another` : `${who} merged another ticket into this one (${str(data.entries)} entries)`;
		case 'ticket.split':
			return `${who} split ${str(data.entries)} ${data.entries === 1 ? 'entry' : 'entries'} off into a new ticket`;
		case 'side.opened':
			return `${who} started a side conversation “${str(data.subject)}”`;
		case 'side.closed':
			return `${who} closed the side conversation “${str(data.subject)}”`;
		case 'side.reopened':
			return `${who} reopened the side conversation “${str(data.subject)}”`;
		case 'side-email.sent':
			return `Side conversation email sent to ${str(data.to)}`;
		case 'side-email.failed':
			return `Side conversation email not sent: ${str(data.error)}`;
		case 'ticket.viewed': {
			const role = actorRole(event.actor, workspace) ?? (data.readOnly ? 'supervisor' : null);
			return `Viewed by ${who}${role ? ` (${role})` : ''}`;
		}
		case 'macro.applied':
			return `${who} applied the macro “${str(data.title)}”`;
		case 'chat.started':
			return 'The visitor started a chat';
		case 'chat.served':
			return `${who} served the chat`;
		case 'chat.ended':
			return event.actor.startsWith('visitor:') ? 'The visitor ended the chat' : `${who} ended the chat`;
		case 'sla.breached':
			return `SLA breached: ${SLA_WORDS[str(data.metric)] ?? str(data.metric)}`;
		case 'object.linked':
			return `${who} linked a record`;
		case 'object.unlinked':
			return `${who} unlinked a record`;
		case 'customer.linked':
			return data.via === 'email' ? 'The visitor proved their email address: the chat joined that customer' : `${who} linked the visitor to a known customer`;
		case 'rule.fired':
			return `Rule “${str(data.name)}” acted`;
		case 'rule.skipped':
			return `Rule “${str(data.name)}” skipped: ${Array.isArray(data.reasons) ? data.reasons.join('; ') : ''}`;
		case 'rule.failed':
			return `Rule “${str(data.name)}” could not act: ${str(data.reason)}`;
		case 'rule.chain_stopped':
			return `Rules stopped after ${str(data.links)} changes in a row by rules`;
		case 'rule-webhook.sent':
			return `A rule’s webhook was called (${str(data.url)})`;
		case 'rule-webhook.failed':
			return `A rule’s webhook call failed: ${str(data.error)}`;
		case 'update.rejected':
			return `A change by ${who} was refused (${str(data.reason)})`;
		default:
			if (event.type.startsWith('call.')) return describeCall(event.type.slice(5), who);
			if (event.type.startsWith('routing.')) return `Routing: ${event.type.slice(8).replace(/_/g, ' ')}`;
			return `${who}: ${event.type.replace(/[._]/g, ' ')}`;
	}
}

/** A call's steps, as the Talk console's events name them. */
function describeCall(step: string, who: string): string {
	switch (step) {
		case 'ringing':
			return 'A call is ringing';
		case 'dialing':
			return `${who} is calling the customer`;
		case 'accepted':
		case 'answered':
			return `${who} took the call`;
		case 'held':
			return `${who} put the call on hold`;
		case 'resumed':
			return `${who} resumed the call`;
		case 'transferred':
			return `${who} transferred the call`;
		case 'declined':
			return `${who} declined the call`;
		case 'ended':
			return 'The call ended';
		default:
			return `Call: ${step.replace(/_/g, ' ')}`;
	}
}

/** Short relative time: "just now", "5 min ago", "3 h ago", then the date. */
export function ago(ms: number, now = Date.now()): string {
	const minutes = Math.round((now - ms) / 60_000);
	if (minutes < 1) return 'just now';
	if (minutes < 60) return `${minutes} min ago`;
	if (minutes < 24 * 60) return `${Math.round(minutes / 60)} h ago`;
	return new Date(ms).toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}

// --- side conversations --------------------------------------------------------------------

export const SIDE_CHANNEL_LABELS: Record<SideConversation['channel'], string> = {
	email: 'Email (outside people)',
	internal: 'Internal (colleagues)',
	child: 'Child ticket'
};

const sideConversations = new WeakMap<TicketSession, SideConversationsState>();

/**
 * The side conversations' form and list of a ticket's session, kept while the session lives: a
 * panel drawn again (its section re-rendered, the panel re-mounted) keeps a form half filled in
 * and the colleagues ticked, instead of a fresh, closed form.
 */
export function sideConversationsOf(session: TicketSession): SideConversationsState {
	let state = sideConversations.get(session);
	if (!state) sideConversations.set(session, (state = new SideConversationsState(session)));
	return state;
}

export class SideConversationsState {
	formOpen = $state(false);
	subject = $state('');
	channel = $state<SideConversation['channel']>('email');
	participants = $state('');
	/** For an internal side conversation: the colleagues (user ids) it names. */
	colleagues = $state<string[]>([]);
	message = $state('');
	formError = $state<string | null>(null);
	expanded = $state<Record<string, boolean>>({});
	replies = $state<Record<string, string>>({});
	/** Colleagues who may see the ticket: whom a message of an internal side conversation may mention. */
	mentionable = $state.raw<Person[]>([]);
	/** The mention list of each side conversation's message box. */
	private readonly pickers = new Map<string, MentionPicker>();

	/** How many side conversations the list shows; a ticket may hold more than fit on a page. */
	shown = $state(SIDES_PAGE);

	/** Child tickets are created through the server (ChildTickets.svelte), not as a side conversation. */
	readonly channels = SIDE_CHANNELS.filter((channel) => channel !== 'child');

	constructor(readonly session: TicketSession) {}

	get sides(): SideConversation[] {
		// Open ones first, newest first within each.
		return this.session.sides.filter((side) => side.channel !== 'child').sort((a, b) => (a.status === b.status ? b.createdAt - a.createdAt : a.status === 'open' ? -1 : 1));
	}

	/** Whether the ticket holds as many side conversations as it may (the server refuses more). */
	get full(): boolean {
		return this.session.sides.length >= LIMITS.sidesPerTicket;
	}

	showMore() {
		this.shown += SIDES_PAGE;
	}

	/** Starts a side conversation and posts its first message; returns its id, or null with `formError` set. */
	start(): string | null {
		const subject = this.subject.trim();
		let participants =
			this.channel === 'internal'
				? this.colleagues
				: this.participants
						.split(/[,;\n]/)
						.map((p) => p.trim())
						.filter(Boolean);
		if (!subject) return this.fail('Give it a subject.');
		if (this.channel === 'email') {
			const parsed = parseAddresses(this.participants);
			if ('error' in parsed) return this.fail(parsed.error);
			if (!parsed.addresses.length) return this.fail('Add at least one email address.');
			participants = parsed.addresses;
		}
		if (!this.message.trim()) return this.fail('Write the first message.');
		try {
			const id = this.session.openSide(subject, this.channel, [...new Set(participants)]);
			this.session.replyInSide(id, this.message);
			this.subject = this.participants = this.message = '';
			this.colleagues = [];
			this.formError = null;
			this.formOpen = false;
			this.expanded = { ...this.expanded, [id]: true };
			return id;
		} catch (error) {
			return this.fail((error as Error).message);
		}
	}

	private fail(message: string): null {
		this.formError = message;
		return null;
	}

	toggle(id: string) {
		this.expanded = { ...this.expanded, [id]: !this.expanded[id] };
	}

	/** Opens one side conversation and lists far enough to show it (a notification leads here). */
	reveal(id: string) {
		const at = this.sides.findIndex((side) => side.id === id);
		if (at < 0) return;
		this.expanded = { ...this.expanded, [id]: true };
		if (at >= this.shown) this.shown = at + 1;
	}

	mentionsOf(sideId: string): MentionPicker {
		let picker = this.pickers.get(sideId);
		if (!picker) this.pickers.set(sideId, (picker = new MentionPicker(() => this.mentionable)));
		return picker;
	}

	reply(id: string) {
		const body = this.replies[id]?.trim();
		if (!body) return;
		const picker = this.mentionsOf(id);
		this.session.replyInSide(id, body, picker.mentionsIn(body));
		picker.reset();
		this.replies = { ...this.replies, [id]: '' };
	}

	setStatus(id: string, status: 'open' | 'closed') {
		this.session.setSideStatus(id, status);
	}
}
