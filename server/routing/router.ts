/**
 * The router: work (tickets from every customer channel, chats, calls) waits in a queue per group
 * and is offered to one agent at a time — the idle longest of those eligible (rules.ts) — in
 * serving order. Items and offers live in SQLite (`work_items`, `offers`): every decision is one
 * synchronous transaction, so an item is assigned to exactly one agent and capacity is checked
 * where it is spent; timers only say when to look again, and a restart rebuilds from the tables
 * and the ticket index.
 */
import type Database from 'better-sqlite3';
import { inArray, or, sql } from 'drizzle-orm';
import { tickets } from '../../drizzle/schema';
import { CUSTOMER_CHANNELS, newId, type Priority } from '../../src/lib/ticket';
import { ApiError, forbidden, notFound } from '../errors';
import type { Events } from '../events';
import type { Logger } from '../log';
import type { Db } from '../storage/database';
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

export type RouterListener = (event: RouterEvent) => void;

/** Writes a ticket's assignee into its document (and opens it when new). */
export interface TicketAssigner {
	assign(ticketId: string, agentId: string): Promise<void>;
}

export interface RouterDeps {
	db: Db;
	clock: Clock;
	events: Events;
	presence: AgentStatus;
	settings: RoutingSettings;
	sla: Sla;
	assigner: TicketAssigner;
	logger: Logger;
}

const ITEM_COLUMNS = `id, kind, ref, ticket_id AS ticketId, channel, group_id AS groupId, skill, priority, sla_due_at AS slaDueAt, status,
	agent_id AS agentId, previous_agent_id AS previousAgentId, written, enqueued_at AS enqueuedAt, assigned_at AS assignedAt,
	done_at AS doneAt, done_reason AS doneReason`;

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

export class Router {
	private readonly sqlite: Database.Database;
	private readonly listeners = new Set<RouterListener>();
	private readonly q;
	private expiryTimer: unknown = null;
	private expiryAt: number | null = null;
	/** While rebuilding, one routing pass at the end instead of one per ticket. */
	private holding = false;
	private closed = false;
	/**
	 * The queued items, kept in step with the table by every transition (`track`): a routing pass
	 * reads its queue from here instead of loading every waiting row again.
	 */
	private readonly waiting = new Map<string, WorkItem>();
	/** Who declined or let expire each item still in play, read from `offers` once per item, then kept up. */
	private readonly refusals = new Map<string, Set<string>>();

