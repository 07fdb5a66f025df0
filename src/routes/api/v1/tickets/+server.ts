import { json } from '@sveltejs/kit';
import { api, parse, parseJson, requirePrincipal } from '$lib/server/api';
import { createTicketSchema, listTicketsQuery } from '$lib/api/schemas';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = (event) =>
	api(async () => {
		const principal = requirePrincipal(event);
		const input = await parseJson(event.request, createTicketSchema);
		const ticket = tandem().tickets.create(input, principal);
		return json(ticket, { status: 201 });
	});

export const GET: RequestHandler = (event) =>
	api(() => {
		const principal = requirePrincipal(event);
		const query = parse(listTicketsQuery, Object.fromEntries(event.url.searchParams));
		return json(tandem().tickets.list(query, principal));
	});
