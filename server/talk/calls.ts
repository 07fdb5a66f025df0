/**
 * The Calls service: every phone call's state, durable in SQLite (table `calls`), moved by one
 * state machine whatever asks (an agent over HTTP, the carrier through the provider):
 *
 *   in:  ringing ──accept──▶ active ⇄ held (hold / resume)
 *        active|held ──transfer──▶ ringing (only the target rings; the customer waits on hold)
 *   out: dialing ──customer answers──▶ active
 *   any but ended ──end / decline / customer hangs up──▶ ended
 *
 * Each transition is one compare-and-set UPDATE (`… WHERE state IN (…)`): of two agents accepting
 * the same call, exactly one changes the row; the other gets 409. What an agent takes on (accepting
 * a call, with its router offer; placing one) is decided in one transaction that locks the agent's
 * user row first, so they are never on two calls. An ended call gets one `call`
 * entry in its ticket whose id is the call id, so a retry (or the recovery at start, for a process
 * that stopped between the two writes) never appends it twice.
 *
 * An incoming call is routed (see `route`) while an agent who could answer it is available for
 * talk: it rings only the agent the router offers it to. Otherwise, as after a transfer, it rings
 * every agent and admin who may write its ticket (for a Talk number with a group, its members; after
 * a transfer, the chosen people among them).
 */
import { and, asc, desc, eq, inArray, isNull, notInArray, sql } from 'drizzle-orm';
import type { SQLiteUpdateSetSource } from 'drizzle-orm/sqlite-core';
import type { calls } from '../../drizzle/schema';
import type { CallOutcome, CallState, CallTransfer, CallView } from '../../src/lib/api/talk';
import { callAvailability } from '../../src/lib/api/routing';
import { normalisePhoneNumber, type TransferTarget } from '../../src/lib/api/schemas';
import { formatDuration } from '../../src/lib/format';
import { newId, type EntryInput, type Priority } from '../../src/lib/ticket';
import type { Accounts } from '../accounts';
import { Feed } from '../cluster/feed';
import { ticketAccess } from '../auth/policy';
import { SYSTEM, type UserPrincipal } from '../auth/principal';
import type { Customers } from '../customers';
import { ApiError, forbidden, notFound } from '../errors';
import type { Events } from '../events';
import type { Logger } from '../log';
import type { AgentStatus } from '../routing/presence';
import type { OfferView, Router } from '../routing/router';
import { isUniqueViolation, type Store } from '../storage/store';
import type { TicketIndex } from '../ticket-index';
import type { Tickets } from '../tickets';
import type { TalkNumbers } from './numbers';
import type { CarrierEvents, TalkProvider } from './provider';


export interface CallRow {
	id: string;
	ref: string;
	ticketId: string;
	customerId: string;
	talkNumberId: string | null;
	direction: 'in' | 'out';
	fromNumber: string;
	toNumber: string;
	state: CallState;
	agentId: string | null;
	ringTo: string[] | null;
	answeredBy: string | null;
	transfers: CallTransfer[];
	holdMs: number;
	heldSince: number | null;
	createdAt: number;
	answeredAt: number | null;
	endedAt: number | null;
	outcome: CallOutcome | null;
	endReason: string | null;
	entryAt: number | null;
	version: number;
}

/** More transfers than this on one call is a loop, not a call. */
export const MAX_TRANSFERS = 20;

const LIVE: CallState[] = ['dialing', 'ringing', 'active', 'held'];

const conflict = (message: string) => new ApiError(409, 'invalid_transition', message);

type CallChange = SQLiteUpdateSetSource<typeof calls>;

export interface CallsDeps {
	store: Store;
	tickets: Tickets;
	index: TicketIndex;
	customers: Customers;
	accounts: Accounts;
	numbers: TalkNumbers;
	provider: TalkProvider;
	events: Events;
	logger: Logger;
}

/** What Calls needs of routing (server/routing), handed over by server/services.ts once both exist. */
export interface CallRouting {
	router: Pick<Router, 'enqueue' | 'complete' | 'dispatch' | 'offersFor' | 'take' | 'accepted' | 'decline' | 'item' | 'activeItem' | 'onEvent'>;
	presence: Pick<AgentStatus, 'get'>;
}

