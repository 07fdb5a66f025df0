import { json } from '@sveltejs/kit';
import { api, parseJson, requirePrincipal } from '$lib/server/api';
import { splitRequestSchema } from '$lib/api/merge';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** Starts a new ticket from entries of this one: 201 with the new ticket's list row; 200 with it for a repeat of the same `id`. */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const principal = requirePrincipal(event);
		const request = await parseJson(event.request, splitRequestSchema);
		const { row, created } = await tandem().tickets.split(event.params.id, request, principal);
		return json(row, { status: created ? 201 : 200 });
	});
