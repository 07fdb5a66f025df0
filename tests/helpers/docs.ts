/** Plain Y.Docs for unit tests, each under a fixed clientID so that its writes can be told apart. */
import { writeVarUint } from 'lib0/encoding';
import * as Y from 'yjs';
import { initTicket, type TicketFields } from '../../src/lib/ticket';

/** A chat ticket's fields, created a minute before `now`. */
export function chatTicketFields(now: number, tags: string[] = []): TicketFields {
	return { subject: 'Cannot log in', status: 'open', priority: 'normal', assigneeId: null, groupId: 'group-1', requesterId: 'cust-1', channel: 'chat', createdAt: now - 60_000, tags };
}

/** A new ticket document with `fields`, written by `clientID`. */
export function ticketDoc(clientID: number, fields: TicketFields): Y.Doc {
	const doc = new Y.Doc();
	doc.clientID = clientID;
	initTicket(doc, fields);
	return doc;
}

/** A replica of `source` (all of its state) that writes as `clientID`. */
export function replicaOf(source: Y.Doc, clientID: number): Y.Doc {
	const doc = new Y.Doc();
	doc.clientID = clientID;
	Y.applyUpdate(doc, Y.encodeStateAsUpdate(source));
	return doc;
}

/** One hand-encoded struct, an item or a garbage range (for updates no Yjs API produces): V1, empty delete set. */
export function encodeStruct(struct: Y.Item | Y.GC): Uint8Array {
	const encoder = new Y.UpdateEncoderV1();
	writeVarUint(encoder.restEncoder, 1); // one client
	writeVarUint(encoder.restEncoder, 1); // one struct
	encoder.writeClient(struct.id.client);
	writeVarUint(encoder.restEncoder, struct.id.clock);
	struct.write(encoder, 0);
	writeVarUint(encoder.restEncoder, 0); // empty delete set
	return encoder.toUint8Array();
}
