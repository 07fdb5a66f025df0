/**
 * The supervisor dashboard's data: every agent (status, channels, load against capacity, the
 * ticket in front of them) and every queue (waiting, longest wait, SLA at risk), kept fresh while
 * the page is shown.
 */
import type { Dashboard } from '$lib/api/routing';
import { getJson } from './workspace.svelte';

export type DashboardAgent = Dashboard['agents'][number];
export type DashboardQueue = Dashboard['queues'][number];

/** How often the figures are read again: the dashboard is a few milliseconds of SQL. */
const REFRESH_MS = 2000;

export class DashboardState {
	agents = $state.raw<DashboardAgent[]>([]);
	queues = $state.raw<DashboardQueue[]>([]);
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
			this.at = data.at;
			this.error = null;
		} catch (error) {
			this.error = (error as Error).message;
		}
		if (!this.stopped) this.timer = setTimeout(() => void this.load(), REFRESH_MS);
	}
}
