/** Customers (ticket requesters) and their addresses on each channel. */
import { and, eq } from 'drizzle-orm';
import { newId } from '../src/lib/ticket';
import { customerAddresses, customers } from '../drizzle/schema';
import { normalisePhoneNumber } from '../src/lib/api/schemas';
import type { Db } from './storage/database';

export interface Customer {
	id: string;
	name: string;
	addresses: { channel: string; address: string }[];
}

export class Customers {
	constructor(private readonly db: Db) {}

	/** The customer reached at `address` on `channel`, created when new. */
	findOrCreate(channel: string, address: string, name?: string): Customer {
		const normalised = normaliseAddress(channel, address);
		const found = this.db
			.select({ id: customerAddresses.customerId })
			.from(customerAddresses)
			.where(and(eq(customerAddresses.channel, channel), eq(customerAddresses.address, normalised)))
			.get();
		if (found) return this.get(found.id)!;
		const id = newId();
		this.db.transaction((tx) => {
			tx.insert(customers).values({ id, name: name?.trim() || normalised, createdAt: Date.now() }).run();
			tx.insert(customerAddresses).values({ customerId: id, channel, address: normalised }).run();
		});
		return this.get(id)!;
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
		return { id: row.id, name: row.name, addresses };
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
