/**
 * SLA policies (priority × channel class → first reply, next reply and resolution targets) and the
 * timers of each ticket computed from its index row. A periodic sweep records each breach once
 * as an `sla.breached` event; the router orders its queues by the earliest target.
 */
import type Database from 'better-sqlite3';
import { SLA_METRICS } from '../../src/lib/api/routing';
import { PRIORITIES, type Priority } from '../../src/lib/ticket';
import type { Events } from '../events';
import type { Db } from '../storage/database';
import type { TicketRow } from '../ticket-index';
import type { Clock } from './clock';
import { CHANNEL_CLASSES, channelClass, type ChannelClass } from './rules';

export type SlaMetric = (typeof SLA_METRICS)[number];

export interface SlaPolicy {
	priority: Priority;
	channel: ChannelClass;
	/** Minutes; null: no target. */
	firstReplyMinutes: number | null;
	nextReplyMinutes: number | null;
	resolutionMinutes: number | null;
}

export interface SlaState {
	firstReplyDueAt: number | null;
	nextReplyDueAt: number | null;
	resolutionDueAt: number | null;
	/** The earliest of the targets still running. */
	dueAt: number | null;
	breached: SlaMetric[];
}

/** The fields of a ticket row the timers depend on. */
export type SlaTicket = Pick<TicketRow, 'status' | 'priority' | 'channel' | 'createdAt' | 'firstReplyAt' | 'awaitingSince'>;

const H = 60;
/** Defaults seeded once: replies on chat and calls are expected in minutes, tickets in hours. */
const DEFAULTS: Record<Priority, { messaging: [number, number]; live: [number, number]; resolution: number }> = {
	urgent: { messaging: [15, 30], live: [1, 2], resolution: 4 * H },
	high: { messaging: [1 * H, 2 * H], live: [2, 3], resolution: 8 * H },
	normal: { messaging: [4 * H, 8 * H], live: [3, 5], resolution: 48 * H },
	low: { messaging: [24 * H, 48 * H], live: [5, 10], resolution: 5 * 24 * H }
};

export const DEFAULT_POLICIES: SlaPolicy[] = PRIORITIES.flatMap((priority) =>
	CHANNEL_CLASSES.map((channel) => {
		const d = DEFAULTS[priority];
		const [first, next] = channel === 'messaging' ? d.messaging : d.live;
		return { priority, channel, firstReplyMinutes: first, nextReplyMinutes: next, resolutionMinutes: d.resolution };
	})
);

/** How often breaches are looked for. */
const SWEEP_MS = 60_000;
const RUNNING: readonly string[] = ['new', 'open', 'pending', 'hold'];
const MINUTE = 60_000;

export class Sla {
	private readonly sqlite: Database.Database;
	private cached: Map<string, SlaPolicy> | null = null;
	private timer: unknown = null;

	constructor(
		db: Db,
		private readonly events: Events,
		private readonly clock: Clock
	) {
		this.sqlite = db.$client;
		const insert = this.sqlite.prepare(
			'INSERT OR IGNORE INTO sla_policies (priority, channel, first_reply_minutes, next_reply_minutes, resolution_minutes) VALUES (?, ?, ?, ?, ?)'
		);
		this.sqlite.transaction(() => {
			for (const p of DEFAULT_POLICIES) insert.run(p.priority, p.channel, p.firstReplyMinutes, p.nextReplyMinutes, p.resolutionMinutes);
		})();
	}

	policies(): SlaPolicy[] {
		return [...this.byKey().values()];
	}

	/** Replaces the given policies (by priority and channel). */
	setPolicies(list: SlaPolicy[], actor: string): SlaPolicy[] {
		const upsert = this.sqlite.prepare(
			`INSERT INTO sla_policies (priority, channel, first_reply_minutes, next_reply_minutes, resolution_minutes) VALUES (?, ?, ?, ?, ?)
			 ON CONFLICT (priority, channel) DO UPDATE SET first_reply_minutes = excluded.first_reply_minutes,
			   next_reply_minutes = excluded.next_reply_minutes, resolution_minutes = excluded.resolution_minutes`
		);
		this.sqlite.transaction(() => {
			for (const p of list) upsert.run(p.priority, p.channel, p.firstReplyMinutes, p.nextReplyMinutes, p.resolutionMinutes);
			this.events.record({ actor, type: 'sla.policies.changed', data: { policies: list } });
		})();
		this.cached = null;
		return this.policies();
	}

