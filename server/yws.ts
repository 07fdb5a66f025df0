/**
 * The standard y-websocket protocol at `/yws/<document name>`, for Yjs clients of other
 * ecosystems. Each socket is bridged onto the same Hocuspocus instance as `/collab`, so the same
 * extensions authenticate, validate, store and label presence: the bridge only translates frames.
 * y-websocket frames are `[type, …]`; Hocuspocus frames are `[document name, type, …]`, with the
 * same types for sync, awareness and awareness queries.
 */
import type { Hocuspocus, WebSocketLike } from '@hocuspocus/server';
import { MessageType } from '@hocuspocus/server';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { parseTicketDocumentName, REJECT } from '../src/lib/ticket';
import { REFUSE, YWS_CLOSE } from './close-reasons';
import type { SocketSession } from './http';

const YWS_PATH_PREFIX = '/yws/';

/** What y-websocket and Hocuspocus share; every other message type is one side's own. */
const SHARED_TYPES: ReadonlySet<number> = new Set([MessageType.Sync, MessageType.Awareness, MessageType.QueryAwareness]);

/** Sub-types of a Hocuspocus Auth message (AuthMessageType in @hocuspocus/common). */
const AUTH = { token: 0, permissionDenied: 1 } as const;

const OUR_REASONS: ReadonlySet<string> = new Set([...Object.values(REFUSE), ...Object.values(REJECT)]);

/** The ticket document a `/yws/…` path names, or null when it names none. */
export function ywsDocumentName(path: string): string | null {
	if (!path.startsWith(YWS_PATH_PREFIX)) return null;
	let name: string;
	try {
		name = decodeURIComponent(path.slice(YWS_PATH_PREFIX.length));
	} catch {
		return null;
	}
	return parseTicketDocumentName(name) ? name : null;
}

/**
 * Hands a y-websocket socket to Hocuspocus: authenticates it for the document its path names
 * (token from `?token=`, else the session cookie), then translates frames both ways.
 */
export function bridgeYws(hocuspocus: Hocuspocus, socket: WebSocketLike, request: Request): SocketSession {
	const url = new URL(request.url);
	const documentName = ywsDocumentName(url.pathname);
	if (!documentName) throw new Error(`not a /yws document path: ${url.pathname}`);
	const address = encoding.encode((e) => encoding.writeVarString(e, documentName));
	const close = (reason: string) => socket.close(closeCode(reason), reason);

	const toClient: WebSocketLike = {
		get readyState() {
			return socket.readyState;
		},
		send(frame: Uint8Array) {
			const decoder = decoding.createDecoder(frame);
			decoding.readVarString(decoder); // the document name: a /yws socket carries one
			const message = frame.subarray(decoder.pos);
			const type = decoding.readVarUint(decoder);
			if (SHARED_TYPES.has(type)) socket.send(message);
			else if (type === MessageType.Auth && decoding.readVarUint(decoder) === AUTH.permissionDenied) close(decoding.readVarString(decoder));
			else if (type === MessageType.CLOSE) close(decoding.readVarString(decoder));
			// The rest (Authenticated, SyncStatus acknowledgements, Stateless) has no y-websocket form.
		},
		// Hocuspocus closes sockets itself only for its own reasons (an idle timeout, a frame it cannot
		// read), with 44xx codes a y-websocket client would take as final: these get a code of ours.
		close(_code?: number, reason = '') {
			close(reason);
		}
	};

	const connection = hocuspocus.handleConnection(toClient, request);
	// Sent before anything the client says: Hocuspocus queues the client's frames until the
	// authentication it starts here has finished, then runs them through the same hooks.
	connection.handleMessage(
		encoding.encode((e) => {
			encoding.writeUint8Array(e, address);
			encoding.writeVarUint(e, MessageType.Auth);
			encoding.writeVarUint(e, AUTH.token);
			encoding.writeVarString(e, url.searchParams.get('token') ?? '');
		})
	);
	return {
		handleMessage(frame) {
			// The shared types are below 128, so each is one byte; a frame of any other type
			// (Hocuspocus's own, such as Stateless or Close) is not y-websocket's and is dropped.
			if (!SHARED_TYPES.has(frame[0])) return;
			const addressed = new Uint8Array(address.length + frame.length);
			addressed.set(address);
			addressed.set(frame, address.length);
			connection.handleMessage(addressed);
		},
		handleClose(event) {
			connection.handleClose(event);
		}
	};
}

/**
 * A /yws socket carries one document, so a refusal of the document closes the socket. Refusals
 * get a 44xx code (final for a y-websocket client); a store that failed, or Hocuspocus resetting
 * the document with a reason of its own, invites a retry.
 */
function closeCode(reason: string): number {
	if (reason === REFUSE.unauthorized) return YWS_CLOSE.unauthorized;
	if (reason === REFUSE.unknownDocument) return YWS_CLOSE.unknownDocument;
	if (reason === REFUSE.storage || !OUR_REASONS.has(reason)) return YWS_CLOSE.tryAgainLater;
	return YWS_CLOSE.refused;
}
