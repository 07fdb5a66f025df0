import { json } from '@sveltejs/kit';
import { api, parseJson, requireUser } from '$lib/server/api';
import { placeCallSchema } from '$lib/api/schemas';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** The caller's live calls and the calls ringing for them. */
export const GET: RequestHandler = (event) =>
	api(async () => {
		const user = requireUser(event);
		return json({ calls: await tandem().calls.current(user) });
	});

/** Calls a ticket's requester on their talk number. */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const user = requireUser(event);
		const { ticketId } = await parseJson(event.request, placeCallSchema);
		return json(await tandem().calls.place(ticketId, user), { status: 201 });
	});
