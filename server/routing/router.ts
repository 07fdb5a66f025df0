/**
 * The router: work (tickets from every customer channel, chats, calls) waits in a queue per group
 * and is offered to one agent at a time — the idle longest of those eligible (rules.ts) — in
 * serving order. Items and offers live in the store (`work_items`, `offers`), and nothing about
 * them is kept in memory: every decision is one transaction that locks the rows it reads (in one
 * order: the agent's user row, then items, then offers) or one conditional UPDATE whose result says
 * who won, so an item is assigned to exactly one agent and capacity is checked where it is spent,
 * also between processes. Timers only say when to look again, and a restart rebuilds from the
 * tables and the ticket index. In a cluster any node decides (accepts, declines, routes the
 * tickets it projects); the expiry timer and the rebuild are the leader's (`lead`), which re-arms
 * the timer from the offers every node makes (the feed).
 */
import { and, asc, count, desc, eq, getTableColumns, inArray, min, ne, or, sql } from 'drizzle-orm';
import { CUSTOMER_CHANNELS, newId, type Priority } from '../../src/lib/ticket';
import { ApiError, forbidden, notFound } from '../errors';
import { Feed } from '../cluster/feed';
import type { Events } from '../events';
import type { Logger } from '../log';
import type { TicketRow } from '../ticket-index';
import type { Clock } from './clock';
import type { AgentPresence, AgentStatus } from './presence';
import {
	CHANNEL_CLASSES,
	capacitiesOf,
	channelClass,
	compareItems,
	hasSpareCapacity,
	pickAgent,
	skillOf,
	type AgentState,
	type ChannelClass,
	type PerChannel
} from './rules';
import type { RoutingSettings } from './settings';
import type { Sla } from './sla';
import { isUniqueViolation, type Store } from '../storage/store';

export type ItemStatus = 'queued' | 'offered' | 'assigned' | 'done';

export interface WorkItem {
	id: string;
	kind: 'ticket' | 'call';
	ref: string;
	ticketId: string | null;
	channel: ChannelClass;
	groupId: string | null;
	skill: string | null;
	priority: Priority;
	slaDueAt: number | null;
	status: ItemStatus;
	agentId: string | null;
	previousAgentId: string | null;
	written: boolean;
	enqueuedAt: number;
	assignedAt: number | null;
	doneAt: number | null;
	doneReason: string | null;
}

/** Work to route: a ticket, or a call (the Talk feature enqueues those with `ref` = its call id). */
export interface NewWork {
	kind: 'ticket' | 'call';
	ref: string;
	ticketId?: string | null;
	channel: ChannelClass;
	groupId?: string | null;
	skill?: string | null;
	priority?: Priority;
	slaDueAt?: number | null;
	previousAgentId?: string | null;
}

export interface OfferView {
	id: string;
	agentId: string;
	itemId: string;
	kind: WorkItem['kind'];
	ref: string;
	ticketId: string | null;
	number: number | null;
	subject: string | null;
	channel: ChannelClass;
	groupId: string | null;
	priority: Priority;
	slaDueAt: number | null;
	enqueuedAt: number;
	createdAt: number;
	expiresAt: number;
	declineAllowed: boolean;
}

export type WithdrawReason = 'declined' | 'expired' | 'withdrawn' | 'done' | 'assigned';

export type RouterEvent =
	| { type: 'offer'; agentId: string; offer: OfferView }
	| { type: 'offer.withdrawn'; agentId: string; offerId: string; itemId: string; reason: WithdrawReason }
	| { type: 'assigned'; agentId: string; item: WorkItem };

/** Awaited, in order, before the change that raised the event resolves. */
export type RouterListener = (event: RouterEvent) => void | Promise<void>;

/** Writes a ticket's assignee into its document (and opens it when new). */
export interface TicketAssigner {
	assign(ticketId: string, agentId: string): Promise<void>;
}

export interface RouterDeps {
	store: Store;
	clock: Clock;
	events: Events;
	presence: AgentStatus;
	settings: RoutingSettings;
	sla: Sla;
	assigner: TicketAssigner;
	logger: Logger;
}

interface OfferRow {
	id: string;
	itemId: string;
	agentId: string;
	status: 'pending' | 'accepted' | 'declined' | 'expired' | 'withdrawn';
	createdAt: number;
	expiresAt: number;
}

/** Ticket channels routed from the ticket index; calls come from the Talk feature as `call` items. */
const ROUTED_CHANNELS: readonly string[] = CUSTOMER_CHANNELS.filter((c) => c !== 'talk');
const DONE_BY_SOLVING = ['ticket solved', 'ticket closed'];
/**
 * The key routing passes and the changes that move an agent's load from offered to assigned take
 * turns under (any node; PostgreSQL: an advisory lock). A pass counts each agent's load in two
 * reads (assigned items, pending offers); an accept committed between them would be counted in
 * neither, and so would two passes' offers in each other: either way an agent gets more than their
 * capacity.
 */
const LOAD_CHANGES = 'routing.load';

