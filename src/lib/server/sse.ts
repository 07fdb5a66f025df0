/**
 * Server-Sent Events responses (`/stream`, `/talk/stream`, the chat visitor's stream): one event
 * per change the subscriber is told of, a keepalive comment, an end as soon as the caller's access
 * changes (or, for a visitor, at the keepalive after their credential went), and a bound on what may wait for a client that is not reading: past it the stream
 * ends (the client reconnects) instead of the server buffering without limit.
 */
import type { RequestEvent } from '@sveltejs/kit';
import { tandem } from './tandem';

/** A comment line this often keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 25_000;
/** Messages that may wait for a client that is not reading before the stream is ended. */
const MAX_QUEUED = 1000;

const encoder = new TextEncoder();

/** Sends `event: <name>` with `data` as JSON. */
export type SendEvent = (name: string, data: unknown) => void;

export interface StreamOptions {
	/** Checked at every keepalive: false (or a failure) ends the stream (a revoked credential stops receiving). */
	stillValid?: () => boolean | Promise<boolean>;
	/** Registers `end`, to be called when the stream must stop at once; returns the unregistering. */
	endWhen?: (end: () => void) => () => void;
}

/**
 * The response of an event stream. `subscribe` starts sending (it may send at once, e.g. a
 * snapshot; it may be async) and returns the function that stops it, called when the client goes
 * away. Its failure ends the stream.
 */
export function eventStream(
	signal: AbortSignal,
	subscribe: (send: SendEvent) => (() => void) | Promise<() => void>,
	options: StreamOptions = {}
): Response {
	let stop = () => {};
	const stream = new ReadableStream<Uint8Array>(
		{
			start(controller) {
				let open = true;
				let unsubscribe: (() => void) | null = null;
				const end = () => {
					if (!open) return;
					open = false;
					clearInterval(keepalive);
					stopWatching();
					unsubscribe?.();
					controller.close();
				};
				const write = (text: string) => {
					if (!open) return;
					if ((controller.desiredSize ?? 0) > 0) return controller.enqueue(encoder.encode(text));
					end();
				};
				const keepalive = setInterval(() => {
					if (!options.stillValid) return write(': keepalive\n\n');
					Promise.resolve()
						.then(options.stillValid)
						.then(
							(valid) => (valid ? write(': keepalive\n\n') : end()),
							() => end()
						);
				}, KEEPALIVE_MS);
				stop = end;
				const stopWatching = options.endWhen?.(end) ?? (() => {});
				signal.addEventListener('abort', end, { once: true });
				// Sent at once, so the client has the response headers before the first message.
				write(': connected\n\n');
				const send: SendEvent = (name, data) => write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
				Promise.resolve()
					.then(() => subscribe(send))
					.then(
						(off) => {
							// A snapshot too large for the queue may have ended the stream already.
							if (open) unsubscribe = off;
							else off();
						},
						() => end()
					);
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

/**
 * An event stream for the caller of the HTTP API. It serves the principal it was opened for: when
 * that principal's access changes (a revoked token, a signed-out, disabled or regrouped user, a
 * new role; in this process at once, from another within the access poll) the stream ends, and a
 * client that reconnects is served for what it may see now.
 */
export function principalEventStream(event: RequestEvent, subscribe: (send: SendEvent) => (() => void) | Promise<() => void>): Response {
	const { auth, accessChanges, relay } = tandem();
	const { principal, credential } = event.locals;
	const unchanged = async () => !!credential && JSON.stringify(await auth.recheck(credential)) === JSON.stringify(principal);
	return eventStream(event.request.signal, subscribe, {
		// A failed re-check ends the stream too: the client reconnects and is checked afresh. So
		// does a gap in what the cluster's nodes told each other: the client reads what it missed.
		endWhen: (end) => {
			const stops = [
				accessChanges.subscribe(() => {
					unchanged().then(
						(same) => same || end(),
						() => end()
					);
				}),
				relay?.onGap(end) ?? (() => {})
			];
			return () => stops.forEach((stop) => stop());
		}
	});
}
