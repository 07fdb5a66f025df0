/**
 * Custom field definitions across the nodes of a cluster: each node caches them for the update
 * checker, and a change made on one node drops the cache on every other (the `custom-fields` feed
 * over Redis), so node B holds values written to it to the definitions node A just changed.
 * Its own database on the run's PostgreSQL and its own Redis: it runs once, in the `sqlite` project.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { startCluster, type TestCluster } from '../helpers/cluster';
import { api, connectPeer, waitFor, type RunningServer } from '../helpers/server';
import { createTicket } from '../helpers/tickets';

let cluster: TestCluster;
let a: RunningServer;
let b: RunningServer;

beforeAll(async () => {
	cluster = await startCluster({ nodes: 2, spec: { users: { ann: { role: 'agent' }, root: { role: 'admin' } }, bots: { mail: ['email'] } } });
	[a, b] = cluster.nodes as [RunningServer, RunningServer];
}, 120_000);
afterAll(() => cluster?.destroy());

/** Whether node B takes `value` for `key` from a new peer of the ticket: true once acknowledged, false once refused. */
async function bTakes(ticketId: string, key: string, value: unknown): Promise<boolean> {
	const peer = await connectPeer(b, ticketId, cluster.fx.users.ann!.token);
	try {
		(peer.doc.getMap('ticket').get('custom') as Y.Map<unknown>).set(key, value);
		await waitFor(() => peer.closeReason() !== null || (peer.provider.unsyncedChanges === 0 && peer.provider.isSynced), 'an answer');
		return peer.closeReason() === null;
	} finally {
		peer.destroy();
	}
}

describe('custom field definitions in a cluster', () => {
	it('a change on node A holds values written on node B at once', async () => {
		const admin = api(a, cluster.fx.users.root!.token);
		expect((await admin.request('POST', '/api/v1/ticket-fields', { key: 'reason', label: 'Reason', type: 'dropdown', options: ['Broken'] })).status).toBe(201);
		const ticket = await createTicket(a, cluster.fx.tokens.mail!.token, 'Across nodes');
		// Node B reads the definitions (and caches them): the option is taken, another refused.
		await waitFor(() => bTakes(ticket.id, 'reason', 'Broken'), 'node B to know the field');
		expect(await bTakes(ticket.id, 'reason', 'Lost')).toBe(false);
		// Node A adds the option: node B takes it without a restart.
		expect((await admin.request('PATCH', '/api/v1/ticket-fields/reason', { options: ['Broken', 'Lost'] })).status).toBe(200);
		await waitFor(() => bTakes(ticket.id, 'reason', 'Lost'), 'node B to take the new option');
		// Node A archives the field: node B refuses its values.
		expect((await admin.request('PATCH', '/api/v1/ticket-fields/reason', { archived: true })).status).toBe(200);
		await waitFor(async () => !(await bTakes(ticket.id, 'reason', 'Broken')), 'node B to refuse the archived field');
		expect((await api(b, cluster.fx.users.ann!.token).request('GET', `/api/v1/tickets/${ticket.id}`)).body.custom).toEqual({ reason: 'Lost' });
	}, 120_000);
});
