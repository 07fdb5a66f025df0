/**
 * The routing modules over a real SQLite file, in-process, with a clock moved by hand: for the
 * routing scale test and `npm run bench`. Agents are written straight into the users table.
 */
import type Database from 'better-sqlite3';
import path from 'node:path';
import type { Clock } from '../../server/routing/clock';
import { AgentStatus } from '../../server/routing/presence';
import { Router, type RouterEvent } from '../../server/routing/router';
import { RoutingSettings } from '../../server/routing/settings';
import { Sla } from '../../server/routing/sla';
import { Events } from '../../server/events';
import { createLogger } from '../../server/log';
import { openSqliteStore, type Store } from '../../server/storage/store';

/** Timers fire only when the test moves time on, in due order, each awaited before the next. */
export class FakeClock implements Clock {
	private timers: { at: number; seq: number; run: () => void | Promise<void> }[] = [];
	private seq = 0;
	constructor(public time = Date.UTC(2026, 0, 5, 9)) {}
	now = () => this.time;
	setTimeout(run: () => void | Promise<void>, ms: number) {
		const timer = { at: this.time + ms, seq: this.seq++, run };
		this.timers.push(timer);
		return timer;
	}
	clearTimeout(handle: unknown) {
		this.timers = this.timers.filter((t) => t !== handle);
	}
	async advance(ms: number) {
		const until = this.time + ms;
		for (;;) {
			const next = this.timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
			if (!next) break;
			this.timers = this.timers.filter((t) => t !== next);
			this.time = Math.max(this.time, next.at);
			await next.run();
		}
		this.time = until;
	}
}

export const PRESENCE = { awayAfterMs: 60_000, offlineAfterMs: 600_000 };

export interface RoutingWorld {
	store: Store;
	/** The store's SQLite connection, for reading the tables independently and writing fixtures. */
	client: Database.Database;
	clock: FakeClock;
	events: Events;
	settings: RoutingSettings;
	sla: Sla;
	presence: AgentStatus;
	router: Router;
	/** Every router event, in order. */
	heard: RouterEvent[];
	/** Assignee writes the router asked for: [ticketId, agentId]. */
	writes: [string, string][];
	close(): Promise<void>;
}

/** The routing modules over the database in `file` (created and migrated when new). */
export function openRouting(file: string, clock = new FakeClock()): RoutingWorld {
	const store = openSqliteStore(file);
	const events = new Events(store);
	const settings = new RoutingSettings(store);
	const sla = new Sla(store, events, clock);
	const presence = new AgentStatus(store, events, clock, PRESENCE);
	const writes: [string, string][] = [];
	const router = new Router({
		store,
		clock,
		events,
		presence,
		settings,
		sla,
		logger: createLogger('silent'),
		assigner: { assign: async (ticketId, agentId) => void writes.push([ticketId, agentId]) }
	});
	const heard: RouterEvent[] = [];
	router.onEvent((e) => void heard.push(e));
	const off = presence.onChange((p) => router.onPresence(p));
	return {
		store,
		client: store.client,
		clock,
		events,
		settings,
		sla,
		presence,
		router,
		heard,
		writes,
		async close() {
			off();
			presence.close();
			router.close();
			await store.close();
		}
	};
}

/** Agents `agent-0…` (role agent) in groups `group-0…`: agent i is in group i mod groups, and every third also in the next. */
export function addAgents(s: Database.Database, count: number, groupCount: number): { agents: string[]; groups: string[] } {
	const groups = Array.from({ length: groupCount }, (_, i) => `group-${i}`);
	const agents = Array.from({ length: count }, (_, i) => `agent-${i}`);
	s.transaction(() => {
		for (const g of groups) s.prepare('INSERT INTO groups (id, name, created_at) VALUES (?, ?, 0)').run(g, g);
		agents.forEach((id, i) => {
			s.prepare("INSERT INTO users (id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, 'agent', 'x', 0)").run(id, `${id}@test.local`, id);
			s.prepare('INSERT INTO user_groups (user_id, group_id) VALUES (?, ?)').run(id, groups[i % groupCount]);
			if (groupCount > 1 && i % 3 === 0) s.prepare('INSERT INTO user_groups (user_id, group_id) VALUES (?, ?)').run(id, groups[(i + 1) % groupCount]);
		});
	})();
	return { agents, groups };
}

export function routingFile(dir: string) {
	return path.join(dir, 'tandem.sqlite');
}

/** A small deterministic PRNG (mulberry32), so a failing run can be replayed. */
export function random(seed: number) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}
