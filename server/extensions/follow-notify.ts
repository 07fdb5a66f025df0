/**
 * Notifications for followers and mentioned colleagues, made from the ticket document's changes
 * (a peer's, or the server's own: mail, chat, PATCH), so every way of changing a ticket is covered
 * without each path remembering to tell:
 * - a new customer message and a status change reach the ticket's followers, except whoever made
 *   the change and, for messages, the assignee (the workspace tells them of their tickets' messages);
 * - a note or an internal side conversation message that mentions colleagues (`meta.mentions`,
 *   checked by the policy when it was written) reaches each of them, who become followers;
 * - a mail on the ticket, inbound or sent, makes the colleagues it copies (CC) followers (the
 *   first mail of a new ticket too: Tickets tells of tickets recorded whole, see `ticketRecorded`).
 * Each notice is made once, on the node where the change was stored (another node's change, origin
 * REMOTE, is that node's to tell), and reaches a user only while they may see the ticket, checked
 * when it is sent.
 */
import type { afterLoadDocumentPayload, Extension } from '@hocuspocus/server';
import * as Y from 'yjs';
import { entryIndex, mentionsOf, parseTicketDocumentName, readEntries, readFields, readSides, ROOTS, type Entry, type EntriesAddedListener } from '../../src/lib/ticket';
import { ticketAccess, type Directory, type TicketScope } from '../auth/policy';
import type { UserPrincipal } from '../auth/principal';
import { Feed } from '../cluster/feed';
import type { Followers } from '../followers';
import type { Logger } from '../log';
import type { Notices } from '../notices';
import { REMOTE } from './cluster-sync';
import { actorOfOrigin } from './project';

/** What the workspace shows: which ticket, why, from whom, and where to open it. */
export interface FollowNotice {
	ticketId: string;
	number: number | null;
	subject: string;
	/** `rule`: a rule's notify action (`fromName` names the rule, `preview` is its text). */
	reason: 'message' | 'status' | 'mention' | 'rule';
	/** Who wrote or changed it (a user id, a customer id), null for the server; and their name. */
	fromId: string | null;
	fromName: string;
	/** The start of the message or note; for a status change, the new status. */
	preview: string;
	/** The entry to open the ticket at (a message, a note). */
	entryId?: string;
	/** The side conversation a mention was made in. */
	sideId?: string;
	at: number;
	/** The notice as kept for its colleague (server/notices.ts): marking it read there dismisses it everywhere. */
	noticeId?: string;
}

const PREVIEW_CHARS = 160;

export interface FollowNotifySettings {
	followers: Followers;
	directory: Directory & { principalByEmail(email: string): UserPrincipal | null };
	/** The name of a customer, for notices of their messages. */
	customerName: (customerId: string) => Promise<string | null>;
	/** Where each notice is kept for whoever was away. */
	notices: Pick<Notices, 'keep'>;
	logger: Logger;
}

export class FollowNotify implements Extension {
	priority = 40;
	/** Every notice, made on any node: for the streams of those it is for. */
	readonly feed = new Feed<{ userId: string; notice: FollowNotice }>('follow-notices');
	/** Per loaded ticket document: how to stop following its changes. */
	private readonly stops = new Map<string, () => void>();

	constructor(private readonly settings: FollowNotifySettings) {}

	async afterLoadDocument({ documentName, document }: afterLoadDocumentPayload) {
		const ticketId = parseTicketDocumentName(documentName);
		if (!ticketId) return;
		const added: EntriesAddedListener = (entries, place, origin) => {
			if (origin === REMOTE) return;
			for (const entry of entries) this.whenDone(ticketId, () => this.entryAdded(ticketId, document, entry, place));
		};
		const ticket = document.getMap(ROOTS.ticket);
		const changed = (event: Y.YMapEvent<unknown>, transaction: Y.Transaction) => {
			const before = event.changes.keys.get('status');
			if (!before || before.action !== 'update' || transaction.origin === REMOTE) return;
			const status = String(ticket.get('status'));
			const actor = actorOfOrigin(transaction.origin);
			if (before.oldValue !== status) this.whenDone(ticketId, () => this.statusChanged(ticketId, document, status, actor));
		};
		entryIndex(document).listeners.add(added);
		ticket.observe(changed);
		this.stops.set(documentName, () => {
			entryIndex(document).listeners.delete(added);
			ticket.unobserve(changed);
		});
	}

	async afterUnloadDocument({ documentName }: { documentName: string }) {
		this.stops.get(documentName)?.();
		this.stops.delete(documentName);
	}

	/** Calls `send` with each notice for `userId` from now on; returns the stop. */
	follow(userId: string, send: (notice: FollowNotice) => void): () => void {
		return this.feed.watch((told) => {
			if (told.userId === userId) send(told.notice);
		});
	}

