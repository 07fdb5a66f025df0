/**
 * The agent workspace's state: views and their counts, the ticket list of the current view,
 * open ticket tabs (restored on reload), and the people tickets mention. Lists follow changes
 * live through the server's event stream.
 */
import { untrack } from 'svelte';
import { CollabConnection } from './connection.svelte';
import type { SlaState } from '$lib/api/routing';
import type { SearchPassage } from '$lib/api/search';
import { DEFAULT_VIEW_COLUMNS, type ListColumn } from '$lib/api/views';
import type { CustomValue, FieldDefinition } from '$lib/ticket';
import type { SavedViewSummary } from './saved-view-form.svelte';
import { sendJson } from './send-json';
import { AgentDesk } from './agent-desk.svelte';
import { NoticeTray, notifyDesktop } from './notices.svelte';
import { TalkConsole } from './talk.svelte';
import { TicketSelection } from './ticket-selection.svelte';
import { TicketSession, type Me } from './ticket-session.svelte';

export interface ViewSummary {
	id: string;
	name: string;
	/** Which tickets it holds, in words. */
	description: string;
	count: number;
}

export interface TicketRow {
	id: string;
	/** The short number people use (`#1042`); null only for an old ticket whose index row was rebuilt. */
	number: number | null;
	subject: string;
	status: string;
	priority: string;
	assigneeId: string | null;
	groupId: string | null;
	requesterId: string;
	channel: string;
	tags: string[];
	createdAt: number;
	updatedAt: number;
	entryCount: number;
	lastPublicPreview: string | null;
	lastPublicAt: number | null;
	/** Since when the customer waits for an answer (their message is the newest public one); null: not waiting. */
	awaitingSince?: number | null;
	/** SLA timers, in list answers (not on the event stream). */
	sla?: SlaState;
	/** On a child ticket: the ticket it was created from. */
	parentId?: string | null;
	/** Until when the ticket is snoozed (out of the views of work to do); null or past: not snoozed. */
	snoozedUntil?: number | null;
	/** On a ticket merged into another: that one. */
	mergedIntoId?: string | null;
	/** The requester's name, in list answers (not on the event stream). */
	requesterName?: string | null;
	/** In search results: the passage that matched best (null for a search of operators only). */
	passage?: SearchPassage | null;
	/** Custom field values by key, in list answers. */
	custom?: Record<string, CustomValue>;
}

export interface Person {
	id: string;
	name: string;
	email: string;
	role: string;
	groupIds: string[];
	disabled: boolean;
}

export interface CustomerInfo {
	id: string;
	name: string;
	organisation: string;
	notes: string;
	tags: string[];
	addresses: { channel: string; address: string }[];
	/** A chat visitor's contact: who they are is unproven (see UnverifiedBadge). */
	unverified: boolean;
	claimedEmail: string | null;
	tickets: { id: string; number: number | null; subject: string; status: string; channel: string; updatedAt: number }[];
}

export type SortKey = 'updated' | 'priority' | 'created';

const LIST_REFRESH_MS = 250;
const READS_KEPT = 500;

export class Workspace {
	readonly connection: CollabConnection;
	/** Phone calls; null for supervisors, who take none. */
	readonly talk: TalkConsole | null;
	/** Status, offers and notifications; null for supervisors, who are not offered work. */
	readonly desk: AgentDesk | null;
	/** What colleagues and rules tell me: for supervisors too. */
	readonly notices = new NoticeTray();
	/** When this agent last looked at each ticket, by id (kept in this browser). */
	reads = $state<Record<string, number>>({});
	views = $state.raw<ViewSummary[]>([]);
	view = $state('mine');
	/** The search (words and operators, src/lib/search-query.ts), across all views. */
	query = $state('');
	/** Why the search cannot be run, in words (shown under the search box). */
	searchError = $state<string | null>(null);
	/** Saved views: the user's own and the shared ones, with their counts. */
	saved = $state.raw<SavedViewSummary[]>([]);
	/** The saved view shown, by id; null while a built-in view or a search is. */
	savedView = $state<string | null>(null);
	sort = $state<SortKey>('updated');
	tickets = $state.raw<TicketRow[]>([]);
	next = $state<string | null>(null);
	selected = $state(0);
	loadError = $state<string | null>(null);
	tabs = $state<string[]>([]);
	active = $state<string | null>(null);
	/** Subjects of open tabs, kept from the list or the ticket itself. */
	titles = $state<Record<string, string>>({});
	/** Ticket numbers from the rows this page has seen, by id (see numberOf). */
	numbers = $state<Record<string, number>>({});
	people = $state.raw<Person[]>([]);
	/** Counts the changes of the custom field definitions told on the stream (open headers read them again). */
	fieldsVersion = $state(0);
	groups = $state.raw<{ id: string; name: string }[]>([]);
	/** Custom fields' labels by key, for their columns. */
	fieldLabels = $state.raw<Record<string, string>>({});

