/**
 * The bot SDK: a typed client for Tandem's HTTP API and live ticket documents, usable from Node.
 *
 *   const bot = new TandemBot({ url: 'http://127.0.0.1:3000', token });
 *   const ticket = await bot.createTicket({ subject, requester: { email }, channel: 'email', body });
 *   await bot.appendEntry(ticket.id, { kind: 'message', channel: 'email', visibility: 'public', body: 'Hi' });
 *   const live = bot.open(ticket.id); await live.ready(); live.onEntries((entries) => ...);
 *
 * HTTP appends carry an id chosen here (a ULID) before the first attempt, so a retry never
 * appends twice. Live documents go through `src/lib/ticket` (the one module that reads and
 * writes the document contract) and share one websocket per bot.
 */
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import { exactAcknowledgements } from '../provider-socket';
import WebSocket from 'ws';
import * as Y from 'yjs';
import type { z } from 'zod';
import {
	appendEntry as appendDocumentEntry,
	entryIndex,
	newId,
	readEntries,
	readFields,
	ticketDocumentName,
	type CustomerChannel,
	type Entry,
	type entryInputSchema,
	type Priority,
	type TicketFields
} from '../ticket';

export { DuplicateEntryError, newId, type Entry } from '../ticket';

// ---------------------------------------------------------------------------------------------
// Types

export interface TandemBotOptions {
	/** The server's HTTP base URL, e.g. `http://127.0.0.1:3000`. */
	url: string;
	/** An API token (from the CLI or the admin page). */
	token: string;
	/** The websocket URL; derived from `url` (`ws(s)://host/collab`) when absent. */
	wsUrl?: string;
	/** Attempts for retried requests (appends and reads), first one included. Default 4. */
	maxAttempts?: number;
	/** Delay before the first retry, doubled on each further one. Default 200 ms. */
	retryDelayMs?: number;
}

export interface NewTicket {
	subject: string;
	requester: { email: string; name?: string };
	channel: CustomerChannel;
	body: string;
	priority?: Priority;
	tags?: string[];
}

/** A ticket as `GET /tickets/:id` and `POST /tickets` answer: its fields and entries in display order. */
export interface Ticket extends TicketFields {
	id: string;
	entryCount: number;
	updatedAt: number;
	entries: Entry[];
}

export interface TicketQuery {
	view?: 'mine' | 'unassigned' | 'open' | 'pending' | 'snoozed' | 'solved' | 'recent';
	status?: TicketFields['status'];
	assignee?: string;
	group?: string;
	q?: string;
	sort?: 'updated' | 'created' | 'priority';
	limit?: number;
	cursor?: string;
}

/** A row of `GET /tickets`. */
export type TicketListRow = { id: string; subject: string; status: TicketFields['status'] } & Record<string, unknown>;

export interface TicketList {
	tickets: TicketListRow[];
	next: string | null;
}

/** An entry as a bot submits it over HTTP: the server fills in what is left out. */
export type NewEntry = z.input<typeof entryInputSchema>;

/** A refused HTTP request: the API's `{error: {code, message, field?}}`. */
export class TandemApiError extends Error {
	override readonly name = 'TandemApiError';
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
		readonly field?: string
	) {
		super(message);
	}
}

/** A live document the server refused or closed, with the server's reason (e.g. `forbidden-author`). */
export class TandemRefusedError extends Error {
	override readonly name = 'TandemRefusedError';
	constructor(readonly reason: string) {
		super(reason);
	}
}

export type EntriesListener = (entries: Entry[], info: { local: boolean }) => void;

// ---------------------------------------------------------------------------------------------
// The client

export class TandemBot {
	private readonly base: string;
	private readonly wsUrl: string;
	private readonly maxAttempts: number;
	private readonly retryDelayMs: number;
	private socket: HocuspocusProviderWebsocket | null = null;
	private readonly live = new Set<LiveTicket>();

