/**
 * Notifications of internal side conversations: a colleague named in one hears of it, and every
 * new message in one is told to its participants (its opener among them) other than its author.
 * Found by comparing each internal side conversation with what this process saw of it before
 * (counts and names, no walk of the conversation), after every change to a loaded ticket. A
 * notice reaches a user only while they may see the ticket, checked when it is sent.
 */
import type { afterLoadDocumentPayload, Extension, onChangePayload } from '@hocuspocus/server';
import * as Y from 'yjs';
import { parseTicketDocumentName, readFields, ROOTS, type Entry } from '../../src/lib/ticket';
import { ticketAccess, type Directory } from '../auth/policy';
import type { TicketIndex } from '../ticket-index';
import { Feed } from '../cluster/feed';
import type { Notices } from '../notices';
import { REMOTE } from './cluster-sync';

/** What the workspace shows: which ticket and side conversation, why, from whom. */
export interface SideNotice {
	ticketId: string;
	number: number | null;
	sideId: string;
	/** The side conversation's subject. */
	subject: string;
	reason: 'named' | 'message';
	/** The agent who named them or wrote, and their name. */
	fromId: string;
	fromName: string;
	/** The start of the new message, or empty. */
	preview: string;
	at: number;
	/** The notice as kept for its colleague (server/notices.ts): marking it read there dismisses it everywhere. */
	noticeId?: string;
}

const PREVIEW_CHARS = 160;

interface SeenSide {
	participants: Set<string>;
	entries: number;
}

export class SideNotify implements Extension {
	priority = 40;
	/** Per loaded ticket document: each internal side conversation as last seen. */
	private readonly seen = new Map<string, Map<string, SeenSide>>();
	/** Every notice, made on any node: for the streams of those it is for. */
	readonly feed = new Feed<{ userId: string; notice: SideNotice }>('side-notices');

	constructor(private readonly settings: { index: TicketIndex; directory: Directory; notices: Pick<Notices, 'keep'> }) {}

	async afterLoadDocument({ documentName, document }: afterLoadDocumentPayload) {
		if (!parseTicketDocumentName(documentName)) return;
		const seen = new Map<string, SeenSide>();
		for (const [id, side] of internalSides(document)) seen.set(id, seenOf(side));
		this.seen.set(documentName, seen);
	}

	async onChange({ documentName, document, transactionOrigin }: onChangePayload) {
		const seen = this.seen.get(documentName);
		const ticketId = parseTicketDocumentName(documentName);
		if (!seen || !ticketId) return;
		// Another node's change: that node tells (through the feed); this one only takes note.
		const tell = transactionOrigin !== REMOTE;
		for (const [id, side] of internalSides(document)) {
			const before = seen.get(id) ?? { participants: new Set<string>(), entries: 0 };
			const now = seenOf(side);
			seen.set(id, now);
			// Every change of the ticket (a keystroke in a draft) comes here: most change no side conversation.
			if (!tell || (now.entries === before.entries && now.participants.size === before.participants.size)) continue;
			const opener = String(side.get('createdBy') ?? '');
			const notice = { ticketId, number: readFields(document).number ?? null, sideId: id, subject: String(side.get('subject') ?? '') };
			const entries = (side.get('entries') as Y.Array<Entry> | undefined)?.slice(before.entries) ?? [];
			const named = [...now.participants].filter((p) => !before.participants.has(p) && p !== opener);
			for (const userId of named) await this.send(userId, { ...notice, reason: 'named', fromId: opener, preview: entries[0]?.body.slice(0, PREVIEW_CHARS) ?? '', at: Date.now() });
			for (const entry of entries) {
				for (const userId of new Set([opener, ...now.participants])) {
					if (userId === entry.authorId || named.includes(userId)) continue;
					await this.send(userId, { ...notice, reason: 'message', fromId: entry.authorId, preview: entry.body.slice(0, PREVIEW_CHARS), at: entry.createdAt });
				}
			}
		}
	}

	async afterUnloadDocument({ documentName }: { documentName: string }) {
		this.seen.delete(documentName);
	}

	/** Calls `send` with each notice for `userId` from now on; returns the stop. */
	follow(userId: string, send: (notice: SideNotice) => void): () => void {
		return this.feed.watch((told) => {
			if (told.userId === userId) send(told.notice);
		});
	}

	private async send(userId: string, notice: Omit<SideNotice, 'fromName'>) {
		const user = await this.settings.directory.principal(userId);
		const row = await this.settings.index.get(notice.ticketId);
		// Not a colleague who may see the ticket (a name from before participants were checked, access since lost): nothing.
		if (!user || !row || !ticketAccess(user, row)) return;
		const named = { ...notice, fromName: (await this.settings.directory.principal(notice.fromId))?.name ?? 'A colleague' };
		const noticeId = await this.settings.notices.keep(userId, 'side', notice.ticketId, named);
		this.feed.publish({ userId, notice: { ...named, noticeId } });
	}
}

function internalSides(doc: Y.Doc): [string, Y.Map<unknown>][] {
	return [...doc.getMap<Y.Map<unknown>>(ROOTS.sides).entries()].filter(([, side]) => side.get('channel') === 'internal');
}

function seenOf(side: Y.Map<unknown>): SeenSide {
	const participants = side.get('participants');
	const entries = side.get('entries');
	return {
		participants: new Set(participants instanceof Y.Array ? (participants.toArray() as string[]) : []),
		entries: entries instanceof Y.Array ? entries.length : 0
	};
}