export class Calls {
	/** Every change to a call, on any node: for the Talk consoles' streams. */
	readonly feed = new Feed<CallRow>('calls');
	private routing: CallRouting | null = null;
	/** Refs of calls this process placed whose ref is being stored (see `place`). */
	private readonly storingRefs = new Map<string, Promise<void>>();

	constructor(private readonly d: CallsDeps) {
		const stored = ({ id, ticketId, state }: CallRow) => ({ id, ticketId, state });
		const carrier: CarrierEvents = {
			incoming: async (call) => stored(await this.incoming(call)),
			answered: async (ref) => this.remoteAnswered(ref),
			hungUp: async (ref) => stored(await this.remoteHungUp(ref))
		};
		d.provider.connect(carrier);
	}

	private get calls() {
		return this.d.store.tables.calls;
	}

	/**
	 * Offers incoming calls through the router while someone is available for them: the call rings
	 * only the agent holding its offer, and follows the offer as it moves on. When the router has
	 * nobody to offer it to, the call is taken out of routing and rings as an unrouted call.
	 */
	route(routing: CallRouting): void {
		this.routing = routing;
		routing.router.onEvent(async (event) => {
			if (event.type === 'offer' && event.offer.kind === 'call') await this.ring(event.offer.ref, [event.agentId], 'call.offered', { agentId: event.agentId });
			else if (event.type === 'offer.withdrawn' && (event.reason === 'declined' || event.reason === 'expired' || event.reason === 'withdrawn')) {
				const item = await routing.router.item(event.itemId);
				if (item?.kind !== 'call') return;
				await this.ring(item.ref, [], 'call.offer_withdrawn', { agentId: event.agentId, reason: event.reason });
				// The router moves it on in its next pass; run it now to know whether anyone took the offer.
				await routing.router.dispatch();
				await this.unrouteIfWaiting(item.ref);
			}
		});
	}

	// --- reading ------------------------------------------------------------------------------

	/** The carrier's reference of call `id` (for the simulator's hang-up); 404 for an unknown call. */
	async carrierRef(id: string): Promise<string> {
		const call = await this.row(id);
		if (!call) throw notFound('call');
		return call.ref;
	}

	private async row(id: string): Promise<CallRow | undefined> {
		const [row] = await this.d.store.db.select().from(this.calls).where(eq(this.calls.id, id)).limit(1);
		return row;
	}

	private async byRef(ref: string): Promise<CallRow | undefined> {
		await this.storingRefs.get(ref)?.catch(() => {});
		const [row] = await this.d.store.db.select().from(this.calls).where(eq(this.calls.ref, ref)).limit(1);
		return row;
	}

	/** The call, if `user` may see its ticket; 404 otherwise (its existence is not disclosed). */
	async get(id: string, user: UserPrincipal): Promise<CallView> {
		const call = await this.row(id);
		if (!call || !(await this.visible(user, call))) throw notFound('call');
		return this.view(call, user);
	}

	/** The user's own live calls and the calls ringing for them, oldest first. */
	async current(user: UserPrincipal): Promise<CallView[]> {
		const live = await this.d.store.db
			.select()
			.from(this.calls)
			.where(notInArray(this.calls.state, ['ended']))
			.orderBy(asc(this.calls.createdAt), asc(this.calls.id));
		const views: CallView[] = [];
		for (const call of live) if (call.agentId === user.id || (await this.ringsFor(user, call))) views.push(await this.view(call, user));
		return views;
	}

	/**
	 * Calls `listener` with every change to a call whose ticket `user` may see, once stored.
	 * Returns the unsubscribe function.
	 */
	watch(user: UserPrincipal, listener: (call: CallView) => void): () => void {
		// One change at a time: a call's views reach the console in the order of its changes.
		let told = Promise.resolve();
		return this.feed.watch((call) => {
			told = told
				.then(async () => {
					if (await this.visible(user, call)) listener(await this.view(call, user));
				})
				.catch((error: unknown) => this.d.logger.warn({ err: error, callId: call.id }, 'telling a call watcher failed'));
		});
	}

	// --- the carrier's events -----------------------------------------------------------------