export class Router {
	private readonly listeners = new Set<RouterListener>();
	private expiryTimer: unknown = null;
	private expiryAt: number | null = null;
	/** Expiry timers are re-armed one after the other, each from the offers as they are then. */
	private arming: Promise<void> = Promise.resolve();
	private armQueued = false;
	/** Changes of a ticket's index row are followed one after the other, in order, per ticket. */
	private readonly observing = new Map<string, Promise<void>>();
	/** While rebuilding, one routing pass at the end instead of one per ticket. */
	private holding = false;
	private closed = false;
	/** Whether this node runs the expiry timer (see `lead`). */
	private leading = true;
	/** Every offer, withdrawn offer and assignment, on any node: for agents' streams. */
	readonly feed = new Feed<RouterEvent>('routing');

	constructor(private readonly deps: RouterDeps) {
		// An offer made on another node expires on the leader's timer.
		this.feed.watch((event) => {
			if (event.type === 'offer' && this.leading) void this.scheduleExpiry();
		});
	}

	private get store() {
		return this.deps.store;
	}

	/** Calls `listener` with every offer, withdrawn offer and assignment. Returns the unsubscribe function. */
	onEvent(listener: RouterListener): () => void {
		this.listeners.add(listener);
		return () => this.listeners.delete(listener);
	}

	// --- work in and out ---------------------------------------------------------------------------

	/** Queues work (once: the active item of the same kind and ref is returned) and routes. */
	async enqueue(work: NewWork): Promise<WorkItem> {
		const existing = await this.activeItem(work.kind, work.ref);
		if (existing) return existing;
		const item: WorkItem = {
			id: newId(),
			kind: work.kind,
			ref: work.ref,
			ticketId: work.ticketId ?? (work.kind === 'ticket' ? work.ref : null),
			channel: work.channel,
			groupId: work.groupId ?? null,
			skill: work.skill ?? null,
			priority: work.priority ?? 'normal',
			slaDueAt: work.slaDueAt ?? null,
			status: 'queued',
			agentId: null,
			previousAgentId: work.previousAgentId ?? null,
			written: false,
			enqueuedAt: this.deps.clock.now(),
			assignedAt: null,
			doneAt: null,
			doneReason: null
		};
		try {
			await this.store.transaction(async (tx) => {
				await tx.insert(this.store.tables.workItems).values(item);
				await this.record(item, null, 'routing.queued', { channel: item.channel, groupId: item.groupId, priority: item.priority });
			});
		} catch (error) {
			// Queued meanwhile (at most one active item per kind and ref): that one is the item.
			const queued = isUniqueViolation(error) ? await this.activeItem(work.kind, work.ref) : null;
			if (!queued) throw error;
			return queued;
		}
		await this.dispatch();
		return (await this.item(item.id))!;
	}

	/** The work is over (ticket solved, chat ended, call ended): its offer is withdrawn, capacity freed. */
	async complete(kind: WorkItem['kind'], ref: string, reason: string): Promise<void> {
		const item = await this.activeItem(kind, ref);
		if (!item) return;
		const { workItems } = this.store.tables;
		const withdrawn = await this.store.transaction(async (tx) => {
			await this.store.lock(tx, workItems, eq(workItems.id, item.id));
			const offer = await this.withdrawOffer(item.id, 'withdrawn');
			const now = this.deps.clock.now();
			const done = await tx
				.update(workItems)
				.set({ status: 'done', doneAt: now, doneReason: reason })
				.where(and(eq(workItems.id, item.id), ne(workItems.status, 'done')))
				.returning({ id: workItems.id });
			if (done.length) await this.record(item, item.agentId, 'routing.done', { reason });
			return offer;
		});
		if (withdrawn) await this.emit({ type: 'offer.withdrawn', agentId: withdrawn.agentId, offerId: withdrawn.id, itemId: item.id, reason: 'done' });
		await this.dispatch();
	}

	// --- offers ----------------------------------------------------------------------------------

	/** The agent's pending offers, oldest first. */
	async offersFor(agentId: string): Promise<OfferView[]> {
		const views: OfferView[] = [];
		for (const offer of await this.pendingOfAgent(agentId)) views.push(await this.offerView(offer, (await this.item(offer.itemId))!));
		return views;
	}

	/**
	 * Accepts an offer: the item is the agent's, in one transaction that only succeeds while the offer
	 * is pending and the agent has room on the channel. 404 for someone else's offer; 409 when it
	 * has expired, moved on, or was taken.
	 */
	async accept(offerId: string, agentId: string): Promise<WorkItem> {
		const item = await this.store.transaction(() => this.take(offerId, agentId));
		await this.accepted(item);
		return item;
	}

