/**
 * The admin's rules page: the triggers and automations in their order (moved with up and down
 * buttons, switched on and off), the form that builds a rule's conditions and actions, and the
 * "which tickets would this match now?" test. Everything goes through the rules API, which checks
 * a form's rule exactly as it checks any caller's.
 */
import { CONDITION_OPERATORS, fieldKind, type Condition, type Rule, type RuleAction, type NotifyTarget, type RuleActionType, type RuleKind } from '$lib/api/rules';
import { formatMinute, officeHours, parseMinute, WEEKDAYS, type BusinessSchedule } from '$lib/business-hours';
import { sendJson } from '$lib/client/send-json';

/** A schedule as the API lists it. */
export type StoredSchedule = BusinessSchedule & { scope: string; updatedAt: number };

/** A condition as the form holds it: every value as typed. */
export interface ConditionDraft {
	field: string;
	operator: string;
	value: string;
	business: boolean;
}

/** An action as the form holds it: the one text its kind needs (a value, tags, a template or an address), a group to email, and whom to notify. */
export interface ActionDraft {
	type: RuleActionType;
	text: string;
	groupId: string;
	to: NotifyTarget;
}

export interface MatchedTicket {
	id: string;
	number: number | null;
	subject: string;
	status: string;
}

/** What the select of "none" stands for where a field may be empty (no group, no assignee). */
export const NONE = '';

const conditionText = (c: Condition) => (c.value === null ? NONE : String(c.value));

function actionText(action: RuleAction): string {
	switch (action.type) {
		case 'addTags':
		case 'removeTags':
			return action.tags.join(', ');
		case 'note':
		case 'emailRequester':
		case 'emailGroup':
		case 'notify':
			return action.body;
		case 'webhook':
			return action.url;
		default:
			return action.value ?? NONE;
	}
}

function conditionOf(draft: ConditionDraft): Condition {
	const kind = fieldKind(draft.field);
	const value = kind === 'hours' ? Number(draft.value) : (kind === 'groupId' || kind === 'assigneeId' || kind === 'satisfaction') && draft.value === NONE ? null : draft.value;
	return { field: draft.field, operator: draft.operator, value, ...(kind === 'hours' ? { business: draft.business } : {}) };
}

function actionOf(draft: ActionDraft): RuleAction {
	switch (draft.type) {
		case 'addTags':
		case 'removeTags':
			return { type: draft.type, tags: draft.text.split(',').map((tag) => tag.trim()).filter(Boolean) };
		case 'note':
		case 'emailRequester':
			return { type: draft.type, body: draft.text };
		case 'emailGroup':
			return { type: draft.type, groupId: draft.groupId, body: draft.text };
		case 'notify':
			return { type: draft.type, to: draft.to, body: draft.text };
		case 'webhook':
			return { type: draft.type, url: draft.text.trim() };
		case 'setGroup':
		case 'setAssignee':
			return { type: draft.type, value: draft.text === NONE ? null : draft.text };
		default:
			return { type: draft.type, value: draft.text } as RuleAction;
	}
}

/** One rule being written: a new one (no id) or a saved one. */
export class RuleDraft {
	id: string | null;
	kind: RuleKind;
	name = $state('');
	active = $state(true);
	stopHere = $state(false);
	all = $state<ConditionDraft[]>([]);
	any = $state<ConditionDraft[]>([]);
	actions = $state<ActionDraft[]>([]);
	error = $state<string | null>(null);
	matches = $state<MatchedTicket[] | null>(null);
	busy = $state(false);

