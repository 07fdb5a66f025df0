import { json } from '@sveltejs/kit';
import { api, parse, parseJson, requirePrincipal } from '$lib/server/api';
import { createTicketSchema, listTicketsQuery } from '$lib/api/schemas';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = (event) =>
	api(async () => {
		const principal = requirePrincipal(event);
		const input = await parseJson(event.request, createTicketSchema);
		const ticket = await tandem().tickets.create(input, principal);
		return json(ticket, { status: 201 });
	});

export const GET: RequestHandler = (event) =>
	api(async () => {
		const principal = requirePrincipal(event);
		const query = parse(listTicketsQuery, Object.fromEntries(event.url.searchParams));
		const { tickets, savedViews, customers, routing } = tandem();
		const list = query.saved ? await savedViews.tickets(query.saved, principal, { limit: query.limit, cursor: query.cursor }) : await tickets.list(query, principal);
		// Each row with its SLA timers (the list shows the nearest target, amber and red) and its requester's name.
		const names = await customers.namesOf(list.tickets.map((row) => row.requesterId));
		return json({ ...list, tickets: await Promise.all(list.tickets.map(async (row) => ({ ...row, sla: await routing.sla.slaFor(row), requesterName: names.get(row.requesterId) ?? null }))) });
	});
