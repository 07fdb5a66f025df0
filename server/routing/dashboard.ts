/**
 * What supervisors see: every agent with status, channels, load per channel against capacity and
 * the ticket in front of them; every group's queue with waiting count, longest wait, SLA at risk.
 */
import type { Awareness } from 'y-protocols/awareness';
import { parseTicketDocumentName } from '../../src/lib/ticket';
import type { Accounts } from '../accounts';
import type { ConnectionCounts, Viewing } from '../cluster/connections';
import type { Clock } from './clock';
import type { AgentStatus } from './presence';
import { CHANNEL_CLASSES, type PerChannel, type StatusClass } from './rules';
import type { Router } from './router';

/** Waiting work whose SLA target falls within this is at risk. */
export const AT_RISK_MS = 15 * 60_000;

export interface DashboardAgent {
	id: string;
	name: string;
	role: string;
	groupIds: string[];
	status: string;
	statusName: string;
	statusClass: StatusClass;
	channels: PerChannel<boolean>;
	connected: boolean;
	load: PerChannel<{ assigned: number; offered: number; capacity: number }>;
	/** The ticket the agent has open in the workspace (their most recently active one), if any. */
	currentTicketId: string | null;
}

export interface DashboardQueue {
	groupId: string | null;
	groupName: string;
	waiting: number;
	longestWaitMs: number;
	slaAtRisk: number;
}

/** The ticket documents loaded now, with their awareness (Hocuspocus's document map). */
export type OpenDocuments = () => Iterable<[string, { awareness: Awareness }]>;

export class Dashboard {
	constructor(
		private readonly accounts: Accounts,
		private readonly presence: AgentStatus,
		private readonly router: Router,
		private readonly clock: Clock,
		private readonly openDocuments: OpenDocuments,
		/** Where what agents view on other nodes comes from, and this node's goes to. */
		private readonly connections?: Pick<ConnectionCounts, 'viewingElsewhere' | 'reportViewing'>
	) {
		connections?.reportViewing(() => this.viewingHere());
	}

	async data(): Promise<{ agents: DashboardAgent[]; queues: DashboardQueue[]; at: number }> {
		const now = this.clock.now();
		const loads = await this.router.loads();
		const viewing = this.viewing();
		const agents: DashboardAgent[] = [];
		for (const user of await this.accounts.listUsers()) {
			if (user.disabled || user.role === 'supervisor') continue;
			const p = await this.presence.get(user.id);
			const capacity = await this.router.capacityOf(user.id);
			const load = loads.get(user.id);
			agents.push({
				id: user.id,
				name: user.name,
				role: user.role,
				groupIds: user.groupIds,
				status: p.status,
				statusName: p.statusName,
				statusClass: p.statusClass,
				channels: p.channels,
				connected: p.connected,
				load: Object.fromEntries(
					CHANNEL_CLASSES.map((c) => [c, { assigned: load?.[c].assigned ?? 0, offered: load?.[c].offered ?? 0, capacity: capacity[c] }])
				) as DashboardAgent['load'],
				currentTicketId: viewing.get(user.id) ?? null
			});
		}
		const waiting = new Map((await this.router.queues(now + AT_RISK_MS)).map((q) => [q.groupId, q]));
		const groups: { id: string | null; name: string }[] = [...(await this.accounts.listGroups()), { id: null, name: 'No group' }];
		const queues = groups.map(({ id, name }): DashboardQueue => {
			const q = waiting.get(id);
			return { groupId: id, groupName: name, waiting: q?.waiting ?? 0, longestWaitMs: q ? now - q.oldest : 0, slaAtRisk: q?.atRisk ?? 0 };
		});
		return { agents, queues, at: now };
	}

	/**
	 * Per user, the open ticket where their workspace was last active (awareness renews every 15 s),
	 * on this node or another.
	 */
	private viewing(): Map<string, string> {
		const latest = this.viewingHere();
		for (const [userId, there] of this.connections?.viewingElsewhere() ?? []) if ((latest.get(userId)?.at ?? -1) < there.at) latest.set(userId, there);
		return new Map([...latest].map(([userId, v]) => [userId, v.ticketId]));
	}

	/** Per user, the ticket open on this node where they were last active. */
	private viewingHere(): Map<string, Viewing> {
		const latest = new Map<string, Viewing>();
		for (const [name, doc] of this.openDocuments()) {
			const ticketId = parseTicketDocumentName(name);
			if (!ticketId) continue;
			for (const [clientId, state] of doc.awareness.getStates()) {
				const user = state.user as { id?: string; kind?: string } | undefined;
				if (user?.kind !== 'user' || !user.id) continue;
				const at = doc.awareness.meta.get(clientId)?.lastUpdated ?? 0;
				const seen = latest.get(user.id);
				if (!seen || at > seen.at) latest.set(user.id, { ticketId, at });
			}
		}
		return latest;
	}
}
