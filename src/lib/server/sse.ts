/**
 * Server-Sent Events for the HTTP API (`/stream`, `/talk/stream`): one event per change the
 * subscriber is told of, a keepalive comment, the caller's credential checked again at each
 * keepalive, and a bound on what may wait for a client that is not reading.
 */
import type { RequestEvent } from '@sveltejs/kit';
import { SESSION_COOKIE } from '../../../server/auth/sessions';
import { tandem } from './tandem';

/** A comment line this often keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 25_000;
/**
 * Messages that may wait for a client that is not reading. Beyond that the stream is ended
 * (what is queued is still sent) and the client reconnects, instead of the server buffering
 * without limit.
 */
const MAX_QUEUED = 1000;

const encoder = new TextEncoder();

/** Sends `event: <name>` with `data` as JSON. */
export type SendEvent = (name: string, data: unknown) => void;

/**
 * The response of an event stream. `subscribe` starts sending (it may send at once, e.g. a
 * snapshot) and returns the function that stops it, called when the client goes away.
 */
export function eventStream(event: RequestEvent, subscribe: (send: SendEvent) => () => void): Response {
	const { auth } = tandem();
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
				const keepalive = setInterval(() => {
					if (stillValid()) return send(': keepalive\n\n');
					stop();
					controller.close();
				}, KEEPALIVE_MS);
				let unsubscribe = () => {};
				stop = () => {
					open = false;
					clearInterval(keepalive);
					unsubscribe();
				};
				event.request.signal.addEventListener('abort', () => stop(), { once: true });
				// Sent at once, so the client has the response headers before the first change.
				send(': connected\n\n');
				const off = subscribe((name, data) => send(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`));
				// A snapshot too large for the queue may have ended the stream already.
				if (open) unsubscribe = off;
				else off();
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
}
