/**
 * Admin: the context panel's content. Help-centre articles (write, publish, unpublish), custom
 * object types and their records, and apps with their scopes. The forms are shaped into the API's
 * own input schemas, so a form and an API call are checked alike.
 */
import { fail } from '@sveltejs/kit';
import { z } from 'zod';
import { APP_SCOPES, FIELD_TYPES, appInputSchema, articleInputSchema, objectTypeInputSchema, recordInputSchema, type ObjectField } from '$lib/api/context';
import { formChange, parseForm, readForm } from '$lib/server/forms';
import { tandem } from '$lib/server/tandem';
import type { Actions, PageServerLoad } from './$types';

const commaList = (value: string) => value.split(',').map((item) => item.trim()).filter(Boolean);
const id = z.object({ id: z.string().min(1) });

const articleForm = z
	.object({ id: z.string().default(''), title: z.string(), slug: z.string().default(''), section: z.string(), tags: z.string().default(''), body: z.string().default(''), status: z.string() })
	.transform(({ id, slug, tags, ...rest }) => ({ id, input: { ...rest, slug: slug.trim() || undefined, tags: commaList(tags) } as z.input<typeof articleInputSchema> }))
	.pipe(z.object({ id: z.string(), input: articleInputSchema }));

/**
 * Fields typed one per line: `key, Label, type[, required][, option | option…]`, e.g.
 * `status, Status, enum, required, open | shipped`.
 */
const typeForm = z
	.object({ name: z.string(), fields: z.string() })
	.transform(({ name, fields }) => ({
		name,
		fields: fields
			.split('\n')
			.map((line) => line.trim())
			.filter(Boolean)
			.map((line) => {
				const [key = '', label = '', type = '', ...rest] = line.split(',').map((part) => part.trim());
				const required = rest.includes('required');
				const options = rest.filter((part) => part !== 'required').join(',').split('|').map((o) => o.trim()).filter(Boolean);
				return { key, label, type, required, ...(options.length ? { options } : {}) };
			})
	}) as z.input<typeof objectTypeInputSchema>)
	.pipe(objectTypeInputSchema);

/** An app as its form edits it: the name only when installing. */
const appEdit = appInputSchema.partial({ name: true });
const appForm = z
	.object({ id: z.string().default(''), name: z.string().default(''), url: z.string(), scopes: z.array(z.string()).default([]), enabled: z.string().optional() })
	.transform(({ id, name, enabled, ...rest }) => ({ id, input: { ...rest, ...(name ? { name } : {}), enabled: enabled === 'on' } as z.input<typeof appEdit> }))
	.pipe(z.object({ id: z.string(), input: appEdit }));

export const load: PageServerLoad = async ({ url, locals }) => {
	const { help, objects, apps, customers } = tandem();
	const types = await objects.listTypes();
	const customerNames = new Map<string, string>();
	const records: Record<string, Awaited<ReturnType<typeof objects.listRecords>>> = {};
	for (const type of types) {
		const list = await objects.listRecords({ type: type.id, limit: 50 }, locals.principal!);
		for (const record of list) for (const customerId of record.customerIds) customerNames.set(customerId, (await customers.get(customerId))?.name ?? customerId);
		records[type.id] = list;
	}
	return {
		articles: await help.list({ drafts: true }),
		types,
		records,
		customerNames: Object.fromEntries(customerNames),
		apps: await apps.list(),
		scopes: APP_SCOPES,
		fieldTypes: FIELD_TYPES,
		origin: url.origin
	};
};

async function read<T extends z.ZodType>(request: Request, schema: T, action: string) {
	const data = await readForm(request);
	const raw: Record<string, unknown> = Object.fromEntries(data);
	if (action === 'saveApp') raw.scopes = data.getAll('scopes');
	return { ...parseForm(schema, raw, action), data };
}

/** Runs a change; the API's errors (400 naming a field, 404) become the form's message. */
const attempt = (action: string, notice: string, change: () => Promise<unknown>) => formChange(action, async () => void (await change()), { notice });

