import { json } from '@sveltejs/kit';
import { api, requirePrincipal } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** Ends the chat (the ticket stays open for follow-ups by email). Ending an ended chat changes nothing. */
export const POST: RequestHandler = (event) => api(async () => json(await tandem().chats.end(event.params.id, requirePrincipal(event))));
