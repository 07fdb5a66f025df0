/**
 * Tickets selected in the list for a bulk action (click, shift-click, `x`), the action's progress
 * and what came of it per ticket. Only listed tickets stay selected: an action never reaches a
 * ticket the agent no longer sees in front of them.
 */
import type { BulkReport as Report } from '$lib/api/bulk';
import type { BulkAction } from '$lib/api/schemas';
import { sendJson } from './send-json';
import type { TicketRow } from './workspace.svelte';

export type BulkReport = Report<TicketRow>;

export class TicketSelection {
	ids = $state<string[]>([]);
	running = $state(false);
	/** What the last action did, until the next one or until dismissed. */
	report = $state.raw<BulkReport | null>(null);
	/** Why the last action was refused as a whole (a malformed request, the server unreachable). */
	error = $state<string | null>(null);
	/** The ticket a shift-click extends from: the last one clicked. */
	private anchor: string | null = null;

	has(id: string): boolean {
		return this.ids.includes(id);
	}

	get count(): number {
		return this.ids.length;
	}

	/** Selects or unselects one ticket; `extend` selects every listed ticket from the last one clicked to it. */
	toggle(id: string, listed: readonly string[], extend = false) {
		const from = this.anchor === null ? -1 : listed.indexOf(this.anchor);
		const to = listed.indexOf(id);
		if (extend && from >= 0 && to >= 0) {
			const range = listed.slice(Math.min(from, to), Math.max(from, to) + 1);
			this.ids = [...new Set([...this.ids, ...range])];
		} else {
			this.ids = this.has(id) ? this.ids.filter((selected) => selected !== id) : [...this.ids, id];
		}
		this.anchor = id;
	}

	/** Selects every listed ticket, or none when all are selected already. */
	toggleAll(listed: readonly string[]) {
		this.ids = listed.length > 0 && listed.every((id) => this.has(id)) ? [] : [...listed];
	}

	/** Drops tickets no longer listed (a refresh, another view). */
	keepListed(listed: readonly string[]) {
		const kept = this.ids.filter((id) => listed.includes(id));
		if (kept.length !== this.ids.length) this.ids = kept;
	}

	clear() {
		this.ids = [];
		this.anchor = null;
	}

	dismiss() {
		this.report = null;
		this.error = null;
	}

	/** Applies `action` to the selected tickets; the refused ones stay selected, to look at or try again. */
	async apply(action: Omit<BulkAction, 'ticketIds'>): Promise<void> {
		if (!this.ids.length || this.running) return;
		this.running = true;
		this.dismiss();
		try {
			this.report = await sendJson<BulkReport>('POST', '/api/v1/tickets/bulk', { ...action, ticketIds: this.ids });
			const refused = new Set(this.report.results.filter((r) => !r.ok).map((r) => r.ticketId));
			this.ids = this.ids.filter((id) => refused.has(id));
		} catch (error) {
			this.error = (error as Error).message;
		} finally {
			this.running = false;
		}
	}
}
