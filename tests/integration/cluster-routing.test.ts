/**
 * Routing across the nodes of a cluster (issue #15's test 5): agents spread over three nodes, each
 * on the stream of one node, tickets arriving on any node, agents accepting, declining, letting
 * offers expire, solving and dropping their connection, and the leader SIGKILLed mid-run. Checked
 * all along from the database and the agents' side: never two pending offers of one item (also a
 * unique index), never an agent over capacity, never two agents told they hold one item, and in
 * the end every ticket's work done, none lost. Sized below the 100 agents and 1,000 items
 * in the suite, to keep its time (each step is an HTTP request to a real node; the in-process
 * routing.test.ts runs that size with every decision checked); the full size runs by hand (below). Runs once, in the `sqlite` project.
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { roleOf, startCluster, type TestCluster } from '../helpers/cluster';
import { random } from '../helpers/routing';
import { openEvents, type EventLog } from '../helpers/sse';
import { api, waitFor, type RunningServer } from '../helpers/server';

/** The suite's size; the (100 agents, 1,000 tickets) by hand: `ROUTING_AGENTS=100 ROUTING_TICKETS=1000 npx vitest run tests/integration/cluster-routing.test.ts`. */
const AGENTS = Number(process.env.ROUTING_AGENTS ?? 24);
const TICKETS = Number(process.env.ROUTING_TICKETS ?? 90);
/** How long the run may take: about a second and a half a ticket, never under two and a half minutes. */
const RUN_MS = Math.max(150_000, TICKETS * 1_500);
const CAPACITY = 2;
const names = Array.from({ length: AGENTS }, (_, i) => `agent${String(i).padStart(2, '0')}`);
const SPEC = {
	users: { ...Object.fromEntries(names.map((name) => [name, { role: 'agent' as const, groups: ['support'] }])), ada: { role: 'admin' as const } },
	bots: { mailer: ['email'] }
};

let running: TestCluster | undefined;
let client: pg.Client | undefined;
const streams: EventLog[] = [];
afterEach(async () => {
	for (const stream of streams.splice(0)) stream.close();
	await client?.end();
	client = undefined;
	await running?.destroy();
	running = undefined;
});

interface Agent {
	name: string;
	node: RunningServer;
	stream: EventLog;
	/** Events of the stream handled so far. */
	seen: number;
}

