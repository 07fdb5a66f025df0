/**
 * Live chat: website visitors talk to agents through the widget (static/widget.js) and the hosted
 * chat page (/chat). The visitor side never touches the ticket document: it has its own endpoints
 * (/api/v1/visitor/*, a visitor token) and sees only the public messages of its own chat ticket.
 *
 * While a visitor's stream is open the server holds the ticket document and publishes the visitor
 * in the document's awareness (`visitor`: name, presence, typing, page), so agents see it live like
 * any colleague; agents typing a public reply are told to the visitor the same way in reverse.
 */
import { createHash, randomBytes } from 'node:crypto';
import { and, desc, eq, isNull, ne, or } from 'drizzle-orm';
import type { chats } from '../../drizzle/schema';
import type { ChatInfo, PageView, VisitorAwareness, VisitorEvent, VisitorMessage, VisitorPresence } from '../../src/lib/api/chat';
import type { ChatPage, StartChat } from '../../src/lib/api/schemas';
import type * as Y from 'yjs';
import { entryIndex, newId, readEntries, ROOTS, type Entry } from '../../src/lib/ticket';
import type { Accounts } from '../accounts';
import { ticketAccess } from '../auth/policy';
import { actorOf, SYSTEM, type Principal } from '../auth/principal';
import type { Customer, Customers } from '../customers';
import { ApiError, forbidden, notFound } from '../errors';
import type { Events } from '../events';
import type { Logger } from '../log';
import { Limiters } from '../limiters';
import type { RateLimit } from '../rate-limit';
import type { Store } from '../storage/store';
import type { TicketIndex } from '../ticket-index';
import { subjectFrom, type DocumentAccess, type HeldDocument, type Tickets } from '../tickets';
import type { VisitorIdentities } from './visitor-identity';

/** Pages of a visitor's path kept and shown to agents: the newest ones. */
const PATH_KEPT = 100;

export interface Visitor {
	id: string;
	customerId: string | null;
}

type Listener = (event: VisitorEvent) => void;

/**
 * A chat held open while its visitor is connected: by its own ticket's id, with the document its
 * conversation goes on in (its own, or the ticket it was merged into).
 */
interface LiveChat {
	ticketId: string;
	/** The chat's customer: their own messages are the only customer messages the visitor sees. */
	customerId: string | null;
	heldId: string;
	held: HeldDocument;
	listeners: Set<Listener>;
	state: VisitorAwareness;
	agentTyping: string | null;
	leaveTimer: ReturnType<typeof setTimeout> | null;
	closed: boolean;
	stop: () => void;
	/** What the listeners are being told, in order (see `tell`). */
	telling: Promise<void>;
}

type ChatRow = typeof chats.$inferSelect;

export interface ChatSettings {
	/** How long after the visitor's last stream closed they show as "left". */
	leftAfterMs: number;
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * What one client may do per minute on the public visitor endpoints: new visitor sessions per
 * client address, messages (and chats started) per visitor, and the small signals (typing,
 * presence, pages) per visitor.
 */
export const VISITOR_LIMITS = { sessions: 30, messages: 20, signals: 120 } as const;
export type VisitorAction = keyof typeof VISITOR_LIMITS;
const MINUTE_MS = 60_000;

const chatEnded = () => new ApiError(409, 'chat_ended', 'this chat has ended; start a new one');
const chatInProgress = () => new ApiError(409, 'chat_in_progress', 'a chat is already going on; send messages to it');

export class Chats {
	private readonly live = new Map<string, Promise<LiveChat>>();
	private readonly limits: Record<VisitorAction, RateLimit>;
	/** Told of each chat that ends, on the node that ended it (see `onEnded`). */
	private readonly endedListeners = new Set<(ticketId: string) => void>();

	constructor(
		private readonly store: Store,
		private readonly customers: Customers,
		private readonly accounts: Accounts,
		private readonly tickets: Tickets,
		private readonly index: TicketIndex,
		private readonly documents: DocumentAccess,
		private readonly events: Events,
		private readonly logger: Logger,
		private readonly identities: VisitorIdentities,
		private readonly settings: ChatSettings,
		/** Where the visitor limits count: a cluster node's are shared with the other nodes. */
		limiters = new Limiters()
	) {
		this.limits = Object.fromEntries(
			Object.entries(VISITOR_LIMITS).map(([action, limit]) => [action, limiters.rateLimit(`visitor-${action}`, limit, MINUTE_MS)])
		) as Record<VisitorAction, RateLimit>;
	}

