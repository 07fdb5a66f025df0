/** Rules' endpoints (triggers, automations, business hours) in the OpenAPI description (see openapi.ts, which lends its helpers). */
import { z } from 'zod';
import type { ZodOpenApiOperationObject } from 'zod-openapi';
import { idSchema } from '../ticket/schema';
import type { OpenApiHelpers } from './openapi-routing';
import { businessHoursListSchema, newRuleSchema, putBusinessHoursSchema, RULE_LIMITS, ruleChangesSchema, ruleOrderSchema, ruleSchema, ruleTestSchema } from './rules';

export const RULES_TAG = { name: 'Rules', description: 'Triggers, automations and business hours: admins write, supervisors read.' };

export function rulePaths({ errors, ok, jsonContent, errorBody }: OpenApiHelpers): Record<string, Record<string, ZodOpenApiOperationObject>> {
	const op = (o: ZodOpenApiOperationObject): ZodOpenApiOperationObject => ({ tags: ['Rules'], ...o });
	const body = (schema: z.ZodType) => ({ required: true, content: jsonContent(schema) });
	const requestParams = { path: z.object({ id: idSchema.meta({ description: 'The rule id.' }) }) };
	const list = z.object({ rules: z.array(ruleSchema) });
	const matches = z.object({
		tickets: z.array(z.object({ id: idSchema, number: z.number().int().nullable(), subject: z.string(), status: z.string(), priority: z.string(), groupId: z.string().nullable(), assigneeId: z.string().nullable(), updatedAt: z.number().int() }))
	});
	return {
		'/rules': {
			get: op({
				operationId: 'listRules',
				summary: 'Triggers and automations, in the order they run',
				description: 'Supervisors and admins; `?kind=trigger|automation` for one kind. Only admins see `webhookSecret`.',
				responses: { 200: ok('The rules.', list), ...errors(400, 403) }
			}),
			post: op({
				operationId: 'createRule',
				summary: 'Create a rule (admins)',
				description: `Last in its kind's order. At most ${RULE_LIMITS.rulesPerKind} rules per kind, ${RULE_LIMITS.conditionsPerList} conditions per list, ${RULE_LIMITS.actions} actions, templates of ${RULE_LIMITS.templateLength} characters. A group or agent an action names must exist.`,
				requestBody: body(newRuleSchema),
				responses: { 201: ok('The rule.', ruleSchema), 409: { description: '`limit_exceeded`: as many rules of the kind as may be.', content: jsonContent(errorBody) }, ...errors(400, 403, 413) }
			})
		},
		'/rules/{id}': {
			get: op({ operationId: 'getRule', summary: 'A rule', requestParams, responses: { 200: ok('The rule.', ruleSchema), ...errors(403, 404) } }),
			patch: op({
				operationId: 'updateRule',
				summary: 'Change a rule, or switch it on or off (admins)',
				requestParams,
				requestBody: body(ruleChangesSchema),
				responses: { 200: ok('The rule.', ruleSchema), ...errors(400, 403, 404, 413) }
			}),
			delete: op({ operationId: 'deleteRule', summary: 'Delete a rule (admins)', requestParams, responses: { 204: { description: 'Deleted.' }, ...errors(403, 404) } })
		},
		'/rules/order': {
			put: op({ operationId: 'reorderRules', summary: 'Put the rules of a kind in a new order (admins)', requestBody: body(ruleOrderSchema), responses: { 200: ok('The rules of the kind.', list), ...errors(400, 403) } })
		},
		'/rules/test': {
			post: op({
				operationId: 'testRule',
				summary: 'Which tickets would these conditions match now? (admins)',
				description: 'Of the 500 most recently updated tickets, the ones matching, at most `limit`. Conditions on the change a trigger runs on read as an update by an agent that just set the status the ticket has.',
				requestBody: body(ruleTestSchema),
				responses: { 200: ok('The matching tickets.', matches), ...errors(400, 403) }
			})
		},
		'/business-hours': {
			get: op({ operationId: 'listBusinessHours', summary: 'Business hours by group (`default`: groups without their own)', responses: { 200: ok('The schedules.', businessHoursListSchema), ...errors(403) } })
		},
		'/business-hours/{scope}': {
			put: op({
				operationId: 'setBusinessHours',
				summary: "Set or remove a group's business hours (admins)",
				description: 'SLA targets and `hours.*` conditions with `business: true` count these hours. No schedule at all: around the clock.',
				requestParams: { path: z.object({ scope: z.string().meta({ description: 'A group id, or `default`.' }) }) },
				requestBody: body(putBusinessHoursSchema),
				responses: { 200: ok('Every schedule.', businessHoursListSchema), ...errors(400, 403, 404) }
			})
		}
	};
}
