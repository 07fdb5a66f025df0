/**
 * Who a chat visitor is. A visitor types a name and maybe an email address, and proves neither: the
 * chat is filed under an unverified contact of its own (server/customers.ts) carrying the address
 * as a claim, so no customer's history gains it and no mail or call of a customer ever lands in
 * it. The contact is linked to the customer who has that address (their tickets move to them)
 * only when
 *   - an agent links it (`link`, event `customer.linked` via `agent`), or
 *   - the visitor follows the one-time link mailed to the address through the outbox
 *     (`confirm`, via `email`): a random token of which only the SHA-256 is kept once sent, that
 *     works once and expires after CHAT_VERIFY_LINK_TTL_MS; one link per address per 10 minutes.
 * With nobody having the address yet, linking makes the contact itself a known customer reached
 * at it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import { newId } from '../../src/lib/ticket';
import { ticketAccess } from '../auth/policy';
import { actorOf, type Principal } from '../auth/principal';
import type { Customer, Customers } from '../customers';
import { ApiError, forbidden, notFound } from '../errors';
import type { Events } from '../events';
import type { Store } from '../storage/store';
import type { TicketIndex } from '../ticket-index';
import type { Tickets } from '../tickets';
import type { Outbox } from './outbox';

export interface VerificationSettings {
	/** How long a mailed link works. */
	verifyLinkTtlMs: number;
}

/** What a verification link is now: it can be followed (`valid`), or why not. */
export type LinkState = 'valid' | 'used' | 'expired' | 'unknown';

