/**
 * One http server, one port: websockets at `/collab` (Hocuspocus) and `/yws/<document name>` (the
 * y-websocket bridge onto the same Hocuspocus, server/yws.ts) through crossws's node adapter;
 * everything else to the SvelteKit handler (pages, the HTTP API, `/healthz`).
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Hocuspocus, WebSocketLike } from '@hocuspocus/server';
import crossws from 'crossws/adapters/node';
import { SHUTDOWN } from './close-reasons';
import { resolveForwarded } from './forwarded';
import type { Logger } from './log';
import { bridgeYws, ywsDocumentName } from './yws';

type NodeHandler = (req: http.IncomingMessage, res: http.ServerResponse, next: () => void) => unknown;

export const COLLAB_PATH = '/collab';

/** Longest request target (path and query) served; browsers and proxies stop well before. */
export const MAX_TARGET_LENGTH = 8 * 1024;
const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Sent with every response, static files included; the page policy (CSP) is SvelteKit's. */
const SECURITY_HEADERS = {
	'x-content-type-options': 'nosniff',
	'referrer-policy': 'strict-origin-when-cross-origin'
} as const;

export interface HttpSettings extends SocketLimits {
	trustedProxies: number;
}

export function createHttpServer(hocuspocus: Hocuspocus, handler: NodeHandler, settings: HttpSettings, logger: Logger) {
	const failed = (what: string) => (error: unknown) => logger.error({ err: oneLine(error) }, `${what} failed`);
	const ws = websocketEndpoints(hocuspocus, settings, (bufferedBytes) => logger.warn({ bufferedBytes }, 'peer not reading: dropped'), failed('websocket upgrade'));
	const server = http.createServer((req, res) => {
		for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
		const malformed = malformedRequest(req);
		if (malformed) return void res.writeHead(malformed.status, { 'content-type': 'text/plain', connection: 'close' }).end(malformed.message);
		resolveForwarded(req, settings.trustedProxies);
		// A failure inside one request (thrown, or a rejected promise of the handler) answers that
		// request only, and is logged as one line. adapter-node's own chain drops the promise of
		// its page handler (behind the prerendered-files step): what rejects there reaches the
		// last-resort handler in index.ts instead, logged without an answer.
		guard(() => handler(req, res, () => res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found')), (error) => {
			failed(`${req.method} request`)(error);
			if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain', connection: 'close' }).end('Internal error');
			else res.destroy();
		});
	});
	server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
		// A reset socket must not become an unhandled 'error' event, which would end the process.
		socket.on('error', () => socket.destroy());
		const malformed = malformedRequest(req);
		if (malformed) return void refuseUpgrade(socket, malformed.status, malformed.message);
		resolveForwarded(req, settings.trustedProxies);
		if (!ws.handleUpgrade(req, socket, head)) refuseUpgrade(socket, 404, 'Not Found');
	});
	return { server, closeSockets: ws.closeAll };
}

/**
 * What this server cannot serve, answered before any handler sees it: an unknown method, an
 * overlong target, or a path that is not a valid percent-encoded absolute path.
 */
function malformedRequest(req: http.IncomingMessage): { status: number; message: string } | null {
	const target = req.url ?? '';
	if (!METHODS.has(req.method ?? '')) return { status: 405, message: 'Method not allowed' };
	if (target.length > MAX_TARGET_LENGTH) return { status: 414, message: 'URI too long' };
	if (!target.startsWith('/') || target.startsWith('//')) return { status: 400, message: 'Bad request target' };
	try {
		decodeURIComponent(target.split('?')[0]);
	} catch {
		return { status: 400, message: 'Bad percent-encoding in path' };
	}
	return null;
}