	/**
	 * A caller rings one of our numbers: the customer is found by their talk address (or created),
	 * the call joins their newest open ticket (or opens one on channel talk) and rings. 422 for a
	 * number that is not a Talk number. A repeated `ref` is the same call (the unique `ref` decides
	 * between two reports at once).
	 */
	private async incoming(input: { ref: string; from: string; to: string; callerName?: string }): Promise<CallRow> {
		const existing = await this.byRef(input.ref);
		if (existing) return existing;
		const from = normalisePhoneNumber(input.from);
		const to = normalisePhoneNumber(input.to);
		const number = await this.d.numbers.byNumber(to);
		if (!number) throw new ApiError(422, 'unknown_number', `${to} is not a Talk number: add it on the admin page first`, 'to');
		const customer = await this.d.customers.findOrCreate('talk', from, input.callerName);
		const now = Date.now();
		const id = newId();
		const { tickets } = this.d.store.tables;
		const [open] = await this.d.store.db
			.select({ id: tickets.id })
			.from(tickets)
			.where(and(eq(tickets.requesterId, customer.id), notInArray(tickets.status, ['solved', 'closed'])))
			.orderBy(desc(tickets.updatedAt), desc(tickets.id))
			.limit(1);
		const ringTo = number.groupId ? await this.members(number.groupId) : null;
		const insert = async (ticketId: string) => {
			await this.d.store.db.insert(this.calls).values({
				id,
				ref: input.ref,
				ticketId,
				customerId: customer.id,
				talkNumberId: number.id,
				direction: 'in',
				fromNumber: from,
				toNumber: to,
				state: 'ringing',
				ringTo,
				createdAt: now
			});
		};
		try {
			if (open) await insert(open.id);
			else {
				// The new ticket and its call are stored in one transaction.
				let inserted: Promise<void> | undefined;
				await this.d.tickets.createFromChannel(
					{
						subject: `Call from ${customer.name}`,
						requesterId: customer.id,
						channel: 'talk',
						groupId: number.groupId,
						entry: { id: `${id}.ring`, kind: 'event', channel: 'talk', direction: 'in', visibility: 'public', authorType: 'system', authorId: 'system', body: `Call from ${from} to ${number.label}`, createdAt: now }
					},
					(ticketId) => (inserted = insert(ticketId))
				);
				await inserted;
			}
		} catch (error) {
			// The carrier reported the same call twice at once: the one stored first is the call.
			const stored = isUniqueViolation(error) ? await this.byRef(input.ref) : undefined;
			if (!stored) throw error;
			return stored;
		}
		const call = (await this.row(id))!;
		const routed = await this.available(call);
		// Nobody's console rings until the router makes its offer.
		if (routed) await this.d.store.db.update(this.calls).set({ ringTo: [] }).where(eq(this.calls.id, id));
		const ringing = await this.changed(id, 'call.ringing', 'system', { from, to, routed });
		if (!routed) return ringing;
		const ticket = await this.d.index.get(call.ticketId);
		await this.routing!.router.enqueue({
			kind: 'call',
			ref: id,
			ticketId: call.ticketId,
			channel: 'talk',
			groupId: number.groupId ?? ticket?.groupId ?? null,
			priority: ticket?.priority as Priority | undefined
		});
		await this.unrouteIfWaiting(id);
		return (await this.row(id))!;
	}

	/** The customer picked up an outbound call. */
	private async remoteAnswered(ref: string): Promise<void> {
		const call = await this.byRef(ref);
		if (!call) return;
		const c = this.calls;
		const done = await this.d.store.db
			.update(c)
			.set({ state: 'active', answeredAt: Date.now(), answeredBy: sql`${c.agentId}`, ...this.bump() })
			.where(and(eq(c.id, call.id), eq(c.state, 'dialing')))
			.returning({ id: c.id });
		if (done.length) await this.changed(call.id, 'call.answered', 'system');
	}

	/** The customer hung up: whatever the state, the call ends (an ended call stays as it is). */
	private async remoteHungUp(ref: string): Promise<CallRow> {
		const call = await this.byRef(ref);
		if (!call) throw notFound('call');
		if (call.state === 'ended') return call;
		const reason = call.answeredAt === null ? 'abandoned' : 'completed';
		return this.finish(call.id, LIVE, reason, 'system');
	}

	// --- agents' commands ---------------------------------------------------------------------

