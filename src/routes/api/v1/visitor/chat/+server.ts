import { json } from '@sveltejs/kit';
import { startChatSchema } from '$lib/api/schemas';
import { api, parseJson } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import { requireVisitor } from '$lib/server/visitor';
import type { RequestHandler } from './$types';

/**
 * Starts a chat with the first message: a chat ticket appears in the workspace. 409 while one is
 * going on. A link proving the email address given is mailed, pointing at this origin.
 */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const visitor = await requireVisitor(event, 'messages');
		const input = await parseJson(event.request, startChatSchema);
		return json(await tandem().chats.start(visitor, input, event.url.origin), { status: 201 });
	});

/** The visitor ends the chat. */
export const DELETE: RequestHandler = (event) =>
	api(async () => {
		const visitor = await requireVisitor(event);
		return json(await tandem().chats.leave(visitor));
	});
