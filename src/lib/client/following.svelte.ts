/**
 * Following a ticket from its header: whether I follow it, who else does, and the toggle
 * (PUT / DELETE /api/v1/tickets/{id}/follow).
 */
import type { FollowerList } from '$lib/api/followers';
import { getJson } from './workspace.svelte';
import { sendJson } from './send-json';

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
			this.list = await sendJson<FollowerList>(this.following ? 'DELETE' : 'PUT', this.url('follow'));
		} catch (error) {
			this.error = (error as Error).message;
		} finally {
			this.busy = false;
		}
	}

	private url(what: 'follow' | 'followers') {
		return `/api/v1/tickets/${encodeURIComponent(this.ticketId)}/${what}`;
	}
}
