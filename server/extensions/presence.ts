/**
 * Presence: who is viewing and typing. Awareness states carry an identity the server sets from
 * the connection (`user`), whatever the peer claimed, and a peer may only speak for the awareness
 * client ids it introduced itself. Showing presence under a Yjs client id claims it for the
 * principal, as writing under it does: from then on only that principal writes under it.
 */
import type { beforeHandleAwarenessPayload, Connection, Extension } from '@hocuspocus/server';
import type * as Y from 'yjs';
import { actorOf, type Principal } from '../auth/principal';
import type { ConnectionContext } from './authenticate';

export interface PresenceUser {
	id: string;
	kind: 'user' | 'bot';
	name: string;
	role: string;
	color: string;
	readOnly: boolean;
}

const PALETTE = ['#2563eb', '#db2777', '#16a34a', '#ea580c', '#7c3aed', '#0891b2', '#ca8a04', '#dc2626'];

export function colorFor(id: string): string {
	let hash = 0;
	for (let i = 0; i < id.length; i++) hash = (hash * 31 + id.charCodeAt(i)) >>> 0;
	return PALETTE[hash % PALETTE.length];
}

export function presenceUser(principal: Principal, readOnly: boolean): PresenceUser | null {
	if (principal.kind === 'system') return null;
	return {
		id: principal.id,
		kind: principal.kind,
		name: principal.name,
		role: principal.kind === 'user' ? principal.role : 'bot',
		color: colorFor(principal.id),
		readOnly
	};
}

export interface PresenceSettings {
	/** Claims a Yjs client id of the document for an actor if unowned; whether the actor owns it. */
	claimClient: (document: Y.Doc, client: number, actor: string) => boolean;
}

export class Presence implements Extension {
	priority = 150;
	/** Which connection introduced each awareness client id, per document. */
	private readonly owners = new WeakMap<Y.Doc, Map<number, Connection>>();

	constructor(private readonly settings: PresenceSettings) {}

	async beforeHandleAwareness({ states, context, connection, document }: beforeHandleAwarenessPayload<ConnectionContext>) {
		if (!connection || !context) return;
		let owners = this.owners.get(document);
		if (!owners) this.owners.set(document, (owners = new Map()));
		const user = presenceUser(context.principal, connection.readOnly);
		for (const [clientId, state] of states) {
			if (clientId === document.clientID) {
				states.delete(clientId); // the server's own state (a chat visitor): no peer speaks for it
				continue;
			}
			const owner = owners.get(clientId);
			if (
				(owner && owner !== connection && owner.document?.hasConnection(owner)) ||
				!this.settings.claimClient(document, clientId, actorOf(context.principal))
			) {
				states.delete(clientId); // someone else's client id: not this peer's to speak for
				continue;
			}
			owners.set(clientId, connection);
			state.user = user;
		}
	}
}