	/**
	 * Takes a ringing call: exactly one of several agents accepting at once wins, the others get 409.
	 * A routed call's offer is taken in the same transaction as the call.
	 */
	async accept(id: string, user: UserPrincipal): Promise<CallView> {
		const call = await this.visibleCall(id, user);
		if (call.state !== 'ringing') throw conflict(await this.describe(call, 'accepted'));
		if (!(await this.ringsFor(user, call))) throw forbidden('this call is not ringing for you');
		const offer = await this.offerOf(id, user.id);
		const c = this.calls;
		const item = await this.d.store.transaction(async (tx) => {
			await this.lockAgent(user.id);
			if (await this.busy(user.id)) throw conflict('you are on another call: end it first');
			const item = offer ? await this.routing!.router.take(offer.id, user.id) : null;
			const now = Date.now();
			const won = await tx
				.update(c)
				.set({
					state: 'active',
					agentId: user.id,
					ringTo: null,
					answeredBy: sql`coalesce(${c.answeredBy}, ${user.id})`,
					answeredAt: sql`coalesce(${c.answeredAt}, ${now})`,
					...this.closeHold(now),
					...this.bump()
				})
				.where(and(eq(c.id, id), eq(c.state, 'ringing')))
				.returning({ id: c.id });
			if (!won.length) throw conflict(await this.describe((await this.row(id))!, 'accepted'));
			return item;
		});
		if (item) await this.routing!.router.accepted(item);
		await this.d.provider.accept(call.ref, user.id);
		return this.view(await this.changed(id, 'call.accepted', `user:${user.id}`), user);
	}

	/**
	 * Refuses a ringing call. A routed call's offer moves on to the next available agent; otherwise
	 * a call nobody answered yet ends (outcome missed), and a transferred call goes back to ringing
	 * everyone who may answer it, so the customer is not dropped.
	 */
	async decline(id: string, user: UserPrincipal): Promise<CallView> {
		const call = await this.visibleCall(id, user);
		if (call.state !== 'ringing') throw conflict(await this.describe(call, 'declined'));
		if (!(await this.ringsFor(user, call))) throw forbidden('this call is not ringing for you');
		const offer = await this.offerOf(id, user.id);
		if (offer) {
			await this.routing!.router.decline(offer.id, user.id);
			return this.view((await this.row(id))!, user);
		}
		if (call.answeredAt === null) {
			const ended = await this.finish(id, ['ringing'], 'declined', `user:${user.id}`);
			await this.d.provider.end(call.ref);
			return this.view(ended, user);
		}
		const c = this.calls;
		const changed = await this.d.store.db
			.update(c)
			.set({ ringTo: null, ...this.bump() })
			.where(and(eq(c.id, id), eq(c.state, 'ringing')))
			.returning({ id: c.id });
		if (!changed.length) throw conflict(await this.describe((await this.row(id))!, 'declined'));
		return this.view(await this.changed(id, 'call.declined', `user:${user.id}`), user);
	}

	async hold(id: string, user: UserPrincipal): Promise<CallView> {
		const call = await this.ownCall(id, user, 'held', ['active']);
		await this.transition(call, 'held', { state: 'held', heldSince: Date.now() }, ['active'], user);
		await this.d.provider.hold(call.ref);
		return this.view(await this.changed(id, 'call.held', `user:${user.id}`), user);
	}

	async resume(id: string, user: UserPrincipal): Promise<CallView> {
		const call = await this.ownCall(id, user, 'resumed', ['held']);
		await this.transition(call, 'resumed', { state: 'active', ...this.closeHold(Date.now()) }, ['held'], user);
		await this.d.provider.resume(call.ref);
		return this.view(await this.changed(id, 'call.resumed', `user:${user.id}`), user);
	}