function refuseUpgrade(socket: Duplex, status: number, message: string) {
	socket.end(`HTTP/1.1 ${status} ${message}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** Runs `run`; a throw or a rejection of the promise it returns goes to `onError`. */
function guard(run: () => unknown, onError: (error: unknown) => void) {
	try {
		const result = run();
		if (result instanceof Promise) result.catch(onError);
	} catch (error) {
		onError(error);
	}
}

/** An error as one short line: a client that can cause it must not fill the logs with stack traces. */
export function oneLine(error: unknown): string {
	return (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).split('\n')[0].slice(0, 500);
}

/** The websocket endpoints, also attached to Vite's dev server by the dev plugin. */
export function websocketEndpoints(
	hocuspocus: Hocuspocus,
	limits: SocketLimits,
	onDrop: (bufferedBytes: number) => void = () => {},
	onError: (error: unknown) => void = () => {}
) {
	const collab = socketEndpoint(limits, onDrop, (socket, request) => hocuspocus.handleConnection(socket, request));
	const yws = socketEndpoint(limits, onDrop, (socket, request) => bridgeYws(hocuspocus, socket, request));
	return {
		/** Takes the upgrade if its path is one of ours; false leaves it to the caller. */
		handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean {
			const path = (req.url ?? '/').split('?')[0];
			const endpoint = path === COLLAB_PATH ? collab : ywsDocumentName(path) ? yws : null;
			if (!endpoint) return false;
			guard(() => endpoint.handleUpgrade(req, socket, head), (error) => {
				onError(error);
				socket.destroy();
			});
			return true;
		},
		closeAll() {
			for (const endpoint of [collab, yws]) endpoint.closeAll(SHUTDOWN.code, SHUTDOWN.reason);
		}
	};
}

/** The receiving side of one socket, as its endpoint drives it. */
export interface SocketSession {
	handleMessage(frame: Uint8Array): void;
	handleClose(event: { code: number; reason: string }): void;
}

/** One websocket endpoint: crossws with the socket limits, each socket given to `open`'s session. */
function socketEndpoint(limits: SocketLimits, onDrop: (bufferedBytes: number) => void, open: (socket: WebSocketLike, request: Request) => SocketSession) {
	type Peer = { request: Request; _session?: SocketSession };
	return crossws({
		serverOptions: { maxPayload: limits.maxMessageBytes },
		hooks: {
			open(peer) {
				const p = peer as unknown as Peer;
				p._session = open(boundedSocket(peer, limits, onDrop), p.request);
			},
			message(peer, message) {
				(peer as unknown as Peer)._session?.handleMessage(message.uint8Array());
			},
			close(peer, event) {
				(peer as unknown as Peer)._session?.handleClose({ code: event.code ?? 1000, reason: event.reason ?? '' });
			}
		}
	});
}

export interface SocketLimits {
	maxMessageBytes: number;
	/** Bytes waiting to be sent to one peer past which it must keep reading to stay connected. */
	sendBufferBytes: number;
	/** How long a peer over `sendBufferBytes` may go without reading anything before it is dropped. */
	sendStallMs: number;
}

/** Past this many times `sendBufferBytes` waiting, a peer is dropped even while it reads: a trickle cannot hold memory. */
const SEND_BUFFER_CEILING = 4;

type CrosswsPeer = { websocket: { readyState?: number; send(data: Uint8Array): void; close(code?: number, reason?: string): void }; bufferedAmount: number; terminate(): void };

/**
 * The socket as Hocuspocus sees it, with a bound on what may wait to be sent: a peer that stops
 * reading is dropped instead of making the server buffer without limit. One large frame (the
 * sync of a big ticket) may take the buffer past the limit: the peer stays while it makes
 * progress reading it, measured as bytes handed to the socket minus bytes still waiting.
 */
function boundedSocket(peer: unknown, limits: SocketLimits, onDrop: (bufferedBytes: number) => void) {
	const p = peer as CrosswsPeer;
	let written = 0;
	let drained = 0;
	let progressAt = Date.now();
	const notReading = (): boolean => {
		const buffered = p.bufferedAmount;
		const now = Date.now();
		if (buffered <= limits.sendBufferBytes || written - buffered > drained) {
			drained = written - buffered;
			progressAt = now;
		}
		if (buffered <= limits.sendBufferBytes) return false;
		return buffered > limits.sendBufferBytes * SEND_BUFFER_CEILING || now - progressAt > limits.sendStallMs;
	};
	return {
		get readyState() {
			return p.websocket.readyState ?? WebSocket.CLOSED;
		},
		send(data: Uint8Array) {
			if (notReading()) {
				onDrop(p.bufferedAmount);
				p.terminate();
				return;
			}
			written += data.length;
			p.websocket.send(data);
		},
		close(code?: number, reason?: string) {
			p.websocket.close(code, reason);
		}
	};
}
