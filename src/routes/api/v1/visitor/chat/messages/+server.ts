import { json } from '@sveltejs/kit';
import { chatMessageSchema } from '$lib/api/schemas';
import { api, parseJson } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import { requireVisitor } from '$lib/server/visitor';
import type { RequestHandler } from './$types';

/** The visitor's message, once per id (a retry writes nothing). 409 after the chat ended. */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const visitor = await requireVisitor(event, 'messages');
		const message = await parseJson(event.request, chatMessageSchema);
		return json(await tandem().chats.say(visitor, message), { status: 201 });
	});
