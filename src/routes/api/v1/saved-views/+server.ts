import { json } from '@sveltejs/kit';
import { api, parseJson, requireUser } from '$lib/server/api';
import { savedViewInputSchema } from '$lib/api/schemas';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** The caller's own views and the shared ones, by name. */
export const GET: RequestHandler = (event) => api(async () => json({ views: await tandem().savedViews.list(requireUser(event)) }));

/** Saves a view: the caller's own, or (admins) shared with everyone. */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const user = requireUser(event);
		const input = await parseJson(event.request, savedViewInputSchema);
		return json(await tandem().savedViews.create(input, user), { status: 201 });
	});
