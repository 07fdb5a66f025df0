import { json } from '@sveltejs/kit';
import { api, requireUser } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** The work is the caller's; a ticket is assigned to them. 409 when the offer has moved on or been taken. */
export const POST: RequestHandler = (event) =>
	api(() => {
		const item = tandem().routing.router.accept(event.params.id, requireUser(event).id);
		return json({ ticketId: item.ticketId, itemId: item.id, kind: item.kind, ref: item.ref });
	});
