/** The routing rules alone: channel classes, eligibility, serving order, choice of agent. */
import { describe, expect, it } from 'vitest';
import {
	capacitiesOf,
	channelClass,
	compareAgents,
	compareItems,
	isEligible,
	pickAgent,
	skillOf,
	type AgentState,
	type RoutableItem
} from '../../server/routing/rules';

const item = (over: Partial<RoutableItem> = {}): RoutableItem => ({
	id: 'i1',
	channel: 'messaging',
	groupId: null,
	skill: null,
	priority: 'normal',
	slaDueAt: null,
	enqueuedAt: 1000,
	...over
});

const agent = (over: Partial<AgentState> = {}): AgentState => ({
	id: 'a1',
	status: 'online',
	channels: { messaging: true, chat: true, talk: true },
	groupIds: [],
	skills: [],
	capacities: { messaging: 10, chat: 3, talk: 1 },
	load: { messaging: 0, chat: 0, talk: 0 },
	lastAssignedAt: 0,
	...over
});

describe('channelClass', () => {
	it('routes chat and talk on their own, every other channel as messaging', () => {
		expect(channelClass('chat')).toBe('chat');
		expect(channelClass('talk')).toBe('talk');
		for (const c of ['email', 'messaging', 'social', 'web', 'api']) expect(channelClass(c)).toBe('messaging');
	});
});

describe('skillOf', () => {
	it('reads the skill from a skill:<name> tag', () => {
		expect(skillOf(['vip', 'skill:french'])).toBe('french');
		expect(skillOf(['vip'])).toBeNull();
		expect(skillOf(['skill:'])).toBeNull();
	});
});

describe('isEligible', () => {
	it('takes an online agent available on the channel with room', () => {
		expect(isEligible(agent(), item())).toBe(true);
	});

	it('refuses away and offline agents', () => {
		expect(isEligible(agent({ status: 'away' }), item())).toBe(false);
		expect(isEligible(agent({ status: 'offline' }), item())).toBe(false);
	});

	it('refuses an agent unavailable on the channel', () => {
		expect(isEligible(agent({ channels: { messaging: true, chat: false, talk: true } }), item({ channel: 'chat' }))).toBe(false);
		expect(isEligible(agent({ channels: { messaging: true, chat: false, talk: true } }), item({ channel: 'messaging' }))).toBe(true);
	});

	it('counts assigned work and pending offers against the capacity of the channel', () => {
		expect(isEligible(agent({ load: { messaging: 0, chat: 3, talk: 0 } }), item({ channel: 'chat' }))).toBe(false);
		expect(isEligible(agent({ load: { messaging: 0, chat: 2, talk: 0 } }), item({ channel: 'chat' }))).toBe(true);
		expect(isEligible(agent({ load: { messaging: 0, chat: 3, talk: 0 } }), item({ channel: 'messaging' }))).toBe(true);
		expect(isEligible(agent({ capacities: { messaging: 0, chat: 3, talk: 1 } }), item())).toBe(false);
	});

	it('needs the group of an item with a group; an item without one is for everyone', () => {
		expect(isEligible(agent({ groupIds: ['billing'] }), item({ groupId: 'billing' }))).toBe(true);
		expect(isEligible(agent({ groupIds: ['sales'] }), item({ groupId: 'billing' }))).toBe(false);
		expect(isEligible(agent({ groupIds: ['sales'] }), item({ groupId: null }))).toBe(true);
	});

	it('needs the skill of an item that names one', () => {
		expect(isEligible(agent({ skills: ['french'] }), item({ skill: 'french' }))).toBe(true);
		expect(isEligible(agent({ skills: [] }), item({ skill: 'french' }))).toBe(false);
		expect(isEligible(agent({ skills: ['french'], groupIds: [] }), item({ skill: 'french', groupId: 'billing' }))).toBe(false);
	});

	it('never offers an item again to an agent who declined it or let it expire', () => {
		expect(isEligible(agent(), item(), new Set(['a1']))).toBe(false);
		expect(isEligible(agent(), item(), new Set(['a2']))).toBe(true);
	});
});

describe('compareItems', () => {
	const sorted = (items: RoutableItem[]) => [...items].sort(compareItems).map((i) => i.id);

	it('serves urgent first, then high, normal, low', () => {
		const items = (['low', 'urgent', 'normal', 'high'] as const).map((priority) => item({ id: priority, priority }));
		expect(sorted(items)).toEqual(['urgent', 'high', 'normal', 'low']);
	});

	it('within a priority, the earliest SLA breach first; items without a target last', () => {
		const items = [item({ id: 'none', slaDueAt: null }), item({ id: 'late', slaDueAt: 5000 }), item({ id: 'soon', slaDueAt: 2000 })];
		expect(sorted(items)).toEqual(['soon', 'late', 'none']);
	});

	it('then the longest waiting first', () => {
		expect(sorted([item({ id: 'new', enqueuedAt: 3000 }), item({ id: 'old', enqueuedAt: 1000 })])).toEqual(['old', 'new']);
	});

	it('priority outranks an earlier SLA breach', () => {
		expect(sorted([item({ id: 'normal', slaDueAt: 1 }), item({ id: 'urgent', priority: 'urgent', slaDueAt: 999_999 })])).toEqual(['urgent', 'normal']);
	});
});

describe('choosing the agent', () => {
	it('offers to who has been idle longest', () => {
		const agents = [agent({ id: 'busy', lastAssignedAt: 5000 }), agent({ id: 'idle', lastAssignedAt: 1000 }), agent({ id: 'mid', lastAssignedAt: 3000 })];
		expect(pickAgent(item(), agents)?.id).toBe('idle');
	});

	it('then the least loaded on the channel, relative to capacity', () => {
		const a = agent({ id: 'a', load: { messaging: 5, chat: 0, talk: 0 } });
		const b = agent({ id: 'b', load: { messaging: 2, chat: 0, talk: 0 } });
		expect(compareAgents(a, b, 'messaging')).toBeGreaterThan(0);
		expect(pickAgent(item(), [a, b])?.id).toBe('b');
	});

	it('skips agents who are not eligible, and finds no one when nobody is', () => {
		const agents = [agent({ id: 'away', status: 'away' }), agent({ id: 'full', load: { messaging: 10, chat: 0, talk: 0 }, lastAssignedAt: -1 }), agent({ id: 'ok', lastAssignedAt: 9 })];
		expect(pickAgent(item(), agents)?.id).toBe('ok');
		expect(pickAgent(item(), agents, new Set(['ok']))).toBeNull();
	});
});

describe('capacitiesOf', () => {
	it("uses the agent's own capacities and the defaults for the rest", () => {
		expect(capacitiesOf({ chat: 5 }, { messaging: 10, chat: 3, talk: 1 })).toEqual({ messaging: 10, chat: 5, talk: 1 });
	});
});
