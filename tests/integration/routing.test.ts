/**
 * The router at scale, in-process over a real SQLite file with a clock moved by hand: 100 agents,
 * 1,000 items across messaging, chat and talk, mixed priorities and groups. After every step the
 * stored state is checked: no item held by two agents, no agent over capacity, nothing waiting
 * that an agent with room could take (so an urgent item never waits while a lower one is offered),
 * offers moving on when agents go away, time out or decline, and a restart losing nothing.
 */
import type { Statement } from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PRIORITIES, type Priority } from '../../src/lib/ticket';
import { capacitiesOf, CHANNEL_CLASSES, compareItems, pickAgent, type AgentState, type ChannelClass, type RoutableItem } from '../../server/routing/rules';
import type { WorkItem } from '../../server/routing/router';
import type { TicketRow } from '../../server/ticket-index';
import { addAgents, FakeClock, openRouting, PRESENCE, random, routingFile, type RoutingWorld } from '../helpers/routing';
import { tempDataDir } from '../helpers/server';

let file: string;
let world: RoutingWorld;

beforeEach(() => {
	file = routingFile(tempDataDir('tandem-routing-'));
	world = openRouting(file);
});
afterEach(() => world.close());

// --- an independent reading of the stored state --------------------------------------------------

/** Statements prepared once per database: thousands of checks run. */
const prepared = new WeakMap<RoutingWorld, Map<string, Statement>>();
function sql(w: RoutingWorld, text: string): Statement {
	const statements = prepared.get(w) ?? prepared.set(w, new Map()).get(w)!;
	return statements.get(text) ?? statements.set(text, w.client.prepare(text)).get(text)!;
}

function items(w = world, which = ''): WorkItem[] {
	return sql(w, `SELECT id, kind, ref, channel, group_id AS groupId, skill, priority, sla_due_at AS slaDueAt, enqueued_at AS enqueuedAt, status, agent_id AS agentId FROM work_items ${which}`).all() as WorkItem[];
}

/** The items still in play. */
const live = (w = world) => items(w, "WHERE status IN ('queued', 'offered', 'assigned')");

function pendingOffers(w = world) {
	return sql(w, "SELECT o.id, o.item_id AS itemId, o.agent_id AS agentId, w.channel FROM offers o JOIN work_items w ON w.id = o.item_id WHERE o.status = 'pending'")
		.all() as { id: string; itemId: string; agentId: string; channel: ChannelClass }[];
}

/** Every agent as the rules see them, computed here from the tables rather than by the router. */
async function agentStates(w: RoutingWorld, all: WorkItem[], offers: ReturnType<typeof pendingOffers>): Promise<AgentState[]> {
	const defaults = (await w.settings.get()).capacities;
	const loads = new Map<string, Record<ChannelClass, number>>();
	const loadOf = (id: string) => loads.get(id) ?? loads.set(id, { messaging: 0, chat: 0, talk: 0 }).get(id)!;
	for (const item of all) if (item.status === 'assigned') loadOf(item.agentId!)[item.channel]++;
	for (const o of offers) loadOf(o.agentId)[o.channel]++;
	const groups = new Map<string, string[]>();
	for (const m of sql(w, 'SELECT user_id AS u, group_id AS g FROM user_groups').all() as { u: string; g: string }[]) {
		groups.set(m.u, [...(groups.get(m.u) ?? []), m.g]);
	}
	const own = await w.settings.agents();
	return (await w.presence.all()).map((p) => ({
		id: p.userId,
		status: p.statusClass,
		channels: p.channels,
		groupIds: groups.get(p.userId) ?? [],
		skills: own.get(p.userId)?.skills ?? [],
		capacities: capacitiesOf(own.get(p.userId)?.capacities ?? {}, defaults),
		load: loadOf(p.userId),
		lastAssignedAt: 0
	}));
}

/** Who declined or let expire each queued item, read from `offers` (aggregated: they pile up with every timeout). */
function refusals(w: RoutingWorld): Map<string, Set<string>> {
	const rows = sql(
		w,
		"SELECT o.item_id AS i, json_group_array(o.agent_id) AS a FROM work_items w JOIN offers o ON o.item_id = w.id WHERE w.status = 'queued' AND o.status IN ('declined', 'expired') GROUP BY o.item_id"
	).all() as { i: string; a: string }[];
	return new Map(rows.map((r) => [r.i, new Set(JSON.parse(r.a) as string[])]));
}