	constructor(private readonly options: TandemBotOptions) {
		this.base = options.url.replace(/\/+$/, '');
		const ws = new URL('/collab', this.base + '/');
		ws.protocol = ws.protocol === 'https:' ? 'wss:' : 'ws:';
		this.wsUrl = options.wsUrl ?? ws.toString();
		this.maxAttempts = Math.max(1, options.maxAttempts ?? 4);
		this.retryDelayMs = options.retryDelayMs ?? 200;
	}

	createTicket(ticket: NewTicket): Promise<Ticket> {
		// Not idempotent: never retried.
		return this.request<Ticket>('POST', '/tickets', ticket, false).then((r) => r.body);
	}

	getTicket(id: string): Promise<Ticket> {
		return this.request<Ticket>('GET', `/tickets/${encodeURIComponent(id)}`, undefined, true).then((r) => r.body);
	}

	listTickets(query: TicketQuery = {}): Promise<TicketList> {
		const params = new URLSearchParams();
		for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
		const search = params.size ? `?${params}` : '';
		return this.request<TicketList>('GET', `/tickets${search}`, undefined, true).then((r) => r.body);
	}

	/**
	 * Appends an entry over HTTP exactly once: the id (chosen here when absent) makes a retry, or a
	 * repeat, answer the stored entry with `created: false`.
	 */
	async appendEntry(ticketId: string, entry: NewEntry): Promise<{ entry: Entry; created: boolean }> {
		const body = { ...entry, id: entry.id ?? newId() };
		const response = await this.request<Entry>('POST', `/tickets/${encodeURIComponent(ticketId)}/entries`, body, true);
		return { entry: response.body, created: response.status === 201 };
	}

	/** The ticket's live document, synced through Hocuspocus on the bot's shared websocket. */
	open(ticketId: string): LiveTicket {
		if (!this.socket) {
			this.socket = new HocuspocusProviderWebsocket({ url: this.wsUrl, WebSocketPolyfill: WebSocket as never });
			exactAcknowledgements(this.socket);
		}
		const ticket = new LiveTicket(ticketId, this.socket, this.options.token, () => this.live.delete(ticket));
		this.live.add(ticket);
		return ticket;
	}

	/** Opens the ticket and reports each conversation entry added after it synced. */
	async watch(ticketId: string, onEntry: (entry: Entry, info: { local: boolean }) => void): Promise<LiveTicket> {
		const ticket = this.open(ticketId);
		try {
			await ticket.ready();
		} catch (error) {
			ticket.close();
			throw error;
		}
		ticket.onEntries((entries, info) => {
			for (const entry of entries) onEntry(entry, info);
		});
		return ticket;
	}

	/** Closes every live ticket and the websocket. */
	close(): void {
		for (const ticket of [...this.live]) ticket.close();
		this.socket?.destroy();
		this.socket = null;
	}

	private async request<T>(method: string, route: string, body: unknown, retry: boolean): Promise<{ status: number; body: T }> {
		const attempts = retry ? this.maxAttempts : 1;
		for (let attempt = 1; ; attempt++) {
			let response: Response;
			try {
				response = await fetch(`${this.base}/api/v1${route}`, {
					method,
					headers: {
						authorization: `Bearer ${this.options.token}`,
						...(body === undefined ? {} : { 'content-type': 'application/json' })
					},
					body: body === undefined ? undefined : JSON.stringify(body)
				});
			} catch (error) {
				// A network error: the request may or may not have arrived; retry if allowed.
				if (attempt >= attempts) throw error;
				await this.backoff(attempt);
				continue;
			}
			const text = await response.text().catch(() => '');
			let parsed: unknown = undefined;
			try {
				parsed = text ? JSON.parse(text) : undefined;
			} catch {
				/* not JSON */
			}
			if (response.ok) return { status: response.status, body: parsed as T };
			if (response.status >= 500 && attempt < attempts) {
				await this.backoff(attempt);
				continue;
			}
			const error = (parsed as { error?: { code?: string; message?: string; field?: string } } | undefined)?.error;
			throw new TandemApiError(response.status, error?.code ?? `http_${response.status}`, error?.message ?? (text || response.statusText), error?.field);
		}
	}