	constructor(private readonly deps: RouterDeps) {
		const s = (this.sqlite = deps.db.$client);
		this.q = {
			item: s.prepare(`SELECT ${ITEM_COLUMNS} FROM work_items WHERE id = ?`),
			active: s.prepare(`SELECT ${ITEM_COLUMNS} FROM work_items WHERE kind = ? AND ref = ? AND status != 'done'`),
			latest: s.prepare(`SELECT ${ITEM_COLUMNS} FROM work_items WHERE kind = ? AND ref = ? ORDER BY enqueued_at DESC, id DESC LIMIT 1`),
			queued: s.prepare(`SELECT ${ITEM_COLUMNS} FROM work_items WHERE status = 'queued'`),
			insertItem: s.prepare(
				`INSERT INTO work_items (id, kind, ref, ticket_id, channel, group_id, skill, priority, sla_due_at, status, agent_id, previous_agent_id, written, enqueued_at, assigned_at)
				 VALUES (@id, @kind, @ref, @ticketId, @channel, @groupId, @skill, @priority, @slaDueAt, @status, @agentId, @previousAgentId, @written, @enqueuedAt, @assignedAt)`
			),
			setStatus: s.prepare('UPDATE work_items SET status = ? WHERE id = ? AND status = ?'),
			assign: s.prepare(
				`UPDATE work_items SET status = 'assigned', agent_id = ?, assigned_at = ?, written = ? WHERE id = ? AND status IN ('queued', 'offered', 'assigned')`
			),
			requeue: s.prepare(
				`UPDATE work_items SET status = 'queued', agent_id = NULL, assigned_at = NULL, written = 0, previous_agent_id = ? WHERE id = ? AND status = 'assigned'`
			),
			done: s.prepare(`UPDATE work_items SET status = 'done', done_at = ?, done_reason = ? WHERE id = ? AND status != 'done'`),
			written: s.prepare(`UPDATE work_items SET written = 1 WHERE id = ? AND agent_id = ? AND status = 'assigned'`),
			updateFields: s.prepare('UPDATE work_items SET group_id = ?, skill = ?, priority = ?, sla_due_at = ? WHERE id = ?'),
			offer: s.prepare('SELECT id, item_id AS itemId, agent_id AS agentId, status, created_at AS createdAt, expires_at AS expiresAt FROM offers WHERE id = ?'),
			pendingOfItem: s.prepare(`SELECT id, item_id AS itemId, agent_id AS agentId, status, created_at AS createdAt, expires_at AS expiresAt FROM offers WHERE item_id = ? AND status = 'pending'`),
			pendingOfAgent: s.prepare(
				`SELECT o.id, o.item_id AS itemId, o.agent_id AS agentId, o.status, o.created_at AS createdAt, o.expires_at AS expiresAt, w.channel
				 FROM offers o JOIN work_items w ON w.id = o.item_id WHERE o.agent_id = ? AND o.status = 'pending' ORDER BY o.created_at, o.id`
			),
			due: s.prepare(`SELECT id, item_id AS itemId, agent_id AS agentId, status, created_at AS createdAt, expires_at AS expiresAt FROM offers WHERE status = 'pending' AND expires_at <= ?`),
			nextExpiry: s.prepare(`SELECT min(expires_at) AS at FROM offers WHERE status = 'pending'`),
			insertOffer: s.prepare(`INSERT INTO offers (id, item_id, agent_id, status, created_at, expires_at) VALUES (?, ?, ?, 'pending', ?, ?)`),
			resolveOffer: s.prepare(`UPDATE offers SET status = ?, resolved_at = ? WHERE id = ? AND status = 'pending'`),
			refused: s.prepare(`SELECT agent_id AS agentId FROM offers WHERE item_id = ? AND status IN ('declined', 'expired')`),
			agents: s.prepare(
				`SELECT p.user_id AS id, p.status, p.auto, p.channels, p.last_assigned_at AS lastAssignedAt FROM agent_presence p
				 JOIN users u ON u.id = p.user_id WHERE u.disabled = 0 AND u.role != 'supervisor'`
			),
			memberships: s.prepare('SELECT user_id AS userId, group_id AS groupId FROM user_groups'),
			assignedLoad: s.prepare(`SELECT agent_id AS agentId, channel, count(*) AS n FROM work_items WHERE status = 'assigned' GROUP BY agent_id, channel`),
			offeredLoad: s.prepare(
				`SELECT o.agent_id AS agentId, w.channel, count(*) AS n FROM offers o JOIN work_items w ON w.id = o.item_id WHERE o.status = 'pending' GROUP BY o.agent_id, w.channel`
			),
			assignedOf: s.prepare(`SELECT count(*) AS n FROM work_items WHERE agent_id = ? AND channel = ? AND status = 'assigned'`),
			chatsOf: s.prepare(`SELECT ${ITEM_COLUMNS} FROM work_items WHERE agent_id = ? AND channel = 'chat' AND status = 'assigned'`),
			unwritten: s.prepare(`SELECT ${ITEM_COLUMNS} FROM work_items WHERE status = 'assigned' AND written = 0 AND ticket_id IS NOT NULL`),
			touchAgent: s.prepare('UPDATE agent_presence SET last_assigned_at = ? WHERE user_id = ?'),
			ticketHeading: s.prepare('SELECT number, subject FROM tickets WHERE id = ?'),
			chatEnded: s.prepare(`SELECT 1 FROM chats WHERE ticket_id = ? AND status = 'ended'`),
			// A ticket waits since its customer's unanswered message when that is older than its queueing
			// (queued at a start, or after a seed or import of older mail); a call since it rang.
			waiting: s.prepare(
				`SELECT w.group_id AS groupId, count(*) AS waiting,
				   min(CASE WHEN w.kind = 'ticket' THEN min(coalesce(t.awaiting_since, w.enqueued_at), w.enqueued_at) ELSE w.enqueued_at END) AS oldest,
				   sum(CASE WHEN w.sla_due_at <= ? THEN 1 ELSE 0 END) AS atRisk
				 FROM work_items w LEFT JOIN tickets t ON t.id = w.ticket_id
				 WHERE w.status IN ('queued', 'offered') GROUP BY w.group_id`
			)
		};
		for (const item of this.q.queued.all() as WorkItem[]) this.waiting.set(item.id, this.toItem(item)!);
	}

