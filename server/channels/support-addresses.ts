/**
 * The addresses Tandem takes mail for: SUPPORT_ADDRESS (always) and the ones admins add, each
 * optionally tied to a group (new tickets from it join the group). `local+<ticketId>@domain` of any
 * of them reaches that ticket; replies go out from the address the customer wrote to, with its
 * signature if an admin set one (SUPPORT_ADDRESS's is kept in a row of its own, which is not an
 * added address).
 */
import type Database from 'better-sqlite3';
import { supportAddresses } from '../../drizzle/schema';
import { ApiError, notFound } from '../errors';
import type { Events } from '../events';
import type { Db } from '../storage/database';

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
		private readonly db: Db,
		private readonly configured: string,
		private readonly events?: Events
	) {}

	private get sqlite(): Database.Database {
		return this.db.$client;
	}

	/** Every support address, the configured one first. */
	list(): SupportAddress[] {
		const rows = this.sqlite
			.prepare('SELECT address, name, group_id AS groupId, signature FROM support_addresses ORDER BY created_at, address')
			.all() as Omit<SupportAddress, 'configured'>[];
		const added = rows.filter((a) => a.address !== this.configured);
		const signature = rows.find((a) => a.address === this.configured)?.signature ?? null;
		return [{ address: this.configured, name: 'Support', groupId: null, signature, configured: true }, ...added.map((a) => ({ ...a, configured: false }))];
	}

	/** The signature of replies sent from `mailbox`, or null. */
	signatureOf(mailbox: string): string | null {
		return this.find(mailbox)?.signature ?? null;
	}

	/** Sets (or, with null, removes) the signature of a support address, SUPPORT_ADDRESS's included. */
	setSignature(address: string, signature: string | null, by = 'system'): void {
		if (!this.find(address)) throw notFound('support address');
		this.sqlite.transaction(() => {
			if (address === this.configured) {
				this.db
					.insert(supportAddresses)
					.values({ address, name: 'Support', groupId: null, signature, createdAt: Date.now() })
					.onConflictDoUpdate({ target: supportAddresses.address, set: { signature } })
					.run();
			} else {
				this.sqlite.prepare('UPDATE support_addresses SET signature = ? WHERE address = ?').run(signature, address);
			}
			this.events?.record({ actor: by, type: 'support_address.signature_set', data: { address, signed: signature !== null } });
		})();
	}

	/** The support address `address` is (or a plus-address of), or null when mail to it is not ours. */
	match(address: string): Recipient | null {
		const [local, domain] = splitAddress(address.trim().toLowerCase());
		const plus = local.indexOf('+');
		const base = plus < 0 ? local : local.slice(0, plus);
		const tag = plus < 0 ? '' : local.slice(plus + 1);
		if (plus >= 0 && !tag) return null;
		const mailbox = `${base}@${domain}`;
		return this.find(mailbox) ? { mailbox, tag } : null;
	}

	/** The group new tickets from `mailbox` join, if any. */
	groupOf(mailbox: string): string | null {
		return this.find(mailbox)?.groupId ?? null;
	}

	add(input: { address: string; name: string; groupId: string | null }, by = 'system'): SupportAddress {
		const address = input.address.trim().toLowerCase();
		if (address.includes('+')) throw new ApiError(400, 'invalid_field', 'address: a support address has no plus part (plus-addresses of it reach tickets)', 'address');
		if (this.find(address)) throw new ApiError(409, 'exists', `${address} is a support address already`, 'address');
		const row = { address, name: input.name, groupId: input.groupId, createdAt: Date.now() };
		this.sqlite.transaction(() => {
			this.db.insert(supportAddresses).values(row).run();
			this.events?.record({ actor: by, type: 'support_address.added', data: { address, groupId: input.groupId } });
		})();
		return { address, name: row.name, groupId: row.groupId, signature: null, configured: false };
	}

	update(address: string, change: { name: string; groupId: string | null }, by = 'system'): Omit<SupportAddress, 'signature'> {
		this.refuseConfigured(address);
		this.sqlite.transaction(() => {
			const changed = this.sqlite.prepare('UPDATE support_addresses SET name = ?, group_id = ? WHERE address = ?').run(change.name, change.groupId, address).changes;
			if (!changed) throw notFound('support address');
			this.events?.record({ actor: by, type: 'support_address.updated', data: { address, groupId: change.groupId } });
		})();
		return { address, ...change, configured: false };
	}

	/** Stops taking mail for an added address; tickets and their threads stay. */
	remove(address: string, by = 'system'): void {
		this.refuseConfigured(address);
		this.sqlite.transaction(() => {
			if (!this.sqlite.prepare('DELETE FROM support_addresses WHERE address = ?').run(address).changes) throw notFound('support address');
			this.events?.record({ actor: by, type: 'support_address.removed', data: { address } });
		})();
	}

	/** SUPPORT_ADDRESS is set in the environment: only its signature is changed here. */
	private refuseConfigured(address: string) {
		if (address === this.configured) throw new ApiError(400, 'invalid_field', 'address: SUPPORT_ADDRESS is set in the server\'s environment', 'address');
	}

	private find(address: string): SupportAddress | undefined {
		return this.list().find((a) => a.address === address);
	}
}
