import { json } from '@sveltejs/kit';
import { api, requirePrincipal } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** Delivery state of the ticket's outbound messages: `{deliveries: {[entryId]: {status, attempts, lastError?, sentAt?}}}`. */
export const GET: RequestHandler = (event) =>
	api(async () => {
		const principal = requirePrincipal(event);
		return json({ deliveries: await tandem().tickets.deliveries(event.params.id, principal) });
	});
