import { json } from '@sveltejs/kit';
import { api, parseJson, requirePrincipal } from '$lib/server/api';
import { entryInputSchema } from '$lib/api/schemas';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** Appends one entry: 201 once it is durable, 200 with the stored entry for a repeated id. */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const principal = requirePrincipal(event);
		const input = await parseJson(event.request, entryInputSchema);
		const { entry, created } = await tandem().tickets.append(event.params.id, input, principal);
		return json(entry, { status: created ? 201 : 200 });
	});
