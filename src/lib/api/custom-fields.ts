/** Request schemas of custom ticket fields and forms (admins define them; values go into tickets). */
import { z } from 'zod';
import { FIELD_LIMITS, FIELD_TYPES, fieldInputSchema, fieldKeySchema } from '../ticket/custom-fields';
import { idSchema } from '../ticket/schema';

export { fieldInputSchema };

const move = z.enum(['up', 'down']).optional().meta({ description: 'Moves it one place up or down in the order shown.' });

/** A change to a field (PATCH /ticket-fields/{key}): its key and type stay as they were made. */
export const fieldChangeSchema = z
	.strictObject({
		label: z.string().trim().min(1).max(FIELD_LIMITS.labelLength).optional(),
		options: z.array(z.string().trim().min(1).max(FIELD_LIMITS.optionLength)).max(FIELD_LIMITS.optionsPerField).optional(),
		pattern: z.string().max(FIELD_LIMITS.patternLength).nullable().optional(),
		requiredOnSolve: z.boolean().optional(),
		archived: z.boolean().optional().meta({ description: 'An archived field keeps its values and leaves the editors; its values are refused until it is restored.' }),
		move
	})
	.refine((change) => Object.keys(change).length > 0, { message: 'name something to change' });
export type FieldChange = z.infer<typeof fieldChangeSchema>;

const fieldKeysSchema = z
	.array(fieldKeySchema)
	.max(FIELD_LIMITS.fieldsPerForm)
	.refine((keys) => new Set(keys).size === keys.length, 'each field once');

export const formInputSchema = z.strictObject({
	name: z.string().trim().min(1).max(FIELD_LIMITS.formNameLength),
	fieldKeys: fieldKeysSchema.meta({ description: 'The fields the form shows, in order.' })
});
export type FormInput = z.infer<typeof formInputSchema>;

export const formChangeSchema = formInputSchema
	.partial()
	.extend({ archived: z.boolean().optional(), move })
	.refine((change) => Object.keys(change).length > 0, { message: 'name something to change' });
export type FormChange = z.infer<typeof formChangeSchema>;

/** Custom field values as a writer sends them (field key → value; null clears), checked against the definitions by the server. */
export const customValuesSchema = z
	.record(
		fieldKeySchema,
		z.union([z.string().max(FIELD_LIMITS.multilineLength), z.number(), z.boolean(), z.array(z.string().max(FIELD_LIMITS.optionLength)).max(FIELD_LIMITS.optionsPerField), z.null()])
	)
	.refine((values) => Object.keys(values).length <= FIELD_LIMITS.fields, `at most ${FIELD_LIMITS.fields} fields`)
	.meta({ description: 'Custom field values by field key (GET /ticket-fields); null clears one. Checked against each field’s type, options and pattern.' });

export const formIdSchema = idSchema.nullable().meta({ description: 'The ticket’s form (GET /ticket-fields): which custom fields it shows and requires on solve; null: none.' });

/** What GET /ticket-fields answers. */
export const fieldDefinitionSchema = z.object({
	key: fieldKeySchema,
	label: z.string(),
	type: z.enum(FIELD_TYPES),
	options: z.array(z.string()),
	pattern: z.string().nullable(),
	requiredOnSolve: z.boolean(),
	archived: z.boolean(),
	position: z.number().int()
});
export const formDefinitionSchema = z.object({ id: idSchema, name: z.string(), fieldKeys: z.array(fieldKeySchema), position: z.number().int(), archived: z.boolean() });