	/**
	 * The decision of `accept`, in the caller's transaction (the Talk feature takes a call together
	 * with its offer); `accepted` follows once it has committed. The agent's user row is locked
	 * before their load is counted, so of two offers accepted at once only those within capacity
	 * are taken; the item's row before the offer's, so a timeout, a decline or a completion and the
	 * accept happen one after the other and exactly one resolves the offer.
	 */
	async take(offerId: string, agentId: string): Promise<WorkItem> {
		const { users, workItems, offers, agentPresence } = this.store.tables;
		const tx = this.store.db;
		const now = this.deps.clock.now();
		await this.store.serialise(tx, LOAD_CHANGES);
		await this.store.lock(tx, users, eq(users.id, agentId));
		const { itemId } = await this.ownOffer(offerId, agentId, false);
		await this.store.lock(tx, workItems, eq(workItems.id, itemId));
		await this.ownOffer(offerId, agentId);
		const item = (await this.item(itemId))!;
		const capacity = (await this.capacityOf(agentId))[item.channel];
		const [held] = await tx
			.select({ n: count() })
			.from(workItems)
			.where(and(eq(workItems.agentId, agentId), eq(workItems.channel, item.channel), eq(workItems.status, 'assigned')));
		if (held!.n >= capacity) throw new ApiError(409, 'over_capacity', `you already hold ${capacity} ${item.channel} items`);
		const resolved = await tx
			.update(offers)
			.set({ status: 'accepted', resolvedAt: now })
			.where(and(eq(offers.id, offerId), eq(offers.status, 'pending')))
			.returning({ id: offers.id });
		const assigned = resolved.length
			? await tx
					.update(workItems)
					.set({ status: 'assigned', agentId, assignedAt: now, written: false })
					.where(and(eq(workItems.id, item.id), eq(workItems.status, 'offered')))
					.returning({ id: workItems.id })
			: [];
		if (!assigned.length) throw new ApiError(409, 'offer_gone', 'this offer is no longer open');
		await tx.update(agentPresence).set({ lastAssignedAt: now }).where(eq(agentPresence.userId, agentId));
		await this.record(item, agentId, 'routing.accepted', { offerId });
		return (await this.item(item.id))!;
	}

	/** After an accept has committed: the listeners are told, the assignee is written into the ticket. */
	async accepted(item: WorkItem): Promise<void> {
		await this.emit({ type: 'assigned', agentId: item.agentId!, item });
		this.writeAssignee(item);
	}

	/** Declines an offer (when admins allow it): it moves on to the next agent, never back to this one. */
	async decline(offerId: string, agentId: string): Promise<void> {
		if (!(await this.deps.settings.get()).declineAllowed) throw forbidden('offers may not be declined here; let it time out');
		const { workItems } = this.store.tables;
		const item = await this.store.transaction(async (tx) => {
			const { itemId } = await this.ownOffer(offerId, agentId, false);
			await this.store.lock(tx, workItems, eq(workItems.id, itemId));
			await this.ownOffer(offerId, agentId);
			await this.withdrawOffer(itemId, 'declined');
			await tx.update(workItems).set({ status: 'queued' }).where(and(eq(workItems.id, itemId), eq(workItems.status, 'offered')));
			const item = (await this.item(itemId))!;
			await this.record(item, agentId, 'routing.declined', { offerId });
			return item;
		});
		await this.emit({ type: 'offer.withdrawn', agentId, offerId, itemId: item.id, reason: 'declined' });
		await this.dispatch();
	}

	/**
	 * Offers past their time move on. Runs from a timer, and at start for those that fell due
	 * meanwhile. An offer accepted, declined or withdrawn meanwhile is left as it is.
	 */
	async expireDue(): Promise<void> {
		const { workItems, offers } = this.store.tables;
		const now = this.deps.clock.now();
		const due = await this.store.db
			.select(this.offerColumns())
			.from(offers)
			.where(and(eq(offers.status, 'pending'), sql`${offers.expiresAt} <= ${now}`));
		if (due.length) {
			const expired = await this.store.transaction(async (tx) => {
				const expired: OfferRow[] = [];
				for (const offer of due) {
					await this.store.lock(tx, workItems, eq(workItems.id, offer.itemId));
					const [won] = await tx
						.update(offers)
						.set({ status: 'expired', resolvedAt: now })
						.where(and(eq(offers.id, offer.id), eq(offers.status, 'pending')))
						.returning({ id: offers.id });
					if (!won) continue;
					await tx.update(workItems).set({ status: 'queued' }).where(and(eq(workItems.id, offer.itemId), eq(workItems.status, 'offered')));
					await this.record((await this.item(offer.itemId))!, offer.agentId, 'routing.expired', { offerId: offer.id });
					expired.push(offer);
				}
				return expired;
			});
			for (const offer of expired) await this.emit({ type: 'offer.withdrawn', agentId: offer.agentId, offerId: offer.id, itemId: offer.itemId, reason: 'expired' });
		}
		await this.dispatch();
	}

	// --- agents ------------------------------------------------------------------------------------

	/**
	 * An agent's status changed: away or offline withdraws their offers at once and returns their
	 * chats to the queue; a channel made unavailable withdraws the offers on it.
	 */
	async onPresence(presence: AgentPresence): Promise<void> {
		const { workItems } = this.store.tables;
		const online = presence.statusClass === 'online';
		const offers = (await this.pendingOfAgent(presence.userId)).filter((o) => !online || !presence.channels[o.channel]);
		const chats = online
			? []
			: await this.store.db
					.select()
					.from(workItems)
					.where(and(eq(workItems.agentId, presence.userId), eq(workItems.channel, 'chat'), eq(workItems.status, 'assigned')));
		if (offers.length || chats.length) {
			const withdrawn = await this.store.transaction(async (tx) => {
				const withdrawn: OfferRow[] = [];
				for (const pending of offers) {
					await this.store.lock(tx, workItems, eq(workItems.id, pending.itemId));
					const offer = await this.withdrawOffer(pending.itemId, 'withdrawn');
					if (offer?.id !== pending.id) continue;
					await tx.update(workItems).set({ status: 'queued' }).where(and(eq(workItems.id, offer.itemId), eq(workItems.status, 'offered')));
					await this.record((await this.item(offer.itemId))!, offer.agentId, 'routing.withdrawn', { offerId: offer.id, status: presence.status });
					withdrawn.push(offer);
				}
				for (const chat of chats) {
					if (await this.requeue(chat, presence.userId)) await this.record(chat, presence.userId, 'routing.returned', { status: presence.status });
				}
				return withdrawn;
			});
			for (const offer of withdrawn) await this.emit({ type: 'offer.withdrawn', agentId: offer.agentId, offerId: offer.id, itemId: offer.itemId, reason: 'withdrawn' });
		}
		await this.dispatch();
	}

