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
 * the same call, exactly one changes the row; the other gets 409. An ended call gets one `call`
 * entry in its ticket whose id is the call id, so a retry (or the recovery at start, for a process
 * that stopped between the two writes) never appends it twice.
 *
 * An incoming call is routed (see `route`) while an agent who could answer it is available for
 * talk: it rings only the agent the router offers it to. Otherwise, as after a transfer, it rings
 * every agent and admin who may write its ticket (for a Talk number with a group, its members; after
 * a transfer, the chosen people among them).
 */
import type Database from 'better-sqlite3';
import type { CallOutcome, CallState, CallTransfer, CallView } from '../../src/lib/api/talk';
import { callAvailability } from '../../src/lib/api/routing';
import { normalisePhoneNumber, type TransferTarget } from '../../src/lib/api/schemas';
import { formatDuration } from '../../src/lib/format';
import { newId, type EntryInput, type Priority } from '../../src/lib/ticket';
import type { Accounts } from '../accounts';
import { ticketAccess } from '../auth/policy';
import { SYSTEM, type UserPrincipal } from '../auth/principal';
import type { Customers } from '../customers';
import { ApiError, forbidden, notFound } from '../errors';
import type { Events } from '../events';
import type { Logger } from '../log';
import type { AgentStatus } from '../routing/presence';
import type { OfferView, Router } from '../routing/router';
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

/** The row's columns as CallRow (JSON columns parsed). */
const SELECT = `SELECT id, ref, ticket_id AS ticketId, customer_id AS customerId, talk_number_id AS talkNumberId, direction,
	from_number AS fromNumber, to_number AS toNumber, state, agent_id AS agentId, ring_to AS ringTo, answered_by AS answeredBy,
	transfers, hold_ms AS holdMs, held_since AS heldSince, created_at AS createdAt, answered_at AS answeredAt,
	ended_at AS endedAt, outcome, end_reason AS endReason, entry_at AS entryAt, version FROM calls`;

type RawRow = Omit<CallRow, 'ringTo' | 'transfers'> & { ringTo: string | null; transfers: string };
const parseRow = (raw: RawRow | undefined): CallRow | undefined =>
	raw && { ...raw, ringTo: raw.ringTo === null ? null : (JSON.parse(raw.ringTo) as string[]), transfers: JSON.parse(raw.transfers) as CallTransfer[] };

/** Adds an open hold period (a `held_since`) to `hold_ms`, in SQL, at `now` (the first parameter). */
const CLOSE_HOLD = 'hold_ms = hold_ms + CASE WHEN held_since IS NULL THEN 0 ELSE max(0, :now - held_since) END, held_since = NULL';
/** Every change of state bumps the version (see CallView). */
const BUMP = 'version = version + 1';

export interface CallsDeps {
	sqlite: Database.Database;
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
	router: Pick<Router, 'enqueue' | 'complete' | 'dispatch' | 'offersFor' | 'accept' | 'decline' | 'item' | 'activeItem' | 'onEvent'>;
	presence: Pick<AgentStatus, 'get'>;
}

export class Calls {
	private readonly listeners = new Set<(call: CallRow) => void>();
	private routing: CallRouting | null = null;

	constructor(private readonly d: CallsDeps) {
		const stored = ({ id, ticketId, state }: CallRow) => ({ id, ticketId, state });
		const carrier: CarrierEvents = {
			incoming: async (call) => stored(this.incoming(call)),
			answered: async (ref) => this.remoteAnswered(ref),
			hungUp: async (ref) => stored(await this.remoteHungUp(ref))
		};
		d.provider.connect(carrier);
	}

	/**
	 * Offers incoming calls through the router while someone is available for them: the call rings
	 * only the agent holding its offer, and follows the offer as it moves on. When the router has
	 * nobody to offer it to, the call is taken out of routing and rings as an unrouted call.
	 */
	route(routing: CallRouting): void {
		this.routing = routing;
		routing.router.onEvent((event) => {
			if (event.type === 'offer' && event.offer.kind === 'call') this.ring(event.offer.ref, [event.agentId], 'call.offered', { agentId: event.agentId });
			else if (event.type === 'offer.withdrawn' && (event.reason === 'declined' || event.reason === 'expired' || event.reason === 'withdrawn')) {
				const item = routing.router.item(event.itemId);
				if (item?.kind !== 'call') return;
				this.ring(item.ref, [], 'call.offer_withdrawn', { agentId: event.agentId, reason: event.reason });
				// The router moves it on in its next pass; run it now to know whether anyone took the offer.
				routing.router.dispatch();
				this.unrouteIfWaiting(item.ref);
			}
		});
	}

