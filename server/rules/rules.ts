/**
 * Triggers, automations and business hours as stored: admins write them (each change logged as an
 * event), the engine reads them. Every node caches what it read and drops it when any node changes
 * it (the `changed` feeds, carried between nodes like the SLA policies').
 */
import { randomBytes } from 'node:crypto';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { BusinessSchedule } from '../../src/lib/business-hours';
import {
	conditionsSchema,
	RULE_LIMITS,
	ruleSchemaFor,
	type NewRule,
	type Rule,
	type RuleAction,
	type RuleChanges,
	type RuleKind
} from '../../src/lib/api/rules';
import { newId } from '../../src/lib/ticket';
import type { Accounts } from '../accounts';
import { Feed } from '../cluster/feed';
import { ApiError, notFound } from '../errors';
import type { Events } from '../events';
import type { Store } from '../storage/store';

/** The scope of the schedule for groups without their own. */
export const DEFAULT_SCOPE = 'default';

export type StoredSchedule = BusinessSchedule & { scope: string; updatedAt: number };

/** A group's business hours: its own, else the default, else none (open around the clock). */
export type ScheduleLookup = (groupId: string | null) => BusinessSchedule | null;

const newSecret = () => `whsec_${randomBytes(32).toString('base64url')}`;

export class RuleStore {
	private cachedRules: Rule[] | null = null;
	private cachedSchedules: Map<string, StoredSchedule> | null = null;
	/** Told when rules or schedules change, on any node: each drops what it had cached. */
	readonly changed = new Feed<null>('rules');

	constructor(
		private readonly store: Store,
		private readonly events: Events,
		private readonly accounts: Pick<Accounts, 'groupExists' | 'canHoldTickets'>
	) {
		this.changed.watch(() => {
			this.cachedRules = null;
			this.cachedSchedules = null;
		});
	}

	/** Every rule of `kind` (or both kinds), in the order they run. */
	async list(kind?: RuleKind): Promise<Rule[]> {
		if (!this.cachedRules) {
			const { rules } = this.store.tables;
			const rows = await this.store.db.select().from(rules).orderBy(asc(rules.kind), asc(rules.position), asc(rules.createdAt));
			this.cachedRules = rows.map((row) => ({ ...row, conditions: conditionsSchema.parse(row.conditions), actions: row.actions as RuleAction[] }));
		}
		return kind ? this.cachedRules.filter((rule) => rule.kind === kind) : this.cachedRules;
	}

	async get(id: string): Promise<Rule> {
		const rule = (await this.list()).find((r) => r.id === id);
		if (!rule) throw notFound('rule');
		return rule;
	}

	async create(input: NewRule, actor: string): Promise<Rule> {
		this.refuseMissing(input.actions);
		const { rules } = this.store.tables;
		const now = Date.now();
		const id = newId();
		await this.store.transaction(async () => {
			const [{ count, last }] = (await this.store.db
				.select({ count: sql<number>`count(*)`, last: sql<number | null>`max(${rules.position})` })
				.from(rules)
				.where(eq(rules.kind, input.kind))) as [{ count: number; last: number | null }];
			if (Number(count) >= RULE_LIMITS.rulesPerKind) throw new ApiError(409, 'limit_exceeded', `at most ${RULE_LIMITS.rulesPerKind} ${input.kind}s`);
			await this.store.db.insert(rules).values({ id, ...input, position: Number(last ?? -1) + 1, webhookSecret: newSecret(), createdBy: actor, createdAt: now, updatedAt: now });
			await this.events.record({ actor, type: 'rule.created', data: { ruleId: id, kind: input.kind, name: input.name } });
		});
		this.changed.publish(null);
		return this.get(id);
	}

	async update(id: string, changes: RuleChanges, actor: string): Promise<Rule> {
		const rule = await this.get(id);
		if (changes.conditions) {
			const checked = ruleSchemaFor(rule.kind).safeParse({ kind: rule.kind, conditions: changes.conditions });
			if (!checked.success) throw new ApiError(400, 'invalid_field', checked.error.issues[0]!.message, 'conditions');
		}
		if (changes.actions) this.refuseMissing(changes.actions);
		const { rules } = this.store.tables;
		await this.store.transaction(async () => {
			await this.store.db.update(rules).set({ ...changes, updatedAt: Date.now() }).where(eq(rules.id, id));
			await this.events.record({ actor, type: 'rule.changed', data: { ruleId: id, name: changes.name ?? rule.name, fields: Object.keys(changes) } });
		});
		this.changed.publish(null);
		return this.get(id);
	}

