/**
 * Ticket documents across the nodes of a cluster (issue #15): two Tandem processes on one
 * PostgreSQL database and one Redis, each with a data directory of its own. Redis carries changes
 * between them; the log brings what Redis lost. Its own database on the run's PostgreSQL and its
 * own Redis: it runs once, in the `sqlite` project.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { appendEntries, readEntries, type Entry } from '../../src/lib/ticket';
import { storedDocumentAt } from '../helpers/db';
import { noteBy } from '../helpers/entries';
import { metric, startCluster, type TestCluster } from '../helpers/cluster';
import type { Fixture } from '../helpers/fixtures';
import { api, servers, waitFor, type Peer } from '../helpers/server';

const pool = servers();
const { connect } = pool;
let running: TestCluster | undefined;
afterEach(async () => {
	await pool.cleanup();
	await running?.destroy();
	running = undefined;
});

/** Two nodes of one cluster, and a ticket on it. `catchUpMs`: how often a node reads the log for what Redis did not bring. */
async function cluster(catchUpMs: number) {
	running = await startCluster({ nodes: 2, spec: { users: { ann: { role: 'agent' }, bob: { role: 'agent' } }, bots: { bot: ['chat'] } }, env: { CATCH_UP_MS: String(catchUpMs) } });
	const { fx, nodes, databaseUrl } = running;
	const [a, b] = nodes;
	const created = await api(a!, fx.tokens.bot.token).request('POST', '/api/v1/tickets', { subject: 'Across nodes', requester: { email: 'kim@example.com' }, channel: 'chat', body: 'Hello?' });
	expect(created.status).toBe(201);
	return { fx, a: a!, b: b!, databaseUrl, redis: running.redis, ticketId: created.body.id as string };
}

const has = (peer: Peer, id: string) => readEntries(peer.doc).some((e) => e.id === id);
const note = (fx: Fixture, user: 'ann' | 'bob', body: string) => noteBy(fx.users[user]!.id, body);

/** A copy of `model`'s document that writes and shows presence under `victim`'s Yjs client id. */
function impersonating(model: Peer, victim: Peer): Y.Doc {
	const forged = new Y.Doc();
	Y.applyUpdate(forged, Y.encodeStateAsUpdate(model.doc));
	forged.clientID = victim.doc.clientID; // after the state: Yjs re-keys a document that receives its own id
	return forged;
}

function assertConverged(peers: Peer[], stored: Y.Doc) {
	const ids = (entries: Entry[]) => entries.map((e) => e.id);
	for (const peer of peers) expect(ids(readEntries(peer.doc))).toEqual(ids(readEntries(stored)));
	expect(new Set(ids(readEntries(stored))).size).toBe(readEntries(stored).length);
}

