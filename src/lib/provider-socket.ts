/**
 * Keeps a Hocuspocus provider's `unsyncedChanges` exact across reconnects, for the clients that
 * take "0" to mean "stored" (the bot SDK, the tests, the bench).
 *
 * The provider counts its changes not yet answered, and every SyncStatus the server sends takes
 * one off. When a socket opens it sets the count to 1, for its handshake: the SyncStep2 it sends
 * in answer to the server's SyncStep1 carries every change the server lacks. But the changes made
 * while the socket was down were also queued on it as Update frames, and are sent once the first
 * message arrives; their SyncStatus answers then take the count to 0 while a later one is still
 * being stored (hocuspocus#825). Those frames only repeat the handshake, so they are dropped when
 * a new socket opens, and each SyncStatus answers a change the count holds.
 */
import type { HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import * as decoding from 'lib0/decoding';

/**
 * How the workspace's socket reconnects after losing its server (a node stopping or dying): soon,
 * and for ever. The bench's failover scenario reconnects the same way.
 */
export const WORKSPACE_RECONNECT = { maxAttempts: 0, delay: 500, minDelay: 500, maxDelay: 5000 } as const;

/** The provider's message type of Yjs sync frames (step 1, step 2, update). */
const SYNC_MESSAGE = 0;

export function exactAcknowledgements(socket: HocuspocusProviderWebsocket): void {
	const internals = socket as unknown as { messageQueue?: unknown };
	if (!Array.isArray(internals.messageQueue)) {
		// A provider release that queues differently: fail where it is set up, not in a lost change.
		throw new Error('HocuspocusProviderWebsocket has no messageQueue: check exactAcknowledgements against this provider version');
	}
	socket.on('open', () => {
		internals.messageQueue = (internals.messageQueue as unknown[]).filter((frame) => !isSyncFrame(frame));
	});
}

function isSyncFrame(frame: unknown): boolean {
	if (!(frame instanceof Uint8Array)) return false;
	try {
		const decoder = decoding.createDecoder(frame);
		decoding.readVarString(decoder); // the document's name
		return decoding.readVarUint(decoder) === SYNC_MESSAGE;
	} catch {
		return false;
	}
}