	// --- visitors -------------------------------------------------------------------------------

	/** Counts a visitor's request (`key`: the visitor, or the client address for new sessions); 429 past the limit. */
	async limit(action: VisitorAction, key: string): Promise<void> {
		const waitMs = await this.limits[action].take(key);
		if (waitMs > 0) {
			throw new ApiError(429, 'rate_limited', `too many requests (at most ${VISITOR_LIMITS[action]} a minute): try again in ${Math.ceil(waitMs / 1000)} s`);
		}
	}

	/** A new visitor; the token is returned here only (the widget keeps it). */
	async createVisitor(): Promise<{ visitor: Visitor; token: string }> {
		const token = `vis_${randomBytes(24).toString('base64url')}`;
		const now = Date.now();
		const visitor = { id: newId(), customerId: null };
		await this.store.db.insert(this.store.tables.visitors).values({ id: visitor.id, tokenHash: hashToken(token), createdAt: now, lastSeenAt: now });
		return { visitor, token };
	}

	/** The visitor holding `token`, if any. */
	async visitor(token: string | null | undefined): Promise<Visitor | null> {
		if (!token) return null;
		const { visitors } = this.store.tables;
		const [row] = await this.store.db
			.update(visitors)
			.set({ lastSeenAt: Date.now() })
			.where(eq(visitors.tokenHash, hashToken(token)))
			.returning({ id: visitors.id, customerId: visitors.customerId });
		return row ?? null;
	}

	/** Records a page view on the visitor's path and shows it live in their chat ticket. */
	async recordPage(visitor: Visitor, page: ChatPage): Promise<PageView> {
		const view = { url: page.url, title: page.title, viewedAt: Date.now() };
		await this.store.db.insert(this.store.tables.visitorPages).values({ visitorId: visitor.id, ...view });
		const chat = await this.latestChat(visitor.id);
		if (chat) this.inBackground(this.publish(chat.ticketId, { page: view }), chat.ticketId);
		return view;
	}

	/** The visitor's path, newest first. */
	async path(visitorId: string): Promise<PageView[]> {
		const { visitorPages } = this.store.tables;
		return this.store.db
			.select({ url: visitorPages.url, title: visitorPages.title, viewedAt: visitorPages.viewedAt })
			.from(visitorPages)
			.where(eq(visitorPages.visitorId, visitorId))
			.orderBy(desc(visitorPages.seq))
			.limit(PATH_KEPT);
	}

	// --- the visitor's side of a chat -----------------------------------------------------------

	/**
	 * Starts a chat: a chat ticket from the visitor's first message, filed under who the visitor is
	 * (`customerFor`); an email address they gave gets a link proving it, sent to that address.
	 * `origin` is where that link points. 409 while a chat is going on.
	 */
	async start(visitor: Visitor, input: StartChat, origin: string): Promise<ChatInfo> {
		if (await this.goingOn(visitor.id)) throw chatInProgress();
		const customer = await this.customerFor(visitor, input);
		const now = Date.now();
		const chatId = newId();
		const entry: Entry = {
			id: this.messageId(visitor, input.id ?? newId()),
			kind: 'message',
			channel: 'chat',
			direction: 'in',
			visibility: 'public',
			authorType: 'customer',
			authorId: customer.id,
			body: input.message,
			createdAt: now,
			meta: input.page ? { chatId, page: input.page.url } : { chatId }
		};
		const { chats, visitors } = this.store.tables;
		const ticket = await this.tickets.createFromChannel({ subject: subjectFrom(input.message), requesterId: customer.id, channel: 'chat', entry }, async (ticketId) => {
			// One chat going on per visitor, however many starts come at once (tabs, processes): decided
			// under the visitor's row lock in the creating transaction, which a loser rolls back.
			await this.store.lock(this.store.db, visitors, eq(visitors.id, visitor.id));
			if (await this.goingOn(visitor.id)) throw chatInProgress();
			await this.store.db.insert(chats).values({ id: chatId, visitorId: visitor.id, ticketId, status: 'waiting', presence: 'online', startedAt: now });
			await this.store.db.update(visitors).set({ customerId: customer.id }).where(eq(visitors.id, visitor.id));
			await this.events.record({ ticketId, actor: `visitor:${visitor.id}`, type: 'chat.started', data: { chatId } });
			await this.identities.requestProof(customer, ticketId, origin);
		});
		return this.info((await this.chatRow(ticket.id))!);
	}

