/**
 * The form that saves a search as a view, or changes a saved view: name, query, order, columns,
 * shared or not. Saved through the API, whose refusals (a query that does not parse, a name taken,
 * too many views) are shown in its words.
 */
import { DEFAULT_VIEW_COLUMNS, fieldOfColumn, VIEW_COLUMNS, type ListColumn, type TicketSort } from '$lib/api/views';
import type { FieldDefinition } from '$lib/ticket';
import { sendJson } from './send-json';
import { getJson } from './workspace.svelte';

export interface SavedViewSummary {
	id: string;
	name: string;
	query: string;
	sort: TicketSort;
	columns: ListColumn[];
	shared: boolean;
	editable: boolean;
	/** How many tickets it holds for you now; null when its query cannot run any more (`problem` says why). */
	count: number | null;
	problem?: string;
}

export class SavedViewForm {
	name = $state('');
	query = $state('');
	sort = $state<TicketSort>('updated');
	columns = $state<ListColumn[]>([...DEFAULT_VIEW_COLUMNS]);
	/** Custom fields that may be shown as columns (the active ones). */
	fields = $state.raw<FieldDefinition[]>([]);
	shared = $state(false);
	saving = $state(false);
	error = $state<string | null>(null);

	/** A new view of `query`, or the view being changed. */
	constructor(
		readonly editing: SavedViewSummary | null,
		query = ''
	) {
		if (editing) {
			this.name = editing.name;
			this.query = editing.query;
			this.sort = editing.sort;
			this.columns = [...editing.columns];
			this.shared = editing.shared;
		} else this.query = query;
		void getJson<{ fields: FieldDefinition[] }>('/api/v1/ticket-fields')
			.then(({ fields }) => (this.fields = fields.filter((f) => !f.archived)))
			.catch(() => {});
	}

	/** Shows or hides a column, keeping the columns in their usual order: the built-in ones, then custom fields'. */
	toggleColumn(column: ListColumn) {
		const shown = new Set(this.columns);
		if (shown.has(column)) shown.delete(column);
		else shown.add(column);
		const fields = [...shown].filter((c) => fieldOfColumn(c) !== null);
		this.columns = [...VIEW_COLUMNS.filter((c) => shown.has(c)), ...fields];
	}

	/** Saves it; the view as stored, or null with `error` saying why not. */
	async save(): Promise<SavedViewSummary | null> {
		this.saving = true;
		this.error = null;
		try {
			const view = { name: this.name, query: this.query, sort: this.sort, columns: this.columns, shared: this.shared };
			return await sendJson<SavedViewSummary>(this.editing ? 'PUT' : 'POST', this.editing ? `/api/v1/saved-views/${this.editing.id}` : '/api/v1/saved-views', view);
		} catch (error) {
			this.error = (error as Error).message;
			return null;
		} finally {
			this.saving = false;
		}
	}
}
