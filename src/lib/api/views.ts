/**
 * The agent workspace's ticket views and list orders, by id: shared by the HTTP API
 * (`GET /api/v1/views`, `GET /api/v1/tickets?view=…&sort=…`) and the UI. What each view matches
 * is decided in one place, `viewCondition` in server/ticket-index.ts.
 */
export const VIEW_IDS = ['mine', 'unassigned', 'open', 'pending', 'solved', 'recent'] as const;
export type ViewId = (typeof VIEW_IDS)[number];

export const VIEW_NAMES: Record<ViewId, string> = {
	mine: 'My open tickets',
	unassigned: 'Unassigned in my groups',
	open: 'All open',
	pending: 'Pending',
	solved: 'Solved',
	recent: 'Recently updated'
};

/** How far back "Recently updated" reaches. */
export const RECENT_MS = 7 * 24 * 60 * 60_000;

/** Ticket list orders, newest (or most urgent) first: `priority` is urgent > high > normal > low, then updated. */
export const TICKET_SORTS = ['updated', 'created', 'priority'] as const;
export type TicketSort = (typeof TICKET_SORTS)[number];