describe('a cluster of two nodes', () => {
	it('carries a change made on either node to the peers of the other, peers’ and HTTP writes alike, through Redis', async () => {
		// The log's safety net is a minute away: within the test's waits only Redis can deliver.
		const { fx, a, b, databaseUrl, ticketId } = await cluster(60_000);
		const ann = await connect(a, ticketId, fx.users.ann.token);
		const bob = await connect(b, ticketId, fx.users.bob.token);
		const fromAnn = note(fx, 'ann', 'written on node A');
		appendEntries(ann.doc, [fromAnn]);
		await ann.acknowledged();
		await waitFor(() => has(bob, fromAnn.id), 'node B’s peer to see node A’s change');
		const fromBob = note(fx, 'bob', 'written on node B');
		appendEntries(bob.doc, [fromBob]);
		await bob.acknowledged();
		await waitFor(() => has(ann, fromBob.id), 'node A’s peer to see node B’s change');
		const http = await api(b, fx.tokens.bot.token).request('POST', `/api/v1/tickets/${ticketId}/entries`, { channel: 'chat', body: 'Over HTTP on node B', authorType: 'customer' });
		expect(http.status).toBe(201);
		await waitFor(() => has(ann, http.body.id), 'node A’s peer to see an HTTP write on node B');
		await waitFor(() => readEntries(bob.doc).length === 4, 'node B’s peer to have all four');
		assertConverged([ann, bob], await storedDocumentAt(databaseUrl, ticketId));
		// Node B measured how late node A's rows reached it.
		expect(await metric(b, 'tandem_redis_lag_seconds_count')).toBeGreaterThanOrEqual(1);
	});

	it('keeps acknowledging while Redis is down, the other node reading the writes from the log, and carries changes through Redis again once it is back', async () => {
		const { fx, a, b, databaseUrl, redis, ticketId } = await cluster(500);
		const ann = await connect(a, ticketId, fx.users.ann.token);
		const bob = await connect(b, ticketId, fx.users.bob.token);
		const catchUpsBefore = await metric(b, 'tandem_catch_ups_total');
		await redis.stop();
		const whileDown = [note(fx, 'ann', 'Redis is down'), note(fx, 'ann', 'still down')];
		for (const entry of whileDown) {
			appendEntries(ann.doc, [entry]);
			await ann.acknowledged();
		}
		const http = await api(b, fx.tokens.bot.token).request('POST', `/api/v1/tickets/${ticketId}/entries`, { channel: 'chat', body: 'HTTP while Redis is down', authorType: 'customer' });
		expect(http.status).toBe(201);
		// Late, not never: the nodes read the log.
		await waitFor(() => whileDown.every((e) => has(bob, e.id)), 'node B to read node A’s writes from the log');
		await waitFor(() => has(ann, http.body.id), 'node A to read node B’s write from the log');
		expect(await metric(b, 'tandem_catch_ups_total')).toBeGreaterThan(catchUpsBefore);

		await redis.start();
		const after = note(fx, 'bob', 'Redis is back');
		appendEntries(bob.doc, [after]);
		await bob.acknowledged();
		await waitFor(() => has(ann, after.id), 'node A’s peer to see the change after Redis came back');
		assertConverged([ann, bob], await storedDocumentAt(databaseUrl, ticketId));
	});

	it('shows who is viewing and typing to peers on the other node, with the identity their own node set, and their leaving', async () => {
		const { fx, a, b, ticketId } = await cluster(60_000);
		const bob = await connect(b, ticketId, fx.users.bob.token);
		const ann = await connect(a, ticketId, fx.users.ann.token);
		// Ann claims to be someone else: node A sets who she is.
		ann.provider.awareness!.setLocalState({ typing: true, user: { id: 'forged', name: 'Not Ann' } });
		const annOnB = () => bob.provider.awareness!.getStates().get(ann.doc.clientID) as { typing?: boolean; user?: { id: string; name: string } } | undefined;
		await waitFor(() => annOnB()?.typing === true, 'Ann’s state on node B');
		expect(annOnB()!.user).toMatchObject({ id: fx.users.ann.id, name: 'ann' });

		// Bob showing presence on node B under Ann's client id, which node A claimed for her after
		// node B loaded the ticket: dropped, the database having the say. His write under it, sent
		// after on the same connection, is refused: by then the presence was handled.
		const forged = impersonating(bob, ann);
		const mallory = await connect(b, ticketId, fx.users.bob.token, { doc: forged });
		// Each change counts one up: past the clock of Ann's state, so only the claim can stop it.
		for (let i = 0; i < 10; i++) mallory.provider.awareness!.setLocalState({ typing: i % 2 === 0 });
		appendEntries(forged, [note(fx, 'bob', 'as Ann')]);
		await waitFor(() => mallory.closeReason(), 'the forged write to be refused');
		expect(annOnB()).toMatchObject({ typing: true, user: { id: fx.users.ann.id } });

		// Live changes follow, and so does her leaving.
		ann.provider.awareness!.setLocalStateField('typing', false);
		await waitFor(() => annOnB()?.typing === false, 'Ann’s change on node B');
		expect(annOnB()!.user).toMatchObject({ id: fx.users.ann.id });
		pool.disconnect(ann);
		await waitFor(() => !annOnB(), 'Ann’s leaving on node B');
	});

	it('gives a node that loads a ticket the awareness states the other nodes hold', async () => {
		const { fx, a, b, ticketId } = await cluster(60_000);
		const ann = await connect(a, ticketId, fx.users.ann.token);
		ann.provider.awareness!.setLocalState({ typing: true });
		const watcher = await connect(a, ticketId, fx.users.bob.token);
		await waitFor(() => watcher.provider.awareness!.getStates().get(ann.doc.clientID), 'node A to hold Ann’s state');
		// Node B loads the ticket only now: it asks the others (renewals would come only every 15 s).
		const bob = await connect(b, ticketId, fx.users.bob.token);
		await waitFor(() => (bob.provider.awareness!.getStates().get(ann.doc.clientID) as { typing?: boolean } | undefined)?.typing === true, 'Ann’s state on node B');
	});

	it('refuses a write under a client id claimed on the other node first, before this node has heard of it', async () => {
		// Redis down and the safety net a minute away: node B knows nothing of Ann's write.
		const { fx, a, b, databaseUrl, redis, ticketId } = await cluster(60_000);
		const bob = await connect(b, ticketId, fx.users.bob.token);
		await redis.stop();
		const ann = await connect(a, ticketId, fx.users.ann.token);
		const hers = note(fx, 'ann', 'mine');
		appendEntries(ann.doc, [hers]);
		await ann.acknowledged();
		// Bob writes under Ann's client id on node B, which has never seen it: the database refuses.
		const forged = impersonating(bob, ann);
		const mallory = await connect(b, ticketId, fx.users.bob.token, { doc: forged });
		const his = note(fx, 'bob', 'as Ann');
		appendEntries(forged, [his]);
		await waitFor(() => mallory.closeReason(), 'the forged write to be refused');
		expect(mallory.closeReason()).toBe('foreign-client-id');
		const stored = readEntries(await storedDocumentAt(databaseUrl, ticketId)).map((e) => e.id);
		expect(stored).toContain(hers.id);
		expect(stored).not.toContain(his.id);
	});

	it('lets a peer that moves to the other node go on writing under its own client id, and refuses that id to anyone else there', async () => {
		const { fx, a, b, databaseUrl, ticketId } = await cluster(60_000);
		const ann = await connect(a, ticketId, fx.users.ann.token);
		const bob = await connect(b, ticketId, fx.users.bob.token);
		const first = note(fx, 'ann', 'on node A');
		appendEntries(ann.doc, [first]);
		await ann.acknowledged();
		await waitFor(() => has(bob, first.id), 'node B to have node A’s change');

		// Ann's connection moves to node B (her node went away, the load balancer chose another).
		pool.disconnect(ann);
		const moved = await connect(b, ticketId, fx.users.ann.token, { doc: ann.doc });
		const second = note(fx, 'ann', 'on node B, same client id');
		appendEntries(moved.doc, [second]);
		await moved.acknowledged();
		expect(moved.closeReason()).toBeNull();

		await waitFor(() => has(bob, second.id), 'node B’s peers to see the moved peer’s change');

		// Bob, on node B, writing under Ann's client id is refused: node B learned its owner. (His
		// copy must hold her last change: a write at clocks she used already is no change at all.)
		const forged = impersonating(bob, ann);
		const intruder = await connect(b, ticketId, fx.users.bob.token, { doc: forged });
		appendEntries(forged, [note(fx, 'bob', 'as Ann')]);
		await waitFor(() => intruder.closeReason(), 'the forged change to be refused');
		expect(intruder.closeReason()).toBe('foreign-client-id');
		assertConverged([moved, bob], await storedDocumentAt(databaseUrl, ticketId));
	});
});