	/**
	 * A supervisor (or admin) gives the ticket to `agentId`, past the queue and capacity: the item is
	 * theirs at once and the server writes the assignee into the ticket.
	 */
	async reassign(ticketId: string, agentId: string, actor: string): Promise<void> {
		const item = await this.activeItem('ticket', ticketId);
		if (item) await this.assignByHand(item, agentId, false, actor);
		else await this.deps.events.record({ ticketId, userId: agentId, actor, type: 'routing.assigned', data: { by: actor } });
		await this.deps.assigner.assign(ticketId, agentId);
		if (item) await this.markWritten(item.id, agentId);
	}

	// --- tickets -----------------------------------------------------------------------------------

	/**
	 * Follows a ticket's index row: unassigned new or open tickets are queued for their group (a
	 * reopened one again), an assignment by hand takes the item, solving or closing completes it.
	 * Calls are not routed from here (`talk` tickets): the Talk feature enqueues them. The rows of
	 * one ticket are followed one after the other, in the order they were observed.
	 */
	observe(row: TicketRow): Promise<void> {
		const followed = (this.observing.get(row.id) ?? Promise.resolve()).then(() => this.follow(row));
		const settled = followed.then(
			() => undefined,
			() => undefined
		);
		this.observing.set(row.id, settled);
		void settled.then(() => {
			if (this.observing.get(row.id) === settled) this.observing.delete(row.id);
		});
		return followed;
	}

	private async follow(row: TicketRow): Promise<void> {
		if (!ROUTED_CHANNELS.includes(row.channel)) return;
		const { workItems } = this.store.tables;
		const routable = row.status === 'new' || row.status === 'open';
		const { active, chatEnded } = await this.ticketItemOf(row, routable);
		if (!routable || chatEnded) {
			if (active) await this.complete('ticket', row.id, routable ? 'chat ended' : `ticket ${row.status}`);
			return;
		}
		// A snoozed ticket nobody holds waits out of the queue; it is queued again when it wakes.
		if (row.snoozedUntil !== null && row.snoozedUntil > this.deps.clock.now() && active?.status !== 'assigned') {
			if (active) await this.complete('ticket', row.id, 'ticket snoozed');
			return;
		}
		const fields = { groupId: row.groupId, skill: skillOf(row.tags), priority: row.priority as Priority, slaDueAt: (await this.deps.sla.slaFor(row)).dueAt };
		if (!active) {
			const last = row.assigneeId ? await this.latestItem('ticket', row.id) : null;
			const reopened = !!last && DONE_BY_SOLVING.includes(last.doneReason ?? '');
			if (row.assigneeId && !reopened) return this.assignNew(row.id, channelClass(row.channel), fields, row.assigneeId);
			await this.enqueue({ kind: 'ticket', ref: row.id, channel: channelClass(row.channel), ...fields, previousAgentId: row.assigneeId });
			return;
		}
		// Most changes (a message, a note) change nothing here: no routing pass for them.
		let changed = false;
		if (active.status === 'assigned') {
			// Until the document says who holds it, the row may still show the assignee before.
			if (!active.written) return;
			if (row.assigneeId === null) {
				await this.store.transaction(async () => {
					if (await this.requeue(active, active.agentId!)) await this.record(active, active.agentId, 'routing.returned', { reason: 'unassigned' });
				});
				changed = true;
			} else if (row.assigneeId !== active.agentId) {
				await this.assignByHand(active, row.assigneeId, true, 'system');
				changed = true;
			}
		} else if (row.assigneeId && row.assigneeId !== active.previousAgentId) {
			await this.assignByHand(active, row.assigneeId, true, 'system');
			changed = true;
		}
		if (fields.groupId !== active.groupId || fields.skill !== active.skill || fields.priority !== active.priority || fields.slaDueAt !== active.slaDueAt) {
			await this.store.db.update(workItems).set(fields).where(eq(workItems.id, active.id));
			changed = true;
		}
		if (changed) await this.dispatch();
	}

	/**
	 * Re-derives the ticket items from the ticket index (open tickets, and those with an item still
	 * active), writes assignments that did not reach their document, expires overdue offers, routes.
	 */
	async rebuild(): Promise<void> {
		const { tickets, workItems } = this.store.tables;
		this.holding = true;
		try {
			const active = this.store.db
				.select({ ref: workItems.ref })
				.from(workItems)
				.where(and(eq(workItems.kind, 'ticket'), ne(workItems.status, 'done')));
			const rows = await this.store.db
				.select()
				.from(tickets)
				.where(or(inArray(tickets.status, ['new', 'open']), inArray(tickets.id, active)));
			for (const row of rows) await this.observe(row);
		} finally {
			this.holding = false;
		}
		const unwritten = await this.store.db
			.select()
			.from(workItems)
			.where(and(eq(workItems.status, 'assigned'), eq(workItems.written, false), sql`${workItems.ticketId} IS NOT NULL`));
		for (const item of unwritten) this.writeAssignee(item);
		await this.expireDue();
	}

