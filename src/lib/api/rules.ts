/**
 * Rules' HTTP schemas (zod): triggers and automations, their conditions and actions, and business
 * hours. Shared by the API, the admin page's form and the rule engine (server/rules), which reads
 * only what these let through.
 */
import { z } from 'zod';
import { isTimeZone, type BusinessSchedule } from '../business-hours';
import { unknownPlaceholders } from '../macro-placeholders';
import { CHANNELS, idSchema, PRIORITIES, SATISFACTION_VALUES, STATUSES, tagSchema } from '../ticket/schema';

export const RULE_KINDS = ['trigger', 'automation'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

/** Limits: what one rule and the whole list may hold. */
export const RULE_LIMITS = {
	rulesPerKind: 100,
	conditionsPerList: 20,
	actions: 10,
	nameLength: 120,
	valueLength: 200,
	templateLength: 5000,
	tagsPerAction: 20,
	urlLength: 2000,
	holidays: 100
} as const;

/** Who made a change, as conditions tell it apart. */
export const CHANGE_AUTHORS = ['agent', 'customer', 'system', 'rule'] as const;
/** What an automation's hours count from. */
export const SINCE = ['created', 'updated', 'statusChanged', 'customerMessage'] as const;

/**
 * Condition fields and the operators each takes. `custom.<key>` reads a custom ticket field;
 * `event`, `statusChangedTo` and `changedBy` describe the change a trigger runs on; `hours.<since>`
 * is for automations.
 */
export const CONDITION_OPERATORS = {
	status: ['is', 'is_not'],
	priority: ['is', 'is_not'],
	channel: ['is', 'is_not'],
	groupId: ['is', 'is_not'],
	assigneeId: ['is', 'is_not'],
	requesterId: ['is', 'is_not'],
	organisation: ['is', 'is_not', 'contains'],
	subject: ['contains', 'not_contains'],
	tags: ['includes', 'excludes'],
	satisfaction: ['is', 'is_not'],
	custom: ['is', 'is_not', 'contains', 'includes', 'excludes'],
	event: ['is'],
	statusChangedTo: ['is'],
	changedBy: ['is', 'is_not'],
	businessHours: ['is'],
	hours: ['at_least', 'less_than']
} as const;
export type ConditionFieldKind = keyof typeof CONDITION_OPERATORS;
export type ConditionOperator = (typeof CONDITION_OPERATORS)[ConditionFieldKind][number];

/** Fields that only make sense on a trigger (they describe a change) or on an automation (they count time). */
const TRIGGER_ONLY: readonly ConditionFieldKind[] = ['event', 'statusChangedTo', 'changedBy'];
const AUTOMATION_ONLY: readonly ConditionFieldKind[] = ['hours'];

const CUSTOM_KEY = /^custom\.[A-Za-z0-9_-]{1,64}$/;
const HOURS_FIELD = new RegExp(`^hours\\.(${SINCE.join('|')})$`);

/** The kind of a condition field: `custom.plan` is `custom`, `hours.created` is `hours`. */
export function fieldKind(field: string): ConditionFieldKind | null {
	if (CUSTOM_KEY.test(field)) return 'custom';
	if (HOURS_FIELD.test(field)) return 'hours';
	return Object.hasOwn(CONDITION_OPERATORS, field) && field !== 'custom' && field !== 'hours' ? (field as ConditionFieldKind) : null;
}

/** What the value of a condition on each fixed-value field must be one of. */
const VALUES: Partial<Record<ConditionFieldKind, readonly (string | null)[]>> = {
	status: STATUSES,
	priority: PRIORITIES,
	channel: CHANNELS,
	satisfaction: [...SATISFACTION_VALUES, null],
	event: ['created', 'updated'],
	statusChangedTo: STATUSES,
	changedBy: CHANGE_AUTHORS,
	businessHours: ['within', 'outside']
};

const conditionValue = z.union([z.string().max(RULE_LIMITS.valueLength), z.number().finite(), z.boolean(), z.null()]);

export const conditionSchema = z
	.strictObject({
		field: z.string().max(80),
		operator: z.string().max(20),
		value: conditionValue,
		/** `hours.*` only: count business hours of the ticket's group (true) or calendar hours. */
		business: z.boolean().optional()
	})
	.superRefine((condition, ctx) => {
		const kind = fieldKind(condition.field);
		if (!kind) return void ctx.addIssue({ code: 'custom', path: ['field'], message: `no condition field ${condition.field}` });
		if (!(CONDITION_OPERATORS[kind] as readonly string[]).includes(condition.operator)) {
			ctx.addIssue({ code: 'custom', path: ['operator'], message: `${condition.field} takes ${CONDITION_OPERATORS[kind].join(', ')}` });
		}
		const allowed = VALUES[kind];
		if (allowed && !allowed.includes(condition.value as string | null)) ctx.addIssue({ code: 'custom', path: ['value'], message: `one of ${allowed.join(', ')}` });
		if (kind === 'hours' && (typeof condition.value !== 'number' || condition.value < 0 || condition.value > 24 * 365)) {
			ctx.addIssue({ code: 'custom', path: ['value'], message: 'hours: a number from 0 to 8760' });
		}
		if (['subject', 'tags', 'organisation'].includes(kind) && (typeof condition.value !== 'string' || !condition.value)) {
			ctx.addIssue({ code: 'custom', path: ['value'], message: 'a word to look for' });
		}
		if (condition.business !== undefined && kind !== 'hours') ctx.addIssue({ code: 'custom', path: ['business'], message: 'only for hours.* conditions' });
	});
export type Condition = z.infer<typeof conditionSchema>;

const conditionList = z.array(conditionSchema).max(RULE_LIMITS.conditionsPerList);
/** Every condition in `all` holds, and at least one in `any` when it lists any. */
export const conditionsSchema = z.strictObject({ all: conditionList.default([]), any: conditionList.default([]) });
export type Conditions = z.infer<typeof conditionsSchema>;

const template = z
	.string()
	.trim()
	.min(1)
	.max(RULE_LIMITS.templateLength)
	.superRefine((body, ctx) => {
		const unknown = unknownPlaceholders(body);
		if (unknown.length) ctx.addIssue({ code: 'custom', message: `no such placeholder: ${unknown.join(', ')}` });
	});

const webhookUrl = z
	.string()
	.max(RULE_LIMITS.urlLength)
	.refine((text) => {
		try {
			const url = new URL(text);
			return (url.protocol === 'http:' || url.protocol === 'https:') && !url.username && !url.password;
		} catch {
			return false;
		}
	}, 'an http(s) address without a user or password');

/** Whom a notify action tells: the ticket's assignee, or every agent of the ticket's group. */
export const NOTIFY_TARGETS = ['assignee', 'group'] as const;
export type NotifyTarget = (typeof NOTIFY_TARGETS)[number];

const tagList = z.array(tagSchema).min(1).max(RULE_LIMITS.tagsPerAction);

export const actionSchema = z.discriminatedUnion('type', [
	z.strictObject({ type: z.literal('setStatus'), value: z.enum(STATUSES) }),
	z.strictObject({ type: z.literal('setPriority'), value: z.enum(PRIORITIES) }),
	z.strictObject({ type: z.literal('setGroup'), value: idSchema.nullable() }),
	z.strictObject({ type: z.literal('setAssignee'), value: idSchema.nullable() }),
	z.strictObject({ type: z.literal('addTags'), tags: tagList }),
	z.strictObject({ type: z.literal('removeTags'), tags: tagList }),
	z.strictObject({ type: z.literal('emailRequester'), body: template }).meta({ description: 'A public email reply to the requester, from the template.' }),
	z.strictObject({ type: z.literal('note'), body: template }).meta({ description: 'An internal note, from the template.' }),
	z
		.strictObject({ type: z.literal('emailGroup'), groupId: idSchema, body: template })
		.meta({ description: 'An email to every enabled agent and admin of the group, from the template, under the ticket’s subject.' }),
	z
		.strictObject({ type: z.literal('notify'), to: z.enum(NOTIFY_TARGETS), body: template })
		.meta({ description: 'A notice in the workspace (kept for whoever is away) to the ticket’s assignee, or to every agent of its group, from the template.' }),
	z.strictObject({ type: z.literal('webhook'), url: webhookUrl }).meta({ description: 'POSTs the ticket as signed JSON (see the rule’s webhookSecret), through the outbox.' })
]);
export type RuleAction = z.infer<typeof actionSchema>;
export type RuleActionType = RuleAction['type'];

const ruleFields = {
	name: z.string().trim().min(1).max(RULE_LIMITS.nameLength),
	active: z.boolean(),
	stopHere: z.boolean().meta({ description: 'Triggers: when this one acts, the ones after it do not run on the same change.' }),
	conditions: conditionsSchema,
	actions: z.array(actionSchema).min(1).max(RULE_LIMITS.actions)
};

/** Conditions that the kind of rule cannot use, as issues. */
function kindFits(rule: { kind?: RuleKind; conditions?: Conditions }, ctx: z.RefinementCtx) {
	if (!rule.kind || !rule.conditions) return;
	const refused = rule.kind === 'trigger' ? AUTOMATION_ONLY : TRIGGER_ONLY;
	for (const list of ['all', 'any'] as const) {
		rule.conditions[list].forEach((condition, i) => {
			const kind = fieldKind(condition.field);
			if (kind && refused.includes(kind)) ctx.addIssue({ code: 'custom', path: ['conditions', list, i, 'field'], message: `${condition.field} is not for ${rule.kind}s` });
		});
	}
	if (rule.kind === 'automation' && ![...rule.conditions.all].some((c) => fieldKind(c.field) === 'hours')) {
		ctx.addIssue({ code: 'custom', path: ['conditions', 'all'], message: 'an automation needs an hours.* condition in `all`: it runs on time' });
	}
}

/** `POST /rules`. */
export const newRuleSchema = z
	.strictObject({ kind: z.enum(RULE_KINDS), ...ruleFields, active: ruleFields.active.default(true), stopHere: ruleFields.stopHere.default(false) })
	.superRefine(kindFits);
export type NewRule = z.infer<typeof newRuleSchema>;

/** `PATCH /rules/{id}`: what changes (the kind does not). */
export const ruleChangesSchema = z.strictObject({ ...ruleFields }).partial();
export type RuleChanges = z.infer<typeof ruleChangesSchema>;

/** The kind checks of a rule as it will be once changed. */
export const ruleSchemaFor = (kind: RuleKind) => z.strictObject({ kind: z.literal(kind), conditions: conditionsSchema }).superRefine(kindFits);

/** `PUT /rules/order`: every rule of a kind, in the order they are to run. */
export const ruleOrderSchema = z.strictObject({ kind: z.enum(RULE_KINDS), ids: z.array(idSchema).max(RULE_LIMITS.rulesPerKind) });

/** `POST /rules/test`: a rule (not saved) whose matches to list. */
export const ruleTestSchema = z.strictObject({ kind: z.enum(RULE_KINDS), conditions: conditionsSchema, limit: z.number().int().min(1).max(50).default(20) });

export const ruleSchema = z.object({
	id: idSchema,
	kind: z.enum(RULE_KINDS),
	position: z.number().int(),
	...ruleFields,
	webhookSecret: z.string().optional().meta({ description: 'Signs the rule’s webhook calls (X-Tandem-Signature); admins only.' }),
	createdAt: z.number().int(),
	updatedAt: z.number().int()
});
export type Rule = z.infer<typeof ruleSchema>;

// Business hours.

const dayMinute = z.number().int().min(0).max(1440);
const daySchema = z
	.array(z.tuple([dayMinute, dayMinute]))
	.max(4)
	.superRefine((intervals, ctx) => {
		intervals.forEach(([start, end], i) => {
			if (end <= start) ctx.addIssue({ code: 'custom', path: [i], message: 'an interval ends after it starts' });
			if (i > 0 && start < intervals[i - 1]![1]) ctx.addIssue({ code: 'custom', path: [i], message: 'intervals are in order and do not overlap' });
		});
	});

export const businessScheduleSchema = z
	.strictObject({
		timeZone: z.string().max(64).refine(isTimeZone, 'an IANA time zone, e.g. Europe/Berlin'),
		week: z.array(daySchema).length(7).meta({ description: 'Monday first: [start, end) minutes of the local day.' }),
		holidays: z
			.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD'))
			.max(RULE_LIMITS.holidays)
			.default([])
	})
	.refine((schedule) => schedule.week.some((day) => day.length > 0), { path: ['week'], message: 'open on at least one day' }) satisfies z.ZodType<BusinessSchedule, unknown>;

/** `PUT /business-hours/{scope}`: a group's schedule ('default' for groups without one); null removes it. */
export const putBusinessHoursSchema = z.strictObject({ schedule: businessScheduleSchema.nullable() });

export const businessHoursListSchema = z.object({
	schedules: z.array(z.object({ scope: z.string(), ...businessScheduleSchema.shape, updatedAt: z.number().int() }))
});