	constructor(kind: RuleKind, rule?: Rule) {
		this.id = rule?.id ?? null;
		this.kind = kind;
		if (rule) {
			this.name = rule.name;
			this.active = rule.active;
			this.stopHere = rule.stopHere;
			this.all = rule.conditions.all.map((c) => ({ field: c.field, operator: c.operator, value: conditionText(c), business: c.business ?? false }));
			this.any = rule.conditions.any.map((c) => ({ field: c.field, operator: c.operator, value: conditionText(c), business: c.business ?? false }));
			this.actions = rule.actions.map((a) => ({ type: a.type, text: actionText(a), groupId: a.type === 'emailGroup' ? a.groupId : NONE, to: a.type === 'notify' ? a.to : 'assignee' }));
		} else if (kind === 'automation') {
			this.all = [{ field: 'hours.statusChanged', operator: 'at_least', value: '48', business: true }];
			this.actions = [{ type: 'setStatus', text: 'closed', groupId: NONE, to: 'assignee' }];
		} else {
			this.actions = [{ type: 'addTags', text: '', groupId: NONE, to: 'assignee' }];
		}
	}

	addCondition(list: 'all' | 'any') {
		this.matches = null;
		this[list] = [...this[list], { field: 'status', operator: 'is', value: 'open', business: false }];
	}

	removeCondition(list: 'all' | 'any', index: number) {
		this.matches = null;
		this[list] = this[list].filter((_, i) => i !== index);
	}

	/** A new field keeps the operator if the field takes it, else takes the field's first. */
	setField(condition: ConditionDraft, field: string) {
		condition.field = field;
		const kind = fieldKind(field);
		const operators: readonly string[] = kind ? CONDITION_OPERATORS[kind] : [];
		if (!operators.includes(condition.operator)) condition.operator = operators[0] ?? 'is';
		condition.value = kind === 'hours' ? '24' : '';
	}

	addAction() {
		this.actions = [...this.actions, { type: 'note', text: '', groupId: NONE, to: 'assignee' }];
	}

	removeAction(index: number) {
		this.actions = this.actions.filter((_, i) => i !== index);
	}

	get conditions() {
		return { all: this.all.map(conditionOf), any: this.any.map(conditionOf) };
	}

	/** The rule as the API takes it. */
	get body() {
		return { name: this.name, active: this.active, stopHere: this.stopHere, conditions: this.conditions, actions: this.actions.map(actionOf) };
	}

	/** Saves it; the saved rule, or null with `error` set. */
	async save(): Promise<Rule | null> {
		return this.run(() => (this.id ? sendJson<Rule>('PATCH', `/api/v1/rules/${this.id}`, this.body) : sendJson<Rule>('POST', '/api/v1/rules', { kind: this.kind, ...this.body })));
	}

	/** Lists the tickets the conditions match now. */
	async test(): Promise<void> {
		const found = await this.run(() => sendJson<{ tickets: MatchedTicket[] }>('POST', '/api/v1/rules/test', { kind: this.kind, conditions: this.conditions }));
		if (found) this.matches = found.tickets;
	}

	private async run<T>(call: () => Promise<T>): Promise<T | null> {
		this.busy = true;
		this.error = null;
		try {
			return await call();
		} catch (error) {
			this.error = (error as Error).message;
			return null;
		} finally {
			this.busy = false;
		}
	}
}

/** The page's lists of rules and the rule being edited. */
export class RulesAdmin {
	rules = $state<Rule[]>([]);
	editing = $state<RuleDraft | null>(null);
	error = $state<string | null>(null);
	notice = $state<string | null>(null);

	constructor(rules: Rule[]) {
		this.rules = rules;
	}

	of(kind: RuleKind): Rule[] {
		return this.rules.filter((rule) => rule.kind === kind);
	}

	create(kind: RuleKind) {
		this.editing = new RuleDraft(kind);
	}

	edit(rule: Rule) {
		this.editing = new RuleDraft(rule.kind, rule);
	}

	async save() {
		const saved = await this.editing?.save();
		if (!saved) return;
		this.rules = this.rules.some((r) => r.id === saved.id) ? this.rules.map((r) => (r.id === saved.id ? saved : r)) : [...this.rules, saved];
		this.editing = null;
		this.notice = `Saved “${saved.name}”.`;
	}