	/** This node runs the expiry timer from now on: re-derives the items, expires what fell due meanwhile, routes. */
	async lead(): Promise<void> {
		this.leading = true;
		await this.rebuild();
	}

	/** Re-arms the expiry timer from the offers as stored: for offers made on a node this one did not hear of. */
	rearm(): Promise<void> {
		return this.scheduleExpiry();
	}

	/** Stops the expiry timer: another node runs it (or the process stops). */
	standDown(): void {
		this.leading = false;
		if (this.expiryTimer !== null) this.deps.clock.clearTimeout(this.expiryTimer);
		this.expiryTimer = null;
		this.expiryAt = null;
	}

	close(): void {
		this.closed = true;
		this.standDown();
	}

	// --- the routing pass --------------------------------------------------------------------------

	/**
	 * Offers queued items in serving order to the best eligible agent, while anyone has room. Returns
	 * the offers made. An agent may hold several offers, within their spare capacity. The pass locks
	 * the queued items first: passes (of this process or another) take turns, each counting the
	 * load the one before left, and an item is offered once.
	 */
	async dispatch(): Promise<OfferView[]> {
		if (this.holding) return this.scheduled([]);
		const { workItems, offers } = this.store.tables;
		const now = this.deps.clock.now();
		const { offerTimeoutSeconds } = await this.deps.settings.get();
		const expiresAt = now + offerTimeoutSeconds * 1000;
		const made = await this.store.transaction(async (tx) => {
			const made: { offer: OfferRow; item: WorkItem }[] = [];
			await this.store.serialise(tx, LOAD_CHANGES);
			await this.store.lock(tx, workItems, eq(workItems.status, 'queued'));
			// Per channel, only the agents with room on it: usually a few, whatever the size of the team.
			const roomy = new Map<ChannelClass, AgentState[]>();
			for (const agent of await this.agentStates()) {
				for (const c of CHANNEL_CLASSES) if (agent.channels[c] && hasSpareCapacity(agent, c)) roomy.set(c, [...(roomy.get(c) ?? []), agent]);
			}
			if (!roomy.size) return made;
			const queued = await tx
				.select()
				.from(workItems)
				.where(and(eq(workItems.status, 'queued'), inArray(workItems.channel, [...roomy.keys()])));
			const items = queued.sort(compareItems);
			const refusals = await this.refusalsOfQueued();
			for (const item of items) {
				const candidates = roomy.get(item.channel);
				if (!candidates) continue;
				const agent = pickAgent(item, candidates, refusals.get(item.id));
				if (!agent) continue;
				const offered = await tx
					.update(workItems)
					.set({ status: 'offered' })
					.where(and(eq(workItems.id, item.id), eq(workItems.status, 'queued')))
					.returning({ id: workItems.id });
				if (!offered.length) continue;
				const offer: OfferRow = { id: newId(), itemId: item.id, agentId: agent.id, status: 'pending', createdAt: now, expiresAt };
				await tx.insert(offers).values(offer);
				await this.record(item, agent.id, 'routing.offered', { offerId: offer.id });
				made.push({ offer, item: { ...item, status: 'offered' } });
				agent.load[item.channel]++;
				if (!hasSpareCapacity(agent, item.channel)) {
					const left = candidates.filter((a) => a !== agent);
					if (left.length) roomy.set(item.channel, left);
					else if (roomy.delete(item.channel) && !roomy.size) break;
				}
			}
			return made;
		});
		const views: OfferView[] = [];
		for (const { offer, item } of made) views.push(await this.offerView(offer, item));
		for (const offer of views) await this.emit({ type: 'offer', agentId: offer.agentId, offer });
		return this.scheduled(views);
	}

	/** Re-arms the expiry timer after a routing pass, and passes its offers on. */
	private async scheduled(views: OfferView[]): Promise<OfferView[]> {
		await this.scheduleExpiry();
		return views;
	}

	// --- what supervisors see ----------------------------------------------------------------------

	/** Per agent and channel class: items assigned and offers pending. */
	async loads(): Promise<Map<string, PerChannel<{ assigned: number; offered: number }>>> {
		const { workItems, offers } = this.store.tables;
		const loads = new Map<string, PerChannel<{ assigned: number; offered: number }>>();
		const of = (agentId: string) => {
			let load = loads.get(agentId);
			if (!load) loads.set(agentId, (load = { messaging: { assigned: 0, offered: 0 }, chat: { assigned: 0, offered: 0 }, talk: { assigned: 0, offered: 0 } }));
			return load;
		};
		const assigned = await this.store.db
			.select({ agentId: workItems.agentId, channel: workItems.channel, n: count() })
			.from(workItems)
			.where(eq(workItems.status, 'assigned'))
			.groupBy(workItems.agentId, workItems.channel);
		const offered = await this.store.db
			.select({ agentId: offers.agentId, channel: workItems.channel, n: count() })
			.from(offers)
			.innerJoin(workItems, eq(workItems.id, offers.itemId))
			.where(eq(offers.status, 'pending'))
			.groupBy(offers.agentId, workItems.channel);
		for (const r of assigned) of(r.agentId!)[r.channel].assigned = r.n;
		for (const r of offered) of(r.agentId)[r.channel].offered = r.n;
		return loads;
	}

