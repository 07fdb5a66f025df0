/**
 * The agent's desk: their one status and per-channel availability (the status menu), the work the
 * router offers them (accept or decline before it moves on), colleagues' statuses, and
 * notifications of new customer messages in their tickets. The workspace's one event stream carries
 * the routing events (`offer`, `offer.withdrawn`, `status`); it being open is what "connected"
 * means to the router.
 */
import type { AgentPresence, ChannelClass, Offer, StatusOption } from '$lib/api/routing';
import type { FollowNotice } from '../../../server/extensions/follow-notify';
import type { SideNotice } from '../../../server/extensions/side-notify';
import type { StoredNotice } from '$lib/api/notices';
import { sendJson } from './send-json';
import { getJson } from './workspace.svelte';

export const CHANNEL_CLASS_LABELS: Record<ChannelClass, string> = { messaging: 'Email & messaging', chat: 'Chat', talk: 'Talk' };

/** A new customer message in one of my tickets that is not in front of me. */
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

export class AgentDesk {
	me = $state.raw<AgentPresence | null>(null);
	statuses = $state.raw<StatusOption[]>([]);
	offers = $state.raw<Offer[]>([]);
	/** Colleagues' presence by user id, live. */
	colleagues = $state.raw<Record<string, AgentPresence>>({});
	notices = $state.raw<Notice[]>([]);
	error = $state<string | null>(null);
	busy = $state<string | null>(null);
	/** Ticks every second while offers are shown (their countdowns). */
	now = $state(Date.now());

	private ticker: ReturnType<typeof setInterval> | null = null;

	/** Follows the workspace's event stream (its owner closes it). */
	start(stream: EventSource) {
		void this.load();
		// What was kept while the stream was closed (away, a reconnect): read on every open.
		stream.addEventListener('open', () => void this.loadNotices());
		stream.addEventListener('offer', (event) => this.addOffer(data<Offer>(event)));
		stream.addEventListener('offer.withdrawn', (event) => {
			const { offerId } = data<{ offerId: string }>(event);
			this.offers = this.offers.filter((o) => o.id !== offerId);
		});
		stream.addEventListener('side', (event) => this.noticeSide(data<SideNotice>(event)));
		stream.addEventListener('follow', (event) => this.noticeFollow(data<FollowNotice>(event)));
		stream.addEventListener('status', (event) => {
			const presence = data<AgentPresence>(event);
			if (presence.userId === this.me?.userId) this.me = presence;
			this.colleagues = { ...this.colleagues, [presence.userId]: presence };
		});
		this.ticker = setInterval(() => {
			if (this.offers.length) this.now = Date.now();
		}, 1000);
	}

	stop() {
		if (this.ticker) clearInterval(this.ticker);
	}

	async load() {
		try {
			const [me, statuses, offers] = await Promise.all([
				getJson<AgentPresence>('/api/v1/me/status'),
				getJson<{ statuses: StatusOption[] }>('/api/v1/statuses'),
				getJson<{ offers: Offer[] }>('/api/v1/offers')
			]);
			this.me = me;
			this.statuses = statuses.statuses;
			this.offers = offers.offers;
			this.now = Date.now();
		} catch (error) {
			this.error = (error as Error).message;
		}
	}

	setStatus(status: string) {
		return this.update({ status });
	}

	setChannel(channel: ChannelClass, available: boolean) {
		if (!this.me) return;
		return this.update({ channels: { ...this.me.channels, [channel]: available } });
	}

	/** Takes the offered work; its ticket id, or null when it went elsewhere meanwhile. */
	async accept(offer: Offer): Promise<string | null> {
		const result = (await this.act(offer, 'accept')) as { ticketId?: string } | null;
		return result ? (result.ticketId ?? offer.ticketId) : null;
	}

	async decline(offer: Offer) {
		await this.act(offer, 'decline');
	}

	/** Seconds before an offer moves on to someone else. */
	secondsLeft(offer: Offer): number {
		return Math.max(0, Math.ceil((offer.expiresAt - this.now) / 1000));
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

	private addOffer(offer: Offer) {
		this.now = Date.now();
		this.offers = [...this.offers.filter((o) => o.id !== offer.id), offer];
	}

	private async update(change: { status?: string; channels?: Record<ChannelClass, boolean> }) {
		this.error = null;
		const response = await fetch('/api/v1/me/status', {
			method: 'PUT',
			headers: { 'content-type': 'application/json', accept: 'application/json' },
			body: JSON.stringify(change)
		}).catch(() => null);
		const body = await response?.json().catch(() => null);
		if (!response?.ok) {
			this.error = body?.error?.message ?? 'The status could not be changed: you seem to be offline.';
			return;
		}
		this.me = body as AgentPresence;
	}

	private async act(offer: Offer, action: 'accept' | 'decline'): Promise<unknown> {
		this.busy = offer.id;
		this.error = null;
		try {
			const response = await fetch(`/api/v1/offers/${encodeURIComponent(offer.id)}/${action}`, {
				method: 'POST',
				headers: { accept: 'application/json' }
			}).catch(() => null);
			const body = await response?.json().catch(() => null);
			// Gone either way: accepted, declined, or no longer ours to take.
			this.offers = this.offers.filter((o) => o.id !== offer.id);
			if (!response?.ok) {
				this.error = body?.error?.message ?? 'You seem to be offline.';
				return null;
			}
			return body ?? {};
		} finally {
			this.busy = null;
		}
	}
}

const data = <T>(event: Event) => JSON.parse((event as MessageEvent).data) as T;
