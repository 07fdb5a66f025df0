/**
 * One http server, one port: Hocuspocus at `/collab` (crossws's node adapter), everything else
 * to the SvelteKit handler (pages, the HTTP API, `/healthz`).
 */
import http from 'node:http';
import type { Hocuspocus } from '@hocuspocus/server';
import crossws from 'crossws/adapters/node';
import type { Logger } from './log';

type NodeHandler = (req: http.IncomingMessage, res: http.ServerResponse, next: () => void) => void;

export const COLLAB_PATH = '/collab';
export const FORWARDED_PROTO = 'x-forwarded-proto';

export function createHttpServer(hocuspocus: Hocuspocus, handler: NodeHandler, limits: SocketLimits, logger: Logger) {
	const ws = collabUpgrade(hocuspocus, limits, (bufferedBytes) => logger.warn({ bufferedBytes }, 'peer not reading: dropped'));
	const server = http.createServer((req, res) => {
		// adapter-node takes the protocol from this header (PROTOCOL_HEADER) and would assume
		// https without it; a TLS-terminating proxy in front sets it to https.
		req.headers[FORWARDED_PROTO] ??= 'http';
		handler(req, res, () => {
			res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
		});
	});
	server.on('upgrade', (req, socket, head) => {
		const path = (req.url ?? '/').split('?')[0];
		if (path === COLLAB_PATH) {
			ws.handleUpgrade(req, socket, head);
			return;
		}
		socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
	});
	return { server, closeSockets: () => ws.closeAll(1001, 'server shutting down') };
}

/** The websocket side of `/collab`, also attached to Vite's dev server by the dev plugin. */
export function collabUpgrade(hocuspocus: Hocuspocus, limits: SocketLimits, onDrop: (bufferedBytes: number) => void = () => {}) {
	type Peer = { request: Request; _hocuspocus?: ReturnType<Hocuspocus['handleConnection']> };
	return crossws({
		serverOptions: { maxPayload: limits.maxMessageBytes },
		hooks: {
			open(peer) {
				const p = peer as unknown as Peer;
				p._hocuspocus = hocuspocus.handleConnection(boundedSocket(peer, limits.sendBufferBytes, onDrop), p.request);
			},
			message(peer, message) {
				(peer as unknown as Peer)._hocuspocus?.handleMessage(message.uint8Array());
			},
			close(peer, event) {
				(peer as unknown as Peer)._hocuspocus?.handleClose({ code: event.code ?? 1000, reason: event.reason ?? '' });
			}
		}
	});
}

export interface SocketLimits {
	maxMessageBytes: number;
	/** Bytes waiting to be sent to one peer before it counts as not reading and is dropped. */
	sendBufferBytes: number;
}

type CrosswsPeer = { websocket: { readyState?: number; send(data: Uint8Array): void; close(code?: number, reason?: string): void }; bufferedAmount: number; terminate(): void };

/**
 * The socket as Hocuspocus sees it, with a bound on what may wait to be sent: a peer that stops
 * reading is dropped instead of making the server buffer without limit.
 */
function boundedSocket(peer: unknown, limit: number, onDrop: (bufferedBytes: number) => void) {
	const p = peer as CrosswsPeer;
	return {
		get readyState() {
			return p.websocket.readyState ?? WebSocket.CLOSED;
		},
		send(data: Uint8Array) {
			if (p.bufferedAmount > limit) {
				onDrop(p.bufferedAmount);
				p.terminate();
				return;
			}
			p.websocket.send(data);
		},
		close(code?: number, reason?: string) {
			p.websocket.close(code, reason);
		}
	};
}
