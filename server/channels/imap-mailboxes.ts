/**
 * The IMAP mailboxes support addresses fetch mail from: their settings (saved by an admin, the
 * secret kept server-side), each one's cursor (UIDVALIDITY, highest UID stored, highest UID the
 * after-fetch action reached) and, in memory, how its fetcher is doing. The fetchers
 * (server/channels/imap.ts) follow changes through `onChange`.
 */
import { eq } from 'drizzle-orm';
import { imapMailboxes } from '../../drizzle/schema';
import type { ImapMailboxInput, ImapMailboxStatus, ImapMailboxView } from '../../src/lib/api/imap';
import { ApiError, notFound } from '../errors';
import type { Events } from '../events';
import type { Db } from '../storage/database';
import type { SupportAddresses } from './support-addresses';

/** Everything a fetcher needs to sign in and read the folder. Never leaves the server. */
export type ImapMailboxSettings = Omit<ImapMailboxInput, 'secret' | 'moveTo'> & { address: string; secret: string; moveTo: string | null };

export interface ImapCursor {
	uidValidity: string | null;
	storedUid: number;
	actedUid: number;
}

const IDLE_STATUS: ImapMailboxStatus = { state: 'stopped', lastFetchAt: null, lastError: null, lastErrorAt: null };

export class ImapMailboxes {
	private readonly statuses = new Map<string, ImapMailboxStatus>();
	private readonly listeners = new Set<(address: string) => void>();

	constructor(
		private readonly db: Db,
		private readonly addresses: SupportAddresses,
		private readonly events: Events
	) {}

	/** The mailboxes of existing support addresses, with their settings. */
	settings(): ImapMailboxSettings[] {
		const known = new Set(this.addresses.list().map((a) => a.address));
		return this.db
			.select()
			.from(imapMailboxes)
			.all()
			.filter((row) => known.has(row.address))
			.map(({ address, host, port, tls, username, auth, secret, folder, afterFetch, moveTo }) => ({ address, host, port, tls, username, auth, secret, folder, afterFetch, moveTo }));
	}

	settingsOf(address: string): ImapMailboxSettings | null {
		return this.settings().find((m) => m.address === address) ?? null;
	}

	/** What the admin page shows: no secret, only that one is set. */
	list(): ImapMailboxView[] {
		return this.settings().map(({ secret: _secret, ...settings }) => ({ ...settings, secretSet: true, status: this.status(settings.address) }));
	}

	/**
	 * Sets the mailbox of a support address. A changed server, user or folder starts reading the
	 * folder from its first message again (what was stored already is known by Message-ID).
	 */
	save(address: string, input: ImapMailboxInput, by = 'system'): void {
		if (!this.addresses.list().some((a) => a.address === address)) throw notFound('support address');
		const existing = this.db.select().from(imapMailboxes).where(eq(imapMailboxes.address, address)).get();
		const secret = input.secret ?? existing?.secret;
		if (!secret) throw new ApiError(400, 'invalid', 'a password or access token is needed', 'secret');
		const now = Date.now();
		const moved = !existing || existing.host !== input.host || existing.port !== input.port || existing.username !== input.username || existing.folder !== input.folder;
		const row = { ...input, secret, moveTo: input.afterFetch === 'move' ? input.moveTo! : null, updatedAt: now };
		const cursor = moved ? { uidValidity: null, storedUid: 0, actedUid: 0 } : {};
		this.db.$client.transaction(() => {
			this.db
				.insert(imapMailboxes)
				.values({ address, ...row, ...cursor, createdAt: now })
				.onConflictDoUpdate({ target: imapMailboxes.address, set: { ...row, ...cursor } })
				.run();
			this.events.record({ actor: by, type: 'imap_mailbox.saved', data: { address, host: input.host, port: input.port, username: input.username, folder: input.folder } });
		})();
		this.changed(address);
	}

	remove(address: string, by = 'system'): void {
		this.db.$client.transaction(() => {
			if (!this.db.delete(imapMailboxes).where(eq(imapMailboxes.address, address)).run().changes) throw notFound('IMAP mailbox');
			this.events.record({ actor: by, type: 'imap_mailbox.removed', data: { address } });
		})();
		this.changed(address);
	}

	/** Drops the mailbox of a support address that was removed, if it had one. */
	forget(address: string): void {
		this.db.delete(imapMailboxes).where(eq(imapMailboxes.address, address)).run();
		this.statuses.delete(address);
		this.changed(address);
	}

	cursor(address: string): ImapCursor {
		const row = this.db.select().from(imapMailboxes).where(eq(imapMailboxes.address, address)).get();
		return { uidValidity: row?.uidValidity ?? null, storedUid: row?.storedUid ?? 0, actedUid: row?.actedUid ?? 0 };
	}

	/** A folder seen with another UIDVALIDITY: its UIDs start over. */
	resetCursor(address: string, uidValidity: string): void {
		this.db.update(imapMailboxes).set({ uidValidity, storedUid: 0, actedUid: 0 }).where(eq(imapMailboxes.address, address)).run();
	}

	setStored(address: string, uid: number): void {
		this.db.update(imapMailboxes).set({ storedUid: uid }).where(eq(imapMailboxes.address, address)).run();
	}

	setActed(address: string, uid: number): void {
		this.db.update(imapMailboxes).set({ actedUid: uid }).where(eq(imapMailboxes.address, address)).run();
	}

	status(address: string): ImapMailboxStatus {
		return this.statuses.get(address) ?? IDLE_STATUS;
	}

	report(address: string, change: Partial<ImapMailboxStatus>): void {
		this.statuses.set(address, { ...this.status(address), ...change });
	}

	onChange(listener: (address: string) => void): () => void {
		this.listeners.add(listener);
		return () => this.listeners.delete(listener);
	}

	private changed(address: string): void {
		for (const listener of this.listeners) listener(address);
	}
}
