/** A y-websocket peer (the standard provider of other Yjs ecosystems) of a document on `/yws`. */
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

export interface YwsClient {
	doc: Y.Doc;
	provider: WebsocketProvider;
	/** How the server closed the first socket, if it did. */
	closed: () => { code: number; reason: string } | null;
}

export type WebSocketClass = new (address: string, protocols?: string | string[]) => WebSocket;

/** Connects to `documentName` on the server's `/yws`, with `token` in the query string when given. */
export function connectYws(
	server: { url: string },
	documentName: string,
	token?: string,
	options: { doc?: Y.Doc; WebSocketPolyfill?: WebSocketClass } = {}
): YwsClient {
	const { doc = new Y.Doc(), WebSocketPolyfill = WebSocket } = options;
	const provider = new WebsocketProvider(server.url.replace(/^http/, 'ws') + '/yws', documentName, doc, {
		WebSocketPolyfill: WebSocketPolyfill as never,
		disableBc: true,
		params: token ? { token } : {}
	});
	let closed: { code: number; reason: string } | null = null;
	provider.on('connection-close', (event) => {
		if (event) closed ??= { code: event.code, reason: event.reason };
	});
	return { doc, provider, closed: () => closed };
}
