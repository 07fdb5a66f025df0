/** Routing's endpoints in the OpenAPI description (see openapi.ts, which lends its helpers). */
import { z } from 'zod';
import type { ZodOpenApiOperationObject, ZodOpenApiResponsesObject } from 'zod-openapi';
import { idSchema } from '../ticket/schema';
import {
	agentPresenceSchema,
	agentRoutingSchema,
	customStatusSchema,
	dashboardSchema,
	offerSchema,
	reassignSchema,
	routingOptionsSchema,
	routingSettingsSchema,
	setStatusSchema,
	slaPoliciesSchema,
	slaPolicySchema,
	slaStateSchema,
	statusOptionSchema,
	userRoutingSchema
} from './routing';

export interface OpenApiHelpers {
	errors: (...statuses: (400 | 403 | 404 | 413)[]) => ZodOpenApiResponsesObject;
	ok: (description: string, schema: z.ZodType) => { description: string; content: Record<string, { schema: z.ZodType }> };
	jsonContent: (schema: z.ZodType) => Record<string, { schema: z.ZodType }>;
	errorBody: z.ZodType;
}

export function routingPaths({ errors, ok, jsonContent, errorBody }: OpenApiHelpers): Record<string, Record<string, ZodOpenApiOperationObject>> {
	const op = (o: ZodOpenApiOperationObject): ZodOpenApiOperationObject => ({ tags: ['Routing'], ...o });
	const id = (what: string) => ({ path: z.object({ id: idSchema.meta({ description: `The ${what} id.` }) }) });
	const body = (schema: z.ZodType) => ({ required: true, content: jsonContent(schema) });
	const gone = { 409: { description: '`offer_gone`: it expired, moved on or was taken; `over_capacity`.', content: jsonContent(errorBody) } };
	const policies = z.object({ policies: z.array(slaPolicySchema) });
	return {
		'/me/status': {
			get: op({ operationId: 'getMyStatus', summary: 'My status and channel availability', responses: { 200: ok('The status.', agentPresenceSchema), ...errors(403) } }),
			put: op({
				operationId: 'setMyStatus',
				summary: 'Set my status and channel availability',
				description: 'Colleagues see the change on their agent streams. Away or offline withdraws your offers and returns your chats to the queue.',
				requestBody: body(setStatusSchema),
				responses: { 200: ok('The status.', agentPresenceSchema), ...errors(400, 403) }
			})
		},
		'/statuses': {
			get: op({ operationId: 'listStatuses', summary: 'Built-in and custom statuses', responses: { 200: ok('The statuses.', z.object({ statuses: z.array(statusOptionSchema) })), ...errors(403) } }),
			post: op({
				operationId: 'createStatus',
				summary: 'Create a custom status (admins)',
				requestBody: body(customStatusSchema),
				responses: { 201: ok('The status.', statusOptionSchema), ...errors(400, 403), 409: { description: '`status_exists`.', content: jsonContent(errorBody) } }
			})
		},
		'/statuses/{id}': {
			delete: op({
				operationId: 'deleteStatus',
				summary: 'Delete a custom status (admins)',
				description: 'Agents who had it chosen get the built-in status it mapped to.',
				requestParams: id('custom status'),
				responses: { 204: { description: 'Deleted.' }, ...errors(403, 404) }
			})
		},
		'/offers': {
			get: op({ operationId: 'listOffers', summary: 'My pending offers', responses: { 200: ok('Oldest first.', z.object({ offers: z.array(offerSchema) })), ...errors(403) } })
		},
		'/offers/{id}/accept': {
			post: op({
				operationId: 'acceptOffer',
				summary: 'Accept an offer',
				description: 'Exactly one agent wins an item. A ticket is assigned to you (and opened when new); a call is answered by you, as Accept in the Talk console.',
				requestParams: id('offer'),
				responses: {
					200: ok('Accepted.', z.object({ ticketId: idSchema.nullable(), itemId: idSchema, kind: z.enum(['ticket', 'call']), ref: z.string() })),
					...errors(403, 404),
					...gone
				}
			})
		},
		'/offers/{id}/decline': {
			post: op({
				operationId: 'declineOffer',
				summary: 'Decline an offer',
				description: 'It moves on to the next agent and is not offered to you again (a call: as Decline in the Talk console). 403 where admins do not allow declining.',
				requestParams: id('offer'),
				responses: { 204: { description: 'Declined.' }, ...errors(403, 404), ...gone }
			})
		},
		'/agent/stream': {
			get: op({
				operationId: 'agentStream',
				summary: "The workspace's routing stream (Server-Sent Events)",
				description:
					'`event: offer` (an Offer; the pending ones first), `event: offer.withdrawn` (`{offerId, itemId, reason}`: declined, expired, withdrawn, done, assigned), `event: assigned` (`{itemId, kind, ref, ticketId, channel}`), `event: status` (an AgentPresence, every colleague first, then each change). While a stream is open you count as connected; after the last closes you turn away (`AWAY_AFTER_MS`), then offline (`OFFLINE_AFTER_MS`).',
				responses: { 200: { description: 'An event stream that stays open.', content: { 'text/event-stream': { schema: z.string() } } }, ...errors(403) }
			})
		},
		'/supervisor/dashboard': {
			get: op({
				operationId: 'supervisorDashboard',
				summary: 'Agents and queues (supervisors and admins)',
				responses: { 200: ok('Every agent and every group queue.', dashboardSchema), ...errors(403) }
			})
		},
		'/tickets/{id}/reassign': {
			post: op({
				operationId: 'reassignTicket',
				summary: 'Give a ticket to an agent (supervisors and admins)',
				description: 'Past the queue and capacity; the server writes the assignee. A pending offer of the ticket is withdrawn.',
				requestParams: id('ticket'),
				requestBody: body(reassignSchema),
				responses: { 200: ok('Reassigned.', z.object({ ticketId: idSchema, assigneeId: idSchema })), ...errors(400, 403, 404) }
			})
		},
		'/tickets/{id}/sla': {
			get: op({
				operationId: 'ticketSla',
				summary: "A ticket's SLA timers",
				requestParams: id('ticket'),
				responses: { 200: ok('Due times (epoch ms) and breached targets.', slaStateSchema), ...errors(404) }
			})
		},
		'/routing/settings': {
			get: op({ operationId: 'getRoutingSettings', summary: 'Routing settings', responses: { 200: ok('The settings.', routingOptionsSchema), ...errors(403) } }),
			put: op({
				operationId: 'setRoutingSettings',
				summary: 'Change routing settings (admins)',
				requestBody: body(routingSettingsSchema),
				responses: { 200: ok('The settings.', routingOptionsSchema), ...errors(400, 403) }
			})
		},
		'/users/{id}/routing': {
			get: op({ operationId: 'getUserRouting', summary: "An agent's capacities and skills (admins)", requestParams: id('user'), responses: { 200: ok('Their own capacities (defaults apply to the rest) and skills.', agentRoutingSchema), ...errors(403, 404) } }),
			put: op({
				operationId: 'setUserRouting',
				summary: "Set an agent's capacities and skills (admins)",
				description: 'Tickets tagged `skill:<name>` go to agents with that skill.',
				requestParams: id('user'),
				requestBody: body(userRoutingSchema),
				responses: { 200: ok('Their routing.', agentRoutingSchema), ...errors(400, 403, 404) }
			})
		},
		'/sla-policies': {
			get: op({ operationId: 'listSlaPolicies', summary: 'SLA policies by priority and channel class', responses: { 200: ok('The policies.', policies), ...errors(403) } }),
			put: op({
				operationId: 'setSlaPolicies',
				summary: 'Replace SLA policies (admins)',
				requestBody: body(slaPoliciesSchema),
				responses: { 200: ok('All policies.', policies), ...errors(400, 403) }
			})
		}
	};
}
