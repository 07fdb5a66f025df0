import { json } from '@sveltejs/kit';
import { api, parseJson, requirePrincipal } from '$lib/server/api';
import { mergeRequestSchema } from '$lib/api/merge';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** Merges the ticket `sourceId` into this one: 200 with both tickets' list rows once stored. */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const principal = requirePrincipal(event);
		const { sourceId } = await parseJson(event.request, mergeRequestSchema);
		return json(await tandem().tickets.merge(event.params.id, sourceId, principal));
	});
