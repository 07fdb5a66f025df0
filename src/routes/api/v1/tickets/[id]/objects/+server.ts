import { json } from '@sveltejs/kit';
import { api, requirePrincipal } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** Records linked to the ticket and to its requester. */
export const GET: RequestHandler = (event) =>
	api(async () => json({ records: await tandem().objects.forTicket(event.params.id, requirePrincipal(event)) }));