	/** Whether the visitor has a chat that has not ended. */
	private async goingOn(visitorId: string): Promise<boolean> {
		const current = await this.latestChat(visitorId);
		return !!current && current.status !== 'ended';
	}

	/**
	 * Who the visitor is, for a new chat. What they type is unproven: the customer they are already
	 * known as (linked by an agent or by a proven address) when they give no other address; else
	 * their unverified contact, holding the address they typed as a claim, never a known customer.
	 */
	private async customerFor(visitor: Visitor, input: StartChat): Promise<Customer> {
		const known = visitor.customerId ? await this.customers.get(visitor.customerId) : null;
		const claimed = input.email?.trim().toLowerCase();
		if (known && known.unverified) {
			if (claimed) await this.customers.claimEmail(known.id, claimed);
			return (await this.customers.get(known.id))!;
		}
		if (known && (!claimed || known.addresses.some((a) => a.channel === 'email' && a.address === claimed))) return known;
		return this.customers.createUnverified(visitor.id, input.name, claimed ?? null);
	}

	/** The visitor's latest chat, if any. */
	async current(visitor: Visitor): Promise<ChatInfo | null> {
		const row = await this.latestChat(visitor.id);
		return row ? this.info(row) : null;
	}

	/** Appends the visitor's message to their chat ticket, once per id. */
	async say(visitor: Visitor, message: { id: string; body: string }): Promise<VisitorMessage> {
		const chat = await this.requireChat(visitor);
		if (chat.status === 'ended') throw chatEnded();
		const ticket = await this.index.get(chat.ticketId);
		if (!ticket) throw notFound('chat ticket');
		// A chat whose ticket was merged into another goes on there, as the same customer.
		const { entry } = await this.tickets.append(
			await this.tickets.mergeTarget(chat.ticketId),
			{
				id: this.messageId(visitor, message.id),
				kind: 'message',
				channel: 'chat',
				visibility: 'public',
				authorType: 'customer',
				authorId: ticket.requesterId,
				body: message.body,
				meta: { chatId: chat.id }
			},
			SYSTEM
		);
		this.inBackground(this.publish(chat.ticketId, { typing: false }), chat.ticketId);
		return (await this.visitorMessage(entry))!;
	}

	async setTyping(visitor: Visitor, typing: boolean): Promise<void> {
		const chat = await this.requireChat(visitor);
		if (chat.status !== 'ended') await this.publish(chat.ticketId, { typing });
	}

	async setPresence(visitor: Visitor, presence: 'online' | 'away'): Promise<void> {
		const chat = await this.requireChat(visitor);
		await this.storePresence(chat.ticketId, presence);
		await this.publish(chat.ticketId, { presence });
	}

	/** The visitor ends the chat themselves. */
	async leave(visitor: Visitor): Promise<ChatInfo> {
		const chat = await this.requireChat(visitor);
		return this.finish(chat.ticketId, `visitor:${visitor.id}`, null);
	}

