/**
 * Server-Sent Events responses: a stream that sends what a subscription produces, keeps idle
 * connections open with comments, and ends (the client reconnects) instead of buffering without
 * limit for a client that is not reading.
 */

/** A comment line this often keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 25_000;
/** Messages that may wait for a client that is not reading before the stream is ended. */
const MAX_QUEUED = 1000;

const encoder = new TextEncoder();

export type Send = (event: string, data: unknown) => void;

export interface StreamOptions {
	/** Checked at every keepalive: false ends the stream (a revoked credential stops receiving). */
	stillValid?: () => boolean;
}

/**
 * `subscribe` starts sending and returns how to stop; it may be async. Its errors before the first
 * byte end the stream.
 */
export function eventStream(
	signal: AbortSignal,
	subscribe: (send: Send) => (() => void) | Promise<() => void>,
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
					unsubscribe?.();
					controller.close();
				};
				const write = (text: string) => {
					if (!open) return;
					if ((controller.desiredSize ?? 0) > 0) return controller.enqueue(encoder.encode(text));
					end();
				};
				const keepalive = setInterval(() => {
					if (options.stillValid && !options.stillValid()) return end();
					write(': keepalive\n\n');
				}, KEEPALIVE_MS);
				stop = end;
				signal.addEventListener('abort', end, { once: true });
				// Sent at once, so the client has the response headers before the first message.
				write(': connected\n\n');
				const send: Send = (event, data) => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
				Promise.resolve()
					.then(() => subscribe(send))
					.then(
						(off) => {
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
