import { json } from '@sveltejs/kit';
import { api, requirePrincipal } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** A customer with their addresses and the tickets of theirs the caller may see. */
export const GET: RequestHandler = (event) =>
	api(() => json(tandem().tickets.customerContext(event.params.id, requirePrincipal(event))));