	/** Calls `listener` with every offer, withdrawn offer and assignment. Returns the unsubscribe function. */
	onEvent(listener: RouterListener): () => void {
		this.listeners.add(listener);
		return () => this.listeners.delete(listener);
	}

	// --- work in and out ---------------------------------------------------------------------------

	/** Queues work (once: the active item of the same kind and ref is returned) and routes. */
	enqueue(work: NewWork): WorkItem {
		const existing = this.activeItem(work.kind, work.ref);
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
		this.sqlite.transaction(() => {
			this.q.insertItem.run({ ...item, written: 0 });
			this.track(item.id);
			this.record(item, null, 'routing.queued', { channel: item.channel, groupId: item.groupId, priority: item.priority });
		})();
		this.dispatch();
		return this.item(item.id)!;
	}

	/** The work is over (ticket solved, chat ended, call ended): its offer is withdrawn, capacity freed. */
	complete(kind: WorkItem['kind'], ref: string, reason: string): void {
		const item = this.activeItem(kind, ref);
		if (!item) return;
		const withdrawn = this.sqlite.transaction(() => {
			const offer = this.q.pendingOfItem.get(item.id) as OfferRow | undefined;
			if (offer) this.q.resolveOffer.run('withdrawn', this.deps.clock.now(), offer.id);
			this.q.done.run(this.deps.clock.now(), reason, item.id);
			this.track(item.id);
			this.record(item, item.agentId, 'routing.done', { reason });
			return offer;
		})();
		if (withdrawn) this.emit({ type: 'offer.withdrawn', agentId: withdrawn.agentId, offerId: withdrawn.id, itemId: item.id, reason: 'done' });
		this.dispatch();
	}

	// --- offers ----------------------------------------------------------------------------------

	/** The agent's pending offers, oldest first. */
	offersFor(agentId: string): OfferView[] {
		return (this.q.pendingOfAgent.all(agentId) as OfferRow[]).map((o) => this.offerView(o, this.item(o.itemId)!));
	}

	/**
	 * Accepts an offer: the item is the agent's, in one transaction that only succeeds while the offer
	 * is pending and the agent has room on the channel. 404 for someone else's offer; 409 when it
	 * has expired, moved on, or was taken.
	 */
	accept(offerId: string, agentId: string): WorkItem {
		const now = this.deps.clock.now();
		const item = this.sqlite.transaction(() => {
			const offer = this.ownOffer(offerId, agentId);
			const item = this.item(offer.itemId)!;
			const capacity = this.capacityOf(agentId)[item.channel];
			if ((this.q.assignedOf.get(agentId, item.channel) as { n: number }).n >= capacity) {
				throw new ApiError(409, 'over_capacity', `you already hold ${capacity} ${item.channel} items`);
			}
			if (this.q.resolveOffer.run('accepted', now, offerId).changes !== 1 || this.q.setStatus.run('assigned', item.id, 'offered').changes !== 1) {
				throw new ApiError(409, 'offer_gone', 'this offer is no longer open');
			}
			this.q.assign.run(agentId, now, 0, item.id);
			this.q.touchAgent.run(now, agentId);
			this.record(item, agentId, 'routing.accepted', { offerId });
			return this.item(item.id)!;
		})();
		this.emit({ type: 'assigned', agentId, item });
		this.writeAssignee(item);
		return item;
	}

	/** Declines an offer (when admins allow it): it moves on to the next agent, never back to this one. */
	decline(offerId: string, agentId: string): void {
		if (!this.deps.settings.get().declineAllowed) throw forbidden('offers may not be declined here; let it time out');
		const item = this.sqlite.transaction(() => {
			const offer = this.ownOffer(offerId, agentId);
			this.q.resolveOffer.run('declined', this.deps.clock.now(), offerId);
			this.refusals.get(offer.itemId)?.add(agentId);
			this.q.setStatus.run('queued', offer.itemId, 'offered');
			this.track(offer.itemId);
			const item = this.item(offer.itemId)!;
			this.record(item, agentId, 'routing.declined', { offerId });
			return item;
		})();
		this.emit({ type: 'offer.withdrawn', agentId, offerId, itemId: item.id, reason: 'declined' });
		this.dispatch();
	}

