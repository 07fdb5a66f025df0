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
import type Database from 'better-sqlite3';
import { channels, webhookEvents } from '../../drizzle/schema';
import type { WebhookEvent } from '../../src/lib/api/schemas';
import { newId, type Entry } from '../../src/lib/ticket';
import { SYSTEM } from '../auth/principal';
import type { Customers } from '../customers';
import { ApiError, notFound } from '../errors';
import type { Events } from '../events';
import type { Db } from '../storage/database';
import { subjectFrom, type Tickets } from '../tickets';

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
		private readonly db: Db,
		private readonly customers: Customers,
		private readonly tickets: Tickets,
		private readonly events?: Events
	) {}

	private get sqlite(): Database.Database {
		return this.db.$client;
	}

	/** Creates a channel; the secret is returned here and never again. */
	create(input: { kind: ChannelKind; name: string; outboundUrl?: string | null }, by = 'system'): ChannelInfo & { secret: string } {
		const row = {
			id: newId(),
			kind: input.kind,
			name: input.name,
			secret: newSecret(),
			outboundUrl: input.outboundUrl ?? null,
			createdAt: Date.now()
		};
		this.sqlite.transaction(() => {
			this.db.insert(channels).values(row).run();
			this.events?.record({ actor: by, type: 'channel.created', data: { channelId: row.id, kind: row.kind, name: row.name, outboundUrl: row.outboundUrl } });
		})();
		return row;
	}

	/** Whether a channel has this name (other than channel `exceptId`). */
	exists(name: string, exceptId?: string): boolean {
		return !!this.sqlite.prepare('SELECT 1 FROM channels WHERE name = ? AND id IS NOT ?').get(name, exceptId ?? null);
	}

	/** The channel without its secret, if any. */
	get(id: string): ChannelInfo | undefined {
		return this.sqlite.prepare('SELECT id, kind, name, outbound_url AS outboundUrl, created_at AS createdAt FROM channels WHERE id = ?').get(id) as ChannelInfo | undefined;
	}

	/** Renames a channel or changes (`null`: removes) its outbound URL; 404 for an unknown channel. */
	update(id: string, change: { name?: string; outboundUrl?: string | null }, by = 'system'): ChannelInfo {
		return this.sqlite.transaction(() => {
			const before = this.get(id);
			if (!before) throw notFound('channel');
			const after: ChannelInfo = { ...before, name: change.name ?? before.name, outboundUrl: change.outboundUrl === undefined ? before.outboundUrl : change.outboundUrl };
			this.sqlite.prepare('UPDATE channels SET name = ?, outbound_url = ? WHERE id = ?').run(after.name, after.outboundUrl, id);
			this.events?.record({ actor: by, type: 'channel.updated', data: { channelId: id, name: after.name, outboundUrl: after.outboundUrl } });
			return after;
		})();
	}

	/** Replaces a channel's signing secret: the old one stops working now; the new one is returned here and never again. */
	rotateSecret(id: string, by = 'system'): { id: string; secret: string } {
		const secret = newSecret();
		return this.sqlite.transaction(() => {
			if (this.sqlite.prepare('UPDATE channels SET secret = ? WHERE id = ?').run(secret, id).changes === 0) throw notFound('channel');
			this.events?.record({ actor: by, type: 'channel.secret_rotated', data: { channelId: id } });
			return { id, secret };
		})();
	}

	/** All channels, oldest first, without their secrets. */
	list(): ChannelInfo[] {
		return this.sqlite
			.prepare('SELECT id, kind, name, outbound_url AS outboundUrl, created_at AS createdAt FROM channels ORDER BY created_at, id')
			.all() as ChannelInfo[];
	}

	/**
	 * Checks the request's signature for channel `id`: 404 for an unknown channel, 401 (nothing
	 * stored) for a missing or wrong signature or a stale timestamp.
	 */
	authenticate(id: string, timestamp: string | null, header: string | null, rawBody: string): ChannelInfo {
		const row = this.sqlite.prepare('SELECT id, kind, name, secret, outbound_url AS outboundUrl, created_at AS createdAt FROM channels WHERE id = ?').get(id) as
			| (ChannelInfo & { secret: string })
			| undefined;
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

	private seen(channelId: string, eventId: string): boolean {
		return !!this.sqlite.prepare('SELECT 1 FROM webhook_events WHERE channel_id = ? AND event_id = ?').get(channelId, eventId);
	}

	/** Records the event id; false when it was recorded already. */
	private remember(channelId: string, eventId: string): boolean {
		return this.db.insert(webhookEvents).values({ channelId, eventId, receivedAt: Date.now() }).onConflictDoNothing().run().changes > 0;
	}

	private async process(channel: ChannelInfo, event: WebhookEvent): Promise<{ duplicate: true } | { ticketId: string; entryId: string }> {
		if (this.seen(channel.id, event.eventId)) return { duplicate: true };
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
		const open = this.sqlite
			.prepare(
				`SELECT id FROM tickets WHERE requester_id = ? AND channel = ? AND status NOT IN ('solved', 'closed')
				 ORDER BY updated_at DESC, id DESC LIMIT 1`
			)
			.get(customer.id, kind) as { id: string } | undefined;
		if (open) {
			// The entry id makes a retry append nothing; the event is recorded once the entry is durable.
			await this.tickets.append(open.id, entry, SYSTEM);
			this.remember(channel.id, event.eventId);
			return { ticketId: open.id, entryId: entry.id };
		}
		try {
			const ticket = await this.tickets.createFromChannel(
				{ subject: subjectFrom(event.text), requesterId: customer.id, channel: kind, entry },
				() => {
					if (!this.remember(channel.id, event.eventId)) throw new DuplicateEvent();
				}
			);
			return { ticketId: ticket.id, entryId: entry.id };
		} catch (error) {
			if (error instanceof DuplicateEvent) return { duplicate: true };
			throw error;
		}
	}
}
