/**
 * Whether a rule's conditions hold for a ticket: pure, so that triggers, automations and the
 * admin's "which tickets match now?" decide alike. Ticket fields are read through one function,
 * `conditionValue`, so that a field added to the document is a condition as soon as it is read there.
 */
import { businessMinutesBetween, isOpen, type BusinessSchedule } from '../../src/lib/business-hours';
import { fieldKind, type CHANGE_AUTHORS, type Condition, type Conditions, type SINCE } from '../../src/lib/api/rules';
import type { Status, TicketFields } from '../../src/lib/ticket';

/** A ticket as rules read it: its document's fields (custom values and `satisfaction` among them when it has them). */
export type RuleTicket = TicketFields & { id: string };

/** The change a trigger runs on. */
export interface RuleChange {
	event: 'created' | 'updated';
	/** The status before the change (null on creation). */
	statusBefore: Status | null;
	by: (typeof CHANGE_AUTHORS)[number];
}

export interface RuleSubject {
	ticket: RuleTicket;
	/** The requester's organisation ('' for none). */
	organisation: string;
	/** The ticket group's business hours (null: open around the clock). */
	schedule: BusinessSchedule | null;
	now: number;
	/** Triggers only. */
	change?: RuleChange;
	/** Automations only: when each `hours.*` condition starts counting (none: the condition does not hold). */
	since?: Partial<Record<(typeof SINCE)[number], number>>;
}

/** The value of ticket field `field` (`custom.<key>` for a custom field); undefined when the ticket has no such field. */
export function conditionValue(ticket: RuleTicket, field: string): unknown {
	if (field.startsWith('custom.')) return ticket.custom?.[field.slice('custom.'.length)] ?? null;
	if (field === 'satisfaction') return ticket.satisfaction ?? null;
	return Object.hasOwn(ticket, field) ? ticket[field as keyof RuleTicket] : undefined;
}

const lower = (value: unknown) => (typeof value === 'string' ? value.toLowerCase() : value);

/** Whether `value` contains `wanted`: a word in a text (case-insensitive), or an item in a list. */
function contains(value: unknown, wanted: unknown): boolean {
	if (Array.isArray(value)) return value.some((item) => lower(item) === lower(wanted));
	return typeof value === 'string' && typeof wanted === 'string' && value.toLowerCase().includes(wanted.toLowerCase());
}

/** Whether one condition holds; a condition about a change (or time) the subject has none of does not. */
export function holds(condition: Condition, subject: RuleSubject): boolean {
	const kind = fieldKind(condition.field);
	const { operator, value } = condition;
	const compare = (actual: unknown) => {
		switch (operator) {
			case 'is':
				return actual === value;
			case 'is_not':
				return actual !== value;
			case 'contains':
			case 'includes':
				return contains(actual, value);
			case 'not_contains':
			case 'excludes':
				return !contains(actual, value);
			default:
				return false;
		}
	};
	switch (kind) {
		case null:
			return false;
		case 'organisation':
			// Compared as people write names: without regard to case.
			return compare(operator === 'contains' ? subject.organisation : subject.organisation.toLowerCase() === String(value).toLowerCase() ? value : subject.organisation);
		case 'event':
			return subject.change?.event === value;
		case 'statusChangedTo':
			return !!subject.change && subject.change.statusBefore !== subject.ticket.status && subject.ticket.status === value;
		case 'changedBy':
			return !!subject.change && compare(subject.change.by);
		case 'businessHours':
			return isOpen(subject.schedule, subject.now) === (value === 'within');
		case 'hours': {
			const from = subject.since?.[condition.field.slice('hours.'.length) as keyof RuleSubject['since']];
			if (from === undefined || typeof value !== 'number') return false;
			const hours = condition.business ? businessMinutesBetween(subject.schedule, from, subject.now) / 60 : (subject.now - from) / 3_600_000;
			return operator === 'at_least' ? hours >= value : hours < value;
		}
		default:
			return compare(conditionValue(subject.ticket, condition.field));
	}
}

/** Every condition of `all` holds, and one of `any` when it lists any. */
export function matches(conditions: Conditions, subject: RuleSubject): boolean {
	return conditions.all.every((c) => holds(c, subject)) && (conditions.any.length === 0 || conditions.any.some((c) => holds(c, subject)));
}

/** The `hours.*` condition an automation counts from: its firing is once per ticket and that instant. */
export function timedField(conditions: Conditions): (typeof SINCE)[number] | null {
	const timed = conditions.all.find((c) => fieldKind(c.field) === 'hours');
	return timed ? (timed.field.slice('hours.'.length) as (typeof SINCE)[number]) : null;
}
