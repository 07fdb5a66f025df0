import { json } from '@sveltejs/kit';
import { api, requireUser } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/**
 * The work is the caller's; a ticket is assigned to them, a call is answered by them (as Accept in
 * the Talk console). 409 when the offer has moved on or been taken.
 */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const user = requireUser(event);
		const { routing, calls } = tandem();
		const call = (await calls.callOffers(user.id)).find((o) => o.id === event.params.id);
		if (call) {
			await calls.accept(call.ref, user);
			return json({ ticketId: call.ticketId, itemId: call.itemId, kind: call.kind, ref: call.ref });
		}
		const item = await routing.router.accept(event.params.id, user.id);
		return json({ ticketId: item.ticketId, itemId: item.id, kind: item.kind, ref: item.ref });
	});