	/**
	 * Streams the visitor's chat: the public messages so far, then every new one, agents typing
	 * and the chat's status. Returns the unsubscribe function.
	 */
	async subscribe(visitor: Visitor, listener: Listener): Promise<() => void> {
		const chat = await this.requireChat(visitor);
		let live = await this.liveChat(chat.ticketId);
		// Let go of just now (the visitor came back as it closed): hold the document again.
		while (live.closed) live = await this.liveChat(chat.ticketId);
		if (live.leaveTimer) clearTimeout(live.leaveTimer);
		live.leaveTimer = null;
		live.listeners.add(listener);
		// The conversation as it is now; what is added from here on is told after it (`tell`).
		const entries = readEntries(live.held.doc);
		const typing = live.agentTyping;
		void this.tell(
			live,
			async () => {
				const info = await this.info((await this.chatRow(chat.ticketId))!);
				const messages = await this.visitorMessages(live, entries);
				return [
					{ type: 'chat', status: info.status, agentName: info.agentName },
					...messages.map((message) => ({ type: 'message' as const, message })),
					...(typing ? [{ type: 'typing' as const, typing: true, name: typing }] : [])
				];
			},
			[listener]
		);
		if ((await this.chatRow(chat.ticketId))?.status !== 'ended') {
			await this.storePresence(chat.ticketId, 'online');
			this.setState(live, { presence: 'online' });
		}
		return () => {
			live.listeners.delete(listener);
			if (live.listeners.size) return;
			// Gone, or only moving to the next page of the site: "left" once they stay away.
			live.leaveTimer = setTimeout(() => this.inBackground(this.letGo(live), live.ticketId), this.settings.leftAfterMs);
		};
	}

	// --- the agents' side ------------------------------------------------------------------------

	/** The ticket's chat and its visitor's path; null when the ticket did not start as a chat. */
	async forTicket(ticketId: string, principal: Principal): Promise<{ chat: ChatInfo; path: PageView[] } | null> {
		await this.readable(ticketId, principal);
		const row = await this.chatRow(ticketId);
		return row ? { chat: await this.info(row), path: await this.path(row.visitorId) } : null;
	}

	/**
	 * An agent takes the chat. 409 when a colleague serves it already (unless `handOver`: the router
	 * gave it to this agent after the one serving it went away) or it has ended.
	 */
	async serve(ticketId: string, principal: Principal, options: { handOver?: boolean } = {}): Promise<ChatInfo> {
		if (principal.kind !== 'user' || !(await this.accounts.canHoldTickets(principal.id))) throw forbidden('only agents serve chats');
		await this.writable(ticketId, principal);
		const now = Date.now();
		const { chats } = this.store.tables;
		// One conditional statement: of agents serving at once (on any process), one takes the chat.
		const servable = options.handOver
			? and(ne(chats.status, 'ended'), or(isNull(chats.agentId), ne(chats.agentId, principal.id)))
			: eq(chats.status, 'waiting');
		const [taken] = await this.store.db
			.update(chats)
			.set({ status: 'active', agentId: principal.id, servedAt: now })
			.where(and(eq(chats.ticketId, ticketId), servable))
			.returning();
		const row = taken ?? (await this.chatRow(ticketId));
		if (!row) throw notFound('chat');
		if (!taken) {
			if (row.status === 'ended') throw chatEnded();
			if (row.agentId !== principal.id) throw new ApiError(409, 'chat_taken', `${await this.nameOf(row.agentId)} is serving this chat`);
			return this.info(row);
		}
		await this.events.record({ ticketId, actor: actorOf(principal), type: 'chat.served', data: { chatId: row.id, handOver: !!options.handOver } });
		// One "joined" event per agent who joins: a hand-over names the new one.
		const info = await this.info(row);
		// The visitor and the agents are told first: the chat is served whatever happens to the note of it.
		await this.publish(ticketId, { status: 'active' }, { type: 'chat', status: 'active', agentName: info.agentName });
		await this.systemEntry(ticketId, `${row.id}.s.${principal.id}`, `${principal.name} joined the chat`, now);
		return info;
	}

	/** An agent ends the chat; the ticket stays open for follow-ups on other channels. */
	async end(ticketId: string, principal: Principal): Promise<ChatInfo> {
		if (principal.kind === 'user' && principal.role === 'supervisor') throw forbidden('supervisors are read-only');
		await this.writable(ticketId, principal);
		return this.finish(ticketId, actorOf(principal), principal.kind === 'system' ? null : principal.name);
	}

	/** Calls `listener` with the ticket of each chat ended from now on (by the visitor or an agent), once it has ended. Returns the stop. */
	onEnded(listener: (ticketId: string) => void): () => void {
		this.endedListeners.add(listener);
		return () => this.endedListeners.delete(listener);
	}