	/** Moves a rule one place up (-1) or down (+1) in its kind's order. */
	async move(rule: Rule, by: -1 | 1) {
		const ids = this.of(rule.kind).map((r) => r.id);
		const from = ids.indexOf(rule.id);
		const to = from + by;
		if (to < 0 || to >= ids.length) return;
		[ids[from], ids[to]] = [ids[to]!, ids[from]!];
		await this.attempt(async () => {
			const { rules } = await sendJson<{ rules: Rule[] }>('PUT', '/api/v1/rules/order', { kind: rule.kind, ids });
			this.rules = [...this.rules.filter((r) => r.kind !== rule.kind), ...rules];
			this.notice = `Moved “${rule.name}” ${by < 0 ? 'up' : 'down'}.`;
		});
	}

	async toggle(rule: Rule) {
		await this.attempt(async () => {
			const saved = await sendJson<Rule>('PATCH', `/api/v1/rules/${rule.id}`, { active: !rule.active });
			this.rules = this.rules.map((r) => (r.id === saved.id ? saved : r));
			this.notice = `“${saved.name}” is ${saved.active ? 'on' : 'off'}.`;
		});
	}

	async remove(rule: Rule) {
		await this.attempt(async () => {
			await sendJson('DELETE', `/api/v1/rules/${rule.id}`);
			this.rules = this.rules.filter((r) => r.id !== rule.id);
			if (this.editing?.id === rule.id) this.editing = null;
			this.notice = `Deleted “${rule.name}”.`;
		});
	}

	private async attempt(change: () => Promise<void>) {
		this.error = null;
		this.notice = null;
		try {
			await change();
		} catch (error) {
			this.error = (error as Error).message;
		}
	}
}

/** "09:00–17:00, 18:00–20:00" for a day's intervals; empty: closed. */
export const intervalsText = (day: [number, number][]) => day.map(([start, end]) => `${formatMinute(start)}–${formatMinute(end)}`).join(', ');

/** A day's intervals from their text, or a message saying what is wrong. */
export function parseIntervals(text: string): [number, number][] | string {
	const intervals: [number, number][] = [];
	for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
		const [start, end] = part.split(/\s*[-–]\s*/).map(parseMinute);
		if (start == null || end == null) return `“${part}” is not like 09:00–17:00`;
		intervals.push([start, end]);
	}
	return intervals;
}

/** One schedule being edited: a group's, or the default for groups without one. */
export class ScheduleDraft {
	scope = $state('default');
	timeZone = $state('UTC');
	days = $state<string[]>([]);
	holidays = $state('');
	error = $state<string | null>(null);
	notice = $state<string | null>(null);
	schedules = $state<StoredSchedule[]>([]);

	constructor(schedules: StoredSchedule[]) {
		this.schedules = schedules;
		this.load('default');
	}

	/** Shows the stored schedule of `scope`, or office hours to start from. */
	load(scope: string) {
		this.scope = scope;
		const stored = this.schedules.find((s) => s.scope === scope) ?? { ...officeHours(Intl.DateTimeFormat().resolvedOptions().timeZone), scope, updatedAt: 0 };
		this.timeZone = stored.timeZone;
		this.days = stored.week.map(intervalsText);
		this.holidays = stored.holidays.join(', ');
		this.error = null;
		this.notice = null;
	}

	get stored(): boolean {
		return this.schedules.some((s) => s.scope === this.scope);
	}

	/** Saves the schedule, or with `remove` takes it away (the group follows the default, or the clock). */
	async save(remove = false) {
		this.error = null;
		this.notice = null;
		const week = this.days.map(parseIntervals);
		const wrong = week.findIndex((day) => typeof day === 'string');
		if (wrong >= 0) return void (this.error = `${WEEKDAYS[wrong]}: ${week[wrong]}`);
		const schedule = remove ? null : { timeZone: this.timeZone.trim(), week, holidays: this.holidays.split(/[\s,]+/).filter(Boolean) };
		try {
			const { schedules } = await sendJson<{ schedules: StoredSchedule[] }>('PUT', `/api/v1/business-hours/${encodeURIComponent(this.scope)}`, { schedule });
			this.schedules = schedules;
			this.notice = remove ? 'Business hours removed.' : 'Business hours saved.';
		} catch (error) {
			this.error = (error as Error).message;
		}
	}
}