	/**
	 * Hands the call to one agent or a group: it rings only them while the customer waits on hold
	 * (counted as hold time); the transferring agent is free at once.
	 */
	async transfer(id: string, user: UserPrincipal, target: TransferTarget): Promise<CallView> {
		const call = await this.ownCall(id, user, 'transferred', ['active', 'held']);
		if (call.transfers.length >= MAX_TRANSFERS) throw conflict(`a call is transferred at most ${MAX_TRANSFERS} times`);
		const canAnswer = (userId: string) => this.canAnswer(userId, call);
		// A transfer rings only agents who take calls now: one offline would ring where nobody answers.
		const availability = async (userId: string) => callAvailability(await this.routing?.presence.get(userId));
		let ringTo: string[];
		let to: Omit<CallTransfer, 'from' | 'at'>;
		if ('toUserId' in target) {
			if (target.toUserId === user.id) throw new ApiError(422, 'invalid_target', 'you are on this call already', 'toUserId');
			if (!(await canAnswer(target.toUserId))) throw new ApiError(422, 'invalid_target', 'that user cannot take calls on this ticket', 'toUserId');
			const state = await availability(target.toUserId);
			if (state !== 'available') {
				const name = (await this.d.accounts.get(target.toUserId))?.name ?? 'that agent';
				throw new ApiError(422, 'agent_unavailable', `${name} is ${state}: a call is transferred only to agents who are online with Talk on`, 'toUserId');
			}
			ringTo = [target.toUserId];
			to = { to: target.toUserId, toType: 'agent' };
		} else {
			if (!(await this.d.accounts.listGroups()).some((g) => g.id === target.toGroupId)) throw new ApiError(422, 'invalid_target', 'no such group', 'toGroupId');
			const members: string[] = [];
			for (const member of await this.members(target.toGroupId)) if (member !== user.id && (await canAnswer(member))) members.push(member);
			if (!members.length) throw new ApiError(422, 'invalid_target', 'nobody else in that group can take calls on this ticket', 'toGroupId');
			ringTo = [];
			for (const member of members) if ((await availability(member)) === 'available') ringTo.push(member);
			if (!ringTo.length) throw new ApiError(422, 'agent_unavailable', 'nobody else in that group is online with Talk on: the call was not transferred', 'toGroupId');
			to = { to: target.toGroupId, toType: 'group' };
		}
		const now = Date.now();
		const transfers: CallTransfer[] = [...call.transfers, { from: user.id, ...to, at: now }];
		await this.transition(
			call,
			'transferred',
			{ state: 'ringing', agentId: null, ringTo, transfers, heldSince: sql`coalesce(${this.calls.heldSince}, ${now})` },
			['active', 'held'],
			user
		);
		// The transferring agent is free at once; the transferred call rings its targets unrouted.
		await this.routing?.router.complete('call', id, 'call transferred');
		await this.d.provider.transfer(call.ref);
		return this.view(await this.changed(id, 'call.transferred', `user:${user.id}`, to), user);
	}

	/** Hangs up the agent's call (an outbound call still dialling is cancelled: outcome no-answer). */
	async end(id: string, user: UserPrincipal): Promise<CallView> {
		const call = await this.ownCall(id, user, 'ended', ['dialing', 'active', 'held']);
		const ended = await this.finish(id, ['dialing', 'active', 'held'], call.state === 'dialing' ? 'cancelled' : 'completed', `user:${user.id}`, user.id);
		await this.d.provider.end(call.ref);
		return this.view(ended, user);
	}

	/** Calls the requester of `ticketId` on their talk number, from the ticket group's Talk number. */
	async place(ticketId: string, user: UserPrincipal): Promise<CallView> {
		if (user.role === 'supervisor') throw forbidden('supervisors are read-only');
		const ticket = await this.d.index.get(ticketId);
		if (!ticket || !ticketAccess(user, ticket)) throw notFound('ticket');
		if (ticketAccess(user, ticket) !== 'write') throw forbidden('you may not write to this ticket');
		const customer = await this.d.customers.get(ticket.requesterId);
		const phone = customer?.addresses.find((a) => a.channel === 'talk')?.address;
		if (!customer || !phone) {
			throw new ApiError(422, 'no_phone_number', `${customer?.name ?? 'the requester'} has no phone number (no talk address) to call`, 'ticketId');
		}
		const number = await this.d.numbers.outboundFor(ticket.groupId);
		if (!number) throw new ApiError(422, 'no_talk_number', 'no Talk number is configured to call from: add one on the admin page', 'ticketId');
		// Stored before the carrier is asked, so a second dial by the same agent meanwhile is refused.
		const id = newId();
		await this.d.store.transaction(async (tx) => {
			await this.lockAgent(user.id);
			if (await this.busy(user.id)) throw conflict('you are on another call: end it first');
			await tx.insert(this.calls).values({
				id,
				ref: `pending:${id}`,
				ticketId,
				customerId: customer.id,
				talkNumberId: number.id,
				direction: 'out',
				fromNumber: number.number,
				toNumber: phone,
				state: 'dialing',
				agentId: user.id,
				createdAt: Date.now()
			});
		});
		try {
			const ref = await this.d.provider.place({ from: number.number, to: phone });
			// The carrier may report on the call (answered, hung up) before its ref is stored: those
			// reports wait for it (byRef), set before anything is awaited here.
			const storing = this.d.store.db.update(this.calls).set({ ref }).where(eq(this.calls.id, id)).then(() => {});
			this.storingRefs.set(ref, storing);
			try {
				await storing;
			} finally {
				this.storingRefs.delete(ref);
			}
		} catch (error) {
			await this.finish(id, ['dialing'], 'failed', `user:${user.id}`);
			throw new ApiError(502, 'provider_error', `the call could not be placed: ${(error as Error).message}`);
		}
		return this.view(await this.changed(id, 'call.dialing', `user:${user.id}`, { to: phone }), user);
	}

