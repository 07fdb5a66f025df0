import { api, requirePrincipal } from '$lib/server/api';
import { principalEventStream } from '$lib/server/sse';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/**
 * Server-Sent Events: `event: ticket` with the ticket's index row whenever a ticket the caller
 * may see is created or changes, once the change is stored.
 */
export const GET: RequestHandler = (event) =>
	api(() => {
		const principal = requirePrincipal(event);
		return principalEventStream(event, (send) => tandem().tickets.watch(principal, (row) => send('ticket', row)));
	});