/** Fails with `message` unless `ok` (plain checks: thousands run after every step). */
function invariant(ok: boolean, message: () => string): void {
	if (!ok) expect.fail(message());
}

/** The invariants, checked after every step. Returns the items in play. */
async function check(w = world): Promise<WorkItem[]> {
	const all = live(w);
	const offers = pendingOffers(w);
	// One pending offer per item at most, and only for items in the offered state.
	const offeredItems = new Set<string>();
	for (const o of offers) {
		invariant(!offeredItems.has(o.itemId), () => `item ${o.itemId} has two pending offers`);
		offeredItems.add(o.itemId);
	}
	for (const item of all) {
		invariant((item.status === 'offered') === offeredItems.has(item.id), () => `item ${item.id} is ${item.status}, pending offer: ${offeredItems.has(item.id)}`);
		invariant((item.agentId !== null) === (item.status === 'assigned'), () => `item ${item.id}: only assigned items name an agent`);
	}
	// Capacity never exceeded: assigned plus offered, per channel.
	const agents = await agentStates(w, all, offers);
	for (const agent of agents) {
		for (const c of CHANNEL_CLASSES) invariant(agent.load[c] <= agent.capacities[c], () => `${agent.id} over capacity on ${c}: ${agent.load[c]}/${agent.capacities[c]}`);
	}
	// Agents who are not online hold no offers.
	const online = new Set(agents.filter((a) => a.status === 'online').map((a) => a.id));
	for (const o of offers) invariant(online.has(o.agentId), () => `${o.agentId} is not online but holds an offer`);
	// Nothing waits that an agent with room could take: the serving order is kept, an urgent item
	// never waits while a lower one is offered to an eligible agent with capacity.
	const refused = refusals(w);
	for (const item of all) {
		if (item.status !== 'queued') continue;
		const agent = pickAgent(item as RoutableItem, agents, refused.get(item.id));
		invariant(agent === null, () => `queued item ${item.id} (${item.priority}, ${item.channel}) could go to ${agent?.id}`);
	}
	return all;
}

/** No item is held by two agents: every assignment is of an item nobody holds. */
function trackHolders(w: RoutingWorld) {
	const holders = new Map<string, string>();
	let seen = 0;
	return (inPlay: WorkItem[]) => {
		const assigned = new Set(inPlay.filter((i) => i.status === 'assigned').map((i) => i.id));
		for (const id of holders.keys()) if (!assigned.has(id)) holders.delete(id);
		for (const event of w.heard.slice(seen)) {
			if (event.type !== 'assigned') continue;
			const holder = holders.get(event.item.id);
			invariant(holder === undefined || holder === event.agentId, () => `item ${event.item.id} assigned to ${event.agentId} while ${holder} holds it`);
			holders.set(event.item.id, event.agentId);
		}
		seen = w.heard.length;
		return holders;
	};
}

async function goOnline(w: RoutingWorld, agents: string[]) {
	for (const id of agents) {
		await w.presence.connect(id);
		await w.presence.set(id, { status: 'online' });
	}
}

const ITEMS = 1000;
const AGENTS = 100;