	/** Offers past their time move on. Runs from a timer, and at start for those that fell due meanwhile. */
	expireDue(): void {
		const now = this.deps.clock.now();
		const due = this.q.due.all(now) as OfferRow[];
		if (due.length) {
			this.sqlite.transaction(() => {
				for (const offer of due) {
					this.q.resolveOffer.run('expired', now, offer.id);
					this.refusals.get(offer.itemId)?.add(offer.agentId);
					this.q.setStatus.run('queued', offer.itemId, 'offered');
					this.track(offer.itemId);
					this.record(this.item(offer.itemId)!, offer.agentId, 'routing.expired', { offerId: offer.id });
				}
			})();
			for (const offer of due) this.emit({ type: 'offer.withdrawn', agentId: offer.agentId, offerId: offer.id, itemId: offer.itemId, reason: 'expired' });
		}
		this.dispatch();
	}

	// --- agents ------------------------------------------------------------------------------------

	/**
	 * An agent's status changed: away or offline withdraws their offers at once and returns their
	 * chats to the queue; a channel made unavailable withdraws the offers on it.
	 */
	onPresence(presence: AgentPresence): void {
		const online = presence.statusClass === 'online';
		const offers = (this.q.pendingOfAgent.all(presence.userId) as (OfferRow & { channel: ChannelClass })[]).filter(
			(o) => !online || !presence.channels[o.channel]
		);
		const chats = online ? [] : (this.q.chatsOf.all(presence.userId) as WorkItem[]);
		if (offers.length || chats.length) {
			const now = this.deps.clock.now();
			this.sqlite.transaction(() => {
				for (const offer of offers) {
					this.q.resolveOffer.run('withdrawn', now, offer.id);
					this.q.setStatus.run('queued', offer.itemId, 'offered');
					this.track(offer.itemId);
					this.record(this.item(offer.itemId)!, offer.agentId, 'routing.withdrawn', { offerId: offer.id, status: presence.status });
				}
				for (const chat of chats) {
					this.q.requeue.run(presence.userId, chat.id);
					this.track(chat.id);
					this.record(chat, presence.userId, 'routing.returned', { status: presence.status });
				}
			})();
			for (const offer of offers) this.emit({ type: 'offer.withdrawn', agentId: offer.agentId, offerId: offer.id, itemId: offer.itemId, reason: 'withdrawn' });
		}
		this.dispatch();
	}

	/**
	 * A supervisor (or admin) gives the ticket to `agentId`, past the queue and capacity: the item is
	 * theirs at once and the server writes the assignee into the ticket.
	 */
	async reassign(ticketId: string, agentId: string, actor: string): Promise<void> {
		const item = this.activeItem('ticket', ticketId);
		if (item) this.assignByHand(item, agentId, false, actor);
		else this.deps.events.record({ ticketId, userId: agentId, actor, type: 'routing.assigned', data: { by: actor } });
		await this.deps.assigner.assign(ticketId, agentId);
		if (item) this.q.written.run(item.id, agentId);
	}

	// --- tickets -----------------------------------------------------------------------------------

