import { error, redirect, type Handle, type RequestEvent } from '@sveltejs/kit';
import type { Auth } from '../server/auth';
import { SESSION_COOKIE } from '../server/auth/sessions';
import { ApiError } from '../server/errors';
import { isDatabaseUnavailable } from '../server/storage/unavailable';
import { DATABASE_UNAVAILABLE, errorResponse } from '$lib/server/api';
import { pageRefusal } from '$lib/server/page-access';
import { tandem } from '$lib/server/tandem';

/** Pages that need no sign-in. The HTTP API, /healthz and /metrics (its own token) answer for themselves. */
const PUBLIC_PAGES = ['/login', '/logout', '/healthz', '/metrics', '/api', '/chat', '/help', '/satisfaction', '/favicon.ico'];

/** Pages any site may show in a frame: the chat widget embeds /chat on customers' sites. */
const FRAMABLE_PAGES = ['/chat'];

/** Sets the caller of `event`: a bearer token (bots, API clients) or the session cookie. */
async function resolveCaller(event: RequestEvent, auth: Auth) {
	event.locals.principal = null;
	event.locals.session = null;
	event.locals.credential = null;
	const authorization = event.request.headers.get('authorization');
	if (authorization?.toLowerCase().startsWith('bearer ')) {
		const authenticated = await auth.authenticate(authorization.slice(7).trim());
		event.locals.principal = authenticated?.principal ?? null;
		event.locals.credential = authenticated?.credential ?? null;
	} else {
		const token = event.cookies.get(SESSION_COOKIE);
		const resolved = token ? await auth.fromSessionToken(token) : null;
		if (resolved) {
			event.locals.principal = resolved.principal;
			event.locals.session = resolved.session;
			event.locals.credential = { kind: 'session', id: resolved.session.id };
			// The session may have been extended: keep the cookie's expiry in step.
			event.cookies.set(SESSION_COOKIE, token!, {
				path: '/',
				httpOnly: true,
				sameSite: 'lax',
				secure: event.url.protocol === 'https:',
				expires: new Date(resolved.session.expiresAt)
			});
		} else if (token) {
			event.cookies.delete(SESSION_COOKIE, { path: '/' });
		}
	}
}

/** Resolves the caller once per request, then checks page access. */
export const handle: Handle = async ({ event, resolve }) => {
	const { auth, logger } = tandem();
	const path = event.url.pathname;
	try {
		await resolveCaller(event, auth);
	} catch (err) {
		// Credentials are looked up in the database: while it does not answer (stopped, restarting),
		// the caller is told to come back, as a 503 rather than a failure of the server. Anything
		// else is a fault of the server, reported as one.
		if (!isDatabaseUnavailable(err)) throw err;
		logger.warn({ err: (err as Error).message }, 'the caller could not be looked up: the database does not answer');
		if (path.startsWith('/api/')) return errorResponse(new ApiError(503, 'storage_unavailable', DATABASE_UNAVAILABLE));
		error(503, DATABASE_UNAVAILABLE);
	}

	const isPage = !path.startsWith('/api/') && !PUBLIC_PAGES.some((p) => path === p || path.startsWith(p + '/'));
	if (isPage) {
		const principal = event.locals.principal;
		if (principal?.kind !== 'user') redirect(303, `/login`);
		// Opening a role page is refused by its layout load, which renders the designed error page;
		// anything else (a form action, a data request that could skip that layout) is refused here.
		const refusal = pageRefusal(path, principal);
		const opening = (event.request.method === 'GET' || event.request.method === 'HEAD') && !event.isDataRequest;
		if (refusal && !opening) error(403, refusal);
	}
	const response = await resolve(event);
	// A policy of its own next to SvelteKit's page policy (both apply): no other site may frame the
	// workspace, its forms or its API answers (clickjacking).
	if (!FRAMABLE_PAGES.includes(path)) response.headers.append('content-security-policy', "frame-ancestors 'self'");
	return response;
};