/** A record form's `value.<key>` inputs as typed values (empty ones left out), for the type's schema to check. */
function recordValues(fields: ObjectField[], data: FormData): Record<string, unknown> {
	const values: Record<string, unknown> = {};
	for (const field of fields) {
		const raw = data.get(`value.${field.key}`);
		if (field.type === 'boolean') {
			if (raw !== null) values[field.key] = raw === 'on';
			continue;
		}
		if (typeof raw !== 'string' || raw.trim() === '') continue;
		values[field.key] = field.type === 'number' && !Number.isNaN(Number(raw)) ? Number(raw) : raw.trim();
	}
	return values;
}

export const actions: Actions = {
	saveArticle: async ({ request, locals }) => {
		const form = await read(request, articleForm, 'saveArticle');
		if (!form.ok) return form.failure;
		const { id, input } = form.value;
		const { help } = tandem();
		return attempt('saveArticle', input.status === 'published' ? `“${input.title}” is published.` : `“${input.title}” saved as a draft.`, () =>
			id ? help.update(id, input, locals.principal!) : help.create(input, locals.principal!)
		);
	},
	deleteArticle: async ({ request, locals }) => {
		const form = await read(request, id, 'deleteArticle');
		if (!form.ok) return form.failure;
		return attempt('deleteArticle', 'Article deleted.', () => tandem().help.delete(form.value.id, locals.principal!));
	},
	createType: async ({ request, locals }) => {
		const form = await read(request, typeForm, 'createType');
		if (!form.ok) return form.failure;
		return attempt('createType', `Type “${form.value.name}” created.`, () => tandem().objects.createType(form.value, locals.principal!));
	},
	deleteType: async ({ request, locals }) => {
		const form = await read(request, id, 'deleteType');
		if (!form.ok) return form.failure;
		return attempt('deleteType', 'Type deleted with its records.', () => tandem().objects.deleteType(form.value.id, locals.principal!));
	},
	createRecord: async ({ request, locals }) => {
		const form = await read(request, z.object({ typeId: z.string().min(1), externalId: z.string().trim().default(''), customerEmail: z.string().trim().default('') }), 'createRecord');
		if (!form.ok) return form.failure;
		const { objects, customers } = tandem();
		const type = await objects.getType(form.value.typeId);
		if (!type) return fail(404, { action: 'createRecord', message: 'No such type.' });
		const customer = form.value.customerEmail ? await customers.findOrCreate('email', form.value.customerEmail) : null;
		const input = parseForm(
			recordInputSchema,
			{ typeId: type.id, externalId: form.value.externalId || undefined, values: recordValues(type.fields, form.data), customerIds: customer ? [customer.id] : [] },
			'createRecord'
		);
		if (!input.ok) return input.failure;
		return attempt('createRecord', `${type.name} saved.`, () => objects.createRecord(input.value, locals.principal!));
	},
	deleteRecord: async ({ request, locals }) => {
		const form = await read(request, id, 'deleteRecord');
		if (!form.ok) return form.failure;
		return attempt('deleteRecord', 'Record deleted.', () => tandem().objects.deleteRecord(form.value.id, locals.principal!));
	},
	saveApp: async ({ request, locals }) => {
		const form = await read(request, appForm, 'saveApp');
		if (!form.ok) return form.failure;
		const { id, input } = form.value;
		const { apps } = tandem();
		if (!id && !input.name) return fail(400, { action: 'saveApp', message: 'name: give the app a name' });
		// An app's name is not edited: the update's form does not send it.
		const name = input.name ?? (id ? (await apps.get(id))?.name : undefined) ?? 'app';
		return attempt('saveApp', `App “${name}” saved.`, () => (id ? apps.update(id, input, locals.principal!) : apps.create({ ...input, name: input.name! }, locals.principal!)));
	},
	removeApp: async ({ request, locals }) => {
		const form = await read(request, id, 'removeApp');
		if (!form.ok) return form.failure;
		return attempt('removeApp', 'App removed.', () => tandem().apps.delete(form.value.id, locals.principal!));
	}
};
