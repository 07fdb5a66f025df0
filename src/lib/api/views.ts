/**
 * The agent workspace's ticket views and list orders, by id: shared by the HTTP API
 * (`GET /api/v1/views`, `GET /api/v1/tickets?view=…&sort=…`) and the UI. What each view matches
 * is decided in one place, `viewCondition` in server/ticket-index.ts.
 */
export const VIEW_IDS = ['mine', 'unassigned', 'open', 'pending', 'snoozed', 'solved', 'recent'] as const;
export type ViewId = (typeof VIEW_IDS)[number];

export const VIEW_NAMES: Record<ViewId, string> = {
	mine: 'My open tickets',
	unassigned: 'Unassigned in my groups',
	open: 'All open',
	pending: 'Pending',
	snoozed: 'Snoozed',
	solved: 'Solved',
	recent: 'Recently updated'
};

/**
 * What each view holds, in words: shown with the view (tooltip and list heading) and in the API.
 * "Open" means not solved or closed, the same in every view that says it.
 */
export const VIEW_DESCRIPTIONS: Record<ViewId, string> = {
	mine: 'Assigned to you and not solved or closed: new, open, pending and on hold; snoozed ones return when their time comes.',
	unassigned: 'No assignee yet and not solved or closed; for agents, in their groups only. Snoozed ones return when their time comes.',
	open: 'Every ticket you may see that is not solved or closed: new, open, pending and on hold; snoozed ones return when their time comes.',
	pending: 'Waiting on someone else: pending or on hold, not snoozed.',
	snoozed: 'Snoozed and not solved or closed: out of the other views until their time or a customer message.',
	solved: 'Solved or closed.',
	recent: 'Updated in the last 7 days, whatever the status.'
};

/** The view a list address names (`/?view=pending`), or null for none or an unknown one. */
export function viewIn(url: URL): ViewId | null {
	const view = url.searchParams.get('view');
	return (VIEW_IDS as readonly string[]).includes(view ?? '') ? (view as ViewId) : null;
}

/** How far back "Recently updated" reaches. */
export const RECENT_MS = 7 * 24 * 60 * 60_000;

/** Ticket list orders, newest (or most urgent) first: `priority` is urgent > high > normal > low, then updated. */
export const TICKET_SORTS = ['updated', 'created', 'priority'] as const;
export type TicketSort = (typeof TICKET_SORTS)[number];

/** Columns a saved view may show besides the subject, which every list shows. */
export const VIEW_COLUMNS = ['channel', 'status', 'priority', 'sla', 'assignee', 'group', 'requester', 'tags', 'created', 'updated'] as const;
export type ViewColumn = (typeof VIEW_COLUMNS)[number];
/** A custom field's column in a saved view: `field.<key>`, its label from GET /ticket-fields. */
export type FieldColumn = `field.${string}`;
export type ListColumn = ViewColumn | FieldColumn;
export const FIELD_COLUMN_PATTERN = /^field\.[a-z][a-z0-9_]{0,39}$/;
/** Custom field columns a saved view may show. */
export const MAX_FIELD_COLUMNS = 5;
/** The custom field a column shows, or null for a built-in column. */
export const fieldOfColumn = (column: ListColumn): string | null => (column.startsWith('field.') ? column.slice('field.'.length) : null);
/** The built-in views' columns. */
export const DEFAULT_VIEW_COLUMNS: readonly ViewColumn[] = ['channel', 'status', 'priority', 'sla', 'assignee', 'updated'];

export const VIEW_COLUMN_NAMES: Record<ViewColumn, string> = {
	channel: 'Channel',
	status: 'Status',
	priority: 'Priority',
	sla: 'SLA',
	assignee: 'Assignee',
	group: 'Group',
	requester: 'Requester',
	tags: 'Tags',
	created: 'Created',
	updated: 'Updated'
};

/** How many views a user may save for themselves, and how many may be shared. */
export const MAX_PERSONAL_VIEWS = 50;
export const MAX_SHARED_VIEWS = 100;