	/**
	 * Follows a ticket's index row: unassigned new or open tickets are queued for their group (a
	 * reopened one again), an assignment by hand takes the item, solving or closing completes it.
	 * Calls are not routed from here (`talk` tickets): the Talk feature enqueues them.
	 */
	observe(row: TicketRow): void {
		if (!ROUTED_CHANNELS.includes(row.channel)) return;
		const active = this.activeItem('ticket', row.id);
		const routable = row.status === 'new' || row.status === 'open';
		if (!routable || (row.channel === 'chat' && this.q.chatEnded.get(row.id))) {
			if (active) this.complete('ticket', row.id, routable ? 'chat ended' : `ticket ${row.status}`);
			return;
		}
		const fields = { groupId: row.groupId, skill: skillOf(row.tags), priority: row.priority as Priority, slaDueAt: this.deps.sla.slaFor(row).dueAt };
		if (!active) {
			const last = row.assigneeId ? this.latestItem('ticket', row.id) : null;
			const reopened = !!last && DONE_BY_SOLVING.includes(last.doneReason ?? '');
			if (row.assigneeId && !reopened) return this.assignNew(row.id, channelClass(row.channel), fields, row.assigneeId);
			this.enqueue({ kind: 'ticket', ref: row.id, channel: channelClass(row.channel), ...fields, previousAgentId: row.assigneeId });
			return;
		}
		// Most changes (a message, a note) change nothing here: no routing pass for them.
		let changed = false;
		if (active.status === 'assigned') {
			// Until the document says who holds it, the row may still show the assignee before.
			if (!active.written) return;
			if (row.assigneeId === null) {
				this.q.requeue.run(active.agentId, active.id);
				this.track(active.id);
				this.record(active, active.agentId, 'routing.returned', { reason: 'unassigned' });
				changed = true;
			} else if (row.assigneeId !== active.agentId) {
				this.assignByHand(active, row.assigneeId, true, 'system');
				changed = true;
			}
		} else if (row.assigneeId && row.assigneeId !== active.previousAgentId) {
			this.assignByHand(active, row.assigneeId, true, 'system');
			changed = true;
		}
		if (fields.groupId !== active.groupId || fields.skill !== active.skill || fields.priority !== active.priority || fields.slaDueAt !== active.slaDueAt) {
			this.q.updateFields.run(fields.groupId, fields.skill, fields.priority, fields.slaDueAt, active.id);
			this.track(active.id);
			changed = true;
		}
		if (changed) this.dispatch();
	}

	/**
	 * Re-derives the ticket items from the ticket index (open tickets, and those with an item still
	 * active), writes assignments that did not reach their document, expires overdue offers, routes.
	 */
	rebuild(): void {
		this.holding = true;
		try {
			const rows = this.deps.db
				.select()
				.from(tickets)
				.where(or(inArray(tickets.status, ['new', 'open']), sql`${tickets.id} IN (SELECT ref FROM work_items WHERE kind = 'ticket' AND status != 'done')`))
				.all();
			for (const row of rows) this.observe(row);
		} finally {
			this.holding = false;
		}
		for (const item of this.q.unwritten.all() as WorkItem[]) this.writeAssignee(item);
		this.expireDue();
	}

	close(): void {
		this.closed = true;
		if (this.expiryTimer !== null) this.deps.clock.clearTimeout(this.expiryTimer);
		this.expiryTimer = null;
		this.expiryAt = null;
	}

	// --- the routing pass --------------------------------------------------------------------------

	/**
	 * Offers queued items in serving order to the best eligible agent, while anyone has room. Returns
	 * the offers made. An agent may hold several offers, within their spare capacity.
	 */
	dispatch(): OfferView[] {
		if (this.holding || !this.waiting.size) return this.scheduled([]);
		// Per channel, only the agents with room on it: usually a few, whatever the size of the team.
		const roomy = new Map<ChannelClass, AgentState[]>();
		for (const agent of this.agentStates()) {
			for (const c of CHANNEL_CLASSES) if (agent.channels[c] && hasSpareCapacity(agent, c)) roomy.set(c, [...(roomy.get(c) ?? []), agent]);
		}
		if (!roomy.size) return this.scheduled([]);
		const items = [...this.waiting.values()].filter((i) => roomy.has(i.channel)).sort(compareItems);
		const now = this.deps.clock.now();
		const expiresAt = now + this.deps.settings.get().offerTimeoutSeconds * 1000;
		const made: { offer: OfferRow; item: WorkItem }[] = [];
		this.sqlite.transaction(() => {
			for (const item of items) {
				const candidates = roomy.get(item.channel);
				if (!candidates) continue;
				// Who refused the item matters only when someone could take it.
				let agent = pickAgent(item, candidates);
				if (agent) agent = pickAgent(item, candidates, this.refusedOf(item.id));
				if (!agent) continue;
				if (this.q.setStatus.run('offered', item.id, 'queued').changes !== 1) {
					this.waiting.delete(item.id);
					continue;
				}
				const offer: OfferRow = { id: newId(), itemId: item.id, agentId: agent.id, status: 'pending', createdAt: now, expiresAt };
				this.q.insertOffer.run(offer.id, item.id, agent.id, now, expiresAt);
				this.waiting.delete(item.id);
				this.record(item, agent.id, 'routing.offered', { offerId: offer.id });
				made.push({ offer, item: { ...item, status: 'offered' } });
				agent.load[item.channel]++;
				if (!hasSpareCapacity(agent, item.channel)) {
					const left = candidates.filter((a) => a !== agent);
					if (left.length) roomy.set(item.channel, left);
					else if (roomy.delete(item.channel) && !roomy.size) break;
				}
			}
		})();
		const views = made.map(({ offer, item }) => this.offerView(offer, item));
		for (const offer of views) this.emit({ type: 'offer', agentId: offer.agentId, offer });
		return this.scheduled(views);
	}