	/** Lets go of every held document (shutdown). */
	async close(): Promise<void> {
		const all = await Promise.all([...this.live.values()].map((p) => p.catch(() => null)));
		await Promise.all(all.filter((l): l is LiveChat => !!l).map((l) => this.letGo(l, false)));
	}

	// --- internals -------------------------------------------------------------------------------

	private async finish(ticketId: string, actor: string, byName: string | null): Promise<ChatInfo> {
		const now = Date.now();
		const { chats } = this.store.tables;
		// One conditional statement: of two ends at once, one ends the chat.
		const [ended] = await this.store.db
			.update(chats)
			.set({ status: 'ended', endedAt: now, endedBy: actor })
			.where(and(eq(chats.ticketId, ticketId), ne(chats.status, 'ended')))
			.returning();
		const row = ended ?? (await this.chatRow(ticketId));
		if (!row) throw notFound('chat');
		if (!ended) return this.info(row);
		await this.events.record({ ticketId, actor, type: 'chat.ended', data: { chatId: row.id } });
		await this.systemEntry(ticketId, `${row.id}.ended`, byName ? `Chat ended by ${byName}` : 'The visitor ended the chat', now);
		const info = await this.info(row);
		await this.publish(ticketId, { status: 'ended', typing: false }, { type: 'chat', status: 'ended', agentName: info.agentName });
		for (const listener of this.endedListeners) listener(ticketId);
		return info;
	}

	/** An internal event in the conversation (who served, who ended), once per chat and kind. */
	private async systemEntry(ticketId: string, key: string, body: string, createdAt: number) {
		await this.tickets.append(
			ticketId,
			{ id: `chat.${key}`, kind: 'event', channel: 'chat', visibility: 'internal', authorType: 'system', authorId: 'system', body, createdAt },
			SYSTEM
		);
	}

	/**
	 * Updates what agents see of the visitor and tells the visitor. Without a visitor connected the
	 * state is still set on the document when agents have it open, so they see a status change.
	 */
	private async publish(ticketId: string, change: Partial<VisitorAwareness>, event?: VisitorEvent): Promise<void> {
		const pending = this.live.get(ticketId);
		if (!pending) {
			if (!(await this.documents.loaded(ticketId))) return;
			const state = await this.stateOf((await this.chatRow(ticketId))!);
			// Read again after the reads above: the document may have been let go of meanwhile.
			(await this.documents.loaded(ticketId))?.awareness.setLocalState({ visitor: { ...state, ...change } });
			return;
		}
		const live = await pending;
		this.setState(live, change);
		if (event) await this.tell(live, async () => [event]);
	}

	/**
	 * Tells `to` (every listener now, by default) the events `make` resolves to, after everything
	 * told before: what is told is read asynchronously, and the visitor sees it in order.
	 */
	private tell(live: LiveChat, make: () => Promise<VisitorEvent[]>, to = [...live.listeners]): Promise<void> {
		live.telling = live.telling
			.then(async () => {
				const events = await make();
				for (const listener of to) if (live.listeners.has(listener)) for (const event of events) listener(event);
			})
			.catch((error: unknown) => this.logger.warn({ err: error, ticketId: live.ticketId }, 'telling the visitor failed'));
		return live.telling;
	}

	/** The visitor as stored: name, presence, chat status, last page; not typing. */
	private async stateOf(row: ChatRow): Promise<VisitorAwareness> {
		const customer = (await this.index.get(row.ticketId))?.requesterId;
		return {
			chatId: row.id,
			name: (customer && (await this.customers.get(customer))?.name) || 'Visitor',
			presence: row.presence,
			typing: false,
			status: row.status,
			page: (await this.path(row.visitorId))[0] ?? null
		};
	}

	private setState(live: LiveChat, change: Partial<VisitorAwareness>) {
		live.state = { ...live.state, ...change };
		live.held.doc.awareness.setLocalState({ visitor: live.state }); // (setLocalStateField is a no-op on Hocuspocus's null state)
	}

	private liveChat(ticketId: string): Promise<LiveChat> {
		let pending = this.live.get(ticketId);
		if (!pending) {
			pending = this.open(ticketId);
			this.live.set(ticketId, pending);
			pending.catch(() => this.live.delete(ticketId));
		}
		return pending;
	}