	private backoff(attempt: number): Promise<void> {
		const delay = this.retryDelayMs * 2 ** (attempt - 1);
		return new Promise((resolve) => setTimeout(resolve, delay * (0.5 + Math.random() / 2)));
	}
}

// ---------------------------------------------------------------------------------------------
// Live tickets

/**
 * One ticket's Yjs document, synced through Hocuspocus. A document the server refuses (a refused
 * update closes it for this peer) stays closed: open the ticket again.
 */
export class LiveTicket {
	readonly doc = new Y.Doc();
	private readonly provider: HocuspocusProvider;
	private refusal: TandemRefusedError | null = null;
	private closed = false;
	private readonly waiters = new Set<() => void>();
	private readonly listeners = new Set<EntriesListener>();

	constructor(
		readonly ticketId: string,
		socket: HocuspocusProviderWebsocket,
		token: string,
		private readonly onClosed: () => void
	) {
		this.provider = new HocuspocusProvider({
			websocketProvider: socket,
			name: ticketDocumentName(ticketId),
			document: this.doc,
			token,
			onAuthenticationFailed: ({ reason }) => this.refuse(reason || 'unauthorized'),
			// A document the server closes carries a reason; a dropped socket (no reason) reconnects.
			onClose: ({ event }) => {
				if (event?.reason) this.refuse(event.reason);
			},
			onSynced: () => this.wake(),
			onUnsyncedChanges: () => this.wake()
		});
		entryIndex(this.doc).listeners.add(this.dispatch);
		this.provider.attach();
	}

	/** Resolves once the document is synced with the server; rejects if the server refused it. */
	ready(): Promise<void> {
		return this.until(() => this.provider.isSynced, 'ready');
	}

	/** The conversation in display order. */
	entries(): Entry[] {
		return readEntries(this.doc);
	}

	/** The ticket's fields (subject, status, requesterId...). */
	fields(): TicketFields {
		return readFields(this.doc);
	}

	/**
	 * Appends an entry over the websocket. Throws DuplicateEntryError (and sends nothing) when the
	 * id is already in the ticket; resolves once the server acknowledged the update; rejects with
	 * a TandemRefusedError carrying the server's reason if it refused it.
	 */
	async append(entry: Entry): Promise<void> {
		await this.ready();
		appendDocumentEntry(this.doc, entry);
		await this.until(() => this.provider.isSynced && this.provider.unsyncedChanges === 0, 'acknowledged');
	}

	/** Tells `listener` of conversation entries added from now on; returns the unsubscribe. */
	onEntries(listener: EntriesListener): () => void {
		this.listeners.add(listener);
		return () => this.listeners.delete(listener);
	}

	close(): void {
		if (this.closed) return;
		this.closed = true;
		entryIndex(this.doc).listeners.delete(this.dispatch);
		this.listeners.clear();
		this.provider.destroy();
		this.wake();
		this.onClosed();
	}

	private readonly dispatch = (entries: Entry[], place: 'conversation' | 'side', origin: unknown) => {
		if (place !== 'conversation') return;
		const info = { local: origin !== this.provider };
		for (const listener of this.listeners) listener(entries, info);
	};

	private refuse(reason: string) {
		this.refusal ??= new TandemRefusedError(reason);
		this.wake();
	}

	private wake() {
		for (const waiter of [...this.waiters]) waiter();
	}

	private until(done: () => boolean, what: string): Promise<void> {
		return new Promise((resolve, reject) => {
			const check = () => {
				if (this.refusal) reject(this.refusal);
				else if (this.closed) reject(new Error(`ticket ${this.ticketId} was closed before it was ${what}`));
				else if (done()) resolve();
				else return;
				this.waiters.delete(check);
			};
			this.waiters.add(check);
			check();
		});
	}
}
