/**
 * Routing and Talk on the store, on both engines: what the moved services read and write, and
 * every decision that must have exactly one winner, tried by concurrent attempts (on PostgreSQL
 * `Promise.all` on one store runs them on separate pool connections): accepting an offer (twice,
 * by someone else, past capacity), an offer's timeout against a late accept, declining against
 * accepting, queueing the same work twice, routing passes at once, status and settings changes,
 * SLA sweeps, and call state changes.
 */
import { and, eq, sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../server/log';
import type { Events } from '../../server/events';
import type { Accounts } from '../../server/accounts';
import type { Customers } from '../../server/customers';
import type { TicketIndex, TicketRow } from '../../server/ticket-index';
import type { Tickets } from '../../server/tickets';
import type { UserPrincipal } from '../../server/auth/principal';
import { AgentStatus } from '../../server/routing/presence';
import { Router, type RouterEvent } from '../../server/routing/router';
import { RoutingSettings } from '../../server/routing/settings';
import { Sla } from '../../server/routing/sla';
import type { Store, StoreDb } from '../../server/storage/store';
import { Calls } from '../../server/talk/calls';
import { TalkNumbers } from '../../server/talk/numbers';
import { SimulatorProvider } from '../../server/talk/simulator';
import { FakeClock, PRESENCE } from '../helpers/routing';
import { waitFor } from '../helpers/server';
import { ENGINES, openTestStore } from '../helpers/store';

/** Events as recorded (the Events service moves to the store in another part of #14). */
function recorder() {
	const recorded: { type: string; data?: unknown }[] = [];
	return { recorded, events: { record: async (event: { type: string; data?: unknown }) => void recorded.push(event) } as unknown as Events };
}

/** Both outcomes of a set of attempts: the values of those that succeeded, the errors of the others. */
async function settle<T>(attempts: Promise<T>[]) {
	const results = await Promise.allSettled(attempts);
	return {
		won: results.filter((r): r is PromiseFulfilledResult<Awaited<T>> => r.status === 'fulfilled').map((r) => r.value),
		lost: results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as Error & { status?: number; code?: string })
	};
}

