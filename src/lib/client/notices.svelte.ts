/**
 * What colleagues and the rules tell me, for every signed-in colleague (agents and supervisors):
 * mentions, side conversations, followed tickets and rule notices from the workspace's event
 * stream (`side`, `follow`), the ones kept while I was away (read from `GET /notices` each time the
 * stream opens), and new customer messages in my tickets; at most a few, one per ticket, newest
 * first. Dismissing a kept one marks it read on every screen of mine.
 */
import type { FollowNotice } from '../../../server/extensions/follow-notify';
import type { SideNotice } from '../../../server/extensions/side-notify';
import type { StoredNotice } from '$lib/api/notices';
import { sendJson } from './send-json';
import { getJson } from './workspace.svelte';

/** One thing to tell: a mention, a side conversation, a followed ticket, a rule, or a new customer message. */
export interface Notice {
	id: string;
	ticketId: string;
	title: string;
	body: string;
	at: number;
	/** A side conversation to open with the ticket. */
	sideId?: string;
	/** An entry to open the ticket at (a note that mentions me). */
	entryId?: string;
	/** The kept notices this one stands for (server/notices.ts): dismissing it marks them read. */
	storedIds?: string[];
}

/** The browser's own notification, for what this page tells while it is hidden (when allowed). */
export function notifyDesktop(title: string, body: string, tag: string) {
	if (document.visibilityState === 'visible' || typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
	const shown = new Notification(title, { body, tag });
	shown.onclick = () => window.focus();
}

const NOTICES_KEPT = 5;

export class NoticeTray {
	notices = $state.raw<Notice[]>([]);

	/** Follows the workspace's event stream (its owner closes it). */
	start(stream: EventSource) {
		// What was kept while the stream was closed (away, a reconnect): read on every open.
		stream.addEventListener('open', () => void this.loadNotices());
		stream.addEventListener('side', (event) => this.noticeSide(data<SideNotice>(event)));
		stream.addEventListener('follow', (event) => this.noticeFollow(data<FollowNotice>(event)));
	}

	notify(notice: Notice) {
		if (this.notices.some((n) => n.id === notice.id)) return;
		// One notice a ticket, the newest: it stands for the kept ones it replaces too.
		const replaced = this.notices.filter((n) => n.ticketId === notice.ticketId).flatMap((n) => n.storedIds ?? []);
		const storedIds = [...new Set([...(notice.storedIds ?? []), ...replaced])];
		const merged = storedIds.length ? { ...notice, storedIds } : notice;
		this.notices = [merged, ...this.notices.filter((n) => n.ticketId !== notice.ticketId)].sort((a, b) => b.at - a.at).slice(0, NOTICES_KEPT);
	}

	/** The notices kept for me that I have not read (a mention while I was away), oldest told first. */
	async loadNotices() {
		try {
			const { notices } = await getJson<{ notices: StoredNotice[] }>('/api/v1/notices?unread=true');
			for (const kept of [...notices].reverse()) {
				const told = { ...kept.notice, noticeId: kept.id };
				if (kept.kind === 'side') this.noticeSide(told as unknown as SideNotice);
				else this.noticeFollow(told as unknown as FollowNotice, false);
			}
		} catch {
			// Kept notices are a convenience on top of the stream: the stream's own still show.
		}
	}

	/** A colleague named me in an internal side conversation, or wrote in one I take part in. */
	private noticeSide(side: SideNotice) {
		const ticket = side.number === null ? side.subject : `#${side.number} · ${side.subject}`;
		const body = side.reason === 'named' ? `${side.fromName} asks you${side.preview ? `: ${side.preview}` : ''}` : `${side.fromName}: ${side.preview}`;
		this.notify({ id: side.noticeId ?? `${side.sideId}:${side.at}:${side.reason}`, ticketId: side.ticketId, title: `Side conversation ${ticket}`, body, at: side.at, sideId: side.sideId, storedIds: side.noticeId ? [side.noticeId] : [] });
	}

	/** A colleague mentioned me, a ticket I follow has a new customer message or status, or a rule notifies me. */
	private noticeFollow(told: FollowNotice, desktop = true) {
		const ticket = told.number === null ? told.subject : `#${told.number} ${told.subject}`;
		const title =
			told.reason === 'mention'
				? `${told.fromName} mentioned you in ${told.number === null ? told.subject : `#${told.number}`}`
				: told.reason === 'message'
					? `New message · ${ticket}`
					: told.reason === 'rule'
						? `Rule “${told.fromName}” · ${ticket}`
						: ticket;
		const body = told.reason === 'status' ? `${told.fromName} set the status to ${told.preview}` : told.reason === 'message' ? `${told.fromName}: ${told.preview}` : told.preview;
		this.notify({ id: told.noticeId ?? `${told.ticketId}:${told.at}:${told.reason}`, ticketId: told.ticketId, title, body, at: told.at, sideId: told.sideId, entryId: told.entryId, storedIds: told.noticeId ? [told.noticeId] : [] });
		if (desktop) notifyDesktop(title, body, `${told.ticketId}:${told.reason}`);
	}

	/** Puts the notice away, here and (kept ones) on every screen of mine. */
	dismiss(id: string) {
		const storedIds = this.notices.find((n) => n.id === id)?.storedIds ?? [];
		this.notices = this.notices.filter((n) => n.id !== id);
		if (storedIds.length) void sendJson('POST', '/api/v1/notices/read', { ids: storedIds }).catch(() => {});
	}
}

/** A workspace stream event's data. */
export const data = <T>(event: Event) => JSON.parse((event as MessageEvent).data) as T;
