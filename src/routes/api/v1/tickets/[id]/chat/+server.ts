import { json } from '@sveltejs/kit';
import { api, requirePrincipal } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import { notFound } from '../../../../../../../server/errors';
import type { RequestHandler } from './$types';

/** The ticket's live chat (status, visitor presence, serving agent) and the visitor's path, newest first. 404 when the ticket has no chat. */
export const GET: RequestHandler = (event) =>
	api(async () => {
		const found = await tandem().chats.forTicket(event.params.id, requirePrincipal(event));
		if (!found) throw notFound('chat');
		return json(found);
	});
