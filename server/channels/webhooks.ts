/**
 * Messaging and social channels over signed webhooks. A platform POSTs a customer's message to
 * `/api/v1/channels/<id>/webhook`; agents' public replies on that channel kind go out through the
 * outbox (kind 'webhook', see outbox.ts) to the channel's outbound URL.
 *
 * Both ways a request carries `X-Tandem-Timestamp: <unix seconds>` and
 * `X-Tandem-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the channel secret>`.
 * An inbound request whose signature does not match, or whose timestamp is more than 5 minutes
 * away from now, is refused (401) and nothing is stored.
 *
 * Exactly once: an event id already seen on the channel is answered `{duplicate: true}`; the entry
 * id is derived from the channel and the event id, so a retry that raced the record appends nothing.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, asc, desc, eq, isNotNull, ne, notInArray, or } from 'drizzle-orm';
import type { WebhookEvent } from '../../src/lib/api/schemas';
import { newId, type Entry } from '../../src/lib/ticket';
import { SYSTEM } from '../auth/principal';
import type { Customers } from '../customers';
import { ApiError, notFound } from '../errors';
import type { Events } from '../events';
import type { Store } from '../storage/store';
import { DONE_STATUSES, subjectFrom, type Tickets } from '../tickets';

export const CHANNEL_KINDS = ['messaging', 'social'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

/** How far a request's timestamp may be from now. */
export const REPLAY_WINDOW_S = 5 * 60;
export const TIMESTAMP_HEADER = 'x-tandem-timestamp';
export const SIGNATURE_HEADER = 'x-tandem-signature';

export interface ChannelInfo {
	id: string;
	kind: ChannelKind;
	name: string;
	outboundUrl: string | null;
	createdAt: number;
}

