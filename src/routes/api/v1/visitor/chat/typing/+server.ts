import { chatTypingSchema } from '$lib/api/schemas';
import { api, parseJson } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import { requireVisitor } from '$lib/server/visitor';
import type { RequestHandler } from './$types';

/** Whether the visitor is typing, shown to the agents in the ticket. */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const visitor = await requireVisitor(event, 'signals');
		const { typing } = await parseJson(event.request, chatTypingSchema);
		await tandem().chats.setTyping(visitor, typing);
		return new Response(null, { status: 204 });
	});
