/**
 * Admin: custom ticket fields and forms. The forms are shaped into the API's own schemas
 * (src/lib/api/custom-fields.ts), so a form and an API call are checked alike.
 */
import { z } from 'zod';
import { fieldChangeSchema, fieldInputSchema, formChangeSchema, formInputSchema } from '$lib/api/custom-fields';
import { FIELD_TYPE_NAMES, FIELD_TYPES } from '$lib/ticket';
import { formActor, formChange, parseForm, readForm } from '$lib/server/forms';
import { tandem } from '$lib/server/tandem';
import type { Actions, PageServerLoad } from './$types';

/** One option a line; blank lines dropped. */
const lines = z.string().default('').transform((text) => text.split('\n').map((line) => line.trim()).filter(Boolean));
/** A checkbox is sent only when ticked. */
const ticked = z.string().optional().transform((value) => value === 'on');
const blankAsNull = z.string().default('').transform((text) => (text.trim() === '' ? null : text.trim()));

const createFieldForm = z
	.object({ key: z.string().trim(), label: z.string(), type: z.string(), options: lines, pattern: blankAsNull, requiredOnSolve: ticked })
	// Only the inputs of the type chosen count (the page may have sent the others' leftovers).
	.transform(
		(form): z.input<typeof fieldInputSchema> => ({
			...form,
			type: form.type as z.input<typeof fieldInputSchema>['type'],
			options: form.type === 'dropdown' || form.type === 'multiselect' ? form.options : [],
			pattern: form.type === 'regex' ? form.pattern : null
		})
	)
	.pipe(fieldInputSchema);
const editFieldForm = z
	.object({ key: z.string(), label: z.string(), options: lines.optional(), pattern: blankAsNull.optional(), requiredOnSolve: ticked })
	.transform(({ key, options, pattern, ...change }): { key: string; change: z.input<typeof fieldChangeSchema> } => ({
		key,
		change: { ...change, ...(options?.length ? { options } : {}), ...(pattern ? { pattern } : {}) }
	}))
	.pipe(z.object({ key: z.string(), change: fieldChangeSchema }));
const fieldStep = z.object({ key: z.string(), step: z.enum(['up', 'down', 'archive', 'restore']) });

/** A form's name and the fields ticked, in the order listed. */
const formFields = (data: FormData) => ({ name: data.get('name'), fieldKeys: data.getAll('fieldKeys') });
const formStep = z.object({ id: z.string(), step: z.enum(['up', 'down', 'archive', 'restore']) });

export const load: PageServerLoad = async () => ({
	...(await tandem().customFields.list()),
	types: FIELD_TYPES.map((type) => ({ type, name: FIELD_TYPE_NAMES[type] }))
});

/** A step as the change it makes: one place up or down, or archived or restored. */
const stepChange = (step: 'up' | 'down' | 'archive' | 'restore') => (step === 'archive' || step === 'restore' ? { archived: step === 'archive' } : { move: step });

export const actions: Actions = {
	createField: async ({ request, locals }) => {
		const form = parseForm(createFieldForm, Object.fromEntries(await readForm(request)), 'createField');
		if (!form.ok) return form.failure;
		return formChange('createField', () => tandem().customFields.createField(form.value, formActor(locals)).then(() => undefined), { notice: `Field “${form.value.label}” added.` });
	},
	editField: async ({ request, locals }) => {
		const form = parseForm(editFieldForm, Object.fromEntries(await readForm(request)), 'editField');
		if (!form.ok) return form.failure;
		return formChange('editField', () => tandem().customFields.updateField(form.value.key, form.value.change, formActor(locals)).then(() => undefined), { notice: 'Field saved.' });
	},
	stepField: async ({ request, locals }) => {
		const form = parseForm(fieldStep, Object.fromEntries(await readForm(request)), 'stepField');
		if (!form.ok) return form.failure;
		return formChange('stepField', () => tandem().customFields.updateField(form.value.key, stepChange(form.value.step), formActor(locals)).then(() => undefined));
	},
	createForm: async ({ request, locals }) => {
		const form = parseForm(formInputSchema, formFields(await readForm(request)), 'createForm');
		if (!form.ok) return form.failure;
		return formChange('createForm', () => tandem().customFields.createForm(form.value, formActor(locals)).then(() => undefined), { notice: `Form “${form.value.name}” added.` });
	},
	editForm: async ({ request, locals }) => {
		const data = await readForm(request);
		const form = parseForm(formChangeSchema, formFields(data), 'editForm');
		if (!form.ok) return form.failure;
		return formChange('editForm', () => tandem().customFields.updateForm(String(data.get('id')), form.value, formActor(locals)).then(() => undefined), { notice: 'Form saved.' });
	},
	stepForm: async ({ request, locals }) => {
		const form = parseForm(formStep, Object.fromEntries(await readForm(request)), 'stepForm');
		if (!form.ok) return form.failure;
		return formChange('stepForm', () => tandem().customFields.updateForm(form.value.id, stepChange(form.value.step), formActor(locals)).then(() => undefined));
	}
};