	// --- reading ------------------------------------------------------------------------------

	/** The carrier's reference of call `id` (for the simulator's hang-up); 404 for an unknown call. */
	carrierRef(id: string): string {
		const call = this.row(id);
		if (!call) throw notFound('call');
		return call.ref;
	}

	private row(id: string): CallRow | undefined {
		return parseRow(this.d.sqlite.prepare(`${SELECT} WHERE id = ?`).get(id) as RawRow | undefined);
	}

	private byRef(ref: string): CallRow | undefined {
		return parseRow(this.d.sqlite.prepare(`${SELECT} WHERE ref = ?`).get(ref) as RawRow | undefined);
	}

	/** The call, if `user` may see its ticket; 404 otherwise (its existence is not disclosed). */
	get(id: string, user: UserPrincipal): CallView {
		const call = this.row(id);
		if (!call || !this.visible(user, call)) throw notFound('call');
		return this.view(call, user);
	}

	/** The user's own live calls and the calls ringing for them, oldest first. */
	current(user: UserPrincipal): CallView[] {
		const live = (this.d.sqlite.prepare(`${SELECT} WHERE state != 'ended' ORDER BY created_at, id`).all() as RawRow[]).map((r) => parseRow(r)!);
		return live.filter((call) => call.agentId === user.id || this.ringsFor(user, call)).map((call) => this.view(call, user));
	}

	/**
	 * Calls `listener` with every change to a call whose ticket `user` may see, once stored.
	 * Returns the unsubscribe function.
	 */
	watch(user: UserPrincipal, listener: (call: CallView) => void): () => void {
		const each = (call: CallRow) => {
			if (this.visible(user, call)) listener(this.view(call, user));
		};
		this.listeners.add(each);
		return () => this.listeners.delete(each);
	}

	// --- the carrier's events -----------------------------------------------------------------

	/**
	 * A caller rings one of our numbers: the customer is found by their talk address (or created),
	 * the call joins their newest open ticket (or opens one on channel talk) and rings. 422 for a
	 * number that is not a Talk number. A repeated `ref` is the same call.
	 */
	private incoming(input: { ref: string; from: string; to: string; callerName?: string }): CallRow {
		const existing = this.byRef(input.ref);
		if (existing) return existing;
		const from = normalisePhoneNumber(input.from);
		const to = normalisePhoneNumber(input.to);
		const number = this.d.numbers.byNumber(to);
		if (!number) throw new ApiError(422, 'unknown_number', `${to} is not a Talk number: add it on the admin page first`, 'to');
		// Synchronous from here to the insert: no other call can interleave in this process.
		const customer = this.d.customers.findOrCreate('talk', from, input.callerName);
		const now = Date.now();
		const id = newId();
		const open = this.d.sqlite
			.prepare(`SELECT id FROM tickets WHERE requester_id = ? AND status NOT IN ('solved', 'closed') ORDER BY updated_at DESC, id DESC LIMIT 1`)
			.get(customer.id) as { id: string } | undefined;
		const ringTo = number.groupId ? this.members(number.groupId) : null;
		const insert = (ticketId: string) =>
			this.d.sqlite
				.prepare(
					`INSERT INTO calls (id, ref, ticket_id, customer_id, talk_number_id, direction, from_number, to_number, state, ring_to, created_at)
					 VALUES (?, ?, ?, ?, ?, 'in', ?, ?, 'ringing', ?, ?)`
				)
				.run(id, input.ref, ticketId, customer.id, number.id, from, to, ringTo && JSON.stringify(ringTo), now);
		if (open) insert(open.id);
		else {
			// The new ticket and its call are stored in one transaction.
			this.d.tickets.createFromChannel(
				{
					subject: `Call from ${customer.name}`,
					requesterId: customer.id,
					channel: 'talk',
					groupId: number.groupId,
					entry: { id: `${id}.ring`, kind: 'event', channel: 'talk', direction: 'in', visibility: 'public', authorType: 'system', authorId: 'system', body: `Call from ${from} to ${number.label}`, createdAt: now }
				},
				insert
			);
		}
		const call = this.row(id)!;
		const routed = this.available(call);
		// Nobody's console rings until the router makes its offer.
		if (routed) this.d.sqlite.prepare(`UPDATE calls SET ring_to = '[]' WHERE id = ?`).run(id);
		const ringing = this.changed(id, 'call.ringing', 'system', { from, to, routed });
		if (!routed) return ringing;
		const ticket = this.d.index.get(call.ticketId);
		this.routing!.router.enqueue({
			kind: 'call',
			ref: id,
			ticketId: call.ticketId,
			channel: 'talk',
			groupId: number.groupId ?? ticket?.groupId ?? null,
			priority: ticket?.priority as Priority | undefined
		});
		this.unrouteIfWaiting(id);
		return this.row(id)!;
	}