	private async open(ticketId: string): Promise<LiveChat> {
		const state = await this.stateOf((await this.chatRow(ticketId))!);
		const heldId = await this.tickets.mergeTarget(ticketId);
		const held = await this.documents.hold(heldId);
		const live: LiveChat = {
			ticketId,
			customerId: (await this.index.get(ticketId))?.requesterId ?? null,
			heldId,
			held,
			listeners: new Set(),
			state,
			agentTyping: null,
			leaveTimer: null,
			closed: false,
			stop: () => {},
			telling: Promise.resolve()
		};
		this.attach(live);
		this.setState(live, {});
		return live;
	}

	/** Follows the held document: new public messages, agents typing, the survey, and a merge. */
	private attach(live: LiveChat) {
		const { doc } = live.held;
		const onEntries = (entries: Entry[], place: 'conversation' | 'side') => {
			if (place !== 'conversation') return;
			void this.tell(live, async () => (await this.visitorMessages(live, entries)).map((message) => ({ type: 'message' as const, message })));
		};
		const onAwareness = () => {
			const typing = this.agentTyping(live);
			if (typing === live.agentTyping) return;
			live.agentTyping = typing;
			void this.tell(live, async () => [{ type: 'typing', typing: typing !== null, name: typing }]);
		};
		const fields = doc.getMap<unknown>(ROOTS.ticket);
		const onFields = (event: Y.YMapEvent<unknown>) => {
			// The ticket's satisfaction survey was asked or answered (on any node: the field reaches
			// every copy of the document): the widget reads it again.
			if (event.keysChanged.has('satisfaction') || event.keysChanged.has('satisfactionComment')) void this.tell(live, async () => [{ type: 'survey' }]);
			if (event.keysChanged.has('mergedIntoId')) this.inBackground(this.followMerge(live), live.ticketId);
		};
		entryIndex(doc).listeners.add(onEntries);
		doc.awareness.on('change', onAwareness);
		fields.observe(onFields);
		live.stop = () => {
			entryIndex(doc).listeners.delete(onEntries);
			doc.awareness.off('change', onAwareness);
			fields.unobserve(onFields);
		};
	}

	/**
	 * The held ticket was merged into another while the visitor is here: the chat goes on there.
	 * Hold that document instead and tell the visitor its conversation (the copies of what they
	 * have seen keep the ids they saw, so nothing shows twice).
	 */
	private async followMerge(live: LiveChat) {
		const target = await this.tickets.mergeTarget(live.ticketId);
		if (live.closed || target === live.heldId) return;
		const held = await this.documents.hold(target);
		if (live.closed) return void (await held.release());
		live.stop();
		const previous = live.held;
		live.held = held;
		live.heldId = target;
		this.attach(live);
		this.setState(live, {});
		previous.doc.awareness.setLocalState(null);
		await previous.release();
		await this.tell(live, async () => (await this.visitorMessages(live, readEntries(live.held.doc))).map((message) => ({ type: 'message' as const, message })));
	}

	/** The first agent typing a public reply in the ticket, by first name; null when none is. */
	private agentTyping(live: LiveChat): string | null {
		for (const [clientId, state] of live.held.doc.awareness.getStates()) {
			if (clientId === live.held.doc.clientID) continue;
			const user = state.user as { kind?: string; name?: string; readOnly?: boolean } | undefined;
			if (user?.kind === 'user' && !user.readOnly && state.typing && state.typingVisibility === 'public') {
				return firstName(user.name ?? 'Agent');
			}
		}
		return null;
	}

	/** The visitor is gone: they show as left (while agents have the ticket open), and the document is let go. */
	private async letGo(live: LiveChat, markLeft = true) {
		if ((live.listeners.size && markLeft) || live.closed) return;
		live.closed = true;
		this.live.delete(live.ticketId);
		if (live.leaveTimer) clearTimeout(live.leaveTimer);
		live.stop();
		if (markLeft) {
			await this.storePresence(live.ticketId, 'left');
			this.setState(live, { presence: 'left', typing: false });
		}
		await live.held.release().catch((error: unknown) => this.logger.warn({ err: error, ticketId: live.ticketId }, 'releasing a chat document failed'));
	}

