import { json } from '@sveltejs/kit';
import { api, parseJson, requireUser } from '$lib/server/api';
import { setStatusSchema } from '$lib/api/routing';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = (event) => api(async () => json(await tandem().routing.presence.get(requireUser(event).id)));

/** The caller's status and channel availability; colleagues see the change on their streams. */
export const PUT: RequestHandler = (event) =>
	api(async () => {
		const user = requireUser(event);
		const input = await parseJson(event.request, setStatusSchema);
		return json(await tandem().routing.presence.set(user.id, input));
	});
