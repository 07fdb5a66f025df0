import { api, requirePrincipal } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import { SESSION_COOKIE } from '../../../../../server/auth/sessions';
import type { RequestHandler } from './$types';

/** A comment line this often keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 25_000;
/**
 * Messages that may wait for a client that is not reading. Beyond that the stream is ended
 * (what is queued is still sent) and the client reconnects, instead of the server buffering
 * without limit.
 */
const MAX_QUEUED = 1000;

const encoder = new TextEncoder();

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
		const stillValid = () => auth.fromToken(credential) !== null;
		let stop = () => {};
		const stream = new ReadableStream<Uint8Array>(
			{
				start(controller) {
					let open = true;
					const send = (text: string) => {
						if (!open) return;
						if ((controller.desiredSize ?? 0) > 0) return controller.enqueue(encoder.encode(text));
						stop();
						controller.close();
					};
					const unsubscribe = tickets.watch(principal, (row) => send(`event: ticket\ndata: ${JSON.stringify(row)}\n\n`));
					const keepalive = setInterval(() => {
						if (stillValid()) return send(': keepalive\n\n');
						stop();
						controller.close();
					}, KEEPALIVE_MS);
					stop = () => {
						open = false;
						clearInterval(keepalive);
						unsubscribe();
					};
					event.request.signal.addEventListener('abort', () => stop(), { once: true });
					// Sent at once, so the client has the response headers before the first change.
					send(': connected\n\n');
				},
				cancel() {
					stop();
				}
			},
			{ highWaterMark: MAX_QUEUED }
		);
		return new Response(stream, {
			headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' }
		});
	});