	/** Appends the `call` entries of ended calls that have none yet (a process stopped between the two writes). */
	async recover(): Promise<void> {
		const c = this.calls;
		const pending = await this.d.store.db
			.select()
			.from(c)
			.where(and(eq(c.state, 'ended'), isNull(c.entryAt)));
		for (const call of pending) await this.appendEntry(call);
	}

	// --- the state machine's parts ------------------------------------------------------------

	/** The call of `user` (they are on it) in one of `from`; 404, 403 or 409 otherwise. */
	private async ownCall(id: string, user: UserPrincipal, verb: string, from: CallState[]): Promise<CallRow> {
		const call = await this.visibleCall(id, user);
		if (!from.includes(call.state)) throw conflict(await this.describe(call, verb));
		if (call.agentId !== user.id) throw forbidden('this is not your call');
		return call;
	}

	private async visibleCall(id: string, user: UserPrincipal): Promise<CallRow> {
		const call = await this.row(id);
		if (!call || !(await this.visible(user, call))) throw notFound('call');
		return call;
	}

	/** One compare-and-set UPDATE of the user's call; 409 when it moved meanwhile. */
	private async transition(call: CallRow, verb: string, set: CallChange, from: CallState[], user: UserPrincipal) {
		const c = this.calls;
		const changed = await this.d.store.db
			.update(c)
			.set({ ...set, ...this.bump() })
			.where(and(eq(c.id, call.id), eq(c.agentId, user.id), inArray(c.state, from)))
			.returning({ id: c.id });
		if (!changed.length) throw conflict(await this.describe((await this.row(call.id))!, verb));
	}

	/** Adds an open hold period (a `held_since`) to `hold_ms`, at `now`. */
	private closeHold(now: number): CallChange {
		const c = this.calls;
		return { holdMs: sql`${c.holdMs} + CASE WHEN ${c.heldSince} IS NULL OR ${c.heldSince} > ${now} THEN 0 ELSE ${now} - ${c.heldSince} END`, heldSince: null };
	}

	/** Every change of state bumps the version (see CallView). */
	private bump(): CallChange {
		return { version: sql`${this.calls.version} + 1` };
	}

	/**
	 * Ends the call if it is in one of `from` (409 otherwise), then stores its `call` entry. The
	 * outcome follows from whether it was ever answered.
	 */
	private async finish(id: string, from: CallState[], reason: string, actor: string, agentId?: string): Promise<CallRow> {
		const c = this.calls;
		const now = Date.now();
		const changed = await this.d.store.db
			.update(c)
			.set({
				state: 'ended',
				endedAt: now,
				endReason: reason,
				...this.closeHold(now),
				...this.bump(),
				outcome: sql`CASE WHEN ${c.answeredAt} IS NOT NULL THEN 'answered' WHEN ${c.direction} = 'in' THEN 'missed' ELSE 'no-answer' END`
			})
			.where(and(eq(c.id, id), inArray(c.state, from), agentId ? eq(c.agentId, agentId) : undefined))
			.returning({ id: c.id });
		if (!changed.length) throw conflict(await this.describe((await this.row(id))!, 'ended'));
		await this.routing?.router.complete('call', id, `call ${reason}`);
		const ended = await this.changed(id, 'call.ended', actor, { reason });
		await this.appendEntry(ended);
		return ended;
	}

