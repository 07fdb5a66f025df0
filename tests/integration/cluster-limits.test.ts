/**
 * Rate limits and sign-in throttles across the nodes of a cluster (issue #15): two Tandem
 * processes on one PostgreSQL database and one Redis count together, so spreading guesses or
 * requests over the nodes gains nothing; while Redis is down each node still limits on its own.
 * Its own database on the run's PostgreSQL and its own Redis: it runs once, in the `sqlite` project.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from '../helpers/cluster';
import { PASSWORD } from '../helpers/fixtures';
import { api, type RunningServer } from '../helpers/server';

let cluster: TestCluster;
let redis: TestCluster['redis'];
let a: RunningServer;
let b: RunningServer;

beforeAll(async () => {
	// Each test signs in from client addresses of its own (X-Forwarded-For, a proxy trusted); a
	// long first wait, so the checks after the free failures land inside it however slow the machine.
	cluster = await startCluster({ nodes: 2, spec: { users: { amy: { role: 'agent' }, bob: { role: 'agent' } } }, env: { TRUST_PROXY: '1', LOGIN_BACKOFF_MS: '30000' } });
	({ redis } = cluster);
	[a, b] = cluster.nodes as [RunningServer, RunningServer];
});
afterAll(() => cluster?.destroy());

/** A sign-in form post as a browser sends it, from `address`: 303 signed in, 400 wrong, 429 throttled. */
async function signIn(node: RunningServer, email: string, password: string, address: string) {
	const response = await fetch(`${node.url}/login`, {
		method: 'POST',
		headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', origin: node.url, 'x-forwarded-for': address },
		body: new URLSearchParams({ email, password }),
		redirect: 'manual'
	});
	return { status: response.status, text: await response.text() };
}

describe('limits across two nodes', () => {
	it('throttles sign-in on node B after wrong passwords sent to node A', async () => {
		for (let i = 0; i < 3; i++) expect((await signIn(a, 'amy@test.local', `wrong ${i}`, '10.1.0.1')).status).toBe(400);
		const refused = await signIn(b, 'amy@test.local', PASSWORD, '10.1.0.1');
		expect(refused.status).toBe(429);
		expect(refused.text).toContain('Try again in 30 s');
		// The owner, from her own address, is not kept out on either node.
		expect((await signIn(b, 'amy@test.local', PASSWORD, '10.1.0.2')).status).toBe(303);
	});

	it('lets only the free failures through of guesses sent to both nodes at once', async () => {
		const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => signIn([a, b][i % 2]!, 'bob@test.local', `guess ${i}`, '10.2.0.1')));
		expect(answers.filter((sent) => sent.status === 400)).toHaveLength(3);
		expect(answers.filter((sent) => sent.status === 429)).toHaveLength(9);
	});

	it('counts a visitor’s messages sent to node A against the same visitor on node B', async () => {
		const created = await api(a).request('POST', '/api/v1/visitor');
		expect(created.status).toBe(201);
		const visitor = (node: RunningServer) => ({
			request: (method: string, route: string, body?: unknown) =>
				api(node).request(method, `/api/v1/visitor${route}`, body, { headers: { 'x-visitor-token': created.body.token } })
		});
		expect((await visitor(a).request('POST', '/chat', { name: 'Flo', message: 'message 1' })).status).toBe(201);
		for (let i = 2; i <= 20; i++) expect((await visitor(a).request('POST', '/chat/messages', { id: `m${i}`, body: `message ${i}` })).status).toBe(201);
		const refused = await visitor(b).request('POST', '/chat/messages', { id: 'm21', body: 'message 21' });
		expect(refused).toMatchObject({ status: 429, body: { error: { code: 'rate_limited' } } });
		expect(refused.body.error.message).toMatch(/at most 20 a minute\): try again in \d+ s/);
	});

	it('still throttles on each node while Redis is down, without keeping anyone out', async () => {
		await redis.stop();
		for (let i = 0; i < 3; i++) expect((await signIn(a, 'amy@test.local', `wrong ${i}`, '10.3.0.1')).status).toBe(400);
		expect((await signIn(a, 'amy@test.local', PASSWORD, '10.3.0.1')).status).toBe(429);
		expect((await signIn(b, 'amy@test.local', PASSWORD, '10.3.0.2')).status).toBe(303);
	});
});