	/** The customer picked up an outbound call. */
	private remoteAnswered(ref: string): void {
		const call = this.byRef(ref);
		if (!call) return;
		const done = this.d.sqlite
			.prepare(`UPDATE calls SET state = 'active', answered_at = ?, answered_by = agent_id, ${BUMP} WHERE id = ? AND state = 'dialing'`)
			.run(Date.now(), call.id).changes;
		if (done) this.changed(call.id, 'call.answered', 'system');
	}

	/** The customer hung up: whatever the state, the call ends (an ended call stays as it is). */
	private async remoteHungUp(ref: string): Promise<CallRow> {
		const call = this.byRef(ref);
		if (!call) throw notFound('call');
		if (call.state === 'ended') return call;
		const reason = call.answeredAt === null ? 'abandoned' : 'completed';
		return this.finish(call.id, LIVE, reason, 'system');
	}

	// --- agents' commands ---------------------------------------------------------------------

	/** Takes a ringing call: exactly one of several agents accepting at once wins, the others get 409. */
	async accept(id: string, user: UserPrincipal): Promise<CallView> {
		const call = this.visibleCall(id, user);
		if (call.state !== 'ringing') throw conflict(this.describe(call, 'accepted'));
		if (!this.ringsFor(user, call)) throw forbidden('this call is not ringing for you');
		if (this.busy(user.id)) throw conflict('you are on another call: end it first');
		// Synchronous from here to the update: the offer is taken only together with the call.
		const offer = this.offerOf(id, user.id);
		if (offer) this.routing!.router.accept(offer.id, user.id);
		const now = Date.now();
		const won = this.d.sqlite
			.prepare(
				`UPDATE calls SET state = 'active', agent_id = :agent, ring_to = NULL, answered_by = coalesce(answered_by, :agent),
				 answered_at = coalesce(answered_at, :now), ${CLOSE_HOLD}, ${BUMP} WHERE id = :id AND state = 'ringing'`
			)
			.run({ agent: user.id, now, id }).changes;
		if (!won) throw conflict(this.describe(this.row(id)!, 'accepted'));
		await this.d.provider.accept(call.ref, user.id);
		return this.view(this.changed(id, 'call.accepted', `user:${user.id}`), user);
	}

	/**
	 * Refuses a ringing call. A routed call's offer moves on to the next available agent; otherwise
	 * a call nobody answered yet ends (outcome missed), and a transferred call goes back to ringing
	 * everyone who may answer it, so the customer is not dropped.
	 */
	async decline(id: string, user: UserPrincipal): Promise<CallView> {
		const call = this.visibleCall(id, user);
		if (call.state !== 'ringing') throw conflict(this.describe(call, 'declined'));
		if (!this.ringsFor(user, call)) throw forbidden('this call is not ringing for you');
		const offer = this.offerOf(id, user.id);
		if (offer) {
			this.routing!.router.decline(offer.id, user.id);
			return this.view(this.row(id)!, user);
		}
		if (call.answeredAt === null) {
			const ended = await this.finish(id, ['ringing'], 'declined', `user:${user.id}`);
			await this.d.provider.end(call.ref);
			return this.view(ended, user);
		}
		const changed = this.d.sqlite.prepare(`UPDATE calls SET ring_to = NULL, ${BUMP} WHERE id = ? AND state = 'ringing'`).run(id).changes;
		if (!changed) throw conflict(this.describe(this.row(id)!, 'declined'));
		return this.view(this.changed(id, 'call.declined', `user:${user.id}`), user);
	}