	/** Re-arms the expiry timer after a routing pass, and passes its offers on. */
	private scheduled(views: OfferView[]): OfferView[] {
		this.scheduleExpiry();
		return views;
	}

	// --- what supervisors see ----------------------------------------------------------------------

	/** Per agent and channel class: items assigned and offers pending. */
	loads(): Map<string, PerChannel<{ assigned: number; offered: number }>> {
		const loads = new Map<string, PerChannel<{ assigned: number; offered: number }>>();
		const of = (agentId: string) => {
			let load = loads.get(agentId);
			if (!load) loads.set(agentId, (load = { messaging: { assigned: 0, offered: 0 }, chat: { assigned: 0, offered: 0 }, talk: { assigned: 0, offered: 0 } }));
			return load;
		};
		for (const r of this.q.assignedLoad.all() as { agentId: string; channel: ChannelClass; n: number }[]) of(r.agentId)[r.channel].assigned = r.n;
		for (const r of this.q.offeredLoad.all() as { agentId: string; channel: ChannelClass; n: number }[]) of(r.agentId)[r.channel].offered = r.n;
		return loads;
	}

	/** Waiting work per group: how many, waiting since when, how many breach their SLA before `riskBefore`. */
	queues(riskBefore: number): { groupId: string | null; waiting: number; oldest: number; atRisk: number }[] {
		return this.q.waiting.all(riskBefore) as { groupId: string | null; waiting: number; oldest: number; atRisk: number }[];
	}

	capacityOf(agentId: string): PerChannel<number> {
		return capacitiesOf(this.deps.settings.agent(agentId).capacities, this.deps.settings.get().capacities);
	}

	item(id: string): WorkItem | null {
		return this.toItem(this.q.item.get(id));
	}

	activeItem(kind: WorkItem['kind'], ref: string): WorkItem | null {
		return this.toItem(this.q.active.get(kind, ref));
	}

	// --- internals -----------------------------------------------------------------------------------

	private latestItem(kind: WorkItem['kind'], ref: string): WorkItem | null {
		return this.toItem(this.q.latest.get(kind, ref));
	}

	/** Keeps `waiting` (and `refusals`) in step with the item's row. */
	private track(itemId: string) {
		const item = this.item(itemId);
		if (item?.status === 'queued') this.waiting.set(itemId, item);
		else this.waiting.delete(itemId);
		if (!item || item.status === 'done' || item.status === 'assigned') this.refusals.delete(itemId);
	}

	private refusedOf(itemId: string): Set<string> {
		let refused = this.refusals.get(itemId);
		if (!refused) {
			refused = new Set((this.q.refused.all(itemId) as { agentId: string }[]).map((r) => r.agentId));
			this.refusals.set(itemId, refused);
		}
		return refused;
	}

	private toItem(row: unknown): WorkItem | null {
		if (!row) return null;
		const item = row as WorkItem & { written: number | boolean };
		return { ...item, written: !!item.written };
	}