	/** Work nobody waits for: its failure is logged (unhandled, it would end the process). */
	private inBackground(work: Promise<unknown>, ticketId: string) {
		work.catch((error: unknown) => this.logger.warn({ err: error, ticketId }, 'live chat update failed'));
	}

	private async storePresence(ticketId: string, presence: VisitorPresence) {
		const { chats } = this.store.tables;
		await this.store.db.update(chats).set({ presence }).where(eq(chats.ticketId, ticketId));
	}

	/** Visitor-chosen message ids are made unique to the visitor: no visitor can collide with another entry. */
	private messageId(visitor: Visitor, id: string): string {
		return `chat.${createHash('sha256').update(`${visitor.id}\n${id}`).digest('hex').slice(0, 40)}`;
	}

	/** Public messages as the visitor sees them. */
	private async visitorMessages(live: LiveChat, entries: Entry[]): Promise<VisitorMessage[]> {
		return (await Promise.all(entries.map((entry) => this.visitorMessage(entry, live)))).filter((m) => m !== null);
	}

	/**
	 * A public message as the visitor sees it. In a ticket the chat was merged into, customers'
	 * messages are shown only when they are the chat's customer's (another requester's mail is not
	 * theirs to read), and a copy of one from the chat's own ticket keeps the id it had there.
	 */
	private async visitorMessage(entry: Entry, chat?: Pick<LiveChat, 'ticketId' | 'heldId' | 'customerId'>): Promise<VisitorMessage | null> {
		if (entry.kind !== 'message' || entry.visibility !== 'public') return null;
		const fromVisitor = entry.authorType === 'customer';
		const merged = chat && chat.heldId !== chat.ticketId;
		if (merged && fromVisitor && entry.authorId !== chat.customerId) return null;
		const origin = entry.meta?.mergedFrom as { ticketId?: unknown; entryId?: unknown } | undefined;
		const id = merged && origin?.ticketId === chat.ticketId && typeof origin.entryId === 'string' ? origin.entryId : entry.id;
		return {
			id,
			body: entry.body,
			createdAt: entry.createdAt,
			from: fromVisitor ? 'visitor' : 'agent',
			name: fromVisitor ? 'You' : firstName(await this.nameOf(entry.authorId)),
			channel: entry.channel
		};
	}

	private async nameOf(userId: string | null): Promise<string> {
		return (userId && (await this.accounts.get(userId))?.name) || 'Support';
	}

	private async latestChat(visitorId: string): Promise<ChatRow | undefined> {
		const { chats } = this.store.tables;
		const [row] = await this.store.db.select().from(chats).where(eq(chats.visitorId, visitorId)).orderBy(desc(chats.startedAt), desc(chats.id)).limit(1);
		return row;
	}

	private async chatRow(ticketId: string): Promise<ChatRow | undefined> {
		const { chats } = this.store.tables;
		const [row] = await this.store.db.select().from(chats).where(eq(chats.ticketId, ticketId)).limit(1);
		return row;
	}

	private async requireChat(visitor: Visitor): Promise<ChatRow> {
		const chat = await this.latestChat(visitor.id);
		if (!chat) throw new ApiError(404, 'no_chat', 'start a chat first');
		return chat;
	}

	private async info(row: ChatRow): Promise<ChatInfo> {
		return {
			id: row.id,
			ticketId: row.ticketId,
			status: row.status,
			presence: row.presence,
			agentId: row.agentId,
			agentName: row.agentId ? firstName(await this.nameOf(row.agentId)) : null,
			startedAt: row.startedAt,
			servedAt: row.servedAt,
			endedAt: row.endedAt
		};
	}

	private async readable(ticketId: string, principal: Principal) {
		const row = await this.index.get(ticketId);
		if (!row || !ticketAccess(principal, row)) throw notFound('ticket');
		return row;
	}

	private async writable(ticketId: string, principal: Principal) {
		if (ticketAccess(principal, await this.readable(ticketId, principal)) !== 'write') throw forbidden('you may not write to this ticket');
	}
}

/** Visitors see agents by first name. */
const firstName = (name: string) => name.trim().split(/\s+/)[0] || name;
