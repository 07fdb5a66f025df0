/**
 * The supervisor dashboard's data: every agent (status, channels, load against capacity, the
 * ticket in front of them), every queue (waiting, longest wait, SLA at risk) and today's
 * satisfaction answers, kept fresh while the page is shown.
 */
import type { Dashboard } from '$lib/api/routing';
import { satisfactionScore, type SatisfactionToday } from '$lib/api/satisfaction';
import { getJson } from './workspace.svelte';

export type DashboardAgent = Dashboard['agents'][number];
export type DashboardQueue = Dashboard['queues'][number];

/** How often the figures are read again: the dashboard is a few milliseconds of SQL. */
const REFRESH_MS = 2000;

export class DashboardState {
	agents = $state.raw<DashboardAgent[]>([]);
	queues = $state.raw<DashboardQueue[]>([]);
	satisfaction = $state.raw<SatisfactionToday | null>(null);
	at = $state(0);
	error = $state<string | null>(null);
	private timer: ReturnType<typeof setTimeout> | null = null;
	private stopped = false;

	start() {
		void this.load();
	}

	stop() {
		this.stopped = true;
		if (this.timer) clearTimeout(this.timer);
	}

	async load() {
		if (this.timer) clearTimeout(this.timer);
		try {
			const data = await getJson<Dashboard>('/api/v1/supervisor/dashboard');
			this.agents = data.agents;
			this.queues = data.queues;
			this.satisfaction = data.satisfaction;
			this.at = data.at;
			this.error = null;
		} catch (error) {
			this.error = (error as Error).message;
		}
		if (!this.stopped) this.timer = setTimeout(() => void this.load(), REFRESH_MS);
	}
}

/** One row of the satisfaction table: who, the counts, the score ("—" with no answers). */
export interface SatisfactionRow {
	key: string;
	name: string;
	good: number;
	bad: number;
	score: string;
}

const scored = (key: string, name: string, counts: { good: number; bad: number }): SatisfactionRow => {
	const score = satisfactionScore(counts);
	return { key, name, good: counts.good, bad: counts.bad, score: score === null ? '—' : `${score}%` };
};

/** Today's satisfaction per group (named as the queues name them) and per agent, best known names first. */
export function satisfactionRows(today: SatisfactionToday, queues: readonly DashboardQueue[], agents: readonly DashboardAgent[]) {
	const groupName = (id: string | null) => queues.find((q) => q.groupId === id)?.groupName ?? (id === null ? 'No group' : 'A removed group');
	const agentName = (id: string | null) => (id === null ? 'Unassigned' : (agents.find((a) => a.id === id)?.name ?? 'Another user'));
	return {
		total: scored('total', 'Everyone', today),
		groups: today.groups.map((g) => scored(g.groupId ?? '', groupName(g.groupId), g)),
		agents: today.agents.map((a) => scored(a.agentId ?? '', agentName(a.agentId), a))
	};
}