	/**
	 * Waiting work per group: how many, waiting since when, how many breach their SLA before
	 * `riskBefore`. A ticket waits since its customer's unanswered message when that is older than
	 * its queueing (queued at a start, or after a seed or import of older mail); a call since it rang.
	 */
	async queues(riskBefore: number): Promise<{ groupId: string | null; waiting: number; oldest: number; atRisk: number }[]> {
		const { workItems: w, tickets: t } = this.store.tables;
		const since = sql`CASE WHEN ${w.kind} = 'ticket' AND ${t.awaitingSince} < ${w.enqueuedAt} THEN ${t.awaitingSince} ELSE ${w.enqueuedAt} END`;
		return this.store.db
			.select({
				groupId: w.groupId,
				waiting: count(),
				oldest: sql<number>`min(${since})`.mapWith(Number),
				atRisk: sql<number>`sum(CASE WHEN ${w.slaDueAt} <= ${riskBefore} THEN 1 ELSE 0 END)`.mapWith(Number)
			})
			.from(w)
			.leftJoin(t, eq(t.id, w.ticketId))
			.where(inArray(w.status, ['queued', 'offered']))
			.groupBy(w.groupId);
	}

	async capacityOf(agentId: string): Promise<PerChannel<number>> {
		return capacitiesOf((await this.deps.settings.agent(agentId)).capacities, (await this.deps.settings.get()).capacities);
	}

	async item(id: string): Promise<WorkItem | null> {
		const { workItems } = this.store.tables;
		const [item] = await this.store.db.select().from(workItems).where(eq(workItems.id, id)).limit(1);
		return item ?? null;
	}

	async activeItem(kind: WorkItem['kind'], ref: string): Promise<WorkItem | null> {
		const { workItems } = this.store.tables;
		const [item] = await this.store.db
			.select()
			.from(workItems)
			.where(and(eq(workItems.kind, kind), eq(workItems.ref, ref), ne(workItems.status, 'done')))
			.limit(1);
		return item ?? null;
	}

	// --- internals -----------------------------------------------------------------------------------

	private async latestItem(kind: WorkItem['kind'], ref: string): Promise<WorkItem | null> {
		const { workItems } = this.store.tables;
		const [item] = await this.store.db
			.select()
			.from(workItems)
			.where(and(eq(workItems.kind, kind), eq(workItems.ref, ref)))
			.orderBy(desc(workItems.enqueuedAt), desc(workItems.id))
			.limit(1);
		return item ?? null;
	}

	private offerColumns() {
		const { offers } = this.store.tables;
		return { id: offers.id, itemId: offers.itemId, agentId: offers.agentId, status: offers.status, createdAt: offers.createdAt, expiresAt: offers.expiresAt };
	}

	private pendingOfAgent(agentId: string): Promise<(OfferRow & { channel: ChannelClass })[]> {
		const { offers, workItems } = this.store.tables;
		return this.store.db
			.select({ ...this.offerColumns(), channel: workItems.channel })
			.from(offers)
			.innerJoin(workItems, eq(workItems.id, offers.itemId))
			.where(and(eq(offers.agentId, agentId), eq(offers.status, 'pending')))
			.orderBy(asc(offers.createdAt), asc(offers.id));
	}

	/** Resolves the item's pending offer as `status` (the item's row locked by the caller); returns it, if there was one. */
	private async withdrawOffer(itemId: string, status: 'withdrawn' | 'declined'): Promise<OfferRow | undefined> {
		const { offers } = this.store.tables;
		const [offer] = await this.store.db
			.update(offers)
			.set({ status, resolvedAt: this.deps.clock.now() })
			.where(and(eq(offers.itemId, itemId), eq(offers.status, 'pending')))
			.returning(this.offerColumns());
		return offer;
	}

	/** Returns an assigned item to the queue, if `agentId` still holds it. */
	private async requeue(item: WorkItem, agentId: string): Promise<boolean> {
		const { workItems } = this.store.tables;
		const returned = await this.store.db
			.update(workItems)
			.set({ status: 'queued', agentId: null, assignedAt: null, written: false, previousAgentId: agentId })
			.where(and(eq(workItems.id, item.id), eq(workItems.agentId, agentId), eq(workItems.status, 'assigned')))
			.returning({ id: workItems.id });
		return returned.length > 0;
	}

	private async markWritten(itemId: string, agentId: string): Promise<void> {
		const { workItems } = this.store.tables;
		await this.store.db
			.update(workItems)
			.set({ written: true })
			.where(and(eq(workItems.id, itemId), eq(workItems.agentId, agentId), eq(workItems.status, 'assigned')));
	}