describe('routing across three nodes', () => {
	it('offers, assigns and completes every ticket once, within capacity, while agents come and go and the leader dies', async () => {
		running = await startCluster({ nodes: 3, spec: SPEC, env: { LEADER_CHECK_MS: '300' }, inTurn: true });
		const { fx, databaseUrl } = running;
		const nodes = running.nodes as RunningServer[];
		await waitFor(async () => (await roleOf(nodes[0]!)) === 'leader', 'node A to lead');
		client = new pg.Client({ connectionString: databaseUrl });
		await client.connect();
		expect((await api(nodes[1]!, fx.users.ada!.token).request('PUT', '/api/v1/routing/settings', { offerTimeoutSeconds: 5, capacities: { messaging: CAPACITY } })).status).toBe(200);
		// Every node routes by the settings it caches: all of them must have dropped the old ones before work comes.
		for (const node of nodes) {
			await waitFor(async () => (await api(node, fx.users.ada!.token).request('GET', '/api/v1/routing/settings')).body.capacities?.messaging === CAPACITY, 'the new capacity on every node');
		}
		const rand = random(15);
		const alive = () => nodes.filter((node) => node.process.exitCode === null && node.process.signalCode === null);

		const connect = async (agent: Pick<Agent, 'name' | 'node'>): Promise<Agent> => {
			const stream = await openEvents(`${agent.node.url}/api/v1/agent/stream`, fx.users[agent.name]!.token);
			expect(stream.status).toBe(200);
			streams.push(stream);
			expect((await api(agent.node, fx.users[agent.name]!.token).request('PUT', '/api/v1/me/status', { status: 'online' })).status).toBe(200);
			return { ...agent, stream, seen: 0 };
		};
		const agents = await Promise.all(names.map((name, i) => connect({ name, node: nodes[i % 3]! })));

		/** Items each agent was told it holds (accept answered 200), by item id. */
		const held = new Map<string, string[]>();
		const problems: string[] = [];
		const acting = new Set<Promise<unknown>>();
		const act = (work: () => Promise<unknown>) => {
			const done = work()
				.catch((error: unknown) => {
					// A node killed under a request: the agent moves on.
					if (!/fetch failed|ECONNREFUSED|socket/i.test(String((error as Error)?.message ?? error))) problems.push(String(error));
				})
				.finally(() => acting.delete(done));
			acting.add(done);
		};
		const handle = (agent: Agent) => {
			const token = fx.users[agent.name]!.token;
			for (; agent.seen < agent.stream.events.length; agent.seen++) {
				const event = agent.stream.events[agent.seen]!;
				if (event.name !== 'offer') continue;
				const offer = event.data as { id: string; itemId: string; ticketId: string };
				const choice = rand();
				if (choice < 0.6) {
					act(async () => {
						const accepted = await api(agent.node, token).request('POST', `/api/v1/offers/${offer.id}/accept`);
						if (accepted.status !== 200) return;
						held.set(offer.itemId, [...(held.get(offer.itemId) ?? []), agent.name]);
						await solve(agent, offer.ticketId);
					});
				} else if (choice < 0.85) {
					act(() => api(agent.node, token).request('POST', `/api/v1/offers/${offer.id}/decline`));
				}
				// Else the offer is left to expire.
			}
		};
		const solve = async (agent: Agent, ticketId: string) => {
			const solved = await api(agent.node, fx.users[agent.name]!.token).request('PATCH', `/api/v1/tickets/${ticketId}`, { status: 'solved' });
			if (solved.status !== 200) problems.push(`${agent.name} could not solve ${ticketId}: ${solved.status}`);
		};
		/**
		 * Agents work through their own open tickets now and then, as the workspace's "My open
		 * tickets" has them do: also those whose accept or solve was cut off by a node dying.
		 */
		const workMine = (agent: Agent) =>
			act(async () => {
				const mine = await api(agent.node, fx.users[agent.name]!.token).request('GET', '/api/v1/tickets?view=mine&limit=100');
				for (const ticket of (mine.body.tickets ?? []) as { id: string }[]) await solve(agent, ticket.id);
			});
		/** An agent whose stream broke (its node died), or who drops it on purpose, connects again to a living node. */
		const reconnect = async (agent: Agent) => {
			agent.stream.close();
			const living = alive();
			const fresh = await connect({ name: agent.name, node: living[Math.floor(rand() * living.length)]! });
			Object.assign(agent, fresh);
		};

		// The checks from the database, each one statement (one snapshot).
		const overCapacity = async () =>
			(
				await client!.query(
					`SELECT agent_id, count(*)::int AS n FROM (
						SELECT agent_id FROM work_items WHERE status = 'assigned' AND channel = 'messaging'
						UNION ALL SELECT o.agent_id FROM offers o JOIN work_items w ON w.id = o.item_id WHERE o.status = 'pending' AND w.channel = 'messaging'
					) x GROUP BY agent_id HAVING count(*) > $1`,
					[CAPACITY]
				)
			).rows;
		const twoActiveItems = async () => (await client!.query(`SELECT ref FROM work_items WHERE status <> 'done' GROUP BY ref HAVING count(*) > 1`)).rows;

		let created = 0;
		let killed = false;
		const ticketIds: string[] = [];
		const createOne = async () => {
			const living = alive();
			const node = living[created % living.length]!;
			const n = created++;
			const priority = (['low', 'normal', 'high', 'urgent'] as const)[Math.floor(rand() * 4)];
			const res = await api(node, fx.tokens.mailer!.token).request('POST', '/api/v1/tickets', { subject: `Routed ${n}`, requester: { email: `c${n}@example.com` }, channel: 'email', body: 'Help', priority });
			expect(res.status).toBe(201);
			ticketIds.push(res.body.id);
		};

		const deadline = Date.now() + RUN_MS;
		let lastSweep = Date.now();
		while (Date.now() < deadline) {
			if (Date.now() - lastSweep > 2000) {
				lastSweep = Date.now();
				for (const agent of agents) workMine(agent);
			}
			if (created < TICKETS) await Promise.all(Array.from({ length: Math.min(3, TICKETS - created) }, createOne));
			if (!killed && created >= TICKETS / 2) {
				// The leader dies mid-run: its agents' streams break, and another node must lead within seconds.
				killed = true;
				await nodes[0]!.kill();
				await waitFor(async () => (await roleOf(nodes[1]!)) === 'leader' || (await roleOf(nodes[2]!)) === 'leader', 'another node to lead', 15_000);
			}
			for (const agent of agents) {
				if (agent.stream.error || agent.stream.ended) await reconnect(agent);
				else if (rand() < 0.003) await reconnect(agent);
				handle(agent);
			}
			const over = await overCapacity();
			expect(over).toEqual([]);
			expect(await twoActiveItems()).toEqual([]);
			expect(problems).toEqual([]);
			if (created >= TICKETS) {
				const { rows } = await client.query(`SELECT count(*)::int AS n FROM tickets WHERE id = ANY($1) AND status = 'solved'`, [ticketIds]);
				if (rows[0].n === TICKETS) break;
			}
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
		await Promise.all([...acting]);
		expect(problems).toEqual([]);

		// Every ticket solved, its work done, none waiting or held.
		const solved = (await client.query(`SELECT count(*)::int AS n FROM tickets WHERE id = ANY($1) AND status = 'solved'`, [ticketIds])).rows[0].n;
		expect(solved).toBe(TICKETS);
		await waitFor(async () => (await client!.query(`SELECT count(*)::int AS n FROM work_items WHERE ref = ANY($1) AND status <> 'done'`, [ticketIds])).rows[0].n === 0, 'every item done');
		// No item told held by two agents unless it was handed back in between.
		const returns = new Map<string, number>(
			(await client.query(`SELECT w.id, count(e.id)::int AS n FROM work_items w LEFT JOIN events e ON e.ticket_id = w.ref AND e.type = 'routing.returned' WHERE w.ref = ANY($1) GROUP BY w.id`, [ticketIds])).rows.map((r) => [r.id, r.n])
		);
		for (const [itemId, holders] of held) expect(holders.length, `item ${itemId} held by ${holders.join(', ')}`).toBeLessThanOrEqual(1 + (returns.get(itemId) ?? 0));
		expect(held.size).toBeGreaterThan(0);
	}, RUN_MS + 90_000);
});