	async remove(id: string, actor: string): Promise<void> {
		const rule = await this.get(id);
		const { rules, automationFirings } = this.store.tables;
		await this.store.transaction(async () => {
			await this.store.db.delete(rules).where(eq(rules.id, id));
			await this.store.db.delete(automationFirings).where(eq(automationFirings.ruleId, id));
			await this.events.record({ actor, type: 'rule.deleted', data: { ruleId: id, name: rule.name } });
		});
		this.changed.publish(null);
	}

	/** Puts the rules of `kind` in the order given: every one of them, each once. */
	async reorder(kind: RuleKind, ids: string[], actor: string): Promise<Rule[]> {
		const current = (await this.list(kind)).map((r) => r.id);
		if (ids.length !== current.length || new Set(ids).size !== ids.length || ids.some((id) => !current.includes(id))) {
			throw new ApiError(400, 'invalid_field', `ids: every ${kind} once, in the new order`, 'ids');
		}
		const { rules } = this.store.tables;
		await this.store.transaction(async () => {
			for (const [position, id] of ids.entries()) await this.store.db.update(rules).set({ position }).where(and(eq(rules.id, id), eq(rules.kind, kind)));
			await this.events.record({ actor, type: 'rule.reordered', data: { kind, ids } });
		});
		this.changed.publish(null);
		return this.list(kind);
	}

	/** Refuses (400) actions that name a group or agent that does not exist: the rule would fail on every ticket. */
	private refuseMissing(actions: RuleAction[]) {
		actions.forEach((action, i) => {
			if (action.type === 'setGroup' && action.value !== null && !this.accounts.groupExists(action.value)) {
				throw new ApiError(400, 'invalid_field', `actions.${i}.value: no group ${action.value}`, `actions.${i}.value`);
			}
			if (action.type === 'emailGroup' && !this.accounts.groupExists(action.groupId)) {
				throw new ApiError(400, 'invalid_field', `actions.${i}.groupId: no group ${action.groupId}`, `actions.${i}.groupId`);
			}
			if (action.type === 'setAssignee' && action.value !== null && !this.accounts.canHoldTickets(action.value)) {
				throw new ApiError(400, 'invalid_field', `actions.${i}.value: no agent ${action.value} who may hold tickets`, `actions.${i}.value`);
			}
		});
	}

	// Business hours.

	async schedules(): Promise<StoredSchedule[]> {
		return [...(await this.scheduleMap()).values()];
	}

	/** How to find a group's schedule, from what is stored now. */
	async scheduleLookup(): Promise<ScheduleLookup> {
		const map = await this.scheduleMap();
		return (groupId) => (groupId && map.get(groupId)) || map.get(DEFAULT_SCOPE) || null;
	}

	/** Sets (or with null removes) the schedule of a group, or the default one. */
	async setSchedule(scope: string, schedule: BusinessSchedule | null, actor: string): Promise<void> {
		if (scope !== DEFAULT_SCOPE && !this.accounts.groupExists(scope)) throw notFound('group');
		const { businessHours } = this.store.tables;
		await this.store.transaction(async () => {
			if (schedule) {
				const row = { ...schedule, updatedAt: Date.now() };
				await this.store.db.insert(businessHours).values({ scope, ...row }).onConflictDoUpdate({ target: businessHours.scope, set: row });
			} else {
				await this.store.db.delete(businessHours).where(eq(businessHours.scope, scope));
			}
			await this.events.record({ actor, type: 'business_hours.changed', data: { scope, schedule } });
		});
		this.changed.publish(null);
	}

	private async scheduleMap(): Promise<Map<string, StoredSchedule>> {
		if (!this.cachedSchedules) {
			const rows = await this.store.db.select().from(this.store.tables.businessHours);
			this.cachedSchedules = new Map(rows.map((row) => [row.scope, row]));
		}
		return this.cachedSchedules;
	}
}