	/**
	 * A ticket's timers: first reply until the first public reply, next reply while the customer
	 * waits after that, resolution until solved. Pending and on-hold tickets wait on the customer
	 * or a third party: only resolution runs.
	 */
	slaFor(ticket: SlaTicket, now = this.clock.now()): SlaState {
		const policy = this.byKey().get(`${ticket.priority}/${channelClass(ticket.channel)}`);
		const running = RUNNING.includes(ticket.status);
		const replying = running && ticket.status !== 'pending' && ticket.status !== 'hold';
		const due = (from: number | null, minutes: number | null | undefined) => (from !== null && minutes != null ? from + minutes * MINUTE : null);
		const state: SlaState = {
			firstReplyDueAt: replying && ticket.firstReplyAt === null ? due(ticket.createdAt, policy?.firstReplyMinutes) : null,
			nextReplyDueAt: replying && ticket.firstReplyAt !== null ? due(ticket.awaitingSince, policy?.nextReplyMinutes) : null,
			resolutionDueAt: running ? due(ticket.createdAt, policy?.resolutionMinutes) : null,
			dueAt: null,
			breached: []
		};
		const dues: [SlaMetric, number | null][] = [
			['firstReply', state.firstReplyDueAt],
			['nextReply', state.nextReplyDueAt],
			['resolution', state.resolutionDueAt]
		];
		for (const [metric, at] of dues) {
			if (at === null) continue;
			state.dueAt = state.dueAt === null ? at : Math.min(state.dueAt, at);
			if (at <= now) state.breached.push(metric);
		}
		return state;
	}

	/** Records every breach not recorded yet as an `sla.breached` event. Returns how many. */
	sweep(now = this.clock.now()): number {
		const rows = this.sqlite
			.prepare(
				`SELECT id, status, priority, channel, created_at AS createdAt, first_reply_at AS firstReplyAt, awaiting_since AS awaitingSince
				 FROM tickets WHERE status IN ('new', 'open', 'pending', 'hold')`
			)
			.all() as (SlaTicket & { id: string })[];
		const insert = this.sqlite.prepare('INSERT OR IGNORE INTO sla_breaches (ticket_id, metric, due_at, recorded_at) VALUES (?, ?, ?, ?)');
		let recorded = 0;
		this.sqlite.transaction(() => {
			for (const row of rows) {
				const state = this.slaFor(row, now);
				for (const metric of state.breached) {
					const dueAt = state[`${metric}DueAt`]!;
					if (insert.run(row.id, metric, dueAt, now).changes === 0) continue;
					this.events.record({ ticketId: row.id, actor: 'system', type: 'sla.breached', data: { metric, dueAt }, createdAt: now });
					recorded++;
				}
			}
		})();
		return recorded;
	}

	start(): void {
		const tick = () => {
			this.sweep();
			this.timer = this.clock.setTimeout(tick, SWEEP_MS);
		};
		tick();
	}

	close(): void {
		if (this.timer !== null) this.clock.clearTimeout(this.timer);
		this.timer = null;
	}

	private byKey(): Map<string, SlaPolicy> {
		if (this.cached) return this.cached;
		const rows = this.sqlite
			.prepare(
				`SELECT priority, channel, first_reply_minutes AS firstReplyMinutes, next_reply_minutes AS nextReplyMinutes, resolution_minutes AS resolutionMinutes
				 FROM sla_policies`
			)
			.all() as SlaPolicy[];
		rows.sort((a, b) => PRIORITIES.indexOf(b.priority) - PRIORITIES.indexOf(a.priority) || CHANNEL_CLASSES.indexOf(a.channel) - CHANNEL_CLASSES.indexOf(b.channel));
		this.cached = new Map(rows.map((p) => [`${p.priority}/${p.channel}`, p]));
		return this.cached;
	}
}
