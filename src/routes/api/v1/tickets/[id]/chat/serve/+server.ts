import { json } from '@sveltejs/kit';
import { api, requireUser } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** The signed-in agent serves the chat. 409 when a colleague does already, or it has ended. */
export const POST: RequestHandler = (event) => api(async () => json(await tandem().chats.serve(event.params.id, requireUser(event))));