	/** Stores the ended call's one `call` entry (its id is the call id: exactly once). */
	private async appendEntry(call: CallRow): Promise<void> {
		const agentId = call.agentId ?? call.answeredBy;
		try {
			const entry: EntryInput = {
				id: call.id,
				kind: 'call',
				channel: 'talk',
				direction: call.direction,
				visibility: 'public',
				authorType: agentId ? 'agent' : 'system',
				authorId: agentId ?? 'system',
				body: await this.summary(call),
				createdAt: call.createdAt,
				meta: {
					callId: call.id,
					from: call.fromNumber,
					to: call.toNumber,
					durationSeconds: durationSeconds(call),
					holdSeconds: Math.round(call.holdMs / 1000),
					outcome: call.outcome,
					endReason: call.endReason,
					agentId,
					transfers: call.transfers.map((t) => ({ ...t }))
				}
			};
			await this.d.tickets.append(call.ticketId, entry, SYSTEM);
			await this.d.store.db.update(this.calls).set({ entryAt: Date.now() }).where(eq(this.calls.id, call.id));
		} catch (error) {
			// The call stays ended without its entry; recover() appends it at the next start.
			this.d.logger.error({ callId: call.id, ticketId: call.ticketId, err: error }, 'call entry not stored');
		}
	}

	/** A short human summary: "Inbound call, 4m 12s, answered by Alex Agent". */
	private async summary(call: CallRow): Promise<string> {
		const name = async (id: string | null) => (id ? ((await this.d.accounts.get(id))?.name ?? 'an agent') : 'nobody');
		const customer = (await this.d.customers.get(call.customerId))?.name ?? 'the customer';
		const phone = call.direction === 'in' ? call.fromNumber : call.toNumber;
		if (call.outcome === 'missed') return `Missed call from ${customer} (${phone})${call.endReason === 'declined' ? ': declined' : ': the caller hung up'}`;
		if (call.outcome === 'no-answer') return `Outbound call to ${customer} (${phone}): no answer`;
		const parts = [`${call.direction === 'in' ? 'Inbound' : 'Outbound'} call`, formatDuration(durationSeconds(call)), `answered by ${await name(call.answeredBy)}`];
		const last = call.transfers.at(-1);
		if (last) parts.push(`transferred to ${last.toType === 'agent' ? await name(last.to) : ((await this.d.accounts.listGroups()).find((g) => g.id === last.to)?.name ?? 'a group')}`);
		if (call.holdMs >= 1000) parts.push(`${formatDuration(call.holdMs / 1000)} on hold`);
		return parts.join(', ');
	}

	// --- routing ------------------------------------------------------------------------------

	/** Whether the call is to be routed: someone who could answer it is online with talk on, and not on a call. */
	private async available(call: CallRow): Promise<boolean> {
		if (!this.routing) return false;
		const presence = this.routing.presence;
		for (const userId of (await this.unroutedRingTo(call)) ?? (await this.d.accounts.listUsers()).map((u) => u.id)) {
			const status = await presence.get(userId);
			if (status.statusClass === 'online' && status.channels.talk && !(await this.busy(userId)) && (await this.canAnswer(userId, call))) return true;
		}
		return false;
	}

	/** Who an unrouted incoming call rings: a grouped Talk number's members, or everyone (null). */
	private async unroutedRingTo(call: CallRow): Promise<string[] | null> {
		const groupId = call.talkNumberId ? (await this.d.numbers.get(call.talkNumberId))?.groupId : null;
		return groupId ? this.members(groupId) : null;
	}

	/** The agent's pending router offers of calls (their `ref` is the call id). */
	async callOffers(agentId: string): Promise<OfferView[]> {
		return ((await this.routing?.router.offersFor(agentId)) ?? []).filter((o) => o.kind === 'call');
	}

	/** The agent's pending router offer of the call, if it is routed to them. */
	private async offerOf(callId: string, agentId: string): Promise<OfferView | undefined> {
		return (await this.callOffers(agentId)).find((o) => o.ref === callId);
	}

	/** Makes a ringing call ring `ringTo` (null: everyone who may answer) and tells the watchers. */
	private async ring(id: string, ringTo: string[] | null, type: string, data: Record<string, unknown> = {}): Promise<void> {
		const c = this.calls;
		const changed = await this.d.store.db
			.update(c)
			.set({ ringTo, ...this.bump() })
			.where(and(eq(c.id, id), eq(c.state, 'ringing')))
			.returning({ id: c.id });
		if (changed.length) await this.changed(id, type, 'system', data);
	}