	/** Online agents who hold tickets, with their load (assigned plus offered) per channel. */
	private agentStates(): AgentState[] {
		const rows = this.q.agents.all() as { id: string; status: string; auto: 'away' | 'offline' | null; channels: string; lastAssignedAt: number }[];
		const online = rows.filter((r) => this.deps.presence.classOf(r.status, r.auto) === 'online');
		if (!online.length) return [];
		const groups = new Map<string, string[]>();
		for (const m of this.q.memberships.all() as { userId: string; groupId: string }[]) {
			const list = groups.get(m.userId);
			if (list) list.push(m.groupId);
			else groups.set(m.userId, [m.groupId]);
		}
		const own = this.deps.settings.agents();
		const defaults = this.deps.settings.get().capacities;
		const loads = this.loads();
		return online.map((r) => {
			const load = loads.get(r.id);
			const channels = JSON.parse(r.channels) as Partial<PerChannel<boolean>>;
			return {
				id: r.id,
				status: 'online',
				channels: { messaging: channels.messaging ?? true, chat: channels.chat ?? true, talk: channels.talk ?? true },
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

	private ownOffer(offerId: string, agentId: string): OfferRow {
		const offer = this.q.offer.get(offerId) as OfferRow | undefined;
		if (!offer || offer.agentId !== agentId) throw notFound('offer');
		if (offer.status !== 'pending') throw new ApiError(409, 'offer_gone', `this offer was ${offer.status}`);
		return offer;
	}

	/** A ticket assigned by hand when it was not routed yet: counted to the agent's load. */
	private assignNew(ticketId: string, channel: ChannelClass, fields: Pick<WorkItem, 'groupId' | 'skill' | 'priority' | 'slaDueAt'>, agentId: string) {
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
		this.sqlite.transaction(() => {
			this.q.insertItem.run({ ...item, written: 1 });
			this.record(item, agentId, 'routing.assigned', { by: 'hand' });
		})();
	}

	/** Gives an active item to `agentId` past the queue: a pending offer of it is withdrawn. */
	private assignByHand(item: WorkItem, agentId: string, written: boolean, actor: string) {
		const now = this.deps.clock.now();
		const withdrawn = this.sqlite.transaction(() => {
			const offer = this.q.pendingOfItem.get(item.id) as OfferRow | undefined;
			if (offer) this.q.resolveOffer.run('withdrawn', now, offer.id);
			this.q.assign.run(agentId, now, written ? 1 : 0, item.id);
			this.track(item.id);
			this.q.touchAgent.run(now, agentId);
			this.record(item, agentId, 'routing.assigned', { by: actor, from: item.agentId });
			return offer;
		})();
		if (withdrawn) this.emit({ type: 'offer.withdrawn', agentId: withdrawn.agentId, offerId: withdrawn.id, itemId: item.id, reason: 'assigned' });
		this.emit({ type: 'assigned', agentId, item: this.item(item.id)! });
	}

	/** Writes the assignee into the ticket; if that fails, `rebuild` writes it at the next start. */
	private writeAssignee(item: WorkItem) {
		if (!item.ticketId || !item.agentId) return;
		const { id, ticketId, agentId } = item;
		this.deps.assigner.assign(ticketId, agentId).then(
			// Closed meanwhile (shutdown): the next start's rebuild writes it again, which changes nothing.
			() => void (this.closed || this.q.written.run(id, agentId)),
			(error: unknown) => this.deps.logger.warn({ err: error, ticketId, agentId }, 'writing the assignee failed')
		);
	}

	private scheduleExpiry() {
		const next = (this.q.nextExpiry.get() as { at: number | null }).at;
		if (next === this.expiryAt) return;
		if (this.expiryTimer !== null) this.deps.clock.clearTimeout(this.expiryTimer);
		this.expiryTimer = null;
		this.expiryAt = next;
		if (next === null) return;
		this.expiryTimer = this.deps.clock.setTimeout(
			() => {
				this.expiryTimer = null;
				this.expiryAt = null;
				this.expireDue();
			},
			Math.max(0, next - this.deps.clock.now())
		);
	}

	private offerView(offer: OfferRow, item: WorkItem): OfferView {
		const ticket = item.ticketId ? (this.q.ticketHeading.get(item.ticketId) as { number: number | null; subject: string } | undefined) : undefined;
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
			declineAllowed: this.deps.settings.get().declineAllowed
		};
	}

	private record(item: WorkItem, agentId: string | null, type: string, data: Record<string, unknown>) {
		this.deps.events.record({
			ticketId: item.ticketId,
			userId: agentId,
			actor: 'system',
			type,
			data: { itemId: item.id, kind: item.kind, ref: item.ref, ...(agentId ? { agentId } : {}), ...data },
			createdAt: this.deps.clock.now()
		});
	}

	private emit(event: RouterEvent) {
		for (const listener of [...this.listeners]) {
			try {
				listener(event);
			} catch (error) {
				this.deps.logger.warn({ err: error, type: event.type }, 'a routing listener failed');
			}
		}
	}
}
