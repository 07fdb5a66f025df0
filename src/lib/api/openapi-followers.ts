/** Followers' and kept notices' endpoints in the OpenAPI description (see openapi.ts, which lends its helpers). */
import { z } from 'zod';
import type { ZodOpenApiOperationObject } from 'zod-openapi';
import { idSchema } from '../ticket/schema';
import { followerListSchema, MAX_FOLLOWERS_PER_TICKET } from './followers';
import { markNoticesReadSchema, MAX_NOTICES_LISTED, noticeListSchema } from './notices';
import type { OpenApiHelpers } from './openapi-routing';

export function followerPaths({ errors, ok, jsonContent, errorBody }: OpenApiHelpers): Record<string, Record<string, ZodOpenApiOperationObject>> {
	const op = (o: ZodOpenApiOperationObject): ZodOpenApiOperationObject => ({ tags: ['Tickets'], ...o });
	const requestParams = { path: z.object({ id: idSchema.meta({ description: 'The ticket id.' }) }) };
	const answer = ok('The followers as they now are.', followerListSchema);
	return {
		'/tickets/{id}/follow': {
			put: op({
				operationId: 'followTicket',
				summary: 'Follow a ticket',
				description: `The caller (a signed-in user who may see the ticket) is told on their stream (\`event: follow\`) of its new customer messages and status changes, other than their own, while they may see it. Following again changes nothing. API tokens get 403.`,
				requestParams,
				responses: {
					200: answer,
					409: { description: `\`limit_exceeded\`: the ticket has ${MAX_FOLLOWERS_PER_TICKET} followers, as many as it may.`, content: jsonContent(errorBody) },
					...errors(403, 404)
				}
			}),
			delete: op({ operationId: 'unfollowTicket', summary: 'Stop following a ticket', requestParams, responses: { 200: answer, ...errors(403, 404) } })
		},
		'/tickets/{id}/followers': {
			get: op({ operationId: 'ticketFollowers', summary: "A ticket's followers", requestParams, responses: { 200: answer, ...errors(403, 404) } })
		},
		'/notices': {
			get: {
				tags: ['Notices'],
				operationId: 'listNotices',
				summary: 'The notices kept for the caller',
				description: `Mentions, followed tickets' messages and status changes, and internal side conversations, kept for the signed-in caller as the stream told them (or would have, had a stream been open), newest first: the newest ${MAX_NOTICES_LISTED}, less those about tickets the caller may no longer see. Each user keeps their newest 200. \`?unread=true\`: only those not marked read. API tokens get 403.`,
				requestParams: { query: z.object({ unread: z.enum(['true', 'false']).optional() }) },
				responses: { 200: ok('The kept notices.', noticeListSchema), ...errors(403) }
			}
		},
		'/notices/read': {
			post: {
				tags: ['Notices'],
				operationId: 'markNoticesRead',
				summary: 'Mark kept notices read',
				description: 'Marks the caller\'s notices read, by id (ids that are not the caller\'s, or read already, are left alone) or all; the workspace does this when a notice is dismissed or opened, so it is put away on every screen.',
				requestBody: { content: jsonContent(markNoticesReadSchema) },
				responses: { 200: ok('How many were marked.', z.object({ marked: z.number().int() })), ...errors(400, 403) }
			}
		}
	};
}