/** At most one link a while is mailed to an address, whoever asks: a visitor cannot make it a mail cannon. */
export const PROOF_RESEND_AFTER_MS = 10 * 60_000;

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export class VisitorIdentities {
	constructor(
		private readonly store: Store,
		private readonly customers: Customers,
		private readonly tickets: Tickets,
		private readonly index: TicketIndex,
		private readonly outbox: Outbox,
		private readonly events: Events,
		private readonly settings: VerificationSettings
	) {}

	/**
	 * Mails a link proving `contact`'s claimed address, about its chat ticket; `origin` is the
	 * workspace origin the chat was started from, where the link points. Runs inside the caller's
	 * transaction when there is one.
	 */
	async requestProof(contact: Customer, ticketId: string, origin: string): Promise<void> {
		const email = contact.claimedEmail;
		if (!contact.unverified || !email) return;
		const { emailVerifications } = this.store.tables;
		await this.store.transaction(async (tx) => {
			// One link a while per address, however many chats ask at once: on PostgreSQL the address
			// is locked (there may be no row to lock yet) until the transaction ends; on SQLite the
			// transaction already excludes every other writer.
			if (this.store.engine === 'postgres') await this.store.all(sql`SELECT pg_advisory_xact_lock(hashtext(${`email-verification:${email}`}))`);
			const now = Date.now();
			const [recent] = await tx
				.select({ id: emailVerifications.id })
				.from(emailVerifications)
				.where(and(eq(emailVerifications.email, email), gt(emailVerifications.createdAt, now - PROOF_RESEND_AFTER_MS)))
				.limit(1);
			if (recent) return;
			const token = `vfy_${randomBytes(24).toString('base64url')}`;
			const id = newId();
			await tx
				.insert(emailVerifications)
				.values({ id, tokenHash: hashToken(token), pendingToken: token, customerId: contact.id, email, origin, expiresAt: now + this.settings.verifyLinkTtlMs, createdAt: now });
			await this.outbox.enqueueVerification(ticketId, id, email);
		});
	}

	/** What following the link with `token` would do, without doing it (the page asks first: mail scanners open links). */
	async linkState(token: string): Promise<{ state: LinkState; email?: string }> {
		const { emailVerifications } = this.store.tables;
		const [row] = await this.store.db.select().from(emailVerifications).where(eq(emailVerifications.tokenHash, hashToken(token))).limit(1);
		if (!row) return { state: 'unknown' };
		if (row.usedAt !== null) return { state: 'used', email: row.email };
		if (row.expiresAt <= Date.now()) return { state: 'expired', email: row.email };
		return { state: 'valid', email: row.email };
	}

	/**
	 * The visitor follows the link: the address is proven and their contact is linked to the
	 * customer who has it. Each link works once, before it expires; the state when it does not.
	 */
	async confirm(token: string): Promise<{ state: LinkState }> {
		const now = Date.now();
		const { emailVerifications } = this.store.tables;
		// Taken in one statement: of two clicks at once (on any process), one links.
		const [taken] = await this.store.db
			.update(emailVerifications)
			.set({ usedAt: now, pendingToken: null })
			.where(and(eq(emailVerifications.tokenHash, hashToken(token)), isNull(emailVerifications.usedAt), gt(emailVerifications.expiresAt, now)))
			.returning();
		if (!taken) return { state: (await this.linkState(token)).state };
		const contact = await this.customers.get(taken.customerId);
		// The contact claimed another address since, or was linked otherwise: this link proves nothing now.
		if (!contact?.unverified || contact.claimedEmail !== taken.email) return { state: 'used' };
		await this.absorb(contact, await this.customers.findByAddress('email', taken.email), { actor: `email:${taken.email}`, via: 'email' });
		return { state: 'valid' };
	}

	/**
	 * An agent links an unverified contact: into customer `intoId`, or (without one) to the customer
	 * who has the address it claimed, or makes it a known customer at that address. Answers the
	 * customer the contact's tickets are now filed under.
	 */
	async link(contactId: string, intoId: string | undefined, by: Principal): Promise<Customer> {
		const contact = await this.customers.get(contactId);
		if (!contact) throw notFound('customer');
		let writable = false;
		for (const id of by.kind === 'user' ? await this.ticketsOf(contact.id) : []) {
			const row = await this.index.get(id);
			if (row && ticketAccess(by, row) === 'write') {
				writable = true;
				break;
			}
		}
		if (!writable) {
			throw forbidden('only an agent who may write one of its tickets links a contact');
		}
		if (!contact.unverified) throw new ApiError(409, 'already_verified', 'this customer is not an unverified contact');
		const into = intoId ? await this.customers.get(intoId) : contact.claimedEmail ? await this.customers.findByAddress('email', contact.claimedEmail) : null;
		if (intoId && !into) throw new ApiError(400, 'invalid_field', 'into: no such customer', 'into');
		if (into && (into.unverified || into.id === contact.id)) throw new ApiError(400, 'invalid_field', 'into: link to a known customer, not to an unverified contact', 'into');
		if (!into && !contact.claimedEmail) throw new ApiError(400, 'invalid_field', 'into: this contact gave no email address; name the customer to link it to', 'into');
		return this.absorb(contact, into, { actor: actorOf(by), via: 'agent' });
	}

	/**
	 * Files everything of `contact` under `known` (its tickets, chat address and visitor), or makes
	 * the contact itself a known customer at its claimed address. The contact stays as the author
	 * of what it wrote.
	 */
	private async absorb(contact: Customer, known: Customer | null, how: { actor: string; via: 'agent' | 'email' }): Promise<Customer> {
		const { customerAddresses, customers, visitors } = this.store.tables;
		if (!known) {
			await this.store.transaction(async (tx) => {
				await tx.insert(customerAddresses).values({ customerId: contact.id, channel: 'email', address: contact.claimedEmail! });
				await tx.update(customers).set({ unverified: false, claimedEmail: null }).where(eq(customers.id, contact.id));
				await this.events.record({ actor: how.actor, type: 'customer.linked', data: { customerId: contact.id, into: contact.id, via: how.via } });
			});
			return (await this.customers.get(contact.id))!;
		}
		// Tickets first: an interruption leaves the contact unverified, and linking again moves the rest.
		const moved = await this.ticketsOf(contact.id);
		for (const id of moved) await this.tickets.setRequester(id, known.id);
		await this.store.transaction(async (tx) => {
			await tx.update(customerAddresses).set({ customerId: known.id }).where(eq(customerAddresses.customerId, contact.id));
			await tx.update(visitors).set({ customerId: known.id }).where(eq(visitors.customerId, contact.id));
			await tx.update(customers).set({ claimedEmail: null }).where(eq(customers.id, contact.id));
			await this.events.recordMany(
				moved.map((id) => ({ ticketId: id, actor: how.actor, type: 'customer.linked', data: { customerId: contact.id, into: known.id, via: how.via } }))
			);
		});
		return (await this.customers.get(known.id))!;
	}

	/** The tickets customer `customerId` is the requester of. */
	private async ticketsOf(customerId: string): Promise<string[]> {
		const { tickets } = this.store.tables;
		return (await this.store.db.select({ id: tickets.id }).from(tickets).where(eq(tickets.requesterId, customerId))).map((r) => r.id);
	}
}
