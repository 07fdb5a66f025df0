/**
 * A ticket's child tickets and parent as the side panel and header show them: loaded from
 * `GET /api/v1/tickets/{id}/children`, and again whenever the workspace's live stream brings a row
 * of one of them (a child solved, its newest message) or a new child link lands in the document.
 */
import type { LinkedTicket, TicketFamily } from '$lib/api/children';
import { newId } from '$lib/ticket';
import { getJson, type TicketRow, type Workspace } from './workspace.svelte';

export class TicketFamilyState {
	parent = $state.raw<LinkedTicket | null>(null);
	children = $state.raw<LinkedTicket[]>([]);
	error = $state<string | null>(null);

	// The child-ticket form.
	formOpen = $state(false);
	subject = $state('');
	body = $state('');
	/** '' keeps the parent's group. */
	groupId = $state('');
	assigneeId = $state('');
	/** '' keeps the parent's requester. */
	requesterEmail = $state('');
	busy = $state(false);
	formError = $state<string | null>(null);
	/** The id of the child being created: a retry after a lost answer sends it again and gets the same child. */
	private creating = newId();
	private destroyed = false;
	private readonly stop: () => void;

	constructor(
		readonly ticketId: string,
		workspace: Workspace
	) {
		this.stop = workspace.onTicketRow((row) => {
			if (this.concerns(row)) void this.load();
		});
	}

	destroy() {
		this.destroyed = true;
		this.stop();
	}

	private concerns(row: TicketRow): boolean {
		return row.parentId === this.ticketId || row.id === this.parent?.id || this.children.some((c) => c.id === row.id);
	}

	async load() {
		try {
			const family = await getJson<TicketFamily>(`/api/v1/tickets/${encodeURIComponent(this.ticketId)}/children`);
			if (this.destroyed) return;
			this.parent = family.parent;
			this.children = family.children;
			this.error = null;
		} catch (error) {
			this.error = (error as Error).message;
		}
	}

	/** Creates the child ticket the form describes; whether it was. */
	async create(): Promise<boolean> {
		if (!this.subject.trim()) return this.fail('Give it a subject.');
		if (!this.body.trim()) return this.fail('Write the first note.');
		this.busy = true;
		this.formError = null;
		try {
			const request = {
				id: this.creating,
				subject: this.subject.trim(),
				body: this.body,
				...(this.groupId ? { groupId: this.groupId === 'none' ? null : this.groupId } : {}),
				...(this.assigneeId ? { assigneeId: this.assigneeId } : {}),
				...(this.requesterEmail.trim() ? { requester: { email: this.requesterEmail.trim() } } : {})
			};
			const response = await fetch(`/api/v1/tickets/${encodeURIComponent(this.ticketId)}/children`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', accept: 'application/json' },
				body: JSON.stringify(request)
			}).catch(() => null);
			const answer = await response?.json().catch(() => null);
			if (!response?.ok) return this.fail(answer?.error?.message ?? 'The child ticket could not be created: you seem to be offline. Try again.');
			this.creating = newId();
			this.subject = this.body = this.groupId = this.assigneeId = this.requesterEmail = '';
			this.formOpen = false;
			await this.load();
			return true;
		} finally {
			this.busy = false;
		}
	}

	private fail(message: string): false {
		this.formError = message;
		return false;
	}
}
