import { json } from '@sveltejs/kit';
import { api, parse, requirePrincipal } from '$lib/server/api';
import { ticketEventsQuery } from '$lib/api/schemas';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = (event) =>
	api(async () => {
		const principal = requirePrincipal(event);
		const { after } = parse(ticketEventsQuery, Object.fromEntries(event.url.searchParams));
		return json({ events: await tandem().tickets.events(event.params.id, principal, after) });
	});
