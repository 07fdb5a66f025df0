import { api, requireUser } from '$lib/server/api';
import { principalEventStream } from '$lib/server/sse';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/**
 * Server-Sent Events for a Talk console: first `event: calls` with the caller's live calls and
 * the calls ringing for them, then `event: call` with every change to a call on a ticket they may
 * see (`ringsMe` tells whether it rings for them). An open stream is what "the console is open" means.
 */
export const GET: RequestHandler = (event) =>
	api(() => {
		const user = requireUser(event);
		const { calls, logger } = tandem();
		return principalEventStream(event, (send) => {
			// Sent once read: a `call` change in that moment may reach the console before it.
			calls.current(user).then(
				(list) => send('calls', { calls: list }),
				(error: unknown) => logger.error({ err: error, userId: user.id }, 'reading the live calls failed')
			);
			return calls.watch(user, (call) => send('call', call));
		});
	});
