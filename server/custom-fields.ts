/**
 * Custom ticket fields and forms as admins define them (src/lib/ticket/custom-fields.ts says what
 * a value may be). The definitions are read once into FieldRules and cached; every change drops
 * the cache on every node of a cluster (the `changed` feed), so the update checker and PATCH hold
 * values to the definitions as they now are. Keys are never reused: a field is archived, not
 * deleted, so its values stay readable in the tickets that have them.
 */
import { eq, sql } from 'drizzle-orm';
import {
	FIELD_LIMITS,
	FieldRules,
	fieldInputSchema,
	newId,
	type FieldDefinition,
	type FieldInput,
	type FormDefinition
} from '../src/lib/ticket';
import type { FieldChange, FormChange, FormInput } from '../src/lib/api/custom-fields';
import { Feed } from './cluster/feed';
import { ApiError, notFound } from './errors';
import type { Events } from './events';
import type { Store } from './storage/store';

/** The position after the last of `table`'s rows, unless it holds `limit` already (archived ones count). */
async function nextPosition(tx: Store['db'], table: Store['tables']['ticketFieldDefinitions'] | Store['tables']['ticketForms'], limit: number, what: string): Promise<number> {
	const [{ count, last }] = await tx.select({ count: sql<number>`count(*)`.mapWith(Number), last: sql<number | null>`max(${table.position})` }).from(table);
	if (count >= limit) throw new ApiError(409, 'limit_exceeded', `at most ${limit} ${what} (archived ones count)`);
	return Number(last ?? 0) + 1;
}

export class CustomFields {
	private cached: Promise<FieldRules> | null = null;
	/** Told when a definition changes, on any node: each drops what it had cached. */
	readonly changed = new Feed<null>('custom-fields');

	constructor(
		private readonly store: Store,
		private readonly events: Pick<Events, 'record'>
	) {
		this.changed.watch(() => (this.cached = null));
	}

	/** The definitions as they now are (cached until one changes). */
	rules(): Promise<FieldRules> {
		const reading = (this.cached ??= this.read());
		reading.catch(() => {
			if (this.cached === reading) this.cached = null;
		});
		return reading;
	}

	async list(): Promise<{ fields: FieldDefinition[]; forms: FormDefinition[] }> {
		const rules = await this.rules();
		return { fields: [...rules.fields.values()], forms: [...rules.forms.values()] };
	}

	async createField(input: FieldInput, actor: string): Promise<FieldDefinition> {
		const { ticketFieldDefinitions: t } = this.store.tables;
		const now = Date.now();
		const created = await this.store.transaction(async (tx) => {
			const position = await nextPosition(tx, t, FIELD_LIMITS.fields, 'custom fields');
			const [taken] = await tx.select({ key: t.key }).from(t).where(eq(t.key, input.key)).limit(1);
			if (taken) throw new ApiError(409, 'key_taken', `key: a field ${input.key} exists already (keys are never reused)`, 'key');
			const field: FieldDefinition = { ...input, archived: false, position };
			await tx.insert(t).values({ ...field, createdAt: now, updatedAt: now });
			await this.events.record({ actor, type: 'custom-field.created', data: { key: field.key, type: field.type } });
			return field;
		});
		this.changed.publish(null);
		return created;
	}

	/** Changes a field: what it is called and offers, whether it is required, archived, or where it stands. Its key and type stay. */
	async updateField(key: string, change: FieldChange, actor: string): Promise<FieldDefinition> {
		const { ticketFieldDefinitions: t } = this.store.tables;
		const updated = await this.store.transaction(async (tx) => {
			const [current] = await tx.select().from(t).where(eq(t.key, key)).limit(1);
			if (!current) throw notFound('custom field');
			const { move, archived, ...definition } = change;
			const checked = fieldInputSchema.safeParse({ key, type: current.type, label: current.label, options: current.options, pattern: current.pattern, requiredOnSolve: current.requiredOnSolve, ...definition });
			if (!checked.success) {
				const issue = checked.error.issues[0]!;
				throw new ApiError(400, 'invalid_field', `${issue.path.join('.')}: ${issue.message}`, issue.path.join('.'));
			}
			await tx
				.update(t)
				.set({ ...checked.data, archived: archived ?? current.archived, updatedAt: Date.now() })
				.where(eq(t.key, key));
			for (const [moved, position] of swapped(await tx.select({ id: t.key, position: t.position }).from(t), key, move)) {
				await tx.update(t).set({ position }).where(eq(t.key, moved));
			}
			await this.events.record({ actor, type: 'custom-field.changed', data: { key, change } });
			const [row] = await tx.select().from(t).where(eq(t.key, key));
			return definitionOf(row!);
		});
		this.changed.publish(null);
		return updated;
	}