	/**
	 * Who declined or let expire each queued item: never offered it again. One row per item, its
	 * agents aggregated by the database: refusals pile up with every timeout, and every pass reads them.
	 */
	private async refusalsOfQueued(): Promise<Map<string, Set<string>>> {
		const { offers, workItems } = this.store.tables;
		// A JSON array on both engines: node-postgres parses json_agg's, SQLite's is text.
		const agentIds =
			this.store.engine === 'postgres'
				? sql<string[]>`json_agg(${offers.agentId})`
				: sql<string[]>`json_group_array(${offers.agentId})`.mapWith((json: string) => JSON.parse(json) as string[]);
		const rows = await this.store.db
			.select({ itemId: offers.itemId, agentIds })
			.from(offers)
			.innerJoin(workItems, eq(workItems.id, offers.itemId))
			.where(and(eq(workItems.status, 'queued'), inArray(offers.status, ['declined', 'expired'])))
			.groupBy(offers.itemId);
		return new Map(rows.map((r) => [r.itemId, new Set(r.agentIds)]));
	}

	/**
	 * The ticket's active item and, for a chat that would be routed, whether the chat ended: one
	 * query when the item exists (the usual case: each message on a routed chat comes here).
	 */
	private async ticketItemOf(row: TicketRow, routable: boolean): Promise<{ active: WorkItem | null; chatEnded: boolean }> {
		if (row.channel !== 'chat' || !routable) return { active: await this.activeItem('ticket', row.id), chatEnded: false };
		const { workItems, chats } = this.store.tables;
		const [found] = await this.store.db
			.select({
				item: getTableColumns(workItems),
				chatEnded: sql<boolean>`EXISTS (SELECT 1 FROM ${chats} WHERE ${chats.ticketId} = ${row.id} AND ${chats.status} = 'ended')`.mapWith(Boolean)
			})
			.from(workItems)
			.where(and(eq(workItems.kind, 'ticket'), eq(workItems.ref, row.id), ne(workItems.status, 'done')))
			.limit(1);
		return found ? { active: found.item, chatEnded: found.chatEnded } : { active: null, chatEnded: await this.chatEnded(row.id) };
	}

	private async chatEnded(ticketId: string): Promise<boolean> {
		const { chats } = this.store.tables;
		const [ended] = await this.store.db
			.select({ id: chats.id })
			.from(chats)
			.where(and(eq(chats.ticketId, ticketId), eq(chats.status, 'ended')))
			.limit(1);
		return !!ended;
	}

	/** Online agents who hold tickets, with their load (assigned plus offered) per channel. */
	private async agentStates(): Promise<AgentState[]> {
		const { agentPresence: p, users: u, userGroups } = this.store.tables;
		const rows = await this.store.db
			.select({ id: p.userId, status: p.status, auto: p.auto, channels: p.channels, lastAssignedAt: p.lastAssignedAt })
			.from(p)
			.innerJoin(u, eq(u.id, p.userId))
			.where(and(eq(u.disabled, false), ne(u.role, 'supervisor')));
		const online: typeof rows = [];
		for (const r of rows) if ((await this.deps.presence.classOf(r.status, r.auto)) === 'online') online.push(r);
		if (!online.length) return [];
		const groups = new Map<string, string[]>();
		for (const m of await this.store.db.select().from(userGroups)) {
			const list = groups.get(m.userId);
			if (list) list.push(m.groupId);
			else groups.set(m.userId, [m.groupId]);
		}
		const own = await this.deps.settings.agents();
		const defaults = (await this.deps.settings.get()).capacities;
		const loads = await this.loads();
		return online.map((r) => {
			const load = loads.get(r.id);
			return {
				id: r.id,
				status: 'online',
				channels: { messaging: r.channels.messaging ?? true, chat: r.channels.chat ?? true, talk: r.channels.talk ?? true },
				groupIds: groups.get(r.id) ?? [],
				skills: own.get(r.id)?.skills ?? [],
				capacities: capacitiesOf(own.get(r.id)?.capacities ?? {}, defaults),
				load: {
					messaging: (load?.messaging.assigned ?? 0) + (load?.messaging.offered ?? 0),
					chat: (load?.chat.assigned ?? 0) + (load?.chat.offered ?? 0),
					talk: (load?.talk.assigned ?? 0) + (load?.talk.offered ?? 0)
				},
				lastAssignedAt: r.lastAssignedAt
			};
		});
	}

	/** The agent's offer: 404 for an unknown one or someone else's; 409 unless pending (when `pending`). */
	private async ownOffer(offerId: string, agentId: string, pending = true): Promise<OfferRow> {
		const { offers } = this.store.tables;
		const [offer] = await this.store.db.select(this.offerColumns()).from(offers).where(eq(offers.id, offerId)).limit(1);
		if (!offer || offer.agentId !== agentId) throw notFound('offer');
		if (pending && offer.status !== 'pending') throw new ApiError(409, 'offer_gone', `this offer was ${offer.status}`);
		return offer;
	}

