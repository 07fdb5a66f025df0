/**
 * Presence: who is viewing and typing. Awareness states carry an identity the server sets from
 * the connection (`user`), whatever the peer claimed, and a peer may only speak for the awareness
 * client ids it introduced itself, at most LIMITS.awarenessClientsPerConnection of them. A state
 * keeps only the fields of the peer awareness schema; one that is too large or does not fit the
 * schema is dropped whole. Showing presence under a Yjs client id claims it for the principal, as
 * writing under it does: from then on only that principal writes under it.
 */
import type { beforeHandleAwarenessPayload, Connection, Extension } from '@hocuspocus/server';
import type * as Y from 'yjs';
import { byteLength, LIMITS, peerAwarenessSchema } from '../../src/lib/ticket';
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
	claimClient: (document: Y.Doc, client: number, actor: string) => Promise<boolean>;
}

export class Presence implements Extension {
	priority = 150;
	/** Which connection introduced each awareness client id, per document. */
	private readonly owners = new WeakMap<Y.Doc, Map<number, Connection>>();
	/** The awareness client ids each connection speaks for. */
	private readonly spokenFor = new WeakMap<Connection, Set<number>>();

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
			if (owner && owner !== connection && owner.document?.hasConnection(owner)) {
				states.delete(clientId); // someone else's client id: not this peer's to speak for
				continue;
			}
			// Checked before the claim: a refused state claims nothing.
			const published = this.accepted(connection, clientId, state);
			if (!published || !(await this.settings.claimClient(document, clientId, actorOf(context.principal)))) {
				states.delete(clientId);
				continue;
			}
			this.spokenFor.get(connection)!.add(clientId);
			owners.set(clientId, connection);
			states.set(clientId, { ...published, user });
		}
	}

	/** The fields of `state` that peers may publish, or null when the state is refused. */
	private accepted(connection: Connection, clientId: number, state: Record<string, unknown>) {
		let ids = this.spokenFor.get(connection);
		if (!ids) this.spokenFor.set(connection, (ids = new Set()));
		if (!ids.has(clientId) && ids.size >= LIMITS.awarenessClientsPerConnection) return null;
		if (byteLength(JSON.stringify(state)) > LIMITS.awarenessStateBytes) return null;
		const parsed = peerAwarenessSchema.safeParse(state);
		return parsed.success ? parsed.data : null;
	}
}