	async createForm(input: FormInput, actor: string): Promise<FormDefinition> {
		const { ticketForms: f } = this.store.tables;
		const now = Date.now();
		const created = await this.store.transaction(async (tx) => {
			const position = await nextPosition(tx, f, FIELD_LIMITS.forms, 'forms');
			await this.checkForm(tx, input.name, input.fieldKeys, null);
			const form: FormDefinition = { id: newId(), name: input.name, fieldKeys: input.fieldKeys, archived: false, position };
			await tx.insert(f).values({ ...form, createdAt: now, updatedAt: now });
			await this.events.record({ actor, type: 'ticket-form.created', data: { id: form.id, name: form.name } });
			return form;
		});
		this.changed.publish(null);
		return created;
	}

	async updateForm(id: string, change: FormChange, actor: string): Promise<FormDefinition> {
		const { ticketForms: f } = this.store.tables;
		const updated = await this.store.transaction(async (tx) => {
			const [current] = await tx.select().from(f).where(eq(f.id, id)).limit(1);
			if (!current) throw notFound('form');
			const { move, ...rest } = change;
			const next = { name: rest.name ?? current.name, fieldKeys: rest.fieldKeys ?? current.fieldKeys, archived: rest.archived ?? current.archived };
			await this.checkForm(tx, next.name, next.fieldKeys, id);
			await tx
				.update(f)
				.set({ ...next, updatedAt: Date.now() })
				.where(eq(f.id, id));
			for (const [moved, position] of swapped(await tx.select({ id: f.id, position: f.position }).from(f), id, move)) {
				await tx.update(f).set({ position }).where(eq(f.id, moved));
			}
			await this.events.record({ actor, type: 'ticket-form.changed', data: { id, change } });
			const [row] = await tx.select().from(f).where(eq(f.id, id));
			return formOf(row!);
		});
		this.changed.publish(null);
		return updated;
	}

	/** A form's name is its own and its fields exist. */
	private async checkForm(tx: Store['db'], name: string, fieldKeys: string[], id: string | null) {
		const { ticketForms: f, ticketFieldDefinitions: t } = this.store.tables;
		const [named] = await tx.select({ id: f.id }).from(f).where(sql`lower(${f.name}) = ${name.toLowerCase()}`).limit(1);
		if (named && named.id !== id) throw new ApiError(409, 'name_taken', `name: a form ${name} exists already`, 'name');
		const known = new Set((await tx.select({ key: t.key }).from(t)).map((r) => r.key));
		const unknown = fieldKeys.find((key) => !known.has(key));
		if (unknown) throw new ApiError(400, 'invalid_field', `fieldKeys: there is no custom field ${unknown}`, 'fieldKeys');
	}

	private async read(): Promise<FieldRules> {
		const { ticketFieldDefinitions: t, ticketForms: f } = this.store.tables;
		const [fields, forms] = await Promise.all([this.store.db.select().from(t), this.store.db.select().from(f)]);
		return new FieldRules(fields.map(definitionOf), forms.map(formOf));
	}
}

/** The new positions when `id` moves one place up or down among `rows`: it swaps with its neighbour (none at either end). */
function swapped(rows: { id: string; position: number }[], id: string, move: 'up' | 'down' | undefined): [string, number][] {
	if (!move) return [];
	const sorted = rows.sort((a, b) => a.position - b.position);
	const at = sorted.findIndex((row) => row.id === id);
	const other = sorted[move === 'up' ? at - 1 : at + 1];
	return at < 0 || !other ? [] : [[id, other.position], [other.id, sorted[at]!.position]];
}

function definitionOf(row: Store['tables']['ticketFieldDefinitions']['$inferSelect']): FieldDefinition {
	return { key: row.key, label: row.label, type: row.type, options: row.options, pattern: row.pattern, requiredOnSolve: row.requiredOnSolve, archived: row.archived, position: row.position };
}

function formOf(row: Store['tables']['ticketForms']['$inferSelect']): FormDefinition {
	return { id: row.id, name: row.name, fieldKeys: row.fieldKeys, position: row.position, archived: row.archived };
}
