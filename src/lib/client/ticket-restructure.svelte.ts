/**
 * Merging a ticket into another and splitting entries off into a new one, as the ticket's action
 * menu offers them: the picker that finds the target (by number or subject, through the list API)
 * and the selection of entries of split mode. The server does the work (POST …/merge, …/split);
 * what changes in the documents arrives through their sync.
 */
import { MAX_SPLIT_ENTRIES } from '$lib/api/merge';
import { newId } from '$lib/ticket/ids';
import { sendJson } from './send-json';
import { getJson, type TicketRow, type Workspace } from './workspace.svelte';

/** How many tickets the picker lists at once. */
const PICKER_RESULTS = 8;
/** Typing settles this long before the picker asks the server. */
const SEARCH_DELAY_MS = 150;

/** "Merge into another ticket…": find the target, confirm, merge this ticket into it. */
export class MergePicker {
	open = $state(false);
	query = $state('');
	results = $state.raw<TicketRow[]>([]);
	/** The result the arrow keys are on. */
	highlighted = $state(0);
	/** The ticket chosen to merge into: the confirmation step shows while it is set. */
	target = $state.raw<TicketRow | null>(null);
	busy = $state(false);
	error = $state<string | null>(null);
	private timer: ReturnType<typeof setTimeout> | undefined;
	/** The newest search asked: older answers arriving late are dropped. */
	private asked = 0;

	constructor(
		readonly ticketId: string,
		private readonly workspace: Workspace
	) {}

	start() {
		this.open = true;
		this.target = null;
		this.error = null;
		this.search('');
	}

	close() {
		clearTimeout(this.timer);
		this.open = false;
		this.target = null;
	}

	/** Lists the tickets matching `query` (a number finds that ticket), this one and merged ones left out. */
	search(query: string) {
		this.query = query;
		clearTimeout(this.timer);
		const asked = ++this.asked;
		this.timer = setTimeout(async () => {
			const params = new URLSearchParams({ limit: String(PICKER_RESULTS + 1) });
			if (query.trim()) params.set('q', query.trim());
			else params.set('view', 'open');
			try {
				const { tickets } = await getJson<{ tickets: TicketRow[] }>(`/api/v1/tickets?${params}`);
				if (asked !== this.asked) return;
				this.workspace.rememberNumbers(tickets);
				this.results = tickets.filter((row) => row.id !== this.ticketId && !row.mergedIntoId).slice(0, PICKER_RESULTS);
				this.highlighted = 0;
				this.error = null;
			} catch (error) {
				this.error = (error as Error).message;
			}
		}, SEARCH_DELAY_MS);
	}

	move(delta: number) {
		if (this.results.length) this.highlighted = (this.highlighted + delta + this.results.length) % this.results.length;
	}

	choose(row: TicketRow | undefined = this.results[this.highlighted]) {
		if (row) this.target = row;
	}

	back() {
		this.target = null;
	}

	/** Merges this ticket into the chosen one and opens its tab; the chosen one's id, or null when it was not merged. */
	async merge(): Promise<string | null> {
		const target = this.target;
		if (!target || this.busy) return null;
		this.busy = true;
		this.error = null;
		try {
			await sendJson('POST', `/api/v1/tickets/${encodeURIComponent(target.id)}/merge`, { sourceId: this.ticketId });
			this.close();
			this.workspace.open(target.id, target.subject);
			return target.id;
		} catch (error) {
			this.error = (error as Error).message;
			return null;
		} finally {
			this.busy = false;
		}
	}
}

/** "Split…": entries chosen in the conversation start a new ticket. */
export class SplitSelection {
	active = $state(false);
	selected = $state.raw<string[]>([]);
	busy = $state(false);
	error = $state<string | null>(null);
	/** The new ticket's id, chosen once per split asked for. */
	private splitId: string | null = null;

	constructor(
		readonly ticketId: string,
		private readonly workspace: Workspace
	) {}

	get full(): boolean {
		return this.selected.length >= MAX_SPLIT_ENTRIES;
	}

	start() {
		this.active = true;
		this.selected = [];
		this.error = null;
		this.splitId = null;
	}

	cancel() {
		this.active = false;
		this.selected = [];
		this.error = null;
		this.splitId = null;
	}

	isSelected(entryId: string): boolean {
		return this.selected.includes(entryId);
	}

	toggle(entryId: string) {
		if (this.isSelected(entryId)) this.selected = this.selected.filter((id) => id !== entryId);
		else if (!this.full) this.selected = [...this.selected, entryId];
	}

	/** Starts the new ticket from the selected entries and opens its tab; its id, or null when it was not made. */
	async split(): Promise<string | null> {
		if (!this.selected.length || this.busy) return null;
		this.busy = true;
		this.error = null;
		try {
			// One id per split asked for: a retry after a lost answer finds the ticket it made.
			this.splitId ??= newId();
			const ticket = await sendJson<TicketRow>('POST', `/api/v1/tickets/${encodeURIComponent(this.ticketId)}/split`, { entryIds: this.selected, id: this.splitId });
			this.cancel();
			this.workspace.rememberNumbers([ticket]);
			this.workspace.open(ticket.id, ticket.subject);
			return ticket.id;
		} catch (error) {
			this.error = (error as Error).message;
			return null;
		} finally {
			this.busy = false;
		}
	}
}
