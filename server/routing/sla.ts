/**
 * SLA policies (priority × channel class → first reply, next reply and resolution targets) and the
 * timers of each ticket computed from its index row. A periodic sweep records each breach once
 * as an `sla.breached` event (the breach's row, inserted unless it exists, decides which sweep
 * records it, also across processes); the router orders its queues by the earliest target.
 * Targets count business hours of the ticket's group where it has them (server/rules: a group's
 * schedule, else the default one, else around the clock).
 */
import { inArray } from 'drizzle-orm';
import { addBusinessMinutes } from '../../src/lib/business-hours';
import { SLA_METRICS } from '../../src/lib/api/routing';
import { PRIORITIES, type Priority } from '../../src/lib/ticket';
import { Feed } from '../cluster/feed';
import type { Events } from '../events';
import type { ScheduleLookup } from '../rules/rules';
import type { Store } from '../storage/store';
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
export type SlaTicket = Pick<TicketRow, 'status' | 'priority' | 'channel' | 'createdAt' | 'firstReplyAt' | 'awaitingSince'> & {
	/** Whose business hours count; absent or null: the default schedule's. */
	groupId?: string | null;
};

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
/** No business hours anywhere: every group's clock runs around the clock. */
const AROUND_THE_CLOCK: ScheduleLookup = () => null;

export class Sla {
	private cached: Map<string, SlaPolicy> | null = null;
	/** The default policies, written once (missing ones only) before policies are first read. */
	private seeded: Promise<void> | null = null;
	private timer: unknown = null;
	/** Told when the policies change, on any node: each drops what it had cached. */
	readonly changed = new Feed<null>('sla-policies');

	constructor(
		private readonly store: Store,
		private readonly events: Events,
		private readonly clock: Clock,
		private readonly businessHours: () => Promise<ScheduleLookup> = async () => AROUND_THE_CLOCK
	) {
		this.changed.watch(() => (this.cached = null));
	}

	async policies(): Promise<SlaPolicy[]> {
		return [...(await this.byKey()).values()];
	}

	/** Replaces the given policies (by priority and channel). */
	async setPolicies(list: SlaPolicy[], actor: string): Promise<SlaPolicy[]> {
		const { slaPolicies: p } = this.store.tables;
		await this.seed();
		await this.store.transaction(async (tx) => {
			for (const policy of list) {
				await tx
					.insert(p)
					.values(policy)
					.onConflictDoUpdate({
						target: [p.priority, p.channel],
						set: { firstReplyMinutes: policy.firstReplyMinutes, nextReplyMinutes: policy.nextReplyMinutes, resolutionMinutes: policy.resolutionMinutes }
					});
			}
			await this.events.record({ actor, type: 'sla.policies.changed', data: { policies: list } });
		});
		this.changed.publish(null);
		return this.policies();
	}

	/**
	 * A ticket's timers: first reply until the first public reply, next reply while the customer
	 * waits after that, resolution until solved. Pending and on-hold tickets wait on the customer
	 * or a third party: only resolution runs.
	 */
	async slaFor(ticket: SlaTicket, now = this.clock.now()): Promise<SlaState> {
		return this.stateOf(ticket, await this.byKey(), await this.businessHours(), now);
	}

	/** Records every breach not recorded yet as an `sla.breached` event. Returns how many. */
	async sweep(now = this.clock.now()): Promise<number> {
		const { tickets: t, slaBreaches } = this.store.tables;
		const policies = await this.byKey();
		const schedules = await this.businessHours();
		const rows = await this.store.db
			.select({ id: t.id, status: t.status, priority: t.priority, channel: t.channel, groupId: t.groupId, createdAt: t.createdAt, firstReplyAt: t.firstReplyAt, awaitingSince: t.awaitingSince })
			.from(t)
			.where(inArray(t.status, [...RUNNING]));
		return this.store.transaction(async (tx) => {
			let recorded = 0;
			for (const row of rows) {
				const state = this.stateOf(row, policies, schedules, now);
				for (const metric of state.breached) {
					const dueAt = state[`${metric}DueAt`]!;
					const inserted = await tx.insert(slaBreaches).values({ ticketId: row.id, metric, dueAt, recordedAt: now }).onConflictDoNothing().returning({ dueAt: slaBreaches.dueAt });
					if (!inserted.length) continue;
					await this.events.record({ ticketId: row.id, actor: 'system', type: 'sla.breached', data: { metric, dueAt }, createdAt: now });
					recorded++;
				}
			}
			return recorded;
		});
	}

	start(): void {
		const tick = async () => {
			try {
				await this.sweep();
			} finally {
				this.timer = this.clock.setTimeout(tick, SWEEP_MS);
			}
		};
		this.timer = this.clock.setTimeout(tick, 0);
	}

	close(): void {
		if (this.timer !== null) this.clock.clearTimeout(this.timer);
		this.timer = null;
	}

	private stateOf(ticket: SlaTicket, policies: Map<string, SlaPolicy>, schedules: ScheduleLookup, now: number): SlaState {
		const policy = policies.get(`${ticket.priority}/${channelClass(ticket.channel)}`);
		const running = RUNNING.includes(ticket.status);
		const replying = running && ticket.status !== 'pending' && ticket.status !== 'hold';
		const schedule = schedules(ticket.groupId ?? null);
		const due = (from: number | null, minutes: number | null | undefined) => (from !== null && minutes != null ? addBusinessMinutes(schedule, from, minutes) : null);
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

	private seed(): Promise<void> {
		const { slaPolicies } = this.store.tables;
		this.seeded ??= this.store.db
			.insert(slaPolicies)
			.values(DEFAULT_POLICIES)
			.onConflictDoNothing()
			.then(
				() => undefined,
				(error: unknown) => {
					this.seeded = null;
					throw error;
				}
			);
		return this.seeded;
	}

	private async byKey(): Promise<Map<string, SlaPolicy>> {
		if (this.cached) return this.cached;
		await this.seed();
		const { slaPolicies: p } = this.store.tables;
		const rows = await this.store.db
			.select({ priority: p.priority, channel: p.channel, firstReplyMinutes: p.firstReplyMinutes, nextReplyMinutes: p.nextReplyMinutes, resolutionMinutes: p.resolutionMinutes })
			.from(p);
		rows.sort((a, b) => PRIORITIES.indexOf(b.priority) - PRIORITIES.indexOf(a.priority) || CHANNEL_CLASSES.indexOf(a.channel) - CHANNEL_CLASSES.indexOf(b.channel));
		this.cached = new Map(rows.map((policy) => [`${policy.priority}/${policy.channel}`, policy]));
		return this.cached;
	}
}
