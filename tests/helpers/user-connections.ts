/** Ticket peers and workspace streams opened as a fixture's users during a test, all closed after it. */
import { expect } from 'vitest';
import type { Fixture } from './fixtures';
import { openEvents, type EventLog } from './sse';
import { connectPeer, type Peer, type RunningServer } from './server';

export function userConnections(server: () => RunningServer, fx: () => Fixture) {
	const peers: Peer[] = [];
	const streams: EventLog[] = [];
	return {
		/** A peer of the ticket's document as user `who`. */
		async connect(ticketId: string, who: string): Promise<Peer> {
			const peer = await connectPeer(server(), ticketId, fx().users[who]!.token);
			peers.push(peer);
			return peer;
		},
		/** The workspace stream (`/api/v1/stream`) of user `who`, open. */
		async streamOf(who: string): Promise<EventLog> {
			const stream = await openEvents(`${server().url}/api/v1/stream`, fx().users[who]!.token);
			streams.push(stream);
			expect(stream.status).toBe(200);
			return stream;
		},
		/** For afterEach. */
		closeAll() {
			for (const peer of peers.splice(0)) peer.destroy();
			for (const stream of streams.splice(0)) stream.close();
		}
	};
}