	/** Tickets picked for a bulk action; none for supervisors, who change no ticket. */
	readonly selection: TicketSelection | null;

	/** Requesters of open tickets, loaded once each. */
	customers = $state<Record<string, CustomerInfo>>({});

	private readonly sessions = new Map<string, TicketSession>();
	private readonly customerLoads = new Map<string, Promise<CustomerInfo | null>>();
	private stream: EventSource | null = null;
	/** Told of every ticket row the stream brings (the context panel follows its customer's tickets). */
	private readonly rowListeners = new Set<(row: TicketRow) => void>();
	private refreshTimer: ReturnType<typeof setTimeout> | null = null;
	/** Rows the event stream brought, for tabs not in the current list. */
	private readonly rowsSeen = new Map<string, TicketRow>();
	/** The newest public message time of each ticket seen, to tell a new one. */
	private readonly lastPublic = new Map<string, number>();
	private readonly startedAt = Date.now();
	private readonly onVisible = () => {
		if (document.visibilityState === 'visible' && this.active) this.markRead(this.active);
	};

	constructor(readonly me: Me) {
		this.connection = CollabConnection.forPage();
		this.talk = me.role === 'supervisor' ? null : new TalkConsole(me);
		this.desk = me.role === 'supervisor' ? null : new AgentDesk();
		this.selection = me.role === 'supervisor' ? null : new TicketSelection();
		this.reads = this.restoreReads();
		this.view = this.defaultView;
		this.tabs = this.restoreTabs();
	}

	start() {
		// Restored tabs connect at once: their titles (and live state) are there before they are opened.
		for (const id of this.tabs) this.session(id);
		void this.refresh();
		void this.loadPeople();
		document.addEventListener('visibilitychange', this.onVisible);
		// One stream for all of it (ticket rows, calls, routing): a browser allows few connections per server.
		this.stream = new EventSource('/api/v1/stream');
		// Open means the server follows changes for us: a change made after the first list was read
		// and before then (or while reconnecting) is in the list read now.
		this.stream.addEventListener('open', () => void this.refresh());
		this.talk?.start(this.stream);
		this.desk?.start(this.stream);
		this.notices.start(this.stream);
		this.stream.addEventListener('ticket-fields', () => this.fieldsVersion++);
		this.stream.addEventListener('ticket', (event) => {
			const row = JSON.parse((event as MessageEvent).data) as TicketRow;
			this.rememberNumbers([row]);
			if (this.tabs.includes(row.id)) this.titles = { ...this.titles, [row.id]: row.subject };
			this.noticeNewMessage(row);
			this.scheduleRefresh();
			for (const listener of this.rowListeners) listener(row);
		});
	}

	/** Calls `listener` with each changed ticket row from the live stream; returns the unsubscribe. */
	onTicketRow(listener: (row: TicketRow) => void): () => void {
		this.rowListeners.add(listener);
		return () => this.rowListeners.delete(listener);
	}

	stop() {
		this.stream?.close();
		this.talk?.stop();
		this.desk?.stop();
		document.removeEventListener('visibilitychange', this.onVisible);
		for (const session of this.sessions.values()) session.destroy();
		this.sessions.clear();
		this.connection.destroy();
	}

