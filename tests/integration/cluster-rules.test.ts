/**
 * Triggers across the nodes of a cluster: a rule written on one node is known at once on the
 * other (its cache dropped through Redis); a change runs the triggers once, on the node that
 * stored it. Its own database and Redis (tests/helpers/cluster.ts): it runs once, in the `sqlite` project.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { roleOf, startCluster, type TestCluster } from '../helpers/cluster';
import { api, waitFor, type RunningServer } from '../helpers/server';

let running: TestCluster | undefined;
afterAll(async () => {
	await running?.destroy();
});

describe('triggers across nodes', () => {
	it('runs each trigger once per change, on the node that stored it, with rules written on another node', async () => {
		running = await startCluster({
			nodes: 2,
			spec: { users: { ada: { role: 'admin' } }, bots: { mailer: ['email'] } },
			env: { LEADER_CHECK_MS: '200' },
			inTurn: true
		});
		const [a, b] = running.nodes as [RunningServer, RunningServer];
		await waitFor(async () => (await roleOf(a)) === 'leader' && (await roleOf(b)) === 'follower', 'node A to lead');
		const { fx } = running;
		const admin = (node: RunningServer) => api(node, fx.users.ada.token);
		const mailer = (node: RunningServer) => api(node, fx.tokens.mailer.token);
		const newTicket = async (node: RunningServer, subject: string) => {
			const created = await mailer(node).request('POST', '/api/v1/tickets', { subject, requester: { email: 'kim@example.com' }, channel: 'email', body: 'Hello?' });
			expect(created.status).toBe(201);
			return created.body.id as string;
		};
		const ticket = async (id: string) => (await admin(a).request('GET', `/api/v1/tickets/${id}`)).body;
		const fired = async (id: string) => ((await admin(b).request('GET', `/api/v1/tickets/${id}/events`)).body.events as { type: string; data: { name: string } }[]).filter((e) => e.type === 'rule.fired').map((e) => e.data.name);

		// Node B reads the (empty) list of rules before any exists.
		const before = await newTicket(b, 'Before any rule');
		expect((await admin(b).request('GET', '/api/v1/rules')).body.rules).toEqual([]);
		for (const rule of [
			{ name: 'Seen', conditions: { all: [{ field: 'event', operator: 'is', value: 'created' }] }, actions: [{ type: 'addTags', tags: ['seen'] }] },
			{ name: 'Customer wrote', conditions: { all: [{ field: 'changedBy', operator: 'is', value: 'customer' }, { field: 'event', operator: 'is', value: 'updated' }] }, actions: [{ type: 'addTags', tags: ['customer-wrote'] }] }
		]) {
			expect((await admin(a).request('POST', '/api/v1/rules', { kind: 'trigger', ...rule })).status).toBe(201);
		}
		const id = await newTicket(b, 'Written on node B');
		await waitFor(async () => (await ticket(id)).tags.includes('seen'), 'node B running the rule written on node A');
		const reply = await mailer(a).request('POST', `/api/v1/tickets/${id}/entries`, { channel: 'email', body: 'One more thing', authorType: 'customer' });
		expect(reply.status).toBe(201);
		await waitFor(async () => (await ticket(id)).tags.includes('customer-wrote'), 'node A running the trigger on the reply it stored');
		expect((await fired(id)).sort()).toEqual(['Customer wrote', 'Seen']);
		expect(await fired(before)).toEqual([]);
	});
});
