/**
 * Custom ticket fields and forms: what an admin may define, and the rules a value is held to
 * wherever it is written (a peer's update, PATCH, bulk actions, the workspace's inputs). Values
 * live in the ticket document under `ticket.custom` (field key → value); a ticket's form
 * (`ticket.formId`) decides which fields its header shows and which are required on solve.
 *
 * Pure and shared by the server and the UI: the definitions are handed in (FieldRules), never
 * looked up here.
 */
import { z } from 'zod';

export const FIELD_TYPES = ['text', 'multiline', 'number', 'decimal', 'date', 'checkbox', 'dropdown', 'multiselect', 'regex'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export const FIELD_TYPE_NAMES: Record<FieldType, string> = {
	text: 'Text',
	multiline: 'Multi-line text',
	number: 'Number (whole)',
	decimal: 'Decimal',
	date: 'Date',
	checkbox: 'Checkbox',
	dropdown: 'Drop-down',
	multiselect: 'Multi-select',
	regex: 'Text checked by a pattern'
};

/** A value as stored in `ticket.custom`; null clears it. */
export type CustomValue = string | number | boolean | string[] | null;

/** A ticket's form and custom values, as the fields checks read them. */
export interface CustomState {
	formId: string | null;
	values: Readonly<Record<string, CustomValue>>;
}

export const FIELD_LIMITS = {
	fields: 100,
	forms: 20,
	optionsPerField: 50,
	optionLength: 100,
	labelLength: 80,
	keyLength: 40,
	fieldsPerForm: 50,
	formNameLength: 80,
	/** A pattern longer than this is refused: patterns are checked by hand for catastrophic forms (patternProblem). */
	patternLength: 200,
	/** Characters of a one-line text value (and of a pattern-checked one). */
	textLength: 500,
	multilineLength: 5000,
	/** The largest decimal or number accepted either side of zero. */
	magnitude: 1e12
} as const;

/** A key is a stable slug: it names the value in documents, search (`field.key:`) and rules. */
export const fieldKeySchema = z
	.string()
	.regex(new RegExp(`^[a-z][a-z0-9_]{0,${FIELD_LIMITS.keyLength - 1}}$`), `a lower-case slug of at most ${FIELD_LIMITS.keyLength} characters: letters, digits and _, starting with a letter`);

export interface FieldDefinition {
	key: string;
	label: string;
	type: FieldType;
	options: string[];
	pattern: string | null;
	requiredOnSolve: boolean;
	archived: boolean;
	position: number;
}

export interface FormDefinition {
	id: string;
	name: string;
	fieldKeys: string[];
	position: number;
	archived: boolean;
}

/**
 * Why a pattern may not be used (null: it may). JavaScript's engine backtracks, so a pattern that
 * can match one text in exponentially many ways (`(a+)+`, `(a|aa)*`) would stall the server on a
 * value written to match it badly. No linear-time engine is installed, so patterns are held to a
 * form that cannot do that: no group that repeats something itself repeating or alternating, no
 * back-references or look-arounds, a few unbounded repeats at most, and a bounded length; values
 * are bounded too (FIELD_LIMITS.textLength).
 */
export function patternProblem(pattern: string): string | null {
	if (pattern.length === 0) return 'a pattern is needed';
	if (pattern.length > FIELD_LIMITS.patternLength) return `a pattern has at most ${FIELD_LIMITS.patternLength} characters`;
	try {
		new RegExp(pattern, 'u');
	} catch (error) {
		return `not a valid pattern: ${(error as Error).message}`;
	}
	interface Group {
		repeats: boolean;
		alternates: boolean;
	}
	const groups: Group[] = [{ repeats: false, alternates: false }];
	let unbounded = 0;
	/** The quantifier at `at`: how long it is and whether it repeats (more than once), unbounded. */
	const quantifierAt = (at: number): { length: number; repeats: boolean; unbounded: boolean } | null => {
		const c = pattern[at];
		if (c === '*' || c === '+') return { length: 1, repeats: true, unbounded: true };
		if (c === '?') return { length: 1, repeats: false, unbounded: false };
		const braces = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(at));
		if (!braces) return null;
		const max = braces[2] === undefined ? Number(braces[1]) : braces[3] === '' ? Infinity : Number(braces[3]);
		return { length: braces[0].length, repeats: max > 1, unbounded: max === Infinity };
	};
	for (let at = 0; at < pattern.length; at++) {
		const c = pattern[at]!;
		let atomEnd = at;
		let closed: Group | null = null;
		if (c === '\\') {
			const next = pattern[at + 1] ?? '';
			if (/[1-9k]/.test(next)) return 'back-references are not allowed';
			atomEnd = at + 1;
		} else if (c === '[') {
			let end = at + 1;
			while (end < pattern.length && pattern[end] !== ']') end += pattern[end] === '\\' ? 2 : 1;
			atomEnd = end;
		} else if (c === '(') {
			if (/^\(\?(=|!|<=|<!)/.test(pattern.slice(at))) return 'look-arounds are not allowed';
			groups.push({ repeats: false, alternates: false });
			continue;
		} else if (c === ')') {
			closed = groups.pop()!;
		} else if (c === '|') {
			groups.at(-1)!.alternates = true;
			continue;
		}
		const quantifier = quantifierAt(atomEnd + 1);
		const group = groups.at(-1)!;
		if (closed) group.repeats ||= closed.repeats;
		if (quantifier) {
			if (closed && quantifier.repeats && (closed.repeats || closed.alternates)) {
				return 'a group that repeats may not hold repeats or alternatives (such as (a+)+ or (a|b)*): it could take the server forever';
			}
			if (quantifier.repeats) group.repeats = true;
			if (quantifier.unbounded && ++unbounded > 4) return 'a pattern has at most 4 unbounded repeats (*, + or {n,})';
			atomEnd += quantifier.length;
			if (pattern[atomEnd + 1] === '?') atomEnd++; // lazy
		}
		at = atomEnd;
	}
	return null;
}

/** A pattern as values are matched against it: whole. */
export function compilePattern(pattern: string): RegExp {
	return new RegExp(`^(?:${pattern})$`, 'u');
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** Whether `value` counts as not filled in (required-on-solve): null, empty text or list, an unticked checkbox. */
export function isEmptyValue(value: CustomValue | undefined): boolean {
	return value === undefined || value === null || value === '' || value === false || (Array.isArray(value) && value.length === 0);
}

/**
 * The definitions values are checked against, with each pattern compiled once. Built from what the
 * server stores; handed to the update checker, PATCH and the workspace.
 */
export class FieldRules {
	readonly fields: ReadonlyMap<string, FieldDefinition>;
	readonly forms: ReadonlyMap<string, FormDefinition>;
	private readonly patterns = new Map<string, RegExp>();

	constructor(fields: readonly FieldDefinition[], forms: readonly FormDefinition[]) {
		this.fields = new Map([...fields].sort((a, b) => a.position - b.position).map((field) => [field.key, field]));
		this.forms = new Map([...forms].sort((a, b) => a.position - b.position).map((form) => [form.id, form]));
	}

	/** Why `value` may not be written under `key` now (null: it may). */
	valueProblem(key: string, value: unknown): string | null {
		const field = this.fields.get(key);
		if (!field) return `there is no custom field \`${key}\``;
		if (field.archived) return `the field ${field.label} is archived`;
		if (value === null) return null;
		const problem = typeProblem(field, value, () => this.pattern(field));
		return problem && `${field.label}: ${problem}`;
	}

	/** Why a ticket may not take form `formId` (null: it may; null clears the form). */
	formProblem(formId: unknown): string | null {
		if (formId === null) return null;
		const form = typeof formId === 'string' ? this.forms.get(formId) : undefined;
		if (!form) return `there is no form ${JSON.stringify(formId)}`;
		if (form.archived) return `the form ${form.name} is archived`;
		return null;
	}

	/**
	 * The active fields a ticket of form `formId` shows: its form's, in the form's order, then the
	 * fields that belong to no form (they apply to every ticket).
	 */
	shown(formId: string | null | undefined): FieldDefinition[] {
		const form = formId ? this.forms.get(formId) : undefined;
		const inForms = new Set([...this.forms.values()].filter((f) => !f.archived).flatMap((f) => f.fieldKeys));
		const own = (form?.fieldKeys ?? []).map((key) => this.fields.get(key)).filter((f): f is FieldDefinition => !!f);
		const everywhere = [...this.fields.values()].filter((f) => !inForms.has(f.key) && !own.includes(f));
		return [...own, ...everywhere].filter((f) => !f.archived);
	}

	/** The fields still empty that solving a ticket of form `formId` with `values` needs. */
	missingOnSolve(formId: string | null | undefined, values: Readonly<Record<string, CustomValue>>): FieldDefinition[] {
		return this.shown(formId).filter((field) => field.requiredOnSolve && isEmptyValue(values[field.key]));
	}

	/**
	 * What a change leaves missing of the fields a solved ticket needs, or null: solving needs every
	 * required field of its form filled; a ticket already solved keeps them, so a change that clears
	 * one (or picks a form needing one that is empty) without reopening is refused. Only what the
	 * change empties: a field made required after the solve waits for the next one rather than
	 * blocking every other edit. The update checker and the server's own changes both ask this.
	 */
	requiredProblem(change: { storedStatus: string; statusWritten: unknown; before: CustomState; after: CustomState }): { fields: FieldDefinition[]; message: string } | null {
		if (change.statusWritten === 'solved') {
			const missing = this.missingOnSolve(change.after.formId, change.after.values);
			return missing.length ? { fields: missing, message: missingFieldsMessage(missing) } : null;
		}
		if (change.statusWritten !== undefined || change.storedStatus !== 'solved') return null;
		const missingBefore = new Set(this.missingOnSolve(change.before.formId, change.before.values).map((field) => field.key));
		const emptied = this.missingOnSolve(change.after.formId, change.after.values).filter((field) => !missingBefore.has(field.key));
		if (!emptied.length) return null;
		return { fields: emptied, message: `${emptied.map((f) => f.label).join(', ')} ${emptied.length === 1 ? 'is' : 'are'} needed while the ticket is solved: reopen it first` };
	}

	private pattern(field: FieldDefinition): RegExp {
		let compiled = this.patterns.get(field.key);
		if (!compiled) this.patterns.set(field.key, (compiled = compilePattern(field.pattern ?? '')));
		return compiled;
	}
}

/** Rules with no fields and no forms: every custom value refused. */
export const NO_FIELD_RULES = new FieldRules([], []);

/** The message solving is refused with when fields are missing. */
export function missingFieldsMessage(missing: readonly FieldDefinition[]): string {
	return `fill in ${missing.map((f) => f.label).join(', ')} before solving the ticket`;
}

function typeProblem(field: FieldDefinition, value: unknown, pattern: () => RegExp): string | null {
	switch (field.type) {
		case 'text':
		case 'multiline':
		case 'regex': {
			if (typeof value !== 'string') return 'expected text';
			const max = field.type === 'multiline' ? FIELD_LIMITS.multilineLength : FIELD_LIMITS.textLength;
			if (value.length > max) return `at most ${max} characters`;
			if (field.type !== 'multiline' && /[\r\n]/.test(value)) return 'one line only';
			if (CONTROL.test(value)) return 'no control characters';
			if (field.type === 'regex' && value !== '' && !pattern().test(value)) return `does not match the pattern ${field.pattern}`;
			return null;
		}
		case 'number':
			if (typeof value !== 'number' || !Number.isSafeInteger(value) || Math.abs(value) > FIELD_LIMITS.magnitude) return 'expected a whole number';
			return null;
		case 'decimal':
			if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > FIELD_LIMITS.magnitude) return 'expected a number';
			return null;
		case 'date': {
			const match = typeof value === 'string' ? DATE.exec(value) : null;
			if (!match) return 'expected a date as YYYY-MM-DD';
			const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
			if (date.toISOString().slice(0, 10) !== value) return 'not a date in the calendar';
			return null;
		}
		case 'checkbox':
			return typeof value === 'boolean' ? null : 'expected true or false';
		case 'dropdown':
			return typeof value === 'string' && field.options.includes(value) ? null : `expected one of ${field.options.join(', ')}`;
		case 'multiselect': {
			if (!Array.isArray(value)) return 'expected a list of options';
			if (new Set(value).size !== value.length) return 'an option is listed twice';
			const unknown = value.find((option) => typeof option !== 'string' || !field.options.includes(option));
			return unknown === undefined ? null : `${JSON.stringify(unknown)} is not one of ${field.options.join(', ')}`;
		}
	}
}

/** The values a ticket's value indexes by (search): lower-cased text, one per option; none when empty. */
export function searchableValues(value: CustomValue | undefined): string[] {
	if (isEmptyValue(value) && value !== false) return [];
	const list = Array.isArray(value) ? value : [value];
	return [...new Set(list.map((v) => String(v).toLowerCase().slice(0, FIELD_LIMITS.textLength)))];
}

/** Definitions as admins write them (the HTTP boundary): what a field is, checked for its type. */
export const fieldInputSchema = z
	.strictObject({
		key: fieldKeySchema,
		label: z.string().trim().min(1).max(FIELD_LIMITS.labelLength),
		type: z.enum(FIELD_TYPES),
		options: z.array(z.string().trim().min(1).max(FIELD_LIMITS.optionLength)).max(FIELD_LIMITS.optionsPerField).default([]),
		pattern: z.string().max(FIELD_LIMITS.patternLength).nullable().default(null),
		requiredOnSolve: z.boolean().default(false)
	})
	.superRefine((field, ctx) => {
		const choice = field.type === 'dropdown' || field.type === 'multiselect';
		if (choice && field.options.length === 0) ctx.addIssue({ code: 'custom', path: ['options'], message: 'a drop-down or multi-select field needs options' });
		if (!choice && field.options.length > 0) ctx.addIssue({ code: 'custom', path: ['options'], message: 'only drop-down and multi-select fields have options' });
		if (new Set(field.options).size !== field.options.length) ctx.addIssue({ code: 'custom', path: ['options'], message: 'an option is listed twice' });
		if (field.type === 'regex') {
			const problem = field.pattern === null ? 'a pattern is needed' : patternProblem(field.pattern);
			if (problem) ctx.addIssue({ code: 'custom', path: ['pattern'], message: problem });
		} else if (field.pattern !== null) ctx.addIssue({ code: 'custom', path: ['pattern'], message: 'only pattern-checked fields have a pattern' });
	});
export type FieldInput = z.infer<typeof fieldInputSchema>;