/** The hex HMAC-SHA256 of `<timestamp>.<body>`. */
export function signature(secret: string, timestamp: string, body: string): string {
	return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The two headers that sign `body` now. */
export function signedHeaders(secret: string, body: string, now = Date.now()): Record<string, string> {
	const timestamp = String(Math.floor(now / 1000));
	return { 'X-Tandem-Timestamp': timestamp, 'X-Tandem-Signature': `sha256=${signature(secret, timestamp, body)}` };
}

/** Whether the headers sign `body` with `secret`, within the replay window. */
export function verifySignature(secret: string, timestamp: string | null, header: string | null, body: string, now = Date.now()): boolean {
	if (!timestamp || !header || !/^\d{1,12}$/.test(timestamp)) return false;
	if (Math.abs(now / 1000 - Number(timestamp)) > REPLAY_WINDOW_S) return false;
	const match = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
	if (!match) return false;
	const given = Buffer.from(match[1]!, 'hex');
	const expected = Buffer.from(signature(secret, timestamp, body), 'hex');
	return given.length === expected.length && timingSafeEqual(given, expected);
}

const unauthorized = () => new ApiError(401, 'unauthorized', 'missing or invalid webhook signature, or a timestamp outside the replay window');

const newSecret = () => `whsec_${randomBytes(32).toString('base64url')}`;

/** A repeat noticed inside the creating transaction: rolls it back. */
class DuplicateEvent extends Error {}

export class Channels {
	/** Events being processed now, so a concurrent repeat waits for the first and is a duplicate. */
	private readonly inFlight = new Map<string, Promise<unknown>>();

	constructor(
		private readonly store: Store,
		private readonly customers: Customers,
		private readonly tickets: Tickets,
		private readonly events?: Events
	) {}

	/** The columns of a channel's info. */
	private get infoColumns() {
		const { channels } = this.store.tables;
		return { id: channels.id, kind: channels.kind, name: channels.name, outboundUrl: channels.outboundUrl, createdAt: channels.createdAt };
	}

	/** Creates a channel; the secret is returned here and never again. */
	async create(input: { kind: ChannelKind; name: string; outboundUrl?: string | null }, by = 'system'): Promise<ChannelInfo & { secret: string }> {
		const row = {
			id: newId(),
			kind: input.kind,
			name: input.name,
			secret: newSecret(),
			outboundUrl: input.outboundUrl ?? null,
			createdAt: Date.now()
		};
		await this.store.transaction(async (tx) => {
			await tx.insert(this.store.tables.channels).values(row);
			await this.events?.record({ actor: by, type: 'channel.created', data: { channelId: row.id, kind: row.kind, name: row.name, outboundUrl: row.outboundUrl } });
		});
		return row;
	}

	/** Whether a channel has this name (other than channel `exceptId`). */
	async exists(name: string, exceptId?: string): Promise<boolean> {
		const { channels } = this.store.tables;
		const [row] = await this.store.db
			.select({ id: channels.id })
			.from(channels)
			.where(and(eq(channels.name, name), exceptId === undefined ? undefined : ne(channels.id, exceptId)))
			.limit(1);
		return !!row;
	}

	/** The channel without its secret, if any. */
	async get(id: string): Promise<ChannelInfo | undefined> {
		const { channels } = this.store.tables;
		const [row] = await this.store.db.select(this.infoColumns).from(channels).where(eq(channels.id, id)).limit(1);
		return row;
	}

	/** Renames a channel or changes (`null`: removes) its outbound URL; 404 for an unknown channel. */
	async update(id: string, change: { name?: string; outboundUrl?: string | null }, by = 'system'): Promise<ChannelInfo> {
		const { channels } = this.store.tables;
		return this.store.transaction(async (tx) => {
			await this.store.lock(tx, channels, eq(channels.id, id));
			const before = await this.get(id);
			if (!before) throw notFound('channel');
			const after: ChannelInfo = { ...before, name: change.name ?? before.name, outboundUrl: change.outboundUrl === undefined ? before.outboundUrl : change.outboundUrl };
			await tx.update(channels).set({ name: after.name, outboundUrl: after.outboundUrl }).where(eq(channels.id, id));
			await this.events?.record({ actor: by, type: 'channel.updated', data: { channelId: id, name: after.name, outboundUrl: after.outboundUrl } });
			return after;
		});
	}

	/** Replaces a channel's signing secret: the old one stops working now; the new one is returned here and never again. */
	async rotateSecret(id: string, by = 'system'): Promise<{ id: string; secret: string }> {
		const secret = newSecret();
		const { channels } = this.store.tables;
		return this.store.transaction(async (tx) => {
			const rotated = await tx.update(channels).set({ secret }).where(eq(channels.id, id)).returning({ id: channels.id });
			if (!rotated.length) throw notFound('channel');
			await this.events?.record({ actor: by, type: 'channel.secret_rotated', data: { channelId: id } });
			return { id, secret };
		});
	}

	/** All channels, oldest first, without their secrets. */
	async list(): Promise<ChannelInfo[]> {
		const { channels } = this.store.tables;
		return this.store.db.select(this.infoColumns).from(channels).orderBy(asc(channels.createdAt), asc(channels.id));
	}

	/**
	 * Checks the request's signature for channel `id`: 404 for an unknown channel, 401 (nothing
	 * stored) for a missing or wrong signature or a stale timestamp.
	 */
	async authenticate(id: string, timestamp: string | null, header: string | null, rawBody: string): Promise<ChannelInfo> {
		const { channels } = this.store.tables;
		const [row] = await this.store.db
			.select({ ...this.infoColumns, secret: channels.secret })
			.from(channels)
			.where(eq(channels.id, id))
			.limit(1);
		if (!row) throw notFound('channel');
		if (!verifySignature(row.secret, timestamp, header, rawBody)) throw unauthorized();
		const { secret: _secret, ...info } = row;
		return info;
	}

	/** Writes an authenticated event into the customer's open ticket on the channel kind, or a new one. */
	async receive(channel: ChannelInfo, event: WebhookEvent): Promise<{ duplicate: true } | { ticketId: string; entryId: string }> {
		const key = `${channel.id}\n${event.eventId}`;
		const pending = this.inFlight.get(key);
		if (pending) {
			await pending.catch(() => {});
			return this.receive(channel, event);
		}
		const work = this.process(channel, event);
		this.inFlight.set(key, work);
		try {
			return await work;
		} finally {
			this.inFlight.delete(key);
		}
	}

	private async seen(channelId: string, eventId: string): Promise<boolean> {
		const { webhookEvents } = this.store.tables;
		const [row] = await this.store.db
			.select({ eventId: webhookEvents.eventId })
			.from(webhookEvents)
			.where(and(eq(webhookEvents.channelId, channelId), eq(webhookEvents.eventId, eventId)))
			.limit(1);
		return !!row;
	}

	/** Records the event id; false when it was recorded already (the key decides between concurrent ones). */
	private async remember(channelId: string, eventId: string): Promise<boolean> {
		const { webhookEvents } = this.store.tables;
		const added = await this.store.db
			.insert(webhookEvents)
			.values({ channelId, eventId, receivedAt: Date.now() })
			.onConflictDoNothing()
			.returning({ eventId: webhookEvents.eventId });
		return added.length > 0;
	}

	/**
	 * The customer's ticket on `channel` that is still open, most recently updated first: one of
	 * theirs merged into another stands for that one (whoever's it is) while that is open.
	 */
	private async openTicketOf(customerId: string, channel: string): Promise<{ id: string } | null> {
		const { tickets } = this.store.tables;
		const notDone = notInArray(tickets.status, DONE_STATUSES);
		const [latest] = await this.store.db
			.select({ id: tickets.id, mergedIntoId: tickets.mergedIntoId })
			.from(tickets)
			.where(and(eq(tickets.requesterId, customerId), eq(tickets.channel, channel), or(notDone, isNotNull(tickets.mergedIntoId))))
			.orderBy(desc(tickets.updatedAt), desc(tickets.id))
			.limit(1);
		if (!latest?.mergedIntoId) return latest ?? null;
		const id = await this.tickets.mergeTarget(latest.id);
		const [target] = await this.store.db.select({ id: tickets.id }).from(tickets).where(and(eq(tickets.id, id), notDone));
		return target ?? null;
	}

	private async process(channel: ChannelInfo, event: WebhookEvent): Promise<{ duplicate: true } | { ticketId: string; entryId: string }> {
		if (await this.seen(channel.id, event.eventId)) return { duplicate: true };
		const kind = channel.kind;
		const customer = await this.customers.findOrCreate(kind, event.from.id, event.from.name);
		const meta: Record<string, string | number> = { channelId: channel.id, eventId: event.eventId, from: event.from.id };
		if (event.sentAt !== undefined) meta.sentAt = event.sentAt;
		const entry: Entry = {
			id: `${kind}.${createHash('sha256').update(`${channel.id}\n${event.eventId}`).digest('hex').slice(0, 40)}`,
			kind: 'message',
			channel: kind,
			direction: 'in',
			visibility: 'public',
			authorType: 'customer',
			authorId: customer.id,
			body: event.text,
			createdAt: Date.now(),
			meta
		};
		const open = await this.openTicketOf(customer.id, kind);
		if (open) {
			// The entry id makes a retry append nothing; the event is recorded once the entry is durable.
			await this.tickets.append(open.id, entry, SYSTEM);
			// Recorded meanwhile by a delivery on another process: that one answers for it.
			if (!(await this.remember(channel.id, event.eventId))) return { duplicate: true };
			return { ticketId: open.id, entryId: entry.id };
		}
		try {
			// Remembered in the creating transaction: of concurrent deliveries (other processes) one
			// creates the ticket, the others find the event id taken and roll theirs back.
			const ticket = await this.tickets.createFromChannel(
				{ subject: subjectFrom(event.text), requesterId: customer.id, channel: kind, entry },
				async () => {
					if (!(await this.remember(channel.id, event.eventId))) throw new DuplicateEvent();
				}
			);
			return { ticketId: ticket.id, entryId: entry.id };
		} catch (error) {
			if (error instanceof DuplicateEvent) return { duplicate: true };
			throw error;
		}
	}
}
