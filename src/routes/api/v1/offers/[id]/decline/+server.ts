import { api, requireUser } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** The offer moves on to the next agent (403 where admins do not allow declining); a call's, as Decline in the Talk console. */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const user = requireUser(event);
		const { routing, calls } = tandem();
		const call = (await calls.callOffers(user.id)).find((o) => o.id === event.params.id);
		if (call) await calls.decline(call.ref, user);
		else await routing.router.decline(event.params.id, user.id);
		return new Response(null, { status: 204 });
	});
