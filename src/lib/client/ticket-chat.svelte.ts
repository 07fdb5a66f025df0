/**
 * The live chat of a chat ticket, for agents: its status and the visitor (live from the document's
 * awareness, where the server publishes the visitor; from the chat API when the visitor is gone),
 * the visitor path, and serving or ending the chat.
 */
import type { ChatInfo, ChatStatus, PageView, VisitorPresence } from '$lib/api/chat';
import type { TicketSession } from './ticket-session.svelte';

export class TicketChat {
	/** As last fetched; null before, or when the ticket has no chat. */
	info = $state.raw<ChatInfo | null>(null);
	/** Pages the visitor viewed, newest first. */
	path = $state.raw<PageView[]>([]);
	busy = $state(false);
	error = $state<string | null>(null);

	private destroyed = false;

	constructor(readonly session: TicketSession) {}

	get exists(): boolean {
		return this.info !== null || this.session.visitor !== null;
	}

	get status(): ChatStatus | null {
		return this.session.visitor?.status ?? this.info?.status ?? null;
	}

	get presence(): VisitorPresence {
		return this.session.visitor?.presence ?? this.info?.presence ?? 'left';
	}

	get visitorTyping(): boolean {
		return !!this.session.visitor?.typing && this.status !== 'ended';
	}

	/** The newest page as the visitor's widget reports it. */
	get currentPage(): PageView | null {
		return this.session.visitor?.page ?? this.path[0] ?? null;
	}

	async load(): Promise<void> {
		const response = await fetch(this.url(''), { headers: { accept: 'application/json' } }).catch(() => null);
		if (this.destroyed || !response?.ok) return;
		const body = (await response.json()) as { chat: ChatInfo; path: PageView[] };
		this.info = body.chat;
		this.path = body.path;
	}

	/** Takes the chat: served by me, assigned to me, open. */
	async serve(): Promise<void> {
		const info = await this.act('serve');
		if (!info) return;
		if (this.session.fields?.assigneeId !== this.session.me.id) this.session.setField('assigneeId', this.session.me.id);
		if (this.session.fields?.status === 'new') this.session.setField('status', 'open');
	}

	async end(): Promise<void> {
		await this.act('end');
	}

	destroy(): void {
		this.destroyed = true;
	}

	private async act(action: 'serve' | 'end'): Promise<ChatInfo | null> {
		this.busy = true;
		this.error = null;
		try {
			const response = await fetch(this.url(`/${action}`), { method: 'POST', headers: { accept: 'application/json' } }).catch(() => null);
			if (!response) {
				this.error = 'You are offline: try again when the connection is back.';
				return null;
			}
			const body = await response.json().catch(() => null);
			if (!response.ok) {
				this.error = (body as { error?: { message?: string } } | null)?.error?.message ?? `Failed (${response.status}).`;
				void this.load();
				return null;
			}
			this.info = body as ChatInfo;
			return this.info;
		} finally {
			this.busy = false;
		}
	}

	private url(suffix: string): string {
		return `/api/v1/tickets/${encodeURIComponent(this.session.ticketId)}/chat${suffix}`;
	}
}
