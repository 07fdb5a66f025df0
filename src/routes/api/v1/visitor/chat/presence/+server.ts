import { chatPresenceSchema } from '$lib/api/schemas';
import { api, parseJson } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import { requireVisitor } from '$lib/server/visitor';
import type { RequestHandler } from './$types';

/** The visitor is looking at the page (online) or it went to the background (away). */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const visitor = await requireVisitor(event, 'signals');
		const { presence } = await parseJson(event.request, chatPresenceSchema);
		await tandem().chats.setPresence(visitor, presence);
		return new Response(null, { status: 204 });
	});
