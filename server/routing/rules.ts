/**
 * Routing rules as pure functions: which channel class a ticket's work belongs to, who may be
 * offered an item, in which order items are served and agents are chosen. The router (router.ts)
 * applies them to the state it loads; the unit tests exercise them alone.
 */
import { CHANNEL_CLASSES, STATUS_CLASSES } from '../../src/lib/api/routing';
import { PRIORITIES, type Priority } from '../../src/lib/ticket';

export { CHANNEL_CLASSES, STATUS_CLASSES };
/** How work is counted against an agent's capacity: tickets (email, messaging…), chats, calls. */
export type ChannelClass = (typeof CHANNEL_CLASSES)[number];
export type PerChannel<T> = Record<ChannelClass, T>;

/** Built-in statuses; custom ones map onto one of these. */
export type StatusClass = (typeof STATUS_CLASSES)[number];

/** A ticket's channel class: chat and talk are their own, every other customer channel is messaging. */
export function channelClass(channel: string): ChannelClass {
	return channel === 'chat' ? 'chat' : channel === 'talk' ? 'talk' : 'messaging';
}

/** Tickets tagged `skill:<name>` are routed to agents with that skill. */
export const SKILL_TAG_PREFIX = 'skill:';

export function skillOf(tags: readonly string[]): string | null {
	const tag = tags.find((t) => t.startsWith(SKILL_TAG_PREFIX));
	return tag ? tag.slice(SKILL_TAG_PREFIX.length) || null : null;
}

export interface RoutableItem {
	id: string;
	channel: ChannelClass;
	/** null: any agent who holds tickets may take it. */
	groupId: string | null;
	/** null: no skill needed. */
	skill: string | null;
	priority: Priority;
	/** The earliest SLA target of the work, if it has one. */
	slaDueAt: number | null;
	enqueuedAt: number;
}

export interface AgentState {
	id: string;
	status: StatusClass;
	channels: PerChannel<boolean>;
	groupIds: readonly string[];
	skills: readonly string[];
	capacities: PerChannel<number>;
	/** Assigned items not done plus pending offers, per channel class. */
	load: PerChannel<number>;
	/** When the agent last took work (0: never). */
	lastAssignedAt: number;
}

export function hasSpareCapacity(agent: AgentState, channel: ChannelClass): boolean {
	return agent.load[channel] < agent.capacities[channel];
}

/**
 * Whether `agent` may be offered `item`: online and available on its channel, under capacity there,
 * in the item's group when it has one, holding its skill when it needs one, and not one who already
 * declined it or let an offer of it expire.
 */
export function isEligible(agent: AgentState, item: RoutableItem, refused: ReadonlySet<string> = NO_ONE): boolean {
	return (
		agent.status === 'online' &&
		agent.channels[item.channel] &&
		hasSpareCapacity(agent, item.channel) &&
		(item.groupId === null || agent.groupIds.includes(item.groupId)) &&
		(item.skill === null || agent.skills.includes(item.skill)) &&
		!refused.has(agent.id)
	);
}

const NO_ONE: ReadonlySet<string> = new Set();

const rank = (priority: Priority) => PRIORITIES.indexOf(priority);

/** Serving order: urgent first, then the earliest SLA breach, then the longest waiting. */
export function compareItems(a: RoutableItem, b: RoutableItem): number {
	return (
		rank(b.priority) - rank(a.priority) ||
		(a.slaDueAt ?? Infinity) - (b.slaDueAt ?? Infinity) ||
		a.enqueuedAt - b.enqueuedAt ||
		(a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
	);
}

/** Who is offered first among eligible agents: idle longest, then least loaded on the channel. */
export function compareAgents(a: AgentState, b: AgentState, channel: ChannelClass): number {
	return (
		a.lastAssignedAt - b.lastAssignedAt ||
		a.load[channel] / Math.max(1, a.capacities[channel]) - b.load[channel] / Math.max(1, b.capacities[channel]) ||
		(a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
	);
}

/** The agent to offer `item` to, or null when no one is eligible. */
export function pickAgent(item: RoutableItem, agents: Iterable<AgentState>, refused?: ReadonlySet<string>): AgentState | null {
	let best: AgentState | null = null;
	for (const agent of agents) {
		if (isEligible(agent, item, refused) && (best === null || compareAgents(agent, best, item.channel) < 0)) best = agent;
	}
	return best;
}

/** Fills in the default capacities where an agent has none of their own. */
export function capacitiesOf(own: Partial<PerChannel<number>>, defaults: PerChannel<number>): PerChannel<number> {
	return { messaging: own.messaging ?? defaults.messaging, chat: own.chat ?? defaults.chat, talk: own.talk ?? defaults.talk };
}