	// --- views and list -----------------------------------------------------------------------

	private scheduleRefresh() {
		this.refreshTimer ??= setTimeout(() => {
			this.refreshTimer = null;
			void this.refresh();
		}, LIST_REFRESH_MS);
	}

	async refresh() {
		try {
			const query = this.query;
			const shown = this.listPath;
			const [views, list] = await Promise.all([getJson<{ views: ViewSummary[]; saved: SavedViewSummary[] }>('/api/v1/views'), this.page().catch((error: Error) => ({ error }))]);
			this.views = views.views;
			this.saved = views.saved;
			if ('error' in list) {
				if (!query) throw list.error;
				// A search the server cannot run says why under the search box; the list is empty.
				if (shown !== this.listPath) return;
				this.searchError = list.error.message;
				this.tickets = [];
				this.next = null;
				return;
			}
			if (shown !== this.listPath) return; // an older list answered late
			this.searchError = null;
			this.tickets = list.tickets;
			this.rememberNumbers(list.tickets);
			this.next = list.next;
			this.selection?.keepListed(this.tickets.map((t) => t.id));
			this.selected = Math.min(this.selected, Math.max(0, list.tickets.length - 1));
			for (const t of list.tickets) if (this.tabs.includes(t.id)) this.titles[t.id] = t.subject;
			this.loadError = null;
		} catch (error) {
			this.loadError = (error as Error).message;
		}
	}

	async loadMore() {
		if (!this.next) return;
		const list = await this.page(this.next);
		this.tickets = [...this.tickets, ...list.tickets];
		this.rememberNumbers(list.tickets);
		this.next = list.next;
	}

	/** Keeps the numbers of `rows` for tabs, headers and notifications. */
	rememberNumbers(rows: Pick<TicketRow, 'id' | 'number'>[]) {
		// Untracked: an effect that remembers a number must not depend on the numbers.
		const known = untrack(() => this.numbers);
		const unknown = rows.flatMap((row) => (row.number !== null && known[row.id] !== row.number ? [[row.id, row.number] as const] : []));
		if (unknown.length) this.numbers = { ...known, ...Object.fromEntries(unknown) };
	}

	/**
	 * A ticket's number: from its open document, else from a row seen (a ticket from before numbers
	 * has it only in the index); null while neither has come.
	 */
	numberOf(ticketId: string): number | null {
		return this.sessions.get(ticketId)?.fields?.number ?? this.numbers[ticketId] ?? null;
	}

	/** A page of the list: the current view's tickets in the chosen order, or the search's results. */
	private async page(cursor?: string): Promise<{ tickets: TicketRow[]; next: string | null }> {
		const params = new URLSearchParams(
			this.query ? { q: this.query, limit: '50' } : this.savedView ? { saved: this.savedView, limit: '100' } : { view: this.view, sort: this.sort, limit: '100' }
		);
		if (cursor) params.set('cursor', cursor);
		if (!this.query) return getJson(`/api/v1/tickets?${params}`);
		const { results, next } = await getJson<{ results: TicketRow[]; next: string | null }>(`/api/v1/search?${params}`);
		return { tickets: results, next };
	}

	search(query: string) {
		this.query = query.trim();
		this.savedView = null;
		this.selection?.clear();
		this.selected = 0;
		this.active = null;
		void this.refresh();
	}

	/** The view `/` shows. Supervisors hold no tickets of their own: they start from everything open. */
	get defaultView() {
		return this.me.role === 'supervisor' ? 'open' : 'mine';
	}

	/** The address of the list as it is now (its view, saved view or search), to come back to. */
	get listPath() {
		if (this.query) return `/?q=${encodeURIComponent(this.query)}`;
		return this.savedView ? `/?saved=${encodeURIComponent(this.savedView)}` : `/?view=${this.view}`;
	}

	/** The saved view shown, once the views have loaded. */
	get shownSaved(): SavedViewSummary | null {
		return this.savedView ? (this.saved.find((v) => v.id === this.savedView) ?? null) : null;
	}

