/**
 * Following a ticket from its header: whether I follow it, who else does, and the toggle
 * (PUT / DELETE /api/v1/tickets/{id}/follow).
 */
import type { FollowerList } from '$lib/api/followers';
import { getJson } from './workspace.svelte';

export class TicketFollowing {
	list = $state.raw<FollowerList | null>(null);
	busy = $state(false);
	/** Why the last toggle did nothing, in words. */
	error = $state<string | null>(null);

	constructor(
		readonly ticketId: string,
		private readonly me: { id: string }
	) {}

	get following(): boolean {
		return this.list?.following ?? false;
	}

	/** Who follows, in words: what the button shows on hover. */
	get who(): string {
		const names = (this.list?.followers ?? []).map((f) => (f.userId === this.me.id ? 'you' : f.name));
		return names.length ? `Followed by ${names.join(', ')}` : 'Nobody follows this ticket yet';
	}

	async load() {
		try {
			this.list = await getJson<FollowerList>(this.url('followers'));
		} catch {
			/* the button waits for the next load */
		}
	}

	async toggle() {
		this.busy = true;
		this.error = null;
		try {
			const response = await fetch(this.url('follow'), { method: this.following ? 'DELETE' : 'PUT', headers: { accept: 'application/json' } }).catch(() => null);
			const body = await response?.json().catch(() => null);
			if (response?.ok) this.list = body as FollowerList;
			else this.error = body?.error?.message ?? 'You seem to be offline.';
		} finally {
			this.busy = false;
		}
	}

	private url(what: 'follow' | 'followers') {
		return `/api/v1/tickets/${encodeURIComponent(this.ticketId)}/${what}`;
	}
}
