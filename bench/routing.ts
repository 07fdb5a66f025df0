/**
 * Scenario 8, routing: the router in-process over a real SQLite file (WAL, as the server runs it),
 * 100 agents in 5 groups and 1,000 items across messaging, chat and talk with mixed priorities,
 * arriving while agents accept and finish work, decline, and go away and come back. A routing
 * decision is one call into the router (an arrival, an accept, a decline, a finished item, a status
 * change) including the routing pass it triggers; its wall time is measured.
 */
import fs from 'node:fs';
import { PRIORITIES } from '../src/lib/ticket';
import type { ChannelClass } from '../server/routing/rules';
import { addAgents, openRouting, random, routingFile } from '../tests/helpers/routing';
import { tempDataDir } from '../tests/helpers/server';

export interface RoutingResult {
	decisions: number;
	offers: number;
	p50: number;
	p99: number;
	max: number;
}

export async function routingLatency(o: { agents: number; items: number }): Promise<RoutingResult> {
	const dir = tempDataDir('tandem-bench-routing-');
	const world = openRouting(routingFile(dir));
	try {
		const rnd = random(42);
		const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)];
		const { agents, groups } = addAgents(world.client, o.agents, 5);
		await world.settings.update({ capacities: { messaging: 3, chat: 2, talk: 1 } });
		for (const id of agents) await world.presence.connect(id);
		const times: number[] = [];
		const timed = async (run: () => Promise<unknown>) => {
			const t0 = performance.now();
			await run();
			times.push(performance.now() - t0);
		};
		for (const id of agents) await timed(() => world.presence.set(id, { status: 'online' }));
		const pending = () => world.client.prepare("SELECT id, agent_id AS agentId FROM offers WHERE status = 'pending' ORDER BY id").all() as { id: string; agentId: string }[];
		const assigned = () => world.client.prepare("SELECT kind, ref FROM work_items WHERE status = 'assigned' ORDER BY id").all() as { kind: 'ticket' | 'call'; ref: string }[];
		let enqueued = 0;
		while (enqueued < o.items || pending().length || assigned().length) {
			const r = rnd();
			if (enqueued < o.items && r < 0.4) {
				const channel: ChannelClass = pick(['messaging', 'messaging', 'chat', 'talk'] as const);
				const n = enqueued++;
				await timed(() =>
					world.router.enqueue({ kind: channel === 'talk' ? 'call' : 'ticket', ref: `w${n}`, ticketId: `t${n}`, channel, groupId: rnd() < 0.8 ? pick(groups) : null, priority: pick(PRIORITIES) })
				);
			} else if (r < 0.7) {
				const offers = pending();
				if (!offers.length) continue;
				const offer = pick(offers);
				if (rnd() < 0.1) await timed(() => world.router.decline(offer.id, offer.agentId));
				else await timed(() => world.router.accept(offer.id, offer.agentId));
			} else if (r < 0.97) {
				const work = assigned();
				if (!work.length) continue;
				const item = pick(work);
				await timed(() => world.router.complete(item.kind, item.ref, 'done'));
			} else {
				const agent = pick(agents);
				await timed(() => world.presence.set(agent, { status: 'away' }));
				await timed(() => world.presence.set(agent, { status: 'online' }));
			}
			// Queued items that every eligible agent refused wait for a supervisor: end there.
			if (enqueued >= o.items && !pending().length && !assigned().length) break;
		}
		const offers = (world.client.prepare('SELECT count(*) AS n FROM offers').get() as { n: number }).n;
		times.sort((a, b) => a - b);
		const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
		return { decisions: times.length, offers, p50: at(0.5), p99: at(0.99), max: times[times.length - 1] };
	} finally {
		await world.close();
		fs.rmSync(dir, { recursive: true, force: true });
	}
}
