import type { Handle } from '@sveltejs/kit';
import { SESSION_COOKIE } from '../server/auth/sessions';
import { tandem } from '$lib/server/tandem';

/** Resolves the caller once per request: a bearer token (bots, API clients) or the session cookie. */
export const handle: Handle = async ({ event, resolve }) => {
	const { auth } = tandem();
	event.locals.principal = null;
	event.locals.session = null;
	const authorization = event.request.headers.get('authorization');
	if (authorization?.toLowerCase().startsWith('bearer ')) {
		event.locals.principal = auth.fromToken(authorization.slice(7).trim());
	} else {
		const token = event.cookies.get(SESSION_COOKIE);
		const resolved = token ? auth.fromSessionToken(token) : null;
		if (resolved) {
			event.locals.principal = resolved.principal;
			event.locals.session = resolved.session;
		}
	}
	return resolve(event);
};