describe.each(ENGINES)('routing and Talk on %s', (engine) => {
	let store: Store;
	let clock: FakeClock;
	let recorded: { type: string; data?: unknown }[];
	let events: Events;
	let settings: RoutingSettings;
	let sla: Sla;
	let presence: AgentStatus;
	let router: Router;
	let heard: RouterEvent[];

	beforeEach(async () => {
		store = await openTestStore(engine);
		clock = new FakeClock();
		const r = recorder();
		recorded = r.recorded;
		events = r.events;
		settings = new RoutingSettings(store);
		sla = new Sla(store, r.events, clock);
		presence = new AgentStatus(store, r.events, clock, PRESENCE);
		router = new Router({ store, clock, events: r.events, presence, settings, sla, logger: createLogger('silent'), assigner: { assign: async () => {} } });
		heard = [];
		router.onEvent((e) => void heard.push(e));
		presence.onChange((p) => router.onPresence(p));
	});
	afterEach(async () => {
		presence.close();
		router.close();
		await store?.close();
	});

	const addUsers = async (...ids: string[]) => {
		const { users } = store.tables;
		for (const id of ids) await store.db.insert(users).values({ id, email: `${id}@example.com`, name: id, role: 'agent', passwordHash: 'x', createdAt: 0 });
	};
	const online = async (...ids: string[]) => {
		for (const id of ids) {
			await presence.connect(id);
			await presence.set(id, { status: 'online' });
		}
	};
	const offerOf = async (itemId: string) => {
		const { offers } = store.tables;
		const [offer] = await store.db.select().from(offers).where(and(eq(offers.itemId, itemId), eq(offers.status, 'pending')));
		return offer!;
	};
	const chat = (ref: string) => router.enqueue({ kind: 'ticket', ref, channel: 'chat' });
	/** Whether a statement waits for a lock that the calling transaction holds (PostgreSQL). */
	const blocking = async (outside: StoreDb) => {
		const [{ pid }] = await store.all<{ pid: number }>(sql`SELECT pg_backend_pid() AS pid`);
		// Asked outside the transaction, which would see the activity as it was when it began.
		const [{ n }] = await store.all<{ n: number }>(sql`SELECT count(*) AS n FROM pg_stat_activity WHERE ${pid} = ANY(pg_blocking_pids(pid))`, outside);
		return n > 0;
	};

	it('stores items, offers and assignments, and reads them back the same', async () => {
		await addUsers('ann');
		await online('ann');
		const item = await router.enqueue({ kind: 'ticket', ref: 't1', channel: 'messaging', priority: 'high', slaDueAt: 5 });
		expect(item).toMatchObject({ kind: 'ticket', ref: 't1', ticketId: 't1', status: 'offered', written: false, priority: 'high', slaDueAt: 5 });
		const [offer] = await router.offersFor('ann');
		expect(offer).toMatchObject({ agentId: 'ann', itemId: item.id, channel: 'messaging', declineAllowed: true });
		expect(await router.loads()).toEqual(new Map([['ann', { messaging: { assigned: 0, offered: 1 }, chat: { assigned: 0, offered: 0 }, talk: { assigned: 0, offered: 0 } }]]));
		expect(await router.queues(10)).toEqual([{ groupId: null, waiting: 1, oldest: item.enqueuedAt, atRisk: 1 }]);
		const assigned = await router.accept(offer!.id, 'ann');
		expect(assigned).toMatchObject({ status: 'assigned', agentId: 'ann' });
		expect(await router.queues(10)).toEqual([]);
		await router.complete('ticket', 't1', 'ticket solved');
		expect(await router.activeItem('ticket', 't1')).toBeNull();
		expect(recorded.map((e) => e.type)).toEqual(['agent.status', 'routing.queued', 'routing.offered', 'routing.accepted', 'routing.done']);
	});

	it('follows a chat ticket’s rows: a message leaves its item be, a row after the chat ended completes it', async () => {
		const row = { id: 'chat-1', channel: 'chat', status: 'open', groupId: null, tags: [], priority: 'normal', assigneeId: null, createdAt: 0, firstReplyAt: null, awaitingSince: 0 } as unknown as TicketRow;
		await router.observe(row);
		const item = (await router.activeItem('ticket', 'chat-1'))!;
		expect(item).toMatchObject({ channel: 'chat', status: 'queued' });
		await router.observe({ ...row, awaitingSince: 5 });
		expect(await router.activeItem('ticket', 'chat-1')).toMatchObject({ id: item.id, status: 'queued' });
		const { visitors, chats, workItems } = store.tables;
		await store.db.insert(visitors).values({ id: 'v1', tokenHash: 'h1', createdAt: 0, lastSeenAt: 0 });
		await store.db.insert(chats).values({ id: 'chat-row', visitorId: 'v1', ticketId: 'chat-1', status: 'ended', presence: 'left', startedAt: 0, endedAt: 1 });
		await router.observe({ ...row, awaitingSince: 6 });
		expect(await router.activeItem('ticket', 'chat-1')).toBeNull();
		const [done] = await store.db.select().from(workItems).where(eq(workItems.id, item.id));
		expect(done).toMatchObject({ status: 'done', doneReason: 'chat ended' });
		// An ended chat is not queued again by a later row.
		await router.observe({ ...row, awaitingSince: 7 });
		expect(await router.activeItem('ticket', 'chat-1')).toBeNull();
	});

	it('keeps a snoozed ticket nobody holds out of the queue, withdrawing its offer, and queues it when it wakes', async () => {
		await addUsers('ann');
		await online('ann');
		const row = { id: 'snoozy', channel: 'email', status: 'open', groupId: null, tags: [], priority: 'normal', assigneeId: null, createdAt: 0, firstReplyAt: null, awaitingSince: 0, snoozedUntil: null } as unknown as TicketRow;
		const snoozed = { ...row, snoozedUntil: clock.now() + 60_000 };
		// Snoozed before routing saw it: never queued.
		await router.observe(snoozed);
		expect(await router.activeItem('ticket', 'snoozy')).toBeNull();
		// Woken: queued and offered.
		await router.observe(row);
		const item = (await router.activeItem('ticket', 'snoozy'))!;
		expect(item).toMatchObject({ status: 'offered' });
		expect(await router.offersFor('ann')).toHaveLength(1);
		// Snoozed while offered: the offer is withdrawn and the item done.
		await router.observe(snoozed);
		expect(await router.activeItem('ticket', 'snoozy')).toBeNull();
		expect(await router.offersFor('ann')).toHaveLength(0);
		expect(heard.some((e) => e.type === 'offer.withdrawn' && e.itemId === item.id)).toBe(true);
		// A snooze whose time has passed does not hold it back.
		await router.observe({ ...row, snoozedUntil: clock.now() - 1 });
		expect(await router.activeItem('ticket', 'snoozy')).toMatchObject({ status: 'offered' });
		// Held by an agent, a snoozed ticket stays theirs.
		const [offer] = await router.offersFor('ann');
		await router.accept(offer!.id, 'ann');
		await router.observe({ ...snoozed, assigneeId: 'ann' });
		expect(await router.activeItem('ticket', 'snoozy')).toMatchObject({ status: 'assigned', agentId: 'ann' });
	});

	it('lets exactly one of concurrent accepts of an offer win; someone else’s accept is not found', async () => {
		await addUsers('ann', 'ben');
		await online('ann', 'ben');
		const item = await chat('c1');
		const offer = await offerOf(item.id);
		const other = offer.agentId === 'ann' ? 'ben' : 'ann';
		const { won, lost } = await settle([router.accept(offer.id, offer.agentId), router.accept(offer.id, offer.agentId), router.accept(offer.id, other), router.accept(offer.id, offer.agentId)]);
		expect(won).toHaveLength(1);
		expect(won[0]).toMatchObject({ status: 'assigned', agentId: offer.agentId });
		expect(lost.map((e) => e.status).sort()).toEqual([404, 409, 409]);
		expect(heard.filter((e) => e.type === 'assigned')).toHaveLength(1);
	});

	it('refuses one agent’s concurrent accepts beyond their capacity', async () => {
		await addUsers('ann');
		await settings.setAgent('ann', { capacities: { chat: 2 } });
		await online('ann');
		const offers = [await offerOf((await chat('c1')).id), await offerOf((await chat('c2')).id)];
		expect(offers.map((o) => o.agentId)).toEqual(['ann', 'ann']);
		// Their room shrinks while both offers are out: only one of them may be taken.
		await settings.setAgent('ann', { capacities: { chat: 1 } });
		// On PostgreSQL the accepts run on two connections: each, about to commit, waits until the
		// other has got as far, or waits for a lock this one holds. Without the agent's lock both
		// count the load before either adds to it. On SQLite one transaction runs at a time.
		let taking = 0;
		const outside = store.db;
		const record = events.record.bind(events);
		events.record = async (event) => {
			if (event.type === 'routing.accepted') {
				taking++;
				if (engine === 'postgres') await waitFor(async () => taking === 2 || (await blocking(outside)), 'the other accept');
			}
			return record(event);
		};
		const { won, lost } = await settle(offers.map((o) => router.accept(o.id, 'ann')));
		expect(won).toHaveLength(1);
		expect(lost.map((e) => e.code)).toEqual(['over_capacity']);
		expect((await router.loads()).get('ann')!.chat.assigned).toBe(1);
	});

	it('lets an offer’s timeout and a late accept have exactly one winner', async () => {
		await addUsers('ann');
		await online('ann');
		for (let round = 0; round < 4; round++) {
			const item = await router.enqueue({ kind: 'ticket', ref: `late-${round}`, channel: 'messaging' });
			const offer = await offerOf(item.id);
			clock.time = offer.expiresAt;
			const { won } = await settle<unknown>([router.accept(offer.id, 'ann'), router.expireDue()]);
			const { offers } = store.tables;
			const [stored] = await store.db.select({ status: offers.status }).from(offers).where(eq(offers.id, offer.id));
			const accepted = won.some((w) => w !== undefined);
			expect(stored!.status).toBe(accepted ? 'accepted' : 'expired');
			expect((await router.item(item.id))!.status).toBe(accepted ? 'assigned' : 'queued');
			expect(recorded.filter((e) => e.type === 'routing.accepted' || e.type === 'routing.expired').length).toBe(round + 1);
			await router.complete('ticket', `late-${round}`, 'done');
		}
	});

	it('lets a decline and an accept of one offer have exactly one winner', async () => {
		await addUsers('ann');
		await online('ann');
		const item = await chat('c1');
		const offer = await offerOf(item.id);
		const { won, lost } = await settle<unknown>([router.decline(offer.id, 'ann'), router.accept(offer.id, 'ann')]);
		expect(won).toHaveLength(1);
		expect(lost.map((e) => e.status)).toEqual([409]);
	});

	it('queues the same work once, however many ask at once', async () => {
		const items = await Promise.all(Array.from({ length: 5 }, () => router.enqueue({ kind: 'call', ref: 'call-1', channel: 'talk' })));
		expect(new Set(items.map((i) => i.id)).size).toBe(1);
		expect(recorded.filter((e) => e.type === 'routing.queued')).toHaveLength(1);
	});

	it('offers each item once and no agent past their room, with routing passes at once', async () => {
		await addUsers('ann', 'ben');
		await settings.update({ capacities: { messaging: 2, chat: 1, talk: 1 } });
		await presence.set('ann', { status: 'online' });
		await presence.set('ben', { status: 'online' });
		for (let i = 0; i < 10; i++) await store.db.insert(store.tables.workItems).values({ id: `w${i}`, kind: 'ticket', ref: `t${i}`, ticketId: null, channel: 'messaging', priority: 'normal', status: 'queued', enqueuedAt: i });
		await Promise.all(Array.from({ length: 6 }, () => router.dispatch()));
		const { offers } = store.tables;
		const pending = await store.db.select().from(offers).where(eq(offers.status, 'pending'));
		expect(pending).toHaveLength(4);
		expect(new Set(pending.map((o) => o.itemId)).size).toBe(4);
		expect(pending.filter((o) => o.agentId === 'ann')).toHaveLength(2);
	});

	it('keeps both of two status changes made at once', async () => {
		await addUsers('ann');
		await Promise.all([presence.set('ann', { status: 'away' }), presence.set('ann', { channels: { chat: false } }), presence.set('ann', { channels: { talk: false } })]);
		expect(await presence.get('ann')).toMatchObject({ status: 'away', channels: { messaging: true, chat: false, talk: false } });
		// The same name added at once: the unique name decides, the other is told it exists.
		const { won, lost } = await settle([presence.addStatus('Lunch', 'away', 'test'), presence.addStatus('Lunch', 'away', 'test')]);
		expect(lost.map((e) => e.status)).toEqual([409]);
		expect((await presence.statuses()).filter((s) => !s.builtIn)).toEqual(won);
		await expect(presence.addStatus('LUNCH', 'online', 'test')).rejects.toMatchObject({ status: 409 });
		// Spellings differing only in case, at once: still one.
		const cases = await settle(['Gym', 'GYM', 'gym', 'gYm'].map((name) => presence.addStatus(name, 'away', 'test')));
		expect(cases.won).toHaveLength(1);
		expect(cases.lost.map((e) => e.status)).toEqual([409, 409, 409]);
	});

	it('keeps every one of settings changes made at once', async () => {
		await addUsers('ann');
		await Promise.all([settings.update({ offerTimeoutSeconds: 45 }), settings.update({ capacities: { chat: 5 } }), settings.update({ declineAllowed: false })]);
		expect(await new RoutingSettings(store).get()).toEqual({ offerTimeoutSeconds: 45, capacities: { messaging: 10, chat: 5, talk: 1 }, declineAllowed: false });
		await Promise.all([settings.setAgent('ann', { skills: ['french'] }), settings.setAgent('ann', { capacities: { talk: 2 } })]);
		expect(await settings.agent('ann')).toEqual({ capacities: { talk: 2 }, skills: ['french'] });
	});

	it('records each SLA breach once, with sweeps at once', async () => {
		const { tickets } = store.tables;
		const created = clock.now();
		await store.db.insert(tickets).values({ id: 'S1', subject: 's', status: 'open', priority: 'urgent', requesterId: 'c', channel: 'email', createdAt: created, updatedAt: created, awaitingSince: created });
		expect(await sla.sweep()).toBe(0);
		clock.time += 16 * 60_000;
		const counts = await Promise.all([sla.sweep(), sla.sweep(), sla.sweep()]);
		expect(counts.reduce((a, b) => a + b)).toBe(1);
		expect(recorded.filter((e) => e.type === 'sla.breached').map((e) => e.data)).toEqual([{ metric: 'firstReply', dueAt: created + 15 * 60_000 }]);
		await sla.setPolicies([{ priority: 'urgent', channel: 'messaging', firstReplyMinutes: null, nextReplyMinutes: 30, resolutionMinutes: 60 }], 'test');
		expect((await sla.policies()).find((p) => p.priority === 'urgent' && p.channel === 'messaging')).toEqual({ priority: 'urgent', channel: 'messaging', firstReplyMinutes: null, nextReplyMinutes: 30, resolutionMinutes: 60 });
	});

	describe('calls', () => {
		let calls: Calls;
		let numbers: TalkNumbers;
		let provider: SimulatorProvider;
		const person = (id: string): UserPrincipal => ({ kind: 'user', id, role: 'agent', name: id, email: `${id}@example.com`, groupIds: [] });
		const ticket = { id: 'T1', groupId: null, assigneeId: null, channel: 'talk', status: 'open', priority: 'normal', requesterId: 'cust' };

		beforeEach(async () => {
			await addUsers('ann', 'ben');
			const r = recorder();
			recorded = r.recorded;
			numbers = new TalkNumbers(store, r.events);
			provider = new SimulatorProvider();
			calls = new Calls({
				store,
				provider,
				numbers,
				events: r.events,
				logger: createLogger('silent'),
				index: { get: async () => ticket } as unknown as TicketIndex,
				customers: { get: async () => ({ id: 'cust', name: 'Cleo' }), findOrCreate: async () => ({ id: 'cust', name: 'Cleo' }) } as unknown as Customers,
				accounts: { get: async (id: string) => ({ id, name: id }), principal: async (id: string) => person(id), listUsers: async () => [], listGroups: async () => [] } as unknown as Accounts,
				tickets: { append: async () => void recorded.push({ type: 'entry' }) } as unknown as Tickets
			});
			const { tickets } = store.tables;
			await store.db.insert(tickets).values({ id: 'T1', subject: 's', status: 'open', priority: 'normal', requesterId: 'cust', channel: 'talk', createdAt: 0, updatedAt: 0 });
		});

		const ringing = async (id: string) => {
			await store.db.insert(store.tables.calls).values({ id, ref: `ref-${id}`, ticketId: 'T1', customerId: 'cust', direction: 'in', fromNumber: '+1', toNumber: '+2', state: 'ringing', createdAt: 0 });
		};

		it('stores Talk numbers once: the same number added at once is one number and a 409', async () => {
			const { won, lost } = await settle([numbers.create({ number: '+15550100', label: 'A', groupId: null }), numbers.create({ number: '+15550100', label: 'B', groupId: null })]);
			expect(won).toHaveLength(1);
			expect(lost.map((e) => e.status)).toEqual([409]);
			expect(await numbers.list()).toEqual([won[0]]);
			expect(await numbers.byNumber('+15550100')).toEqual(won[0]);
		});

		it('lets exactly one of two agents answer a ringing call', async () => {
			await ringing('k1');
			const { won, lost } = await settle([calls.accept('k1', person('ann')), calls.accept('k1', person('ben'))]);
			expect(won).toHaveLength(1);
			expect(won[0]).toMatchObject({ state: 'active', version: 1 });
			expect(lost.map((e) => e.status)).toEqual([409]);
			expect(recorded.filter((e) => e.type === 'call.accepted')).toHaveLength(1);
		});

		it('lets an agent answer only one of two calls ringing at once', async () => {
			await ringing('k1');
			await ringing('k2');
			const { won, lost } = await settle([calls.accept('k1', person('ann')), calls.accept('k2', person('ann'))]);
			expect(won).toHaveLength(1);
			expect(lost.map((e) => e.message)).toEqual(['you are on another call: end it first']);
		});

		it('ends a call once, whoever hangs up at the same time; hold time and outcome are computed in SQL', async () => {
			await ringing('k1');
			const ann = person('ann');
			await calls.accept('k1', ann);
			await calls.hold('k1', ann);
			const { won } = await settle([calls.end('k1', ann), provider.hangUp('ref-k1'), provider.hangUp('ref-k1'), calls.end('k1', ann)]);
			expect(won.length).toBeGreaterThanOrEqual(1);
			expect(recorded.filter((e) => e.type === 'call.ended')).toHaveLength(1);
			expect(recorded.filter((e) => e.type === 'entry')).toHaveLength(1);
			const [row] = await store.db.select().from(store.tables.calls).where(eq(store.tables.calls.id, 'k1'));
			expect(row).toMatchObject({ state: 'ended', outcome: 'answered', heldSince: null, answeredBy: 'ann', ringTo: null, transfers: [] });
			expect(row!.holdMs).toBeGreaterThanOrEqual(0);
		});

		it('lets exactly one of a hold and a transfer of the same call win', async () => {
			await ringing('k1');
			const ann = person('ann');
			await calls.accept('k1', ann);
			await presence.set('ben', { status: 'online' });
			calls.route({ router, presence });
			const { won, lost } = await settle<unknown>([calls.hold('k1', ann), calls.transfer('k1', ann, { toUserId: 'ben' }), calls.hold('k1', ann)]);
			const [row] = await store.db.select().from(store.tables.calls).where(eq(store.tables.calls.id, 'k1'));
			// Hold then transfer is a valid order too (a held call may be transferred): each succeeded transition bumped the version once.
			expect(row!.version).toBe(1 + won.length);
			expect(lost.every((e) => e.status === 409)).toBe(true);
			expect(won.length).toBeLessThanOrEqual(2);
		});
	});
});