	/** The list's columns besides the subject: the saved view's, or the usual ones. */
	get columns(): readonly ListColumn[] {
		return this.shownSaved?.columns ?? DEFAULT_VIEW_COLUMNS;
	}

	showSaved(id: string) {
		this.query = '';
		this.searchError = null;
		this.savedView = id;
		this.selection?.clear();
		this.selected = 0;
		this.active = null;
		void this.refresh();
	}

	/** Deletes a saved view; null once it is gone, else why not in words. */
	async deleteSaved(id: string): Promise<string | null> {
		try {
			await sendJson('DELETE', `/api/v1/saved-views/${encodeURIComponent(id)}`);
		} catch (error) {
			return (error as Error).message;
		}
		this.saved = this.saved.filter((v) => v.id !== id);
		return null;
	}

	showView(view: string) {
		this.query = '';
		this.searchError = null;
		this.savedView = null;
		this.view = view;
		this.selection?.clear();
		this.selected = 0;
		this.active = null;
		void this.refresh();
	}

	sortBy(sort: SortKey) {
		this.sort = sort;
		void this.refresh();
	}

	moveSelection(delta: number) {
		this.selected = Math.max(0, Math.min(this.tickets.length - 1, this.selected + delta));
	}

	// --- tabs ---------------------------------------------------------------------------------

	session(ticketId: string): TicketSession {
		let session = this.sessions.get(ticketId);
		if (!session) {
			session = new TicketSession(ticketId, this.connection, this.me, (subject) => (this.titles = { ...this.titles, [ticketId]: subject }));
			this.sessions.set(ticketId, session);
		}
		return session;
	}

	open(ticketId: string, subject?: string) {
		if (!this.tabs.includes(ticketId)) this.tabs = [...this.tabs, ticketId];
		if (subject) this.titles = { ...this.titles, [ticketId]: subject };
		this.active = ticketId;
		this.markRead(ticketId);
		this.saveTabs();
	}

	// --- unread and notifications -------------------------------------------------------------

	/** Whether a ticket of mine has a customer message I have not looked at. */
	isUnread(row: Pick<TicketRow, 'id' | 'assigneeId' | 'awaitingSince' | 'lastPublicAt'>): boolean {
		return row.assigneeId === this.me.id && !!row.awaitingSince && (row.lastPublicAt ?? 0) > (this.reads[row.id] ?? 0);
	}

	/** Whether a tab's ticket is unread, as far as this page has seen it. */
	tabUnread(ticketId: string): boolean {
		const row = this.tickets.find((t) => t.id === ticketId) ?? this.rowsSeen.get(ticketId);
		return !!row && this.active !== ticketId && this.isUnread(row);
	}

	markRead(ticketId: string) {
		// The newest marks are kept: a ticket untouched for long enough counts as read anyway. Read
		// untracked: opening a ticket (an effect) marks it, and must not depend on the marks.
		const kept = Object.entries(untrack(() => this.reads)).sort((a, b) => b[1] - a[1]).slice(0, READS_KEPT - 1);
		const reads = { ...Object.fromEntries(kept), [ticketId]: Date.now() };
		this.reads = reads;
		try {
			localStorage.setItem(this.readsKey, JSON.stringify(reads));
		} catch {
			/* storage full or blocked: marks last the page */
		}
	}

	/**
	 * A new customer message in a ticket of mine that is not in front of me: a notification at the
	 * top of the page, and the browser's when the tab is hidden.
	 */
	private noticeNewMessage(row: TicketRow) {
		this.rowsSeen.set(row.id, row);
		const before = this.lastPublic.get(row.id) ?? this.startedAt;
		if (row.lastPublicAt) this.lastPublic.set(row.id, Math.max(before, row.lastPublicAt));
		if (!this.desk || row.assigneeId !== this.me.id || !row.awaitingSince || !row.lastPublicAt || row.lastPublicAt <= before) return;
		const hidden = document.visibilityState !== 'visible';
		if (row.id === this.active && !hidden) return this.markRead(row.id);
		const customer = this.customers[row.requesterId]?.name;
		const ticket = row.number === null ? row.subject : `#${row.number} ${row.subject}`;
		const title = customer ? `${customer} · ${ticket}` : `New message · ${ticket}`;
		this.notices.notify({ id: `${row.id}:${row.lastPublicAt}`, ticketId: row.id, title, body: row.lastPublicPreview ?? '', at: row.lastPublicAt });
		notifyDesktop(title, row.lastPublicPreview ?? '', row.id);
	}