	async hold(id: string, user: UserPrincipal): Promise<CallView> {
		const call = this.ownCall(id, user, 'held', ['active']);
		this.transition(call, 'held', `state = 'held', held_since = :now`, ['active'], user);
		await this.d.provider.hold(call.ref);
		return this.view(this.changed(id, 'call.held', `user:${user.id}`), user);
	}

	async resume(id: string, user: UserPrincipal): Promise<CallView> {
		const call = this.ownCall(id, user, 'resumed', ['held']);
		this.transition(call, 'resumed', `state = 'active', ${CLOSE_HOLD}`, ['held'], user);
		await this.d.provider.resume(call.ref);
		return this.view(this.changed(id, 'call.resumed', `user:${user.id}`), user);
	}

	/**
	 * Hands the call to one agent or a group: it rings only them while the customer waits on hold
	 * (counted as hold time); the transferring agent is free at once.
	 */
	async transfer(id: string, user: UserPrincipal, target: TransferTarget): Promise<CallView> {
		const call = this.ownCall(id, user, 'transferred', ['active', 'held']);
		if (call.transfers.length >= MAX_TRANSFERS) throw conflict(`a call is transferred at most ${MAX_TRANSFERS} times`);
		const canAnswer = (userId: string) => this.canAnswer(userId, call);
		// A transfer rings only agents who take calls now: one offline would ring where nobody answers.
		const availability = (userId: string) => callAvailability(this.routing?.presence.get(userId));
		let ringTo: string[];
		let to: Omit<CallTransfer, 'from' | 'at'>;
		if ('toUserId' in target) {
			if (target.toUserId === user.id) throw new ApiError(422, 'invalid_target', 'you are on this call already', 'toUserId');
			if (!canAnswer(target.toUserId)) throw new ApiError(422, 'invalid_target', 'that user cannot take calls on this ticket', 'toUserId');
			const state = availability(target.toUserId);
			if (state !== 'available') {
				const name = this.d.accounts.get(target.toUserId)?.name ?? 'that agent';
				throw new ApiError(422, 'agent_unavailable', `${name} is ${state}: a call is transferred only to agents who are online with Talk on`, 'toUserId');
			}
			ringTo = [target.toUserId];
			to = { to: target.toUserId, toType: 'agent' };
		} else {
			if (!this.d.accounts.listGroups().some((g) => g.id === target.toGroupId)) throw new ApiError(422, 'invalid_target', 'no such group', 'toGroupId');
			const members = this.members(target.toGroupId).filter((member) => member !== user.id && canAnswer(member));
			if (!members.length) throw new ApiError(422, 'invalid_target', 'nobody else in that group can take calls on this ticket', 'toGroupId');
			ringTo = members.filter((member) => availability(member) === 'available');
			if (!ringTo.length) throw new ApiError(422, 'agent_unavailable', 'nobody else in that group is online with Talk on: the call was not transferred', 'toGroupId');
			to = { to: target.toGroupId, toType: 'group' };
		}
		const now = Date.now();
		const transfers: CallTransfer[] = [...call.transfers, { from: user.id, ...to, at: now }];
		this.transition(
			call,
			'transferred',
			`state = 'ringing', agent_id = NULL, ring_to = :ringTo, transfers = :transfers, held_since = coalesce(held_since, :now)`,
			['active', 'held'],
			user,
			{ ringTo: JSON.stringify(ringTo), transfers: JSON.stringify(transfers) }
		);
		// The transferring agent is free at once; the transferred call rings its targets unrouted.
		this.routing?.router.complete('call', id, 'call transferred');
		await this.d.provider.transfer(call.ref);
		return this.view(this.changed(id, 'call.transferred', `user:${user.id}`, to), user);
	}

