/** Customers (ticket requesters): their profile and their addresses on each channel. */
import { and, eq, inArray } from 'drizzle-orm';
import { newId } from '../src/lib/ticket';
import type { CustomerPatch } from '../src/lib/api/context';
import { normalisePhoneNumber } from '../src/lib/api/schemas';
import { customerAccess, type Access } from './auth/policy';
import { actorOf, type Principal } from './auth/principal';
import { ApiError, forbidden, notFound } from './errors';
import type { Events } from './events';
import type { Store } from './storage/store';
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
	/** Told of each customer whose profile or addresses changed, once committed (the search index follows). */
	private readonly updateListeners = new Set<(customerId: string) => void>();

	constructor(
		private readonly store: Store,
		private readonly index: TicketIndex,
		private readonly events?: Events
	) {}

	/**
	 * The customer reached at `address` on `channel`, created when new. Concurrent calls for one
	 * address make one customer: the address's unique index decides which insert takes it, and the
	 * others (their new customer rolled back) read the winner's.
	 */
	async findOrCreate(channel: string, address: string, name?: string): Promise<Customer> {
		const found = await this.findByAddress(channel, address);
		if (found) return found;
		const { customers, customerAddresses } = this.store.tables;
		const normalised = normaliseAddress(channel, address);
		const id = newId();
		const created = await this.store.transaction(async () => {
			await this.store.db.insert(customers).values({ id, name: name?.trim() || normalised, createdAt: Date.now() });
			const [taken] = await this.store.db.insert(customerAddresses).values({ customerId: id, channel, address: normalised }).onConflictDoNothing().returning({ id: customerAddresses.customerId });
			if (!taken) await this.store.db.delete(customers).where(eq(customers.id, id));
			return Boolean(taken);
		});
		return (created ? await this.get(id) : await this.findByAddress(channel, address))!;
	}

	/**
	 * A new unverified contact for a chat visitor: reached at `chat` `visitorId` only, with the email
	 * address they gave kept as a claim (never as an address, so no mail or lookup finds them by it).
	 */
	async createUnverified(visitorId: string, name: string, claimedEmail: string | null): Promise<Customer> {
		const { customers, customerAddresses } = this.store.tables;
		const id = newId();
		await this.store.transaction(async () => {
			await this.store.db.insert(customers).values({ id, name: name.trim(), createdAt: Date.now(), unverified: true, claimedEmail: claimedEmail && normaliseAddress('email', claimedEmail) });
			await this.store.db.insert(customerAddresses).values({ customerId: id, channel: 'chat', address: visitorId }).onConflictDoNothing();
		});
		return (await this.get(id))!;
	}

	/** Records the email address an unverified contact now gives. */
	async claimEmail(customerId: string, email: string): Promise<void> {
		const { customers } = this.store.tables;
		await this.store.db.update(customers).set({ claimedEmail: normaliseAddress('email', email) }).where(and(eq(customers.id, customerId), eq(customers.unverified, true)));
	}

	/** The customer reached at `address` on `channel`, or null. */
	async findByAddress(channel: string, address: string): Promise<Customer | null> {
		const { customerAddresses } = this.store.tables;
		const [found] = await this.store.db
			.select({ id: customerAddresses.customerId })
			.from(customerAddresses)
			.where(and(eq(customerAddresses.channel, channel), eq(customerAddresses.address, normaliseAddress(channel, address))))
			.limit(1);
		return found ? this.get(found.id) : null;
	}

	async addAddress(customerId: string, channel: string, address: string): Promise<void> {
		const { customerAddresses } = this.store.tables;
		await this.store.db.insert(customerAddresses).values({ customerId, channel, address: normaliseAddress(channel, address) }).onConflictDoNothing();
	}

	/** The names of customers by id, in one query: list rows show their requester's. */
	async namesOf(ids: readonly string[]): Promise<Map<string, string>> {
		if (!ids.length) return new Map();
		const { customers } = this.store.tables;
		const rows = await this.store.db.select({ id: customers.id, name: customers.name }).from(customers).where(inArray(customers.id, [...new Set(ids)]));
		return new Map(rows.map((row) => [row.id, row.name]));
	}

	async get(id: string): Promise<Customer | null> {
		const { customers, customerAddresses } = this.store.tables;
		const [row] = await this.store.db.select().from(customers).where(eq(customers.id, id)).limit(1);
		if (!row) return null;
		const addresses = await this.store.db
			.select({ channel: customerAddresses.channel, address: customerAddresses.address })
			.from(customerAddresses)
			.where(eq(customerAddresses.customerId, id));
		return { id: row.id, name: row.name, organisation: row.organisation, notes: row.notes, tags: row.tags, addresses, unverified: row.unverified, claimedEmail: row.claimedEmail };
	}

	/** What `principal` may do with a customer, as the policy rules from their tickets (null: nothing, or no such customer). */
	async access(id: string, principal: Principal): Promise<Access | null> {
		const { customers } = this.store.tables;
		const [found] = await this.store.db.select({ id: customers.id }).from(customers).where(eq(customers.id, id)).limit(1);
		if (!found) return null;
		return customerAccess(principal, await this.index.requesterScopes(id));
	}

	/** The customer, when `principal` may see them; else 404: their existence is not disclosed. */
	async visibleTo(id: string, principal: Principal): Promise<Customer> {
		if (!(await this.access(id, principal))) throw notFound('customer');
		return (await this.get(id))!;
	}

	/**
	 * Changes a customer's profile: what `patch` names, in one transaction (event
	 * `customer.updated` naming the fields), when `by` may change them. An address another customer
	 * has is a 400: the address's unique index decides, so of two customers adding one address at
	 * once, one gets it.
	 */
	async update(id: string, patch: CustomerPatch, by: Principal): Promise<Customer> {
		const access = await this.access(id, by);
		if (!access) throw notFound('customer');
		if (access !== 'write') throw forbidden('you may not change this customer');
		const { customers, customerAddresses } = this.store.tables;
		const { addAddresses = [], removeAddresses = [], ...profile } = patch;
		await this.store.transaction(async () => {
			const db = this.store.db;
			const [found] = await db.select({ id: customers.id }).from(customers).where(eq(customers.id, id)).limit(1);
			if (!found) throw notFound('customer');
			if (Object.keys(profile).length) await db.update(customers).set(profile).where(eq(customers.id, id));
			for (const { channel, address } of removeAddresses) {
				await db
					.delete(customerAddresses)
					.where(and(eq(customerAddresses.customerId, id), eq(customerAddresses.channel, channel), eq(customerAddresses.address, normaliseAddress(channel, address))));
			}
			for (const [i, { channel, address }] of addAddresses.entries()) {
				const normalised = normaliseAddress(channel, address);
				const [added] = await db.insert(customerAddresses).values({ customerId: id, channel, address: normalised }).onConflictDoNothing().returning({ id: customerAddresses.customerId });
				if (added) continue;
				const [owner] = await db
					.select({ id: customerAddresses.customerId })
					.from(customerAddresses)
					.where(and(eq(customerAddresses.channel, channel), eq(customerAddresses.address, normalised)))
					.limit(1);
				if (owner && owner.id !== id) throw new ApiError(400, 'invalid_field', `addAddresses.${i}.address: another customer has ${normalised}`, `addAddresses.${i}.address`);
			}
			const fields = [...Object.keys(profile), ...(addAddresses.length || removeAddresses.length ? ['addresses'] : [])];
			await this.events?.record({ actor: actorOf(by), type: 'customer.updated', data: { customerId: id, fields } });
		});
		for (const listener of this.updateListeners) listener(id);
		return (await this.get(id))!;
	}

	/** Calls `listener` with the id of each customer `update` changes from now on. */
	onUpdated(listener: (customerId: string) => void): void {
		this.updateListeners.add(listener);
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
