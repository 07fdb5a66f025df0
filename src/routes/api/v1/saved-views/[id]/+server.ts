import { json } from '@sveltejs/kit';
import { api, parseJson, requireUser } from '$lib/server/api';
import { savedViewInputSchema } from '$lib/api/schemas';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = (event) => api(async () => json(await tandem().savedViews.get(event.params.id, requireUser(event))));

/** Replaces the view's definition: the caller's own, or a shared one by an admin. */
export const PUT: RequestHandler = (event) =>
	api(async () => {
		const user = requireUser(event);
		const input = await parseJson(event.request, savedViewInputSchema);
		return json(await tandem().savedViews.update(event.params.id, input, user));
	});

export const DELETE: RequestHandler = (event) =>
	api(async () => {
		await tandem().savedViews.delete(event.params.id, requireUser(event));
		return new Response(null, { status: 204 });
	});