	/** Hangs up the agent's call (an outbound call still dialling is cancelled: outcome no-answer). */
	async end(id: string, user: UserPrincipal): Promise<CallView> {
		const call = this.ownCall(id, user, 'ended', ['dialing', 'active', 'held']);
		const ended = await this.finish(id, ['dialing', 'active', 'held'], call.state === 'dialing' ? 'cancelled' : 'completed', `user:${user.id}`, user.id);
		await this.d.provider.end(call.ref);
		return this.view(ended, user);
	}

	/** Calls the requester of `ticketId` on their talk number, from the ticket group's Talk number. */
	async place(ticketId: string, user: UserPrincipal): Promise<CallView> {
		if (user.role === 'supervisor') throw forbidden('supervisors are read-only');
		const ticket = this.d.index.get(ticketId);
		if (!ticket || !ticketAccess(user, ticket)) throw notFound('ticket');
		if (ticketAccess(user, ticket) !== 'write') throw forbidden('you may not write to this ticket');
		const customer = this.d.customers.get(ticket.requesterId);
		const phone = customer?.addresses.find((a) => a.channel === 'talk')?.address;
		if (!customer || !phone) {
			throw new ApiError(422, 'no_phone_number', `${customer?.name ?? 'the requester'} has no phone number (no talk address) to call`, 'ticketId');
		}
		const number = this.d.numbers.outboundFor(ticket.groupId);
		if (!number) throw new ApiError(422, 'no_talk_number', 'no Talk number is configured to call from: add one on the admin page', 'ticketId');
		if (this.busy(user.id)) throw conflict('you are on another call: end it first');
		// Stored before the carrier is asked, so a second dial by the same agent meanwhile is refused.
		const id = newId();
		this.d.sqlite
			.prepare(
				`INSERT INTO calls (id, ref, ticket_id, customer_id, talk_number_id, direction, from_number, to_number, state, agent_id, created_at)
				 VALUES (?, ?, ?, ?, ?, 'out', ?, ?, 'dialing', ?, ?)`
			)
			.run(id, `pending:${id}`, ticketId, customer.id, number.id, number.number, phone, user.id, Date.now());
		try {
			const ref = await this.d.provider.place({ from: number.number, to: phone });
			this.d.sqlite.prepare('UPDATE calls SET ref = ? WHERE id = ?').run(ref, id);
		} catch (error) {
			await this.finish(id, ['dialing'], 'failed', `user:${user.id}`);
			throw new ApiError(502, 'provider_error', `the call could not be placed: ${(error as Error).message}`);
		}
		return this.view(this.changed(id, 'call.dialing', `user:${user.id}`, { to: phone }), user);
	}

	/** Appends the `call` entries of ended calls that have none yet (a process stopped between the two writes). */
	async recover(): Promise<void> {
		const pending = this.d.sqlite.prepare(`${SELECT} WHERE state = 'ended' AND entry_at IS NULL`).all() as RawRow[];
		for (const raw of pending) await this.appendEntry(parseRow(raw)!);
	}

	// --- the state machine's parts ------------------------------------------------------------

	/** The call of `user` (they are on it) in one of `from`; 404, 403 or 409 otherwise. */
	private ownCall(id: string, user: UserPrincipal, verb: string, from: CallState[]): CallRow {
		const call = this.visibleCall(id, user);
		if (!from.includes(call.state)) throw conflict(this.describe(call, verb));
		if (call.agentId !== user.id) throw forbidden('this is not your call');
		return call;
	}

	private visibleCall(id: string, user: UserPrincipal): CallRow {
		const call = this.row(id);
		if (!call || !this.visible(user, call)) throw notFound('call');
		return call;
	}

	/** One compare-and-set UPDATE of the user's call; 409 when it moved meanwhile. */
	private transition(call: CallRow, verb: string, set: string, from: CallState[], user: UserPrincipal, params: Record<string, unknown> = {}) {
		const states = from.map((s) => `'${s}'`).join(', ');
		const changed = this.d.sqlite
			.prepare(`UPDATE calls SET ${set}, ${BUMP} WHERE id = :id AND agent_id = :agent AND state IN (${states})`)
			.run({ now: Date.now(), ...params, id: call.id, agent: user.id }).changes;
		if (!changed) throw conflict(this.describe(this.row(call.id)!, verb));
	}

