/**
 * Automations: rules that run on time ("pending for 48 business hours → remind the requester",
 * "solved for 4 days → close"). The leader sweeps every SWEEP_MS. Each automation acts on a ticket
 * once per instant its timed condition counts from (the status change, the creation…): a row in
 * `automation_firings` keyed by (automation, ticket, that instant) is taken before acting, so a
 * restart, a second node or a sweep running twice never acts twice. If acting fails, the row is
 * let go and the next sweep tries again.
 */
import { and, asc, eq, gt, ne } from 'drizzle-orm';
import { LeaderWork } from '../cluster/leadership';
import type { Logger } from '../log';
import type { Clock } from '../routing/clock';
import type { Store } from '../storage/store';
import type { TicketIndex, TicketRow } from '../ticket-index';
import { matches, timedField } from './conditions';
import { needsDocument, type RuleEngine } from './engine';
import type { RuleStore } from './rules';

const SWEEP_MS = 60_000;
/** How many tickets one sweep looks at: the next ones by id after where the last sweep stopped, so every open ticket is looked at in turn. */
const SWEEP_TICKETS = 2000;

/** Sweeps while this node leads (`follow`). */
export class Automations extends LeaderWork {
	/** The last ticket id the previous sweep looked at (null: start from the first). */
	private after: string | null = null;

	constructor(
		private readonly deps: { store: Store; index: Pick<TicketIndex, 'get'>; rules: RuleStore; engine: RuleEngine; logger: Logger },
		private readonly clock: Clock,
		private readonly ticketsPerSweep = SWEEP_TICKETS
	) {
		super();
	}

	start(): { close(): Promise<void> } {
		let timer: unknown = null;
		let closed = false;
		let sweeping: Promise<void> = Promise.resolve();
		// Sweeps run one after another; after each, the next is due in SWEEP_MS unless one is due sooner.
		const tick = () => {
			timer = null;
			sweeping = sweeping
				.then(() => this.sweep())
				.then(() => undefined)
				.catch((error: unknown) => this.deps.logger.error({ err: error }, 'the automation sweep failed'))
				.finally(() => {
					if (!closed && timer === null) timer = this.clock.setTimeout(tick, SWEEP_MS);
				});
		};
		const soon = () => {
			if (closed) return;
			this.clock.clearTimeout(timer);
			timer = this.clock.setTimeout(tick, 0);
		};
		soon();
		// An automation switched on or changed (on any node) is looked at now, not a minute later.
		const stopWatching = this.deps.rules.changed.watch(soon);
		return {
			close: async () => {
				closed = true;
				stopWatching();
				this.clock.clearTimeout(timer);
				await sweeping;
			}
		};
	}

	/** Acts on every ticket an active automation matches at `now` and has not acted on for the same instant. Returns how many acts. */
	async sweep(now = this.clock.now()): Promise<number> {
		const automations = (await this.deps.rules.list('automation')).filter((rule) => rule.active && timedField(rule.conditions));
		if (!automations.length) return 0;
		const { tickets, automationFirings } = this.deps.store.tables;
		const rows: TicketRow[] = await this.deps.store.db
			.select()
			.from(tickets)
			.where(and(ne(tickets.status, 'closed'), this.after === null ? undefined : gt(tickets.id, this.after)))
			.orderBy(asc(tickets.id))
			.limit(this.ticketsPerSweep);
		this.after = rows.length === this.ticketsPerSweep ? rows[rows.length - 1]!.id : null;
		const schedules = await this.deps.rules.scheduleLookup();
		const withDocument = automations.some((automation) => needsDocument(automation.conditions));
		let acted = 0;
		for (let row of rows) {
			let since = await this.deps.engine.sinceOf(row);
			let subject = await this.deps.engine.subjectOf(row, schedules, now, withDocument);
			for (const automation of automations) {
				const field = timedField(automation.conditions)!;
				if (!matches(automation.conditions, { ...subject, since })) continue;
				const key = { ruleId: automation.id, ticketId: row.id, since: since[field]! };
				const taken = await this.deps.store.db.insert(automationFirings).values({ ...key, firedAt: now }).onConflictDoNothing().returning({ since: automationFirings.since });
				if (!taken.length) continue;
				try {
					await this.deps.engine.act(automation, row.id, subject);
					acted++;
					// The automations after this one see the ticket as it left it.
					row = (await this.deps.index.get(row.id)) ?? row;
					since = await this.deps.engine.sinceOf(row);
					subject = await this.deps.engine.subjectOf(row, schedules, now, withDocument);
				} catch (error) {
					this.deps.logger.error({ err: error, ticketId: row.id, ruleId: automation.id }, 'an automation failed to act; it is tried again');
					await this.deps.store.db
						.delete(automationFirings)
						.where(and(eq(automationFirings.ruleId, key.ruleId), eq(automationFirings.ticketId, key.ticketId), eq(automationFirings.since, key.since)));
				}
			}
		}
		return acted;
	}
}
