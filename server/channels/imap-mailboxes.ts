/**
 * The IMAP mailboxes support addresses fetch mail from: their settings (saved by an admin, the
 * secret kept server-side), each one's cursor (UIDVALIDITY, highest UID stored, highest UID the
 * after-fetch action reached) and, in memory, how its fetcher is doing. The fetchers
 * (server/channels/imap.ts) follow changes through `onChange`. In a cluster the fetchers run on
 * the leader, so both go through feeds: a change saved on any node restarts the leader's fetcher,
 * and every node's admin page shows how the leader's are doing.
 */
import { and, eq, lt } from 'drizzle-orm';
import type { ImapMailboxInput, ImapMailboxStatus, ImapMailboxView } from '../../src/lib/api/imap';
import { ApiError, notFound } from '../errors';
import { Feed } from '../cluster/feed';
import type { Events } from '../events';
import type { Store } from '../storage/store';
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
	/** The address of every mailbox saved or removed, on any node. */
	readonly changes = new Feed<string>('imap-mailboxes');
	/** How each mailbox's fetcher is doing (null: the mailbox is gone), from the node that runs it. */
	readonly reports = new Feed<{ address: string; status: ImapMailboxStatus | null }>('imap-status');

	constructor(
		private readonly store: Store,
		private readonly addresses: SupportAddresses,
		private readonly events: Events
	) {
		this.reports.watch(({ address, status }) => (status ? this.statuses.set(address, status) : this.statuses.delete(address)));
	}

	/** The mailboxes of existing support addresses, with their settings. */
	async settings(): Promise<ImapMailboxSettings[]> {
		const known = new Set((await this.addresses.list()).map((a) => a.address));
		return (await this.store.db.select().from(this.store.tables.imapMailboxes))
			.filter((row) => known.has(row.address))
			.map(({ address, host, port, tls, username, auth, secret, folder, afterFetch, moveTo }) => ({ address, host, port, tls, username, auth, secret, folder, afterFetch, moveTo }));
	}

	async settingsOf(address: string): Promise<ImapMailboxSettings | null> {
		return (await this.settings()).find((m) => m.address === address) ?? null;
	}

	/** What the admin page shows: no secret, only that one is set. */
	async list(): Promise<ImapMailboxView[]> {
		return (await this.settings()).map(({ secret: _secret, ...settings }) => ({ ...settings, secretSet: true, status: this.status(settings.address) }));
	}

	/**
	 * Sets the mailbox of a support address. A changed server, user or folder starts reading the
	 * folder from its first message again (what was stored already is known by Message-ID).
	 */
	async save(address: string, input: ImapMailboxInput, by = 'system'): Promise<void> {
		if (!(await this.addresses.list()).some((a) => a.address === address)) throw notFound('support address');
		const { imapMailboxes } = this.store.tables;
		const [existing] = await this.store.db.select().from(imapMailboxes).where(eq(imapMailboxes.address, address)).limit(1);
		const secret = input.secret ?? existing?.secret;
		if (!secret) throw new ApiError(400, 'invalid', 'a password or access token is needed', 'secret');
		const now = Date.now();
		const moved = !existing || existing.host !== input.host || existing.port !== input.port || existing.username !== input.username || existing.folder !== input.folder;
		const row = { ...input, secret, moveTo: input.afterFetch === 'move' ? input.moveTo! : null, updatedAt: now };
		const cursor = moved ? { uidValidity: null, storedUid: 0, actedUid: 0 } : {};
		await this.store.transaction(async (tx) => {
			await tx
				.insert(imapMailboxes)
				.values({ address, ...row, ...cursor, createdAt: now })
				.onConflictDoUpdate({ target: imapMailboxes.address, set: { ...row, ...cursor } });
			await this.events.record({ actor: by, type: 'imap_mailbox.saved', data: { address, host: input.host, port: input.port, username: input.username, folder: input.folder } });
		});
		this.changed(address);
	}

	async remove(address: string, by = 'system'): Promise<void> {
		const { imapMailboxes } = this.store.tables;
		await this.store.transaction(async (tx) => {
			const removed = await tx.delete(imapMailboxes).where(eq(imapMailboxes.address, address)).returning({ address: imapMailboxes.address });
			if (!removed.length) throw notFound('IMAP mailbox');
			await this.events.record({ actor: by, type: 'imap_mailbox.removed', data: { address } });
		});
		this.changed(address);
	}

	/** Drops the mailbox of a support address that was removed, if it had one. */
	async forget(address: string): Promise<void> {
		const { imapMailboxes } = this.store.tables;
		await this.store.db.delete(imapMailboxes).where(eq(imapMailboxes.address, address));
		this.reports.publish({ address, status: null });
		this.changed(address);
	}

	async cursor(address: string): Promise<ImapCursor> {
		const { imapMailboxes } = this.store.tables;
		const [row] = await this.store.db.select().from(imapMailboxes).where(eq(imapMailboxes.address, address)).limit(1);
		return { uidValidity: row?.uidValidity ?? null, storedUid: row?.storedUid ?? 0, actedUid: row?.actedUid ?? 0 };
	}

	/** A folder seen with another UIDVALIDITY: its UIDs start over. */
	async resetCursor(address: string, uidValidity: string): Promise<void> {
		const { imapMailboxes } = this.store.tables;
		await this.store.db.update(imapMailboxes).set({ uidValidity, storedUid: 0, actedUid: 0 }).where(eq(imapMailboxes.address, address));
	}

	/**
	 * Advances the stored cursor to `uid`, never back: a fetcher that lost a race (another process
	 * stored past it, or the cursor was reset) leaves it as it is. False when the cursor was not below `uid`.
	 */
	async setStored(address: string, uid: number): Promise<boolean> {
		const { imapMailboxes } = this.store.tables;
		const moved = await this.store.db
			.update(imapMailboxes)
			.set({ storedUid: uid })
			.where(and(eq(imapMailboxes.address, address), lt(imapMailboxes.storedUid, uid)))
			.returning({ address: imapMailboxes.address });
		return moved.length > 0;
	}

	async setActed(address: string, uid: number): Promise<void> {
		const { imapMailboxes } = this.store.tables;
		await this.store.db.update(imapMailboxes).set({ actedUid: uid }).where(eq(imapMailboxes.address, address));
	}

	status(address: string): ImapMailboxStatus {
		return this.statuses.get(address) ?? IDLE_STATUS;
	}

	report(address: string, change: Partial<ImapMailboxStatus>): void {
		this.reports.publish({ address, status: { ...this.status(address), ...change } });
	}

	onChange(listener: (address: string) => void): () => void {
		return this.changes.watch(listener);
	}

	private changed(address: string): void {
		this.changes.publish(address);
	}
}