	/**
	 * Ends the call if it is in one of `from` (409 otherwise), then stores its `call` entry. The
	 * outcome follows from whether it was ever answered.
	 */
	private async finish(id: string, from: CallState[], reason: string, actor: string, agentId?: string): Promise<CallRow> {
		const states = from.map((s) => `'${s}'`).join(', ');
		const changed = this.d.sqlite
			.prepare(
				`UPDATE calls SET state = 'ended', ended_at = :now, end_reason = :reason, ${CLOSE_HOLD}, ${BUMP},
				 outcome = CASE WHEN answered_at IS NOT NULL THEN 'answered' WHEN direction = 'in' THEN 'missed' ELSE 'no-answer' END
				 WHERE id = :id AND state IN (${states})${agentId ? ' AND agent_id = :agent' : ''}`
			)
			.run({ now: Date.now(), reason, id, ...(agentId && { agent: agentId }) }).changes;
		if (!changed) throw conflict(this.describe(this.row(id)!, 'ended'));
		this.routing?.router.complete('call', id, `call ${reason}`);
		const ended = this.changed(id, 'call.ended', actor, { reason });
		await this.appendEntry(ended);
		return ended;
	}

	/** Stores the ended call's one `call` entry (its id is the call id: exactly once). */
	private async appendEntry(call: CallRow): Promise<void> {
		const agentId = call.agentId ?? call.answeredBy;
		const entry: EntryInput = {
			id: call.id,
			kind: 'call',
			channel: 'talk',
			direction: call.direction,
			visibility: 'public',
			authorType: agentId ? 'agent' : 'system',
			authorId: agentId ?? 'system',
			body: this.summary(call),
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
		try {
			await this.d.tickets.append(call.ticketId, entry, SYSTEM);
			this.d.sqlite.prepare('UPDATE calls SET entry_at = ? WHERE id = ?').run(Date.now(), call.id);
		} catch (error) {
			// The call stays ended without its entry; recover() appends it at the next start.
			this.d.logger.error({ callId: call.id, ticketId: call.ticketId, err: error }, 'call entry not stored');
		}
	}

	/** A short human summary: "Inbound call, 4m 12s, answered by Alex Agent". */
	private summary(call: CallRow): string {
		const name = (id: string | null) => (id ? (this.d.accounts.get(id)?.name ?? 'an agent') : 'nobody');
		const customer = this.d.customers.get(call.customerId)?.name ?? 'the customer';
		const phone = call.direction === 'in' ? call.fromNumber : call.toNumber;
		if (call.outcome === 'missed') return `Missed call from ${customer} (${phone})${call.endReason === 'declined' ? ': declined' : ': the caller hung up'}`;
		if (call.outcome === 'no-answer') return `Outbound call to ${customer} (${phone}): no answer`;
		const parts = [`${call.direction === 'in' ? 'Inbound' : 'Outbound'} call`, formatDuration(durationSeconds(call)), `answered by ${name(call.answeredBy)}`];
		const last = call.transfers.at(-1);
		if (last) parts.push(`transferred to ${last.toType === 'agent' ? name(last.to) : (this.d.accounts.listGroups().find((g) => g.id === last.to)?.name ?? 'a group')}`);
		if (call.holdMs >= 1000) parts.push(`${formatDuration(call.holdMs / 1000)} on hold`);
		return parts.join(', ');
	}

	// --- routing ------------------------------------------------------------------------------

	/** Whether the call is to be routed: someone who could answer it is online with talk on, and not on a call. */
	private available(call: CallRow): boolean {
		if (!this.routing) return false;
		const presence = this.routing.presence;
		return (this.unroutedRingTo(call) ?? this.d.accounts.listUsers().map((u) => u.id)).some((userId) => {
			const status = presence.get(userId);
			return status.statusClass === 'online' && status.channels.talk && !this.busy(userId) && this.canAnswer(userId, call);
		});
	}

	/** Who an unrouted incoming call rings: a grouped Talk number's members, or everyone (null). */
	private unroutedRingTo(call: CallRow): string[] | null {
		const groupId = call.talkNumberId ? this.d.numbers.get(call.talkNumberId)?.groupId : null;
		return groupId ? this.members(groupId) : null;
	}

	/** The agent's pending router offers of calls (their `ref` is the call id). */
	callOffers(agentId: string): OfferView[] {
		return this.routing?.router.offersFor(agentId).filter((o) => o.kind === 'call') ?? [];
	}

	/** The agent's pending router offer of the call, if it is routed to them. */
	private offerOf(callId: string, agentId: string): OfferView | undefined {
		return this.callOffers(agentId).find((o) => o.ref === callId);
	}

	/** Makes a ringing call ring `ringTo` (null: everyone who may answer) and tells the watchers. */
	private ring(id: string, ringTo: string[] | null, type: string, data: Record<string, unknown> = {}): void {
		const changed = this.d.sqlite
			.prepare(`UPDATE calls SET ring_to = ?, ${BUMP} WHERE id = ? AND state = 'ringing'`)
			.run(ringTo && JSON.stringify(ringTo), id).changes;
		if (changed) this.changed(id, type, 'system', data);
	}

	/**
	 * A routed call the router could offer to nobody (everyone declined, let it expire, went away or
	 * is busy) leaves routing and rings as an unrouted call, so the caller is not left unheard.
	 */
	private unrouteIfWaiting(id: string): void {
		const item = this.routing?.router.activeItem('call', id);
		if (item?.status !== 'queued') return;
		this.routing!.router.complete('call', id, 'nobody available');
		this.ring(id, this.unroutedRingTo(this.row(id)!), 'call.unrouted');
	}

	/** Whether the user may take calls on the call's ticket: an agent or admin who may write it. */
	private canAnswer(userId: string, call: CallRow): boolean {
		const person = this.d.accounts.principal(userId);
		const ticket = this.d.index.get(call.ticketId);
		return !!person && person.role !== 'supervisor' && !!ticket && ticketAccess(person, ticket) === 'write';
	}

	private ringsFor(user: UserPrincipal, call: CallRow): boolean {
		if (call.state !== 'ringing' || user.role === 'supervisor') return false;
		if (call.ringTo !== null && !call.ringTo.includes(user.id)) return false;
		const ticket = this.d.index.get(call.ticketId);
		return !!ticket && ticketAccess(user, ticket) === 'write';
	}

	private visible(user: UserPrincipal, call: CallRow): boolean {
		const ticket = this.d.index.get(call.ticketId);
		return !!ticket && ticketAccess(user, ticket) !== null;
	}

	/** Whether the agent is on a call (dialling, talking or holding). */
	private busy(userId: string): boolean {
		return !!this.d.sqlite.prepare(`SELECT 1 FROM calls WHERE agent_id = ? AND state IN ('dialing', 'active', 'held')`).get(userId);
	}

	/** Enabled agents and admins of a group. */
	private members(groupId: string): string[] {
		return this.d.accounts
			.listUsers()
			.filter((u) => !u.disabled && u.role !== 'supervisor' && u.groupIds.includes(groupId))
			.map((u) => u.id);
	}

	/** Why a command does not apply to the call as it is now. */
	private describe(call: CallRow, verb: string): string {
		if (call.state === 'ended') return `this call has ended: it cannot be ${verb}`;
		if (verb === 'accepted' && call.agentId) return `this call was answered by ${this.d.accounts.get(call.agentId)?.name ?? 'another agent'}`;
		return `this call is ${call.state}: it cannot be ${verb}`;
	}

	/** Records the event, tells the watchers and returns the stored row. */
	private changed(id: string, type: string, actor: string, data: Record<string, unknown> = {}): CallRow {
		const call = this.row(id)!;
		this.d.events.record({ ticketId: call.ticketId, actor, type, data: { callId: id, state: call.state, ...data } });
		for (const listener of this.listeners) listener(call);
		return call;
	}

	private view(call: CallRow, user: UserPrincipal): CallView {
		const number = call.talkNumberId ? this.d.numbers.get(call.talkNumberId) : undefined;
		return {
			id: call.id,
			ticketId: call.ticketId,
			direction: call.direction,
			from: call.fromNumber,
			to: call.toNumber,
			state: call.state,
			agentId: call.agentId,
			customer: { id: call.customerId, name: this.d.customers.get(call.customerId)?.name ?? 'Unknown caller' },
			number: number ? { number: number.number, label: number.label } : null,
			ringsMe: this.ringsFor(user, call),
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