	private whenDone(ticketId: string, work: () => Promise<void>) {
		work().catch((error: unknown) => this.settings.logger.error({ err: error, ticketId }, 'notifying followers failed'));
	}

	private async entryAdded(ticketId: string, doc: Y.Doc, entry: Entry, place: 'conversation' | 'side') {
		const mentioned = mentionsOf(entry).filter((userId) => userId !== entry.authorId);
		if (mentioned.length) {
			const sideId = place === 'side' ? readSides(doc).find((side) => side.entries.some((e) => e.id === entry.id))?.id : undefined;
			await this.send(ticketId, doc, mentioned, { reason: 'mention', fromId: entry.authorId, preview: entry.body.slice(0, PREVIEW_CHARS), at: entry.createdAt, ...(sideId ? { sideId } : { entryId: entry.id }) });
			await this.settings.followers.addAll(ticketId, readFields(doc), mentioned, 'mention');
		}
		if (place !== 'conversation' || entry.kind !== 'message') return;
		await this.followCopied(ticketId, doc, entry);
		if (entry.authorType !== 'customer' || entry.direction !== 'in') return;
		// The assignee hears of new messages in their tickets from the workspace already: not twice.
		const { assigneeId } = readFields(doc);
		const followers = await this.followerIds(ticketId, doc, [assigneeId]);
		await this.send(ticketId, doc, followers, { reason: 'message', fromId: entry.authorId, preview: entry.body.slice(0, PREVIEW_CHARS), entryId: entry.id, at: entry.createdAt });
	}

	/**
	 * A ticket recorded whole (a new mail with its CC, say): its entries were never added to a loaded
	 * document, and it has no followers to tell yet; the colleagues its mail copies follow it.
	 */
	ticketRecorded(ticketId: string, doc: Y.Doc) {
		for (const entry of readEntries(doc)) if (entry.kind === 'message') this.whenDone(ticketId, () => this.followCopied(ticketId, doc, entry));
	}

	/** The colleagues a mail copies (CC), inbound or sent, follow the ticket. */
	private async followCopied(ticketId: string, doc: Y.Doc, entry: Entry) {
		const copied = entry.channel === 'email' && Array.isArray(entry.meta?.cc) ? entry.meta.cc : [];
		const colleagues = copied.flatMap((address) => this.settings.directory.principalByEmail(String(address))?.id ?? []);
		if (colleagues.length) await this.settings.followers.addAll(ticketId, readFields(doc), colleagues, 'cc');
	}

	private async statusChanged(ticketId: string, doc: Y.Doc, status: string, actor: string) {
		const userId = actor.startsWith('user:') ? actor.slice('user:'.length) : null;
		const followers = await this.followerIds(ticketId, doc, [userId]);
		await this.send(ticketId, doc, followers, { reason: 'status', fromId: userId, preview: status, at: Date.now() });
	}

	/** The ticket's followers who may see it now, but for `except`. */
	private async followerIds(ticketId: string, doc: Y.Doc, except: (string | null)[]): Promise<string[]> {
		const followers = await this.settings.followers.audience(ticketId, readFields(doc));
		return followers.map((f) => f.user.id).filter((id) => !except.includes(id));
	}

	private async send(ticketId: string, doc: Y.Doc, userIds: readonly string[], notice: Omit<FollowNotice, 'ticketId' | 'number' | 'subject' | 'fromName'>) {
		if (!userIds.length) return;
		await this.deliver(ticketId, readFields(doc), userIds, { ...notice, fromName: await this.nameOf(notice.fromId) });
	}

	/** A rule's notice (its notify action) to `userIds`, as the ticket stands in `ticket`: kept, and on their streams. */
	fromRule(ticketId: string, ticket: TicketScope & { number?: number | null; subject: string }, userIds: readonly string[], ruleName: string, text: string): Promise<void> {
		return this.deliver(ticketId, ticket, userIds, { reason: 'rule', fromId: null, fromName: ruleName, preview: text.slice(0, PREVIEW_CHARS), at: Date.now() });
	}

	private async deliver(ticketId: string, fields: TicketScope & { number?: number | null; subject: string }, userIds: readonly string[], notice: Omit<FollowNotice, 'ticketId' | 'number' | 'subject'>) {
		for (const userId of userIds) {
			const user = this.settings.directory.principal(userId);
			// Access as the ticket stands now: moved away or revoked since, nothing.
			if (!user || !ticketAccess(user, fields)) continue;
			const made = { ...notice, ticketId, number: fields.number ?? null, subject: fields.subject };
			const noticeId = await this.settings.notices.keep(userId, 'follow', ticketId, made);
			this.feed.publish({ userId, notice: { ...made, noticeId } });
		}
	}

	private async nameOf(id: string | null): Promise<string> {
		if (!id) return 'Tandem';
		return this.settings.directory.principal(id)?.name ?? (await this.settings.customerName(id)) ?? 'The customer';
	}
}
