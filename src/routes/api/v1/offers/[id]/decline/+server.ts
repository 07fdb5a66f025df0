import { api, requireUser } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** The offer moves on to the next agent (403 where admins do not allow declining). */
export const POST: RequestHandler = (event) =>
	api(() => {
		tandem().routing.router.decline(event.params.id, requireUser(event).id);
		return new Response(null, { status: 204 });
	});