describe('the router with 100 agents and 1,000 items', () => {
	it('keeps every invariant through accepts, declines, timeouts, agents leaving and a restart', async () => {
		const rnd = random(7);
		const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)];
		const { agents, groups } = addAgents(world.client, AGENTS, 5);
		// Little room, so queues build and the serving order matters: 100×(2+1+1) slots for 1,000 items.
		await world.settings.update({ capacities: { messaging: 2, chat: 1, talk: 1 }, offerTimeoutSeconds: 30 });
		await world.settings.setAgent(agents[0], { skills: ['french'] });
		await world.settings.setAgent(agents[1], { capacities: { messaging: 5 } });
		await goOnline(world, agents);
		const holders = trackHolders(world);
		let enqueued = 0;
		const counts = { accepted: 0, declined: 0, completed: 0, away: 0, back: 0, timeouts: 0, stolen: 0 };

		const step = async (name: string, run: () => Promise<void>) => {
			await run();
			try {
				holders(await check());
			} catch (error) {
				throw new Error(`after step ${name}: ${(error as Error).message}`);
			}
		};

		const inPlay = () => (sql(world, "SELECT count(*) AS n FROM work_items WHERE status IN ('offered', 'assigned')").get() as { n: number }).n;
		for (;;) {
			if (enqueued >= ITEMS && inPlay() === 0) {
				// Everyone back: what still waits then is refused by every agent who could take it.
				await goOnline(world, (await world.presence.all()).filter((p) => p.statusClass !== 'online').map((p) => p.userId));
				if (inPlay() === 0) break;
			}
			const r = rnd();
			const offers = pendingOffers();
			if (enqueued < ITEMS && r < 0.35) {
				await step('enqueue', async () => {
					const channel: ChannelClass = pick(['messaging', 'messaging', 'chat', 'talk'] as const);
					await world.router.enqueue({
						kind: channel === 'talk' ? 'call' : 'ticket',
						ref: `work-${enqueued}`,
						ticketId: `ticket-${enqueued}`,
						channel,
						groupId: rnd() < 0.8 ? pick(groups) : null,
						skill: rnd() < 0.02 ? 'french' : null,
						priority: pick(PRIORITIES) as Priority,
						slaDueAt: rnd() < 0.5 ? world.clock.now() + Math.floor(rnd() * 3_600_000) : null
					});
					enqueued++;
				});
			} else if (r < 0.6 && offers.length) {
				const offer = pick(offers);
				await step('accept', async () => {
					const item = await world.router.accept(offer.id, offer.agentId);
					expect(item.agentId).toBe(offer.agentId);
					counts.accepted++;
				});
				// The same offer again, or by someone else: refused, nothing changes.
				await expect(world.router.accept(offer.id, offer.agentId)).rejects.toThrow(/no longer open|was accepted/);
				const other = agents.find((a) => a !== offer.agentId)!;
				await expect(world.router.accept(offer.id, other)).rejects.toThrow(/not found/);
				counts.stolen++;
			} else if (r < 0.65 && offers.length) {
				const offer = pick(offers);
				await step('decline', async () => {
					await world.router.decline(offer.id, offer.agentId);
					counts.declined++;
				});
				const next = pendingOffers().find((o) => o.itemId === offer.itemId);
				if (next) expect(next.agentId).not.toBe(offer.agentId);
			} else if (r < 0.85) {
				const assigned = items(world, "WHERE status = 'assigned'");
				if (!assigned.length) continue;
				const item = pick(assigned);
				await step('complete', async () => {
					await world.router.complete(item.kind, item.ref, 'done');
					counts.completed++;
				});
			} else if (r < 0.9) {
				// An agent holding offers goes away: they move on at once, and their chats return.
				const agent = offers.length ? pick(offers).agentId : pick(agents);
				const chats = items(world, "WHERE status = 'assigned' AND channel = 'chat'").filter((i) => i.agentId === agent);
				await step('away', async () => {
					await world.presence.set(agent, { status: pick(['away', 'offline']) });
					counts.away++;
				});
				expect(pendingOffers().filter((o) => o.agentId === agent)).toEqual([]);
				for (const chat of chats) expect((await world.router.item(chat.id))!.status).toMatch(/queued|offered/);
			} else if (r < 0.95) {
				const away = (await world.presence.all()).filter((p) => p.statusClass !== 'online');
				if (!away.length) continue;
				await step('back', async () => {
					await world.presence.set(pick(away).userId, { status: 'online' });
					counts.back++;
				});
			} else {
				const before = new Set(offers.map((o) => o.id));
				await step('time passes', async () => {
					await world.clock.advance(31_000);
					counts.timeouts++;
				});
				// Every offer pending before has expired and moved on.
				expect(pendingOffers().filter((o) => before.has(o.id))).toEqual([]);
			}
		}
		await check();
		expect(enqueued).toBe(ITEMS);
		// Done, or waiting for a supervisor because every agent who could take it declined it or let it expire.
		const left = items().filter((i) => i.status !== 'done');
		for (const item of left) expect(item.status).toBe('queued');
		expect(items().filter((i) => i.status === 'done').length).toBeGreaterThan(ITEMS * 0.9);
		expect(counts.accepted).toBeGreaterThanOrEqual(items().filter((i) => i.status === 'done').length);
		expect(counts.declined).toBeGreaterThan(0);
		expect(counts.away).toBeGreaterThan(0);
		expect(counts.timeouts).toBeGreaterThan(0);
		// Every accept wrote the assignee into its ticket.
		expect(world.writes.length).toBe(counts.accepted);
	}, 300_000);

	it('offers in serving order: urgent first, then the earliest SLA breach, then the longest waiting', async () => {
		const { agents } = addAgents(world.client, 1, 1);
		await world.settings.update({ capacities: { messaging: 1, chat: 1, talk: 1 } });
		const base = world.clock.now();
		const order: [string, Priority, number | null][] = [
			['low', 'low', null],
			['normal-late', 'normal', base + 50_000],
			['normal-soon', 'normal', base + 10_000],
			['urgent', 'urgent', null],
			['normal-none', 'normal', null],
			['high', 'high', null]
		];
		for (const [ref, priority, slaDueAt] of order) {
			await world.router.enqueue({ kind: 'ticket', ref, channel: 'messaging', priority, slaDueAt });
			await world.clock.advance(1);
		}
		await goOnline(world, agents);
		const served: string[] = [];
		for (let i = 0; i < order.length; i++) {
			const [offer] = await world.router.offersFor(agents[0]);
			served.push(offer.ref);
			await world.router.accept(offer.id, agents[0]);
			await world.router.complete('ticket', offer.ref, 'solved');
			await check();
		}
		expect(served).toEqual(['urgent', 'high', 'normal-soon', 'normal-late', 'normal-none', 'low']);
		// The same order as the rule itself.
		const sorted = order.map(([ref, priority, slaDueAt], i) => ({ id: ref, ref, priority, slaDueAt, enqueuedAt: base + i, channel: 'messaging', groupId: null, skill: null }) as RoutableItem).sort(compareItems);
		expect(sorted.map((i) => i.id)).toEqual(served);
	});

	it('offers to the agent idle longest, and moves a timed-out offer to the next', async () => {
		const { agents } = addAgents(world.client, 3, 1);
		await goOnline(world, agents);
		const first = await world.router.enqueue({ kind: 'ticket', ref: 't1', channel: 'messaging' });
		const [offer] = world.heard.filter((e) => e.type === 'offer').map((e) => (e as { offer: { agentId: string; id: string } }).offer);
		expect(offer.agentId).toBe(agents[0]);
		await world.clock.advance((await world.settings.get()).offerTimeoutSeconds * 1000);
		const moved = pendingOffers().find((o) => o.itemId === first.id)!;
		expect(moved.agentId).toBe(agents[1]);
		expect(world.heard).toContainEqual(expect.objectContaining({ type: 'offer.withdrawn', agentId: agents[0], reason: 'expired' }));
		await world.router.accept(moved.id, agents[1]);
		// agents[1] just took work: the next item goes to agents[0] (idle longer than agents[2]? both never took work: by id).
		const second = await world.router.enqueue({ kind: 'ticket', ref: 't2', channel: 'messaging' });
		expect(pendingOffers().find((o) => o.itemId === second.id)!.agentId).toBe(agents[0]);
		await check();
	});

	it('turns an agent whose last connection closed away after the grace period: offers move on, chats return', async () => {
		const { agents } = addAgents(world.client, 2, 1);
		const release: (() => void)[] = [];
		for (const id of agents) release.push(await world.presence.connect(id));
		for (const id of agents) await world.presence.set(id, { status: 'online' });
		// Only agents[0] has room for now; offers wait longer than the grace period.
		await world.settings.update({ offerTimeoutSeconds: 3600 });
		await world.settings.setAgent(agents[1], { capacities: { chat: 0, messaging: 0 } });
		const chat = await world.router.enqueue({ kind: 'ticket', ref: 'chat-1', channel: 'chat' });
		const chatOffer = pendingOffers().find((o) => o.itemId === chat.id)!;
		expect(chatOffer.agentId).toBe(agents[0]);
		await world.router.accept(chatOffer.id, agents[0]);
		const mail = await world.router.enqueue({ kind: 'ticket', ref: 'mail-1', channel: 'messaging' });
		expect(pendingOffers().find((o) => o.itemId === mail.id)!.agentId).toBe(agents[0]);
		await world.settings.setAgent(agents[1], { capacities: { chat: null, messaging: null } });

		// agents[0] closes their last tab; a second connection of theirs closing first changes nothing.
		const extra = await world.presence.connect(agents[0]);
		extra();
		release[0]();
		await world.clock.advance(PRESENCE.awayAfterMs - 1);
		expect((await world.presence.get(agents[0])).statusClass).toBe('online');
		await world.clock.advance(1);
		expect(await world.presence.get(agents[0])).toMatchObject({ status: 'away', auto: 'away', chosen: 'online' });
		// Their offer moved on at once, their chat went back to the queue and on to the colleague.
		expect(pendingOffers().find((o) => o.itemId === mail.id)!.agentId).toBe(agents[1]);
		expect(pendingOffers().find((o) => o.itemId === chat.id)!.agentId).toBe(agents[1]);
		await check();

		// Back before going offline: the chosen status again.
		const again = await world.presence.connect(agents[0]);
		expect(await world.presence.get(agents[0])).toMatchObject({ status: 'online', auto: null });
		again();
		await world.clock.advance(PRESENCE.offlineAfterMs);
		expect(await world.presence.get(agents[0])).toMatchObject({ status: 'offline', auto: 'offline' });
		// After offline they choose anew.
		await world.presence.connect(agents[0]);
		expect(await world.presence.get(agents[0])).toMatchObject({ status: 'offline', auto: null });
	});

	it('loses nothing across a restart: items, offers and assignments are in SQLite, overdue offers move on', async () => {
		const { agents } = addAgents(world.client, 10, 2);
		await world.settings.update({ capacities: { messaging: 1, chat: 1, talk: 1 } });
		await goOnline(world, agents);
		for (let i = 0; i < 40; i++) await world.router.enqueue({ kind: 'ticket', ref: `t${i}`, channel: i % 2 ? 'messaging' : 'chat', groupId: `group-${i % 2}`, priority: PRIORITIES[i % 4] });
		for (const offer of pendingOffers().slice(0, 5)) await world.router.accept(offer.id, offer.agentId);
		const before = items().map((i) => [i.id, i.status, i.agentId]).sort();
		const offersBefore = pendingOffers().map((o) => o.id).sort();
		const clock = world.clock;
		await world.close();

		// A new process over the same file, some time later (past the offer timeout).
		world = openRouting(file, new FakeClock(clock.now() + 60_000));
		expect(items().map((i) => [i.id, i.status, i.agentId]).sort()).toEqual(before);
		expect(pendingOffers().map((o) => o.id).sort()).toEqual(offersBefore);
		await world.presence.lead();
		await world.router.lead();
		// The overdue offers expired and moved on; every item is still there, none twice.
		expect(pendingOffers().some((o) => offersBefore.includes(o.id))).toBe(false);
		expect(items()).toHaveLength(40);
		expect(items().filter((i) => i.status === 'assigned')).toHaveLength(5);
		await check();
	});

	it('follows tickets: queued when unassigned, taken by a hand assignment, completed when solved, queued again when reopened', async () => {
		const { agents } = addAgents(world.client, 2, 1);
		const row = (over: Partial<TicketRow>): TicketRow => ({
			id: 'T1',
			number: 1,
			subject: 'Help',
			status: 'new',
			priority: 'high',
			assigneeId: null,
			groupId: null,
			requesterId: 'c1',
			channel: 'email',
			tags: [],
			createdAt: world.clock.now(),
			updatedAt: world.clock.now(),
			entryCount: 1,
			lastPublicPreview: 'hi',
			lastPublicAt: world.clock.now(),
			firstReplyAt: null,
			awaitingSince: world.clock.now(),
			parentId: null,
			snoozedUntil: null,
			mergedIntoId: null,
			custom: {},
			formId: null,
			...over
		});
		await world.router.observe(row({}));
		const item = (await world.router.activeItem('ticket', 'T1'))!;
		expect(item).toMatchObject({ status: 'queued', channel: 'messaging', priority: 'high' });
		// The SLA's first reply target orders it: high/messaging is 60 minutes by default.
		expect(item.slaDueAt).toBe(world.clock.now() + 60 * 60_000);
		await goOnline(world, agents);
		expect((await world.router.activeItem('ticket', 'T1'))!.status).toBe('offered');
		// A colleague assigns it by hand: the offer is withdrawn, the item is theirs.
		await world.router.observe(row({ assigneeId: agents[1], status: 'open' }));
		expect(await world.router.activeItem('ticket', 'T1')).toMatchObject({ status: 'assigned', agentId: agents[1] });
		expect(pendingOffers()).toEqual([]);
		await world.router.observe(row({ assigneeId: agents[1], status: 'solved' }));
		expect(await world.router.activeItem('ticket', 'T1')).toBeNull();
		// The customer writes again: reopened, it is routed again (not handed back silently).
		await world.router.observe(row({ assigneeId: agents[1], status: 'open' }));
		expect(await world.router.activeItem('ticket', 'T1')).toMatchObject({ status: 'offered', previousAgentId: agents[1] });
		// Talk tickets are not routed from the index: calls come from the Talk feature.
		await world.router.observe(row({ id: 'T2', channel: 'talk' }));
		expect(await world.router.activeItem('ticket', 'T2')).toBeNull();
		await check();
	});

	it('computes SLA timers: first reply until answered, next reply while the customer waits, resolution until solved', async () => {
		const t0 = world.clock.now();
		const min = 60_000;
		const ticket = { status: 'open', priority: 'normal', channel: 'email', createdAt: t0, firstReplyAt: null, awaitingSince: t0 } as const;
		// normal/messaging defaults: first reply 4 h, next reply 8 h, resolution 2 days.
		expect(await world.sla.slaFor(ticket)).toEqual({ firstReplyDueAt: t0 + 240 * min, nextReplyDueAt: null, resolutionDueAt: t0 + 2880 * min, dueAt: t0 + 240 * min, breached: [] });
		const answered = { ...ticket, firstReplyAt: t0 + 10 * min, awaitingSince: null };
		expect(await world.sla.slaFor(answered)).toMatchObject({ firstReplyDueAt: null, nextReplyDueAt: null, dueAt: t0 + 2880 * min });
		const waiting = { ...answered, awaitingSince: t0 + 60 * min };
		expect(await world.sla.slaFor(waiting)).toMatchObject({ nextReplyDueAt: t0 + 540 * min, dueAt: t0 + 540 * min });
		expect((await world.sla.slaFor(waiting, t0 + 541 * min)).breached).toEqual(['nextReply']);
		expect(await world.sla.slaFor({ ...waiting, status: 'pending' })).toMatchObject({ nextReplyDueAt: null, resolutionDueAt: t0 + 2880 * min });
		expect(await world.sla.slaFor({ ...waiting, status: 'solved' })).toMatchObject({ dueAt: null, breached: [] });
		// Chats answer in minutes; a policy without a target has none.
		expect((await world.sla.slaFor({ ...ticket, channel: 'chat', priority: 'urgent' })).firstReplyDueAt).toBe(t0 + 1 * min);
		await world.sla.setPolicies([{ priority: 'normal', channel: 'messaging', firstReplyMinutes: null, nextReplyMinutes: 60, resolutionMinutes: null }], 'test');
		expect(await world.sla.slaFor(ticket)).toMatchObject({ firstReplyDueAt: null, resolutionDueAt: null, dueAt: null });
	});

	it('records each SLA breach once', async () => {
		const created = world.clock.now();
		world.client
			.prepare(
				"INSERT INTO tickets (id, subject, status, priority, requester_id, channel, created_at, updated_at, awaiting_since) VALUES ('S1', 's', 'open', 'urgent', 'c', 'email', ?, ?, ?)"
			)
			.run(created, created, created);
		expect(await world.sla.sweep()).toBe(0);
		await world.clock.advance(16 * 60_000);
		expect(await world.sla.sweep()).toBe(1);
		expect(await world.sla.sweep()).toBe(0);
		const events = world.client.prepare("SELECT data FROM events WHERE type = 'sla.breached'").all() as { data: string }[];
		expect(events.map((e) => JSON.parse(e.data).metric)).toEqual(['firstReply']);
	});
});
