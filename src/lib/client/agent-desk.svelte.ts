/**
 * The agent's desk: their one status and per-channel availability (the status menu), the work the
 * router offers them (accept or decline before it moves on), and colleagues' statuses (what they
 * are told is the notice tray's: notices.svelte.ts). The workspace's one event stream carries
 * the routing events (`offer`, `offer.withdrawn`, `status`); it being open is what "connected"
 * means to the router.
 */
import type { AgentPresence, ChannelClass, Offer, StatusOption } from '$lib/api/routing';
import { data } from './notices.svelte';
import { sendJson } from './send-json';
import { getJson } from './workspace.svelte';

export const CHANNEL_CLASS_LABELS: Record<ChannelClass, string> = { messaging: 'Email & messaging', chat: 'Chat', talk: 'Talk' };

export class AgentDesk {
	me = $state.raw<AgentPresence | null>(null);
	statuses = $state.raw<StatusOption[]>([]);
	offers = $state.raw<Offer[]>([]);
	/** Colleagues' presence by user id, live. */
	colleagues = $state.raw<Record<string, AgentPresence>>({});
	error = $state<string | null>(null);
	busy = $state<string | null>(null);
	/** Ticks every second while offers are shown (their countdowns). */
	now = $state(Date.now());

	private ticker: ReturnType<typeof setInterval> | null = null;

	/** Follows the workspace's event stream (its owner closes it). */
	start(stream: EventSource) {
		void this.load();
		stream.addEventListener('offer', (event) => this.addOffer(data<Offer>(event)));
		stream.addEventListener('offer.withdrawn', (event) => {
			const { offerId } = data<{ offerId: string }>(event);
			this.offers = this.offers.filter((o) => o.id !== offerId);
		});
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

