import { json } from '@sveltejs/kit';
import { searchQuerySchema } from '$lib/api/search';
import { api, parse, requirePrincipal } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = (event) =>
	api(async () => {
		const principal = requirePrincipal(event);
		const { q, limit, cursor } = parse(searchQuerySchema, Object.fromEntries(event.url.searchParams));
		const { search, customers, routing } = tandem();
		const { hits, next } = await search.find(search.parse(q), principal, { limit, cursor });
		// Each row with its SLA timers and its requester's name, as the ticket list has them.
		const names = await customers.namesOf(hits.map(({ ticket }) => ticket.requesterId));
		return json({
			results: await Promise.all(hits.map(async ({ ticket, passage }) => ({ ...ticket, sla: await routing.sla.slaFor(ticket), requesterName: names.get(ticket.requesterId) ?? null, passage }))),
			next
		});
	});
