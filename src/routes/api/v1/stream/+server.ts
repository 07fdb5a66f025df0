import { api, requirePrincipal } from '$lib/server/api';
import { eventStream } from '$lib/server/sse';
import { tandem } from '$lib/server/tandem';
import { SESSION_COOKIE } from '../../../../../server/auth/sessions';
import type { RequestHandler } from './$types';

/**
 * Server-Sent Events: `event: ticket` with the ticket's index row whenever a ticket the caller
 * may see is created or changes, once the change is stored.
 */
export const GET: RequestHandler = (event) =>
	api(() => {
		const principal = requirePrincipal(event);
		const { tickets, auth } = tandem();
		// The credential the stream opened with is checked again at every keepalive: a revoked
		// token, a signed-out or disabled user stops receiving within one interval.
		const authorization = event.request.headers.get('authorization');
		const credential = authorization?.toLowerCase().startsWith('bearer ') ? authorization.slice(7).trim() : (event.cookies.get(SESSION_COOKIE) ?? '');
		return eventStream(event.request.signal, (send) => tickets.watch(principal, (row) => send('ticket', row)), {
			stillValid: () => auth.fromToken(credential) !== null
		});
	});
