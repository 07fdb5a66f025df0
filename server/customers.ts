/** Customers (ticket requesters): their profile and their addresses on each channel. */
import { and, eq } from 'drizzle-orm';
import { newId } from '../src/lib/ticket';
import type { CustomerPatch } from '../src/lib/api/context';
import { customerAddresses, customers } from '../drizzle/schema';
import { normalisePhoneNumber } from '../src/lib/api/schemas';
import { customerAccess, type Access } from './auth/policy';
import { actorOf, type Principal } from './auth/principal';
import { ApiError, forbidden, notFound } from './errors';
import type { Events } from './events';
import type { Db } from './storage/database';
import type { TicketIndex } from './ticket-index';

export interface Customer {
	id: string;
	name: string;
	organisation: string;
	notes: string;
	tags: string[];
	addresses: { channel: string; address: string }[];
	/** A contact made from what a chat visitor typed: who they are is unproven (see VisitorIdentities). */
	unverified: boolean;
	/** The email address an unverified contact gave, not proven: never matched. */
	claimedEmail: string | null;
}

export class Customers {
	constructor(
		private readonly db: Db,
		private readonly index: TicketIndex,
		private readonly events?: Events
	) {}

	/** The customer reached at `address` on `channel`, created when new. */
	findOrCreate(channel: string, address: string, name?: string): Customer {
		const found = this.findByAddress(channel, address);
		if (found) return found;
		const normalised = normaliseAddress(channel, address);
		const id = newId();
		this.db.transaction((tx) => {
			tx.insert(customers).values({ id, name: name?.trim() || normalised, createdAt: Date.now() }).run();
			tx.insert(customerAddresses).values({ customerId: id, channel, address: normalised }).run();
		});
		return this.get(id)!;
	}

	/**
	 * A new unverified contact for a chat visitor: reached at `chat` `visitorId` only, with the email
	 * address they gave kept as a claim (never as an address, so no mail or lookup finds them by it).
	 */
	createUnverified(visitorId: string, name: string, claimedEmail: string | null): Customer {
		const id = newId();
		this.db.transaction((tx) => {
			tx.insert(customers).values({ id, name: name.trim(), createdAt: Date.now(), unverified: true, claimedEmail: claimedEmail && normaliseAddress('email', claimedEmail) }).run();
			tx.insert(customerAddresses).values({ customerId: id, channel: 'chat', address: visitorId }).onConflictDoNothing().run();
		});
		return this.get(id)!;
	}

	/** Records the email address an unverified contact now gives. */
	claimEmail(customerId: string, email: string): void {
		this.db.update(customers).set({ claimedEmail: normaliseAddress('email', email) }).where(and(eq(customers.id, customerId), eq(customers.unverified, true))).run();
	}

	/** The customer reached at `address` on `channel`, or null. */
	findByAddress(channel: string, address: string): Customer | null {
		const found = this.db
			.select({ id: customerAddresses.customerId })
			.from(customerAddresses)
			.where(and(eq(customerAddresses.channel, channel), eq(customerAddresses.address, normaliseAddress(channel, address))))
			.get();
		return found ? this.get(found.id) : null;
	}

	addAddress(customerId: string, channel: string, address: string): void {
		this.db.insert(customerAddresses).values({ customerId, channel, address: normaliseAddress(channel, address) }).onConflictDoNothing().run();
	}

	get(id: string): Customer | null {
		const row = this.db.select().from(customers).where(eq(customers.id, id)).get();
		if (!row) return null;
		const addresses = this.db
			.select({ channel: customerAddresses.channel, address: customerAddresses.address })
			.from(customerAddresses)
			.where(eq(customerAddresses.customerId, id))
			.all();
		return { id: row.id, name: row.name, organisation: row.organisation, notes: row.notes, tags: row.tags, addresses, unverified: row.unverified, claimedEmail: row.claimedEmail };
	}

	/** What `principal` may do with a customer, as the policy rules from their tickets (null: nothing, or no such customer). */
	async access(id: string, principal: Principal): Promise<Access | null> {
		if (!this.db.select({ id: customers.id }).from(customers).where(eq(customers.id, id)).get()) return null;
		return customerAccess(principal, await this.index.requesterScopes(id));
	}

	/** The customer, when `principal` may see them; else 404: their existence is not disclosed. */
	async visibleTo(id: string, principal: Principal): Promise<Customer> {
		if (!(await this.access(id, principal))) throw notFound('customer');
		return this.get(id)!;
	}

	/**
	 * Changes a customer's profile: what `patch` names, in one transaction (event
	 * `customer.updated` naming the fields), when `by` may change them. An address another customer
	 * has is a 400.
	 */
	async update(id: string, patch: CustomerPatch, by: Principal): Promise<Customer> {
		const access = await this.access(id, by);
		if (!access) throw notFound('customer');
		if (access !== 'write') throw forbidden('you may not change this customer');
		const { addAddresses = [], removeAddresses = [], ...profile } = patch;
		this.db.transaction((tx) => {
			if (!tx.select({ id: customers.id }).from(customers).where(eq(customers.id, id)).get()) throw notFound('customer');
			if (Object.keys(profile).length) tx.update(customers).set(profile).where(eq(customers.id, id)).run();
			for (const { channel, address } of removeAddresses) {
				tx.delete(customerAddresses)
					.where(and(eq(customerAddresses.customerId, id), eq(customerAddresses.channel, channel), eq(customerAddresses.address, normaliseAddress(channel, address))))
					.run();
			}
			addAddresses.forEach(({ channel, address }, i) => {
				const normalised = normaliseAddress(channel, address);
				const owner = tx
					.select({ id: customerAddresses.customerId })
					.from(customerAddresses)
					.where(and(eq(customerAddresses.channel, channel), eq(customerAddresses.address, normalised)))
					.get();
				if (owner && owner.id !== id) throw new ApiError(400, 'invalid_field', `addAddresses.${i}.address: another customer has ${normalised}`, `addAddresses.${i}.address`);
				if (!owner) tx.insert(customerAddresses).values({ customerId: id, channel, address: normalised }).run();
			});
			const fields = [...Object.keys(profile), ...(addAddresses.length || removeAddresses.length ? ['addresses'] : [])];
			this.events?.record({ actor: actorOf(by), type: 'customer.updated', data: { customerId: id, fields } });
		});
		return this.get(id)!;
	}
}

/**
 * Email addresses compare case-insensitively, phone numbers (talk) without spaces and punctuation;
 * other channels' handles as given, trimmed.
 */
function normaliseAddress(channel: string, address: string): string {
	if (channel === 'email') return address.trim().toLowerCase();
	if (channel === 'talk') return normalisePhoneNumber(address);
	return address.trim();
}