	/**
	 * A routed call the router could offer to nobody (everyone declined, let it expire, went away or
	 * is busy) leaves routing and rings as an unrouted call, so the caller is not left unheard.
	 */
	private async unrouteIfWaiting(id: string): Promise<void> {
		const item = await this.routing?.router.activeItem('call', id);
		if (item?.status !== 'queued') return;
		await this.routing!.router.complete('call', id, 'nobody available');
		await this.ring(id, await this.unroutedRingTo((await this.row(id))!), 'call.unrouted');
	}

	/** Whether the user may take calls on the call's ticket: an agent or admin who may write it. */
	private async canAnswer(userId: string, call: CallRow): Promise<boolean> {
		const person = await this.d.accounts.principal(userId);
		const ticket = await this.d.index.get(call.ticketId);
		return !!person && person.role !== 'supervisor' && !!ticket && ticketAccess(person, ticket) === 'write';
	}

	private async ringsFor(user: UserPrincipal, call: CallRow): Promise<boolean> {
		if (call.state !== 'ringing' || user.role === 'supervisor') return false;
		if (call.ringTo !== null && !call.ringTo.includes(user.id)) return false;
		const ticket = await this.d.index.get(call.ticketId);
		return !!ticket && ticketAccess(user, ticket) === 'write';
	}

	private async visible(user: UserPrincipal, call: CallRow): Promise<boolean> {
		const ticket = await this.d.index.get(call.ticketId);
		return !!ticket && ticketAccess(user, ticket) !== null;
	}

	/** Locks the agent's user row until the transaction ends: what they take on is decided one at a time. */
	private async lockAgent(userId: string): Promise<void> {
		const { users } = this.d.store.tables;
		await this.d.store.lock(this.d.store.db, users, eq(users.id, userId));
	}

	/** Whether the agent is on a call (dialling, talking or holding). */
	private async busy(userId: string): Promise<boolean> {
		const c = this.calls;
		const [call] = await this.d.store.db
			.select({ id: c.id })
			.from(c)
			.where(and(eq(c.agentId, userId), inArray(c.state, ['dialing', 'active', 'held'])))
			.limit(1);
		return !!call;
	}

	/** Enabled agents and admins of a group. */
	private async members(groupId: string): Promise<string[]> {
		return (await this.d.accounts.listUsers()).filter((u) => !u.disabled && u.role !== 'supervisor' && u.groupIds.includes(groupId)).map((u) => u.id);
	}

	/** Why a command does not apply to the call as it is now. */
	private async describe(call: CallRow, verb: string): Promise<string> {
		if (call.state === 'ended') return `this call has ended: it cannot be ${verb}`;
		if (verb === 'accepted' && call.agentId) return `this call was answered by ${(await this.d.accounts.get(call.agentId))?.name ?? 'another agent'}`;
		return `this call is ${call.state}: it cannot be ${verb}`;
	}

	/** Records the event, tells the watchers and returns the stored row. */
	private async changed(id: string, type: string, actor: string, data: Record<string, unknown> = {}): Promise<CallRow> {
		const call = (await this.row(id))!;
		await this.d.events.record({ ticketId: call.ticketId, actor, type, data: { callId: id, state: call.state, ...data } });
		this.feed.publish(call);
		return call;
	}

	private async view(call: CallRow, user: UserPrincipal): Promise<CallView> {
		const number = call.talkNumberId ? await this.d.numbers.get(call.talkNumberId) : undefined;
		return {
			id: call.id,
			ticketId: call.ticketId,
			direction: call.direction,
			from: call.fromNumber,
			to: call.toNumber,
			state: call.state,
			agentId: call.agentId,
			customer: { id: call.customerId, name: (await this.d.customers.get(call.customerId))?.name ?? 'Unknown caller' },
			number: number ? { number: number.number, label: number.label } : null,
			ringsMe: await this.ringsFor(user, call),
			ringTo: call.ringTo,
			transfers: call.transfers,
			holdSeconds: Math.round(call.holdMs / 1000),
			heldSince: call.heldSince,
			createdAt: call.createdAt,
			answeredAt: call.answeredAt,
			endedAt: call.endedAt,
			outcome: call.outcome,
			endReason: call.endReason,
			version: call.version
		};
	}
}

function durationSeconds(call: CallRow): number {
	return call.answeredAt !== null && call.endedAt !== null ? Math.max(0, Math.round((call.endedAt - call.answeredAt) / 1000)) : 0;
}
