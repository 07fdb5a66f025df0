/** Custom ticket fields and forms in the OpenAPI description (see openapi.ts, which lends its helpers). */
import { z } from 'zod';
import type { ZodOpenApiOperationObject } from 'zod-openapi';
import { fieldKeySchema } from '../ticket/custom-fields';
import { idSchema } from '../ticket/schema';
import { fieldChangeSchema, fieldDefinitionSchema, fieldInputSchema, formChangeSchema, formDefinitionSchema, formInputSchema } from './custom-fields';
import type { OpenApiHelpers } from './openapi-routing';

export function customFieldPaths({ errors, ok, jsonContent, errorBody }: OpenApiHelpers): Record<string, Record<string, ZodOpenApiOperationObject>> {
	const op = (o: ZodOpenApiOperationObject): ZodOpenApiOperationObject => ({ tags: ['Tickets'], ...o });
	const body = (schema: z.ZodType) => ({ required: true, content: jsonContent(schema) });
	const conflict = (codes: string) => ({ 409: { description: codes, content: jsonContent(errorBody) } });
	const Field = fieldDefinitionSchema.meta({ id: 'TicketField', description: 'A custom ticket field.' });
	const Form = formDefinitionSchema.meta({ id: 'TicketForm', description: 'A form: the custom fields a kind of request shows.' });
	return {
		'/ticket-fields': {
			get: op({
				operationId: 'listTicketFields',
				summary: 'Custom ticket fields and forms',
				description: 'Archived ones included (their values stay in tickets; new values are refused).',
				responses: { 200: ok('Fields and forms, in their order.', z.object({ fields: z.array(Field), forms: z.array(Form) })), ...errors(403) }
			}),
			post: op({
				operationId: 'createTicketField',
				summary: 'Define a custom ticket field (admins)',
				requestBody: body(fieldInputSchema),
				responses: { 201: ok('The field.', Field), ...errors(400, 403), ...conflict('`key_taken` (keys are never reused); `limit_exceeded`.') }
			})
		},
		'/ticket-fields/{key}': {
			patch: op({
				operationId: 'updateTicketField',
				summary: 'Change, archive or move a custom ticket field (admins)',
				description: 'Its key and type stay.',
				requestParams: { path: z.object({ key: fieldKeySchema }) },
				requestBody: body(fieldChangeSchema),
				responses: { 200: ok('The field.', Field), ...errors(400, 403, 404) }
			})
		},
		'/ticket-forms': {
			post: op({
				operationId: 'createTicketForm',
				summary: 'Create a form (admins)',
				requestBody: body(formInputSchema),
				responses: { 201: ok('The form.', Form), ...errors(400, 403), ...conflict('`name_taken`; `limit_exceeded`.') }
			})
		},
		'/ticket-forms/{id}': {
			patch: op({
				operationId: 'updateTicketForm',
				summary: 'Change, archive or move a form (admins)',
				requestParams: { path: z.object({ id: idSchema }) },
				requestBody: body(formChangeSchema),
				responses: { 200: ok('The form.', Form), ...errors(400, 403, 404), ...conflict('`name_taken`.') }
			})
		}
	};
}
