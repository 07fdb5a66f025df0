/**
 * The custom fields of one open ticket in its header: the definitions (loaded when the ticket is
 * opened), the fields its form shows, what solving still needs, and each field's last refused
 * input in words. Values are written into the live document; what peers write shows at once.
 */
import { FieldRules, type CustomValue, type FieldDefinition, type FormDefinition } from '$lib/ticket';
import type { TicketSession } from './ticket-session.svelte';
import { getJson } from './workspace.svelte';

export class CustomFieldsEditor {
	/** Why the last input of a field was not kept, by field key. */
	problems = $state<Record<string, string>>({});
	/** Why the last choice of form was not kept. */
	formProblem = $state<string | null>(null);

	constructor(private readonly session: TicketSession) {
		void this.load();
	}

	async load() {
		try {
			const { fields, forms } = await getJson<{ fields: FieldDefinition[]; forms: FormDefinition[] }>('/api/v1/ticket-fields');
			this.session.fieldRules = new FieldRules(fields, forms);
		} catch {
			/* the header shows no custom fields */
		}
	}

	get rules(): FieldRules | null {
		return this.session.fieldRules;
	}

	get formId(): string | null {
		return this.session.fields?.formId ?? null;
	}

	/** Forms to choose from: the active ones, and the ticket's own even when archived. */
	get forms(): FormDefinition[] {
		return [...(this.rules?.forms.values() ?? [])].filter((form) => !form.archived || form.id === this.formId);
	}

	get shown(): FieldDefinition[] {
		return this.rules?.shown(this.formId) ?? [];
	}

	value(key: string): CustomValue {
		return this.session.fields?.custom?.[key] ?? null;
	}

	/** The fields solving the ticket still needs filled in. */
	get missingOnSolve(): FieldDefinition[] {
		return this.rules?.missingOnSolve(this.formId, this.session.fields?.custom ?? {}) ?? [];
	}

	setForm(formId: string | null) {
		this.formProblem = this.keepsRequired({ formId }) ?? null;
		if (!this.formProblem) this.session.setField('formId', formId);
	}

	/** What a change would take from a solved ticket that it needs (the server refuses that), or null. */
	private keepsRequired(change: { formId?: string | null; values?: Record<string, CustomValue> }): string | null {
		const fields = this.session.fields;
		if (!this.rules || !fields) return null;
		const before = { formId: this.formId, values: fields.custom ?? {} };
		const after = { formId: change.formId !== undefined ? change.formId : before.formId, values: { ...before.values, ...change.values } };
		return this.rules.requiredProblem({ storedStatus: fields.status, statusWritten: undefined, before, after })?.message ?? null;
	}

	/** Writes what was typed or picked, as the field's type holds it ('' clears). */
	set(field: FieldDefinition, input: string | boolean | string[]) {
		const value = valueOf(field, input);
		const problem =
			value === undefined
				? `${field.label}: expected ${field.type === 'number' ? 'a whole number' : 'a number'}`
				: (this.rules?.valueProblem(field.key, value) ?? this.keepsRequired({ values: { [field.key]: value } }));
		if (problem) {
			this.problems = { ...this.problems, [field.key]: problem };
			return;
		}
		const { [field.key]: _, ...others } = this.problems;
		this.problems = others;
		this.session.setCustomValues({ [field.key]: value! }, this.rules!);
	}
}

/** An input's text as the value its field stores (undefined: not a number where one is needed). */
function valueOf(field: FieldDefinition, input: string | boolean | string[]): CustomValue | undefined {
	if (typeof input === 'boolean' || Array.isArray(input)) return input;
	const text = field.type === 'multiline' ? input : input.trim();
	if (text === '') return null;
	if (field.type === 'number' || field.type === 'decimal') {
		const number = Number(text.replace(',', '.'));
		return Number.isFinite(number) ? number : undefined;
	}
	return text;
}
