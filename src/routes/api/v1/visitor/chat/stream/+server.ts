import { api } from '$lib/server/api';
import { eventStream } from '$lib/server/sse';
import { tandem } from '$lib/server/tandem';
import { requireVisitor, visitorToken } from '$lib/server/visitor';
import { ApiError } from '../../../../../../../server/errors';
import type { RequestHandler } from './$types';

/**
 * Server-Sent Events of the visitor's chat: `chat` (status, agent), every public `message` (the
 * ones so far first), and `typing` while an agent writes a public reply. `?token=` carries the
 * visitor token (EventSource cannot set headers). `survey` when the chat's satisfaction survey is asked.
 */
export const GET: RequestHandler = (event) =>
	api(async () => {
		const visitor = await requireVisitor(event);
		const { chats } = tandem();
		if (!(await chats.current(visitor))) throw new ApiError(404, 'no_chat', 'start a chat first');
		return eventStream(event.request.signal, (send) => chats.subscribe(visitor, (e) => send(e.type, e)), {
			stillValid: async () => (await chats.visitor(visitorToken(event))) !== null
		});
	});