	private get readsKey() {
		return `tandem:reads:${this.me.id}`;
	}

	private restoreReads(): Record<string, number> {
		try {
			const saved = JSON.parse(localStorage.getItem(this.readsKey) ?? '{}');
			return saved && typeof saved === 'object' ? saved : {};
		} catch {
			return {};
		}
	}

	close(ticketId: string) {
		const index = this.tabs.indexOf(ticketId);
		this.tabs = this.tabs.filter((id) => id !== ticketId);
		this.sessions.get(ticketId)?.destroy();
		this.sessions.delete(ticketId);
		if (this.active === ticketId) this.active = this.tabs[Math.min(index, this.tabs.length - 1)] ?? null;
		this.saveTabs();
	}

	private get tabsKey() {
		return `tandem:tabs:${this.me.id}`;
	}

	private restoreTabs(): string[] {
		try {
			const saved = JSON.parse(localStorage.getItem(this.tabsKey) ?? '[]');
			return Array.isArray(saved) ? saved.filter((id): id is string => typeof id === 'string').slice(0, 20) : [];
		} catch {
			return [];
		}
	}

	private saveTabs() {
		localStorage.setItem(this.tabsKey, JSON.stringify(this.tabs));
	}

	// --- people -------------------------------------------------------------------------------

	private async loadPeople() {
		try {
			const [users, groups] = await Promise.all([
				getJson<{ users: Person[] }>('/api/v1/users'),
				getJson<{ groups: { id: string; name: string }[] }>('/api/v1/groups')
			]);
			this.people = users.users;
			this.groups = groups.groups;
		} catch {
			/* names fall back to ids */
		}
		try {
			const { fields } = await getJson<{ fields: FieldDefinition[] }>('/api/v1/ticket-fields');
			this.fieldLabels = Object.fromEntries(fields.map((f) => [f.key, f.label]));
		} catch {
			/* columns fall back to keys */
		}
	}

	personName(id: string | null): string {
		if (!id) return 'Unassigned';
		if (id === this.me.id) return this.me.name;
		return this.people.find((p) => p.id === id)?.name ?? 'Unknown';
	}

	/** The customer, loaded on first use (and again with `reload` after a change). */
	customer(id: string, reload = false): Promise<CustomerInfo | null> {
		let load = reload ? undefined : this.customerLoads.get(id);
		if (!load) {
			load = getJson<CustomerInfo>(`/api/v1/customers/${encodeURIComponent(id)}`)
				.then((customer) => {
					this.customers = { ...this.customers, [id]: customer };
					this.rememberNumbers(customer.tickets);
					return customer;
				})
				.catch(() => null);
			this.customerLoads.set(id, load);
		}
		return load;
	}

	/** Who wrote an entry, as a name. */
	authorName(authorType: string, authorId: string): string {
		const known = authorType === 'agent' ? this.personName(authorId) : authorType === 'customer' ? this.customers[authorId]?.name : undefined;
		return authorLabel(authorType, known);
	}

	groupName(id: string | null): string {
		return id ? (this.groups.find((g) => g.id === id)?.name ?? 'Unknown group') : 'No group';
	}
}

/** An entry's author as shown: their name when known, else what they are. */
export function authorLabel(authorType: string, name: string | undefined): string {
	if (name) return name;
	return authorType === 'customer' ? 'Customer' : authorType === 'bot' ? 'Bot' : authorType === 'agent' ? 'Unknown' : 'Tandem';
}

export async function getJson<T>(url: string): Promise<T> {
	const response = await fetch(url, { headers: { accept: 'application/json' } });
	const body = await response.json().catch(() => null);
	if (!response.ok) throw new Error(body?.error?.message ?? `${url}: ${response.status}`);
	return body as T;
}
