import { json } from '@sveltejs/kit';
import { api, parseJson, requireUser } from '$lib/server/api';
import { markNoticesReadSchema } from '$lib/api/notices';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** Marks the caller's notices read: some by id, or all. */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const user = requireUser(event);
		const input = await parseJson(event.request, markNoticesReadSchema);
		return json({ marked: await tandem().notices.markRead(user, 'all' in input ? 'all' : input.ids) });
	});
