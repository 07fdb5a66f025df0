/**
 * A websocket to /collab that speaks the Hocuspocus framing by hand: what a hostile peer uses to
 * send frames no provider would (arbitrary updates, awareness for any client id, noise).
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { ticketDocumentName } from '../../src/lib/ticket';
import { waitFor } from './server';

export const MESSAGE = { sync: 0, awareness: 1, auth: 2, syncReply: 4, close: 7, syncStatus: 8 } as const;
export const SYNC = { step1: 0, step2: 1, update: 2 } as const;

export function frame(documentName: string, write: (e: encoding.Encoder) => void): Uint8Array {
	const e = encoding.createEncoder();
	encoding.writeVarString(e, documentName);
	write(e);
	return encoding.toUint8Array(e);
}

export const authFrame = (documentName: string, token: string) =>
	frame(documentName, (e) => {
		encoding.writeVarUint(e, MESSAGE.auth);
		encoding.writeVarUint(e, 0); // token
		encoding.writeVarString(e, token);
	});

export const syncFrame = (documentName: string, syncType: number, update: Uint8Array, messageType: number = MESSAGE.sync) =>
	frame(documentName, (e) => {
		encoding.writeVarUint(e, messageType);
		encoding.writeVarUint(e, syncType);
		encoding.writeVarUint8Array(e, update);
	});

export const awarenessFrame = (documentName: string, awareness: Uint8Array) =>
	frame(documentName, (e) => {
		encoding.writeVarUint(e, MESSAGE.awareness);
		encoding.writeVarUint8Array(e, awareness);
	});

/** An awareness update that speaks for `clientId`. */
export function awarenessUpdate(clientId: number, clock: number, state: unknown): Uint8Array {
	const e = encoding.createEncoder();
	encoding.writeVarUint(e, 1);
	encoding.writeVarUint(e, clientId);
	encoding.writeVarUint(e, clock);
	encoding.writeVarString(e, JSON.stringify(state));
	return encoding.toUint8Array(e);
}

/** A hand-encoded update of one garbage-collected range `client:clock` of `length` clocks. */
export function gcUpdate(client: number, clock: number, length: number): Uint8Array {
	const e = encoding.createEncoder();
	encoding.writeVarUint(e, 1); // clients
	encoding.writeVarUint(e, 1); // structs of that client
	encoding.writeVarUint(e, client);
	encoding.writeVarUint(e, clock);
	encoding.writeUint8(e, 0); // GC
	encoding.writeVarUint(e, length);
	encoding.writeVarUint(e, 0); // empty delete set
	return encoding.toUint8Array(e);
}

export class RawClient {
	authenticated = false;
	denied: string | null = null;
	closeReason: string | null = null;
	socketClosed: { code: number; reason: string } | null = null;
	syncStatuses = 0;

	private constructor(readonly socket: WebSocket) {
		socket.on('message', (data: Buffer) => this.receive(new Uint8Array(data)));
		socket.on('close', (code, reason) => (this.socketClosed = { code, reason: reason.toString() }));
		socket.on('error', () => {});
	}

	static async open(wsUrl: string): Promise<RawClient> {
		const socket = new WebSocket(wsUrl);
		await new Promise((resolve, reject) => {
			socket.once('open', resolve);
			socket.once('error', reject);
		});
		return new RawClient(socket);
	}

	/** A socket authenticated for the ticket's document; throws if the server denies it. */
	static async authenticated(wsUrl: string, ticketId: string, token: string): Promise<RawClient> {
		const client = await RawClient.open(wsUrl);
		client.send(authFrame(ticketDocumentName(ticketId), token));
		await waitFor(() => client.authenticated || client.denied || client.socketClosed, 'authentication');
		if (!client.authenticated) {
			client.close();
			throw new Error(`not authenticated: ${client.denied ?? JSON.stringify(client.socketClosed)}`);
		}
		return client;
	}

	send(bytes: Uint8Array) {
		if (this.socket.readyState === WebSocket.OPEN) this.socket.send(bytes);
	}

	close() {
		this.socket.terminate();
	}

	private receive(bytes: Uint8Array) {
		try {
			const d = decoding.createDecoder(bytes);
			decoding.readVarString(d);
			const type = decoding.readVarUint(d);
			if (type === MESSAGE.auth) {
				const authType = decoding.readVarUint(d);
				if (authType === 2) this.authenticated = true;
				if (authType === 1) this.denied = decoding.readVarString(d);
			}
			if (type === MESSAGE.close) this.closeReason = decoding.readVarString(d);
			if (type === MESSAGE.syncStatus) this.syncStatuses++;
		} catch {
			/* not ours to parse */
		}
	}

	/**
	 * Waits until the server handled every frame sent so far: frames on one connection are
	 * handled in order, so the acknowledgement of an empty update sent last, or a close, says so.
	 */
	async settled(ticketId: string) {
		const acknowledged = this.syncStatuses;
		this.send(syncFrame(ticketDocumentName(ticketId), SYNC.update, Y.encodeStateAsUpdate(new Y.Doc())));
		await waitFor(() => this.syncStatuses > acknowledged || this.closeReason !== null || this.socketClosed !== null, 'the server to handle the frames');
	}
}
