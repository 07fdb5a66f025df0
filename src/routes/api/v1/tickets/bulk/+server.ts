import { json } from '@sveltejs/kit';
import { api, parseJson, requirePrincipal } from '$lib/server/api';
import { bulkActionSchema } from '$lib/api/schemas';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** Applies one action to each selected ticket as the caller; 200 with what happened to each. */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const principal = requirePrincipal(event);
		const action = await parseJson(event.request, bulkActionSchema);
		return json(await tandem().bulk.apply(action, principal));
	});