	/** A ticket assigned by hand when it was not routed yet: counted to the agent's load. */
	private async assignNew(ticketId: string, channel: ChannelClass, fields: Pick<WorkItem, 'groupId' | 'skill' | 'priority' | 'slaDueAt'>, agentId: string) {
		const now = this.deps.clock.now();
		const item: WorkItem = {
			id: newId(),
			kind: 'ticket',
			ref: ticketId,
			ticketId,
			channel,
			...fields,
			status: 'assigned',
			agentId,
			previousAgentId: null,
			written: true,
			enqueuedAt: now,
			assignedAt: now,
			doneAt: null,
			doneReason: null
		};
		try {
			await this.store.transaction(async (tx) => {
				await tx.insert(this.store.tables.workItems).values(item);
				await this.record(item, agentId, 'routing.assigned', { by: 'hand' });
			});
		} catch (error) {
			// Another process followed the same row first: its item stands.
			if (!isUniqueViolation(error)) throw error;
		}
	}

	/** Gives an active item to `agentId` past the queue: a pending offer of it is withdrawn. */
	private async assignByHand(item: WorkItem, agentId: string, written: boolean, actor: string) {
		const { workItems, agentPresence } = this.store.tables;
		const now = this.deps.clock.now();
		const withdrawn = await this.store.transaction(async (tx) => {
			await this.store.serialise(tx, LOAD_CHANGES);
			await this.store.lock(tx, workItems, eq(workItems.id, item.id));
			const offer = await this.withdrawOffer(item.id, 'withdrawn');
			await tx
				.update(workItems)
				.set({ status: 'assigned', agentId, assignedAt: now, written })
				.where(and(eq(workItems.id, item.id), inArray(workItems.status, ['queued', 'offered', 'assigned'])));
			await tx.update(agentPresence).set({ lastAssignedAt: now }).where(eq(agentPresence.userId, agentId));
			await this.record(item, agentId, 'routing.assigned', { by: actor, from: item.agentId });
			return offer;
		});
		if (withdrawn) await this.emit({ type: 'offer.withdrawn', agentId: withdrawn.agentId, offerId: withdrawn.id, itemId: item.id, reason: 'assigned' });
		await this.emit({ type: 'assigned', agentId, item: (await this.item(item.id))! });
	}

	/** Writes the assignee into the ticket; if that fails, `rebuild` writes it at the next start. */
	private writeAssignee(item: WorkItem) {
		if (!item.ticketId || !item.agentId) return;
		const { id, ticketId, agentId } = item;
		this.deps.assigner
			.assign(ticketId, agentId)
			// Closed meanwhile (shutdown): the next start's rebuild writes it again, which changes nothing.
			.then(() => (this.closed ? undefined : this.markWritten(id, agentId)))
			.catch((error: unknown) => this.deps.logger.warn({ err: error, ticketId, agentId }, 'writing the assignee failed'));
	}

	private scheduleExpiry(): Promise<void> {
		// A re-arming not started yet reads the offers as they will be: one is enough for many calls.
		if (this.armQueued) return this.arming;
		this.armQueued = true;
		const arm = () => {
			this.armQueued = false;
			return this.armExpiry();
		};
		this.arming = this.arming.then(arm, arm);
		return this.arming;
	}

	private async armExpiry() {
		if (this.closed || !this.leading) return;
		const { offers } = this.store.tables;
		const [{ at: next }] = (await this.store.db.select({ at: min(offers.expiresAt) }).from(offers).where(eq(offers.status, 'pending'))) as [{ at: number | null }];
		if (next === this.expiryAt || this.closed || !this.leading) return;
		if (this.expiryTimer !== null) this.deps.clock.clearTimeout(this.expiryTimer);
		this.expiryTimer = null;
		this.expiryAt = next;
		if (next === null) return;
		this.expiryTimer = this.deps.clock.setTimeout(
			() => {
				this.expiryTimer = null;
				this.expiryAt = null;
				return this.expireDue();
			},
			Math.max(0, next - this.deps.clock.now())
		);
	}

	private async offerView(offer: OfferRow, item: WorkItem): Promise<OfferView> {
		const { tickets } = this.store.tables;
		const [ticket] = item.ticketId
			? await this.store.db.select({ number: tickets.number, subject: tickets.subject }).from(tickets).where(eq(tickets.id, item.ticketId)).limit(1)
			: [];
		return {
			id: offer.id,
			agentId: offer.agentId,
			itemId: item.id,
			kind: item.kind,
			ref: item.ref,
			ticketId: item.ticketId,
			number: ticket?.number ?? null,
			subject: ticket?.subject ?? null,
			channel: item.channel,
			groupId: item.groupId,
			priority: item.priority,
			slaDueAt: item.slaDueAt,
			enqueuedAt: item.enqueuedAt,
			createdAt: offer.createdAt,
			expiresAt: offer.expiresAt,
			declineAllowed: (await this.deps.settings.get()).declineAllowed
		};
	}

	private async record(item: WorkItem, agentId: string | null, type: string, data: Record<string, unknown>) {
		await this.deps.events.record({
			ticketId: item.ticketId,
			userId: agentId,
			actor: 'system',
			type,
			data: { itemId: item.id, kind: item.kind, ref: item.ref, ...(agentId ? { agentId } : {}), ...data },
			createdAt: this.deps.clock.now()
		});
	}

	private async emit(event: RouterEvent) {
		this.feed.publish(event);
		for (const listener of [...this.listeners]) {
			try {
				await listener(event);
			} catch (error) {
				this.deps.logger.warn({ err: error, type: event.type }, 'a routing listener failed');
			}
		}
	}
}
