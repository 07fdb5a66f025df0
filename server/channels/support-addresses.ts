/**
 * The addresses Tandem takes mail for: SUPPORT_ADDRESS (always) and the ones admins add, each
 * optionally tied to a group (new tickets from it join the group). `local+<ticketId>@domain` of any
 * of them reaches that ticket; replies go out from the address the customer wrote to, with its
 * signature if an admin set one (SUPPORT_ADDRESS's is kept in a row of its own, which is not an
 * added address).
 */
import { asc, eq } from 'drizzle-orm';
import { ApiError, notFound } from '../errors';
import type { Events } from '../events';
import type { Store } from '../storage/store';

export interface SupportAddress {
	address: string;
	name: string;
	groupId: string | null;
	/** Appended to email replies from this address (after "-- "), or null. */
	signature: string | null;
	/** SUPPORT_ADDRESS from the configuration: cannot be edited or removed here (its signature can). */
	configured: boolean;
}

/** Where a recipient address leads: the support address it belongs to, and a ticket tag ('' for none). */
export interface Recipient {
	mailbox: string;
	tag: string;
}

/** The longest signature an admin may set (characters). */
export const MAX_SIGNATURE_LENGTH = 2000;

export function splitAddress(address: string): [string, string] {
	const at = address.lastIndexOf('@');
	return at < 0 ? [address, ''] : [address.slice(0, at), address.slice(at + 1)];
}

export class SupportAddresses {
	constructor(
		private readonly store: Store,
		private readonly configured: string,
		private readonly events?: Events
	) {}

	/** Every support address, the configured one first. */
	async list(): Promise<SupportAddress[]> {
		const { supportAddresses } = this.store.tables;
		const rows = await this.store.db
			.select({ address: supportAddresses.address, name: supportAddresses.name, groupId: supportAddresses.groupId, signature: supportAddresses.signature })
			.from(supportAddresses)
			.orderBy(asc(supportAddresses.createdAt), asc(supportAddresses.address));
		const added = rows.filter((a) => a.address !== this.configured);
		const signature = rows.find((a) => a.address === this.configured)?.signature ?? null;
		return [{ address: this.configured, name: 'Support', groupId: null, signature, configured: true }, ...added.map((a) => ({ ...a, configured: false }))];
	}

	/** The signature of replies sent from `mailbox`, or null. */
	async signatureOf(mailbox: string): Promise<string | null> {
		return (await this.find(mailbox))?.signature ?? null;
	}

	/** Sets (or, with null, removes) the signature of a support address, SUPPORT_ADDRESS's included. */
	async setSignature(address: string, signature: string | null, by = 'system'): Promise<void> {
		if (!(await this.find(address))) throw notFound('support address');
		const { supportAddresses } = this.store.tables;
		await this.store.transaction(async (tx) => {
			if (address === this.configured) {
				await tx
					.insert(supportAddresses)
					.values({ address, name: 'Support', groupId: null, signature, createdAt: Date.now() })
					.onConflictDoUpdate({ target: supportAddresses.address, set: { signature } });
			} else {
				await tx.update(supportAddresses).set({ signature }).where(eq(supportAddresses.address, address));
			}
			await this.events?.record({ actor: by, type: 'support_address.signature_set', data: { address, signed: signature !== null } });
		});
	}

	/** The support address `address` is (or a plus-address of), or null when mail to it is not ours. */
	async match(address: string): Promise<Recipient | null> {
		const [local, domain] = splitAddress(address.trim().toLowerCase());
		const plus = local.indexOf('+');
		const base = plus < 0 ? local : local.slice(0, plus);
		const tag = plus < 0 ? '' : local.slice(plus + 1);
		if (plus >= 0 && !tag) return null;
		const mailbox = `${base}@${domain}`;
		return (await this.find(mailbox)) ? { mailbox, tag } : null;
	}

	/** The group new tickets from `mailbox` join, if any. */
	async groupOf(mailbox: string): Promise<string | null> {
		return (await this.find(mailbox))?.groupId ?? null;
	}

	async add(input: { address: string; name: string; groupId: string | null }, by = 'system'): Promise<SupportAddress> {
		const address = input.address.trim().toLowerCase();
		if (address.includes('+')) throw new ApiError(400, 'invalid_field', 'address: a support address has no plus part (plus-addresses of it reach tickets)', 'address');
		const exists = () => new ApiError(409, 'exists', `${address} is a support address already`, 'address');
		if (await this.find(address)) throw exists();
		const { supportAddresses } = this.store.tables;
		const row = { address, name: input.name, groupId: input.groupId, createdAt: Date.now() };
		await this.store.transaction(async (tx) => {
			// The key decides between two admins adding the same address at once.
			const added = await tx.insert(supportAddresses).values(row).onConflictDoNothing().returning({ address: supportAddresses.address });
			if (!added.length) throw exists();
			await this.events?.record({ actor: by, type: 'support_address.added', data: { address, groupId: input.groupId } });
		});
		return { address, name: row.name, groupId: row.groupId, signature: null, configured: false };
	}

	async update(address: string, change: { name: string; groupId: string | null }, by = 'system'): Promise<Omit<SupportAddress, 'signature'>> {
		this.refuseConfigured(address);
		const { supportAddresses } = this.store.tables;
		await this.store.transaction(async (tx) => {
			const changed = await tx
				.update(supportAddresses)
				.set({ name: change.name, groupId: change.groupId })
				.where(eq(supportAddresses.address, address))
				.returning({ address: supportAddresses.address });
			if (!changed.length) throw notFound('support address');
			await this.events?.record({ actor: by, type: 'support_address.updated', data: { address, groupId: change.groupId } });
		});
		return { address, ...change, configured: false };
	}

	/** Stops taking mail for an added address; tickets and their threads stay. */
	async remove(address: string, by = 'system'): Promise<void> {
		this.refuseConfigured(address);
		const { supportAddresses } = this.store.tables;
		await this.store.transaction(async (tx) => {
			const removed = await tx.delete(supportAddresses).where(eq(supportAddresses.address, address)).returning({ address: supportAddresses.address });
			if (!removed.length) throw notFound('support address');
			await this.events?.record({ actor: by, type: 'support_address.removed', data: { address } });
		});
	}

	/** SUPPORT_ADDRESS is set in the environment: only its signature is changed here. */
	private refuseConfigured(address: string) {
		if (address === this.configured) throw new ApiError(400, 'invalid_field', 'address: SUPPORT_ADDRESS is set in the server\'s environment', 'address');
	}

	private async find(address: string): Promise<SupportAddress | undefined> {
		return (await this.list()).find((a) => a.address === address);
	}
}
