import { describe, expect, it } from 'vitest';
import { officeHours } from '../../src/lib/business-hours';
import { conditionsSchema, newRuleSchema, type Condition } from '../../src/lib/api/rules';
import { conditionValue, holds, matches, timedField, type RuleSubject, type RuleTicket } from '../../server/rules/conditions';

const ticket: RuleTicket = {
	id: 't1',
	subject: 'Refund for order 1142',
	status: 'pending',
	priority: 'normal',
	assigneeId: null,
	groupId: 'g-billing',
	requesterId: 'c1',
	channel: 'email',
	createdAt: Date.UTC(2026, 0, 5, 9),
	tags: ['Refund', 'billing'],
	satisfaction: 'bad',
	custom: { plan: 'enterprise', seats: 40, regions: ['eu', 'us'] }
};
const monday10 = Date.UTC(2026, 0, 5, 10);
const subject = (over: Partial<RuleSubject> = {}): RuleSubject => ({ ticket, organisation: 'Chen Design Studio', schedule: officeHours('UTC'), now: monday10, ...over });
const c = (field: string, operator: string, value: Condition['value'], business?: boolean): Condition => ({ field, operator, value, ...(business === undefined ? {} : { business }) });

describe('rule conditions', () => {
	it('reads ticket fields, custom fields and satisfaction through one function', () => {
		expect(conditionValue(ticket, 'status')).toBe('pending');
		expect(conditionValue(ticket, 'custom.plan')).toBe('enterprise');
		expect(conditionValue(ticket, 'custom.missing')).toBeNull();
		expect(conditionValue({ ...ticket, satisfaction: undefined }, 'satisfaction')).toBeNull();
		expect(conditionValue(ticket, 'constructor')).toBeUndefined();
	});

	it('compares fields, words, tags and lists', () => {
		expect(holds(c('status', 'is', 'pending'), subject())).toBe(true);
		expect(holds(c('status', 'is_not', 'pending'), subject())).toBe(false);
		expect(holds(c('subject', 'contains', 'REFUND'), subject())).toBe(true);
		expect(holds(c('subject', 'not_contains', 'refund'), subject())).toBe(false);
		expect(holds(c('tags', 'includes', 'refund'), subject())).toBe(true);
		expect(holds(c('tags', 'excludes', 'vip'), subject())).toBe(true);
		expect(holds(c('assigneeId', 'is', null), subject())).toBe(true);
		expect(holds(c('organisation', 'is', 'chen design studio'), subject())).toBe(true);
		expect(holds(c('organisation', 'is_not', 'chen design studio'), subject())).toBe(false);
		expect(holds(c('organisation', 'contains', 'design'), subject())).toBe(true);
		expect(holds(c('satisfaction', 'is', 'bad'), subject())).toBe(true);
		expect(holds(c('custom.seats', 'is', 40), subject())).toBe(true);
		expect(holds(c('custom.regions', 'includes', 'EU'), subject())).toBe(true);
		expect(holds(c('custom.regions', 'excludes', 'apac'), subject())).toBe(true);
	});

	it('tells changes apart: created or updated, the status it changed to, and who made it', () => {
		const change = { event: 'updated' as const, statusBefore: 'open' as const, by: 'customer' as const };
		expect(holds(c('event', 'is', 'updated'), subject({ change }))).toBe(true);
		expect(holds(c('statusChangedTo', 'is', 'pending'), subject({ change }))).toBe(true);
		expect(holds(c('statusChangedTo', 'is', 'pending'), subject({ change: { ...change, statusBefore: 'pending' } }))).toBe(false);
		expect(holds(c('changedBy', 'is', 'customer'), subject({ change }))).toBe(true);
		expect(holds(c('changedBy', 'is_not', 'rule'), subject({ change }))).toBe(true);
		// No change at all (an automation): conditions about one do not hold.
		expect(holds(c('event', 'is', 'updated'), subject())).toBe(false);
		expect(holds(c('changedBy', 'is_not', 'rule'), subject())).toBe(false);
	});

	it('asks business hours of the ticket’s group and counts hours since an instant', () => {
		expect(holds(c('businessHours', 'is', 'within'), subject())).toBe(true);
		expect(holds(c('businessHours', 'is', 'outside'), subject({ now: Date.UTC(2026, 0, 10, 10) }))).toBe(true);
		expect(holds(c('businessHours', 'is', 'within'), subject({ schedule: null, now: Date.UTC(2026, 0, 10, 10) }))).toBe(true);
		// Friday 16:00 to Monday 10:00: 66 calendar hours, 2 business hours.
		const since = { created: Date.UTC(2026, 0, 2, 16), updated: 0, statusChanged: Date.UTC(2026, 0, 2, 16) };
		expect(holds(c('hours.statusChanged', 'at_least', 48), subject({ since }))).toBe(true);
		expect(holds(c('hours.statusChanged', 'at_least', 3, true), subject({ since }))).toBe(false);
		expect(holds(c('hours.statusChanged', 'less_than', 3, true), subject({ since }))).toBe(true);
		expect(holds(c('hours.created', 'at_least', 1), subject())).toBe(false);
		// The customer's last message counts only while it waits for an answer.
		expect(holds(c('hours.customerMessage', 'at_least', 1), subject({ since }))).toBe(false);
		expect(holds(c('hours.customerMessage', 'at_least', 1), subject({ since: { ...since, customerMessage: Date.UTC(2026, 0, 5, 8) } }))).toBe(true);
	});

	it('matches all of one list and any of the other', () => {
		const all = [c('status', 'is', 'pending'), c('tags', 'includes', 'billing')];
		expect(matches({ all, any: [] }, subject())).toBe(true);
		expect(matches({ all, any: [c('priority', 'is', 'urgent'), c('channel', 'is', 'email')] }, subject())).toBe(true);
		expect(matches({ all, any: [c('priority', 'is', 'urgent')] }, subject())).toBe(false);
		expect(matches({ all: [], any: [] }, subject())).toBe(true);
		expect(timedField({ all: [c('status', 'is', 'solved'), c('hours.statusChanged', 'at_least', 96)], any: [] })).toBe('statusChanged');
	});

	it('refuses conditions that name no field, take the wrong operator or value, or do not fit the kind', () => {
		expect(conditionsSchema.safeParse({ all: [c('__proto__', 'is', 'x')] }).success).toBe(false);
		expect(conditionsSchema.safeParse({ all: [c('status', 'contains', 'pen')] }).success).toBe(false);
		expect(conditionsSchema.safeParse({ all: [c('priority', 'is', 'extreme')] }).success).toBe(false);
		expect(conditionsSchema.safeParse({ all: [c('custom.a b', 'is', 'x')] }).success).toBe(false);
		expect(conditionsSchema.safeParse({ all: [c('hours.created', 'at_least', -1)] }).success).toBe(false);
		expect(conditionsSchema.safeParse({ all: [c('status', 'is', 'open', true)] }).success).toBe(false);
		const actions = [{ type: 'setStatus', value: 'closed' }];
		expect(newRuleSchema.safeParse({ kind: 'automation', name: 'x', conditions: { all: [c('event', 'is', 'created'), c('hours.created', 'at_least', 1)] }, actions }).success).toBe(false);
		expect(newRuleSchema.safeParse({ kind: 'automation', name: 'x', conditions: { all: [c('hours.created', 'at_least', 1)] }, actions }).success).toBe(true);
	});
});
