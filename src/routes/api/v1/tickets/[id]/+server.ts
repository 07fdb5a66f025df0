import { json } from '@sveltejs/kit';
import { api, parseJson, requirePrincipal } from '$lib/server/api';
import { ticketFieldsPatchSchema } from '$lib/api/schemas';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = (event) =>
	api(async () => json(await tandem().tickets.read(event.params.id, requirePrincipal(event))));

/**
 * Changes the ticket's fields as the caller, checked as the same caller's change from a peer would
 * be, and merged into the live document; answers with the ticket's index row as it now is.
 */
export const PATCH: RequestHandler = (event) =>
	api(async () => {
		const principal = requirePrincipal(event);
		const changes = await parseJson(event.request, ticketFieldsPatchSchema);
		return json(await tandem().tickets.patch(event.params.id, changes, principal));
	});
