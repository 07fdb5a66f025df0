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
import type { Logger } from './log';
import { bridgeYws, ywsDocumentName } from './yws';

type NodeHandler = (req: http.IncomingMessage, res: http.ServerResponse, next: () => void) => void;

export const COLLAB_PATH = '/collab';
export const FORWARDED_PROTO = 'x-forwarded-proto';

export function createHttpServer(hocuspocus: Hocuspocus, handler: NodeHandler, limits: SocketLimits, logger: Logger) {
	const ws = websocketEndpoints(hocuspocus, limits, (bufferedBytes) => logger.warn({ bufferedBytes }, 'peer not reading: dropped'));
	const server = http.createServer((req, res) => {
		// adapter-node takes the protocol from this header (PROTOCOL_HEADER) and would assume
		// https without it; a TLS-terminating proxy in front sets it to https.
		req.headers[FORWARDED_PROTO] ??= 'http';
		handler(req, res, () => {
			res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
		});
	});
	server.on('upgrade', (req, socket, head) => {
		if (ws.handleUpgrade(req, socket, head)) return;
		socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
	});
	return { server, closeSockets: ws.closeAll };
}

/** The websocket endpoints, also attached to Vite's dev server by the dev plugin. */
export function websocketEndpoints(hocuspocus: Hocuspocus, limits: SocketLimits, onDrop: (bufferedBytes: number) => void = () => {}) {
	const collab = socketEndpoint(limits, onDrop, (socket, request) => hocuspocus.handleConnection(socket, request));
	const yws = socketEndpoint(limits, onDrop, (socket, request) => bridgeYws(hocuspocus, socket, request));
	return {
		/** Takes the upgrade if its path is one of ours; false leaves it to the caller. */
		handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean {
			const path = (req.url ?? '/').split('?')[0];
			const endpoint = path === COLLAB_PATH ? collab : ywsDocumentName(path) ? yws : null;
			if (!endpoint) return false;
			void endpoint.handleUpgrade(req, socket, head);
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
