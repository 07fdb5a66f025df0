/**
 * The HTTP API described as OpenAPI 3.1, generated from the zod schemas that validate requests
 * (so the description cannot drift from what the server accepts). Served at
 * `GET /api/v1/openapi.json` and rendered readably at `/api`.
 */
import { z } from 'zod';
import { createDocument, type oas31, type ZodOpenApiOperationObject, type ZodOpenApiResponsesObject } from 'zod-openapi';
import { attachmentSchema, CHANNELS, entrySchema, idSchema, tagSchema, ticketFieldSchemas } from '../ticket/schema';
import { attachmentUploadQuery, sha256Param } from './attachments';
import { chatInfoSchema, pageViewSchema, visitorMessageSchema } from './chat';
import { createChildSchema, linkedTicketSchema, ticketFamilySchema } from './children';
import { followerPaths } from './openapi-followers';
import { satisfactionPaths } from './openapi-satisfaction';
import { MAX_SPLIT_ENTRIES, mergeRequestSchema, splitRequestSchema } from './merge';
import { routingPaths } from './openapi-routing';
import { customFieldPaths } from './openapi-custom-fields';
import { customValuesSchema, formIdSchema } from './custom-fields';
import { rulePaths, RULES_TAG } from './openapi-rules';
import { slaStateSchema } from './routing';
import { searchQuerySchema } from './search';
import {
	CALL_ACTIONS,
	chatMessageSchema,
	chatPageSchema,
	chatPresenceSchema,
	chatTypingSchema,
	bulkActionSchema,
	createTicketSchema,
	entryInputSchema,
	listColumnSchema,
	listTicketsQuery,
	macroActionsSchema,
	macroInputSchema,
	placeCallSchema,
	savedViewInputSchema,
	simulatedCallSchema,
	startChatSchema,
	ticketEventsQuery,
	ticketFieldsPatchSchema,
	transferCallSchema,
	webhookEventSchema,
	type CallAction
} from './schemas';
import { MAX_PERSONAL_VIEWS, MAX_SHARED_VIEWS, TICKET_SORTS, VIEW_IDS } from './views';
import { CONTEXT_TAGS, contextPaths, customerProfileFields } from './openapi-context';

// Request schemas: the validating schemas themselves, with ids so they appear once under components.
const CreateTicket = createTicketSchema.meta({ id: 'CreateTicket', description: 'A new ticket with its first customer message.' });
const BulkAction = bulkActionSchema.meta({ id: 'BulkAction', description: 'What to do to each selected ticket: at least one of set, addTags, removeTags, macroId.' });
const TicketFieldsPatch = ticketFieldsPatchSchema.meta({ id: 'TicketFieldsPatch', description: "A change to a ticket's fields: at least one of them." });
const EntryInput = entryInputSchema.meta({
	id: 'EntryInput',
	description:
		'An entry as a writer submits it; the server fills in id, createdAt, author and direction when left out. An internal note (or internal side conversation message) may mention colleagues in `meta.mentions`: at most 20 ids of users who may see the ticket, each told and made a follower; any other id, or mentions on a public entry, is refused (403).'
});
const MacroInput = macroInputSchema.meta({ id: 'MacroInput', description: 'A macro as an admin writes it.' });
const MacroActions = macroActionsSchema.meta({ id: 'MacroActions' });

// Response schemas.
const ErrorBody = z
	.object({
		error: z.object({
			code: z.string().meta({ examples: ['invalid_field'] }),
			message: z.string(),
			field: z.string().optional().meta({ description: 'The offending field, dotted (e.g. `requester.email`).' })
		})
	})
	.meta({ id: 'Error', description: 'Every error answer: nothing is stored from a rejected request.' });

const Attachment = attachmentSchema.meta({ id: 'Attachment', description: 'A stored file as an entry lists it in `meta.attachments`.' });
const Entry = entrySchema.meta({ id: 'Entry', description: 'One conversation entry exactly as stored: immutable.' });

const ticketFields = {
	id: idSchema,
	number: ticketFieldSchemas.number
		.nullable()
		.meta({ description: 'The short number people use (`#1042`), sequential per installation; the `id` stays the ticket\'s key. Null only for a ticket from before numbers whose index row was rebuilt.' }),
	subject: ticketFieldSchemas.subject,
	status: ticketFieldSchemas.status,
	priority: ticketFieldSchemas.priority,
	assigneeId: ticketFieldSchemas.assigneeId,
	groupId: ticketFieldSchemas.groupId,
	requesterId: ticketFieldSchemas.requesterId,
	channel: ticketFieldSchemas.channel,
	tags: z.array(tagSchema),
	createdAt: ticketFieldSchemas.createdAt,
	updatedAt: z.number().int().nonnegative(),
	entryCount: z.number().int().nonnegative(),
	parentId: ticketFieldSchemas.parentId.nullable().optional().meta({ description: 'On a child ticket, the ticket it was created from.' }),
	mergedIntoId: ticketFieldSchemas.mergedIntoId.nullable().optional().meta({ description: 'On a ticket merged into another, that one (it is closed; what reaches it goes there).' }),
	satisfaction: ticketFieldSchemas.satisfaction.optional().meta({ description: "Set by the server once a satisfaction survey was asked about the latest solve (`offered`), then the customer's answer (`good`, `bad`)." }),
	satisfactionComment: ticketFieldSchemas.satisfactionComment.optional().meta({ description: "The comment with the customer's answer (empty: none)." }),
	custom: customValuesSchema.optional().meta({ description: 'Custom field values by field key (GET /ticket-fields).' }),
	formId: formIdSchema.optional()
};

const Ticket = z
	.object({
		...ticketFields,
		cc: ticketFieldSchemas.cc.optional().meta({ description: "Addresses the ticket's email replies are offered to copy besides the requester (a merged ticket's requester)." }),
		entries: z.array(Entry).meta({ description: 'In display order.' }) })
	.meta({ id: 'Ticket', description: "A ticket's fields and its entries." });

const TicketRow = z
	.object({
		...ticketFields,
		lastPublicPreview: z.string().nullable(),
		lastPublicAt: z.number().int().nullable(),
		firstReplyAt: z.number().int().nullable().meta({ description: 'The first public reply (SLA).' }),
		awaitingSince: z.number().int().nullable().meta({ description: 'Since when the customer waits for a reply (SLA); null when the last public message is ours.' })
	})
	.meta({ id: 'TicketRow', description: "A ticket's list row (the ticket index)." });

const SearchResults = z
	.object({
		results: z.array(
			TicketRow.extend({
				sla: slaStateSchema.meta({ description: "The ticket's SLA timers now." }),
				requesterName: z.string().nullable().meta({ description: "The requester's name." }),
				passage: z
					.object({
						in: z.enum(['subject', 'fields', 'entry', 'side']).meta({ description: 'Where it matched: the subject, the number/tags/requester, an entry of the conversation, or of a side conversation.' }),
						entryId: z.string().nullable(),
						sideId: z.string().nullable(),
						text: z.string().meta({ description: 'Plain text (never markup).' }),
						highlights: z.array(z.tuple([z.number().int(), z.number().int()])).meta({ description: '`[start, end)` offsets into `text` (UTF-16 code units) of the matched words.' })
					})
					.nullable()
					.meta({ description: 'The passage that matched best; null for a query of operators only.' })
			})
		),
		next: z.string().nullable().meta({ description: 'Pass as `cursor` (with the same `q`) for the next page; null on the last.' })
	})
	.meta({ id: 'SearchResults' });

const TicketList = z
	.object({
		tickets: z.array(TicketRow.extend({ sla: slaStateSchema.meta({ description: "The ticket's SLA timers now." }), requesterName: z.string().nullable().meta({ description: "The requester's name." }) })),
		next: z.string().nullable().meta({ description: 'Pass as `cursor` (with the same `sort`) for the next page; null on the last.' })
	})
	.meta({ id: 'TicketList' });

const BulkReport = z
	.object({
		updated: z.number().int().nonnegative(),
		refused: z.number().int().nonnegative(),
		results: z
			.array(
				z.union([
					z.object({ ticketId: idSchema, ok: z.literal(true), ticket: TicketRow }),
					z.object({ ticketId: idSchema, ok: z.literal(false), error: z.object({ status: z.number().int(), code: z.string(), message: z.string() }) })
				])
			)
			.meta({ description: 'One per ticket, in the order asked.' })
	})
	.meta({ id: 'BulkReport' });

const TicketEvent = z
	.object({
		id: z.number().int(),
		type: z.string(),
		actor: z.string(),
		data: z.record(z.string(), z.unknown()).nullable(),
		createdAt: z.number().int()
	})
	.meta({ id: 'TicketEvent' });

const SavedViewInput = savedViewInputSchema.meta({ id: 'SavedViewInput', description: 'A saved view as its owner writes it.' });
const SavedView = z
	.object({
		id: idSchema,
		name: z.string(),
		query: z.string(),
		sort: z.enum(TICKET_SORTS),
		columns: z.array(listColumnSchema).meta({ description: 'Built-in columns, and custom fields’ as `field.<key>`.' }),
		shared: z.boolean(),
		editable: z.boolean().meta({ description: 'Whether the caller may change or delete it.' }),
		updatedAt: z.number().int()
	})
	.meta({ id: 'SavedView' });

const View = z
	.object({ id: z.enum(VIEW_IDS), name: z.string(), description: z.string().meta({ description: 'Which tickets the view holds, in words.' }), count: z.number().int().nonnegative() })
	.meta({ id: 'View' });

const Customer = z
	.object({
		id: idSchema,
		name: z.string(),
		...customerProfileFields,
		addresses: z.array(z.object({ channel: z.enum(CHANNELS), address: z.string() })),
		tickets: z.array(TicketRow).meta({ description: 'The tickets the caller may see, most recently updated first (≤ 50).' })
	})
	.meta({ id: 'Customer' });

const User = z
	.object({
		id: idSchema,
		name: z.string(),
		email: z.string(),
		role: z.enum(['agent', 'supervisor', 'admin']),
		groupIds: z.array(idSchema),
		disabled: z.boolean()
	})
	.meta({ id: 'User' });

const Group = z.object({ id: idSchema, name: z.string() }).meta({ id: 'Group' });

const Macro = z
	.object({
		id: idSchema,
		title: z.string(),
		body: z.string(),
		actions: MacroActions,
		createdBy: z.string().meta({ description: '`user:<id>` or `system`.' }),
		createdAt: z.number().int(),
		updatedAt: z.number().int()
	})
	.meta({ id: 'Macro' });

const Call = z
	.object({
		id: idSchema,
		ticketId: idSchema,
		direction: z.enum(['in', 'out']),
		from: z.string(),
		to: z.string(),
		state: z.enum(['dialing', 'ringing', 'active', 'held', 'ended']),
		agentId: idSchema.nullable().meta({ description: 'The agent on the call (or who placed it); null while it rings.' }),
		customer: z.object({ id: idSchema, name: z.string() }),
		number: z.object({ number: z.string(), label: z.string() }).nullable().meta({ description: 'The Talk number called (in) or called from (out).' }),
		ringsMe: z.boolean().meta({ description: 'Whether it rings for the caller of the API: they may accept it now.' }),
		ringTo: z.array(idSchema).nullable().meta({ description: 'Who it rings; null: everyone who may answer it.' }),
		transfers: z.array(z.object({ from: idSchema.nullable(), to: idSchema, toType: z.enum(['agent', 'group']), at: z.number().int() })),
		holdSeconds: z.number().int(),
		heldSince: z.number().int().nullable(),
		createdAt: z.number().int(),
		answeredAt: z.number().int().nullable(),
		endedAt: z.number().int().nullable(),
		outcome: z.enum(['answered', 'missed', 'no-answer']).nullable(),
		endReason: z.string().nullable().meta({ description: 'completed, declined, abandoned, cancelled.' }),
		version: z.number().int().meta({ description: 'Goes up with every change: of two views of a call, the higher is the newer.' })
	})
	.meta({ id: 'Call', description: 'A phone call and its state.' });

const StoredCall = z.object({ id: idSchema, ticketId: idSchema, state: z.string() }).meta({ id: 'StoredCall' });

const CALL_ACTION_TEXT: Record<CallAction, string> = {
	accept: 'Accept a call ringing for you: of several agents accepting at once, one wins and the others get 409. A routed call: your offer of it is accepted too.',
	decline: 'Refuse a call ringing for you: a routed call is offered to the next available agent (403 where admins do not allow declining); otherwise an unanswered call ends as missed, and a transferred call rings everyone who may answer it again.',
	hold: 'Put your active call on hold.',
	resume: 'Take your held call off hold.',
	transfer: 'Transfer your call to one agent or to a group: only they ring; the customer waits on hold. Only agents online with Talk on are rung: an agent who is not is a 422 `agent_unavailable`, as is a group with nobody available.',
	end: 'Hang up your call (an outbound call still dialling is cancelled).'
};

const callPath = { path: z.object({ id: idSchema.meta({ description: 'The call id.' }) }) };

/** One path per call action. */
function callActionPaths() {
	return Object.fromEntries(
		CALL_ACTIONS.map((action) => [
			`/talk/calls/{id}/${action}`,
			{
				post: op({
					operationId: `${action}Call`,
					tags: ['Talk'],
					summary: CALL_ACTION_TEXT[action].split(':')[0].replace(/\.$/, ''),
					description: `${CALL_ACTION_TEXT[action]} 409 \`invalid_transition\` when the call's state does not allow it.`,
					requestParams: callPath,
					...(action === 'transfer' && { requestBody: { required: true, content: jsonContent(transferCallSchema) } }),
					responses: { 200: ok('The call as it is now.', Call), ...errors(...((action === 'transfer' ? [400, 403, 404, 409, 422] : [403, 404, 409]) as ErrorStatus[])) }
				})
			}
		])
	);
}

// Errors.
const ERROR_TEXT = {
	400: '`bad_json` or `invalid_field` (naming the field).',
	401: '`unauthorized`: no valid bearer token or session.',
	403: '`forbidden`: the caller may not do this (also an API token on an endpoint for users).',
	404: '`not_found` (also for a ticket the caller may not see).',
	409: '`invalid_transition` (a call whose state does not allow it) or `conflict`.',
	413: '`payload_too_large`: a request over 1 MiB, or an entry body over 64 KiB.',
	422: 'A well-formed request that cannot be carried out: `unknown_number`, `no_phone_number`, `no_talk_number`, `invalid_target`.',
	503: '`storage_unavailable`: the change could not be stored; nothing was saved.'
} as const;
type ErrorStatus = keyof typeof ERROR_TEXT;

function errors(...statuses: ErrorStatus[]): ZodOpenApiResponsesObject {
	const responses: ZodOpenApiResponsesObject = {};
	for (const status of [401, ...statuses, 503] as ErrorStatus[]) {
		responses[`${status}`] = { description: ERROR_TEXT[status], content: { 'application/json': { schema: ErrorBody } } };
	}
	return responses;
}

const jsonContent = (schema: z.ZodType) => ({ 'application/json': { schema } });
const ok = (description: string, schema: z.ZodType) => ({ description, content: jsonContent(schema) });

const ticketPath = { path: z.object({ id: idSchema.meta({ description: 'The ticket id.' }) }) };
const macroPath = { path: z.object({ id: idSchema.meta({ description: 'The macro id.' }) }) };

function op(operation: ZodOpenApiOperationObject): ZodOpenApiOperationObject {
	return operation;
}

const VISITOR_ERRORS = {
	400: { description: ERROR_TEXT[400], content: jsonContent(ErrorBody) },
	401: { description: '`unauthorized`: no valid `X-Visitor-Token`.', content: jsonContent(ErrorBody) },
	429: { description: '`rate_limited`: too many requests from this visitor (or, for new sessions, this address) in a minute; nothing stored.', content: jsonContent(ErrorBody) }
};
const visitorOp = (operation: ZodOpenApiOperationObject) => op({ tags: ['Visitor'], security: [{ visitor: [] }], ...operation });
const noContent = { 204: { description: 'Done.' } };

/** Live chat: the visitor's endpoints (the widget) and the agents'. */
function chatPaths(): Record<string, Record<string, ZodOpenApiOperationObject>> {
	const chatConflict = { 409: { description: '`chat_taken`: a colleague serves it; `chat_ended`.', content: jsonContent(ErrorBody) } };
	return {
		'/visitor': {
			post: visitorOp({
				operationId: 'visitorSession',
				summary: 'Start or resume a visitor session',
				description: 'With a still valid token: 200 and the visitor. Without one: 201 with a new `token` (shown only here).',
				security: [{ visitor: [] }, {}],
				responses: {
					200: ok('The visitor and their latest chat.', z.object({ visitorId: z.string(), chat: chatInfoSchema.nullable() })),
					201: ok('A new visitor.', z.object({ visitorId: z.string(), token: z.string(), chat: z.null() }))
				}
			}),
			get: visitorOp({
				operationId: 'getVisitor',
				summary: 'The visitor and their latest chat',
				responses: { 200: ok('The visitor.', z.object({ visitorId: z.string(), chat: chatInfoSchema.nullable() })), 401: VISITOR_ERRORS[401] }
			})
		},
		'/visitor/pages': {
			post: visitorOp({
				operationId: 'visitorPage',
				summary: 'Record a page the visitor viewed (the visitor path)',
				requestBody: { content: jsonContent(chatPageSchema) },
				responses: { 201: ok('Recorded.', pageViewSchema), ...VISITOR_ERRORS }
			})
		},
		'/visitor/chat': {
			post: visitorOp({
				operationId: 'startChat',
				summary: 'Start a chat with the first message',
				description: 'A chat ticket appears in the workspace. 409 `chat_in_progress` while the last chat has not ended.',
				requestBody: { content: jsonContent(startChatSchema) },
				responses: { 201: ok('The chat.', chatInfoSchema), ...VISITOR_ERRORS, 409: { description: '`chat_in_progress`.', content: jsonContent(ErrorBody) } }
			}),
			delete: visitorOp({
				operationId: 'leaveChat',
				summary: 'The visitor ends the chat',
				responses: { 200: ok('The chat, ended.', chatInfoSchema), ...VISITOR_ERRORS, 404: { description: '`no_chat`.', content: jsonContent(ErrorBody) } }
			})
		},
		'/visitor/chat/messages': {
			post: visitorOp({
				operationId: 'chatMessage',
				summary: "Send the visitor's message",
				description: 'Once per `id`: a retry writes nothing more and answers the same message.',
				requestBody: { content: jsonContent(chatMessageSchema) },
				responses: { 201: ok('The message as the visitor sees it.', visitorMessageSchema), ...VISITOR_ERRORS, 409: { description: '`chat_ended`.', content: jsonContent(ErrorBody) } }
			})
		},
		'/visitor/chat/typing': {
			post: visitorOp({
				operationId: 'chatTyping',
				summary: 'Whether the visitor is typing',
				requestBody: { content: jsonContent(chatTypingSchema) },
				responses: { ...noContent, ...VISITOR_ERRORS }
			})
		},
		'/visitor/chat/presence': {
			post: visitorOp({
				operationId: 'chatPresence',
				summary: 'The visitor is on the page (online) or it is in the background (away)',
				requestBody: { content: jsonContent(chatPresenceSchema) },
				responses: { ...noContent, ...VISITOR_ERRORS }
			})
		},
		'/visitor/chat/stream': {
			get: visitorOp({
				operationId: 'chatStream',
				summary: "The visitor's chat, live (Server-Sent Events)",
				description:
					'`event: chat` (status, agent), `event: message` for each public message (the ones so far first, again after a reconnect: keep them by id), `event: typing` while an agent writes a public reply. The token may come as `?token=` (EventSource cannot set headers).',
				requestParams: { query: z.object({ token: z.string().optional() }) },
				responses: {
					200: { description: 'An event stream that stays open.', content: { 'text/event-stream': { schema: z.string() } } },
					401: VISITOR_ERRORS[401],
					404: { description: '`no_chat`: start a chat first.', content: jsonContent(ErrorBody) }
				}
			})
		},
		'/tickets/{id}/chat': {
			get: op({
				operationId: 'getChat',
				tags: ['Chat'],
				summary: "The ticket's chat and the visitor's path",
				requestParams: ticketPath,
				responses: { 200: ok('The chat and the pages the visitor viewed, newest first.', z.object({ chat: chatInfoSchema, path: z.array(pageViewSchema) })), ...errors(404) }
			})
		},
		'/tickets/{id}/chat/serve': {
			post: op({
				operationId: 'serveChat',
				tags: ['Chat'],
				summary: 'Serve the chat (signed-in agents)',
				requestParams: ticketPath,
				responses: { 200: ok('The chat, served by the caller.', chatInfoSchema), ...errors(403, 404), ...chatConflict }
			})
		},
		'/tickets/{id}/chat/end': {
			post: op({
				operationId: 'endChat',
				tags: ['Chat'],
				summary: 'End the chat',
				description: 'The ticket stays open: follow up by email. Ending an ended chat changes nothing.',
				requestParams: ticketPath,
				responses: { 200: ok('The chat, ended.', chatInfoSchema), ...errors(403, 404) }
			})
		}
	};
}

/** The OpenAPI 3.1 document of `/api/v1`. */
export function openApiDocument(): oas31.OpenAPIObject {
	return nameAnonymousSchemas(buildDocument());
}

/**
 * zod-openapi names recursive schemas without an id `__schemaN` (here the JSON value of an
 * entry's `meta`, once as input and once as output). Identical ones are merged under one name.
 */
function nameAnonymousSchemas(document: oas31.OpenAPIObject): oas31.OpenAPIObject {
	const schemas = document.components?.schemas ?? {};
	const anonymous = Object.keys(schemas).filter((name) => name.startsWith('__schema'));
	if (anonymous.length === 0) return document;
	// A schema's shape with its self references made neutral, to find identical ones.
	const shape = (name: string) => JSON.stringify(schemas[name]).replaceAll(`/${name}"`, '/SELF"');
	const targets = new Map<string, string>();
	for (const name of anonymous) {
		const same = [...targets.keys()].find((earlier) => shape(earlier) === shape(name));
		targets.set(name, same ? targets.get(same)! : `JsonValue${targets.size === 0 ? '' : targets.size + 1}`);
	}
	let text = JSON.stringify(document);
	for (const [name, target] of targets) text = text.replaceAll(`"#/components/schemas/${name}"`, `"#/components/schemas/${target}"`);
	const result = JSON.parse(text) as oas31.OpenAPIObject;
	const resultSchemas = result.components!.schemas!;
	for (const [name, target] of targets) {
		resultSchemas[target] ??= resultSchemas[name];
		delete resultSchemas[name];
	}
	return result;
}

function buildDocument() {
	return createDocument({
		openapi: '3.1.0',
		info: {
			title: 'Tandem HTTP API',
			version: '1',
			description:
				'JSON under `/api/v1`, authenticated with `Authorization: Bearer <token>` (an API token from the CLI or the admin page; a signed-in browser\'s session cookie works too).'
		},
		servers: [{ url: '/api/v1' }],
		components: {
			securitySchemes: {
				bearer: { type: 'http', scheme: 'bearer' },
				visitor: { type: 'apiKey', in: 'header', name: 'X-Visitor-Token', description: 'A chat visitor token from `POST /visitor`.' }
			}
		},
		security: [{ bearer: [] }],
		tags: [
			{ name: 'Tickets', description: 'Tickets, their entries and event log.' },
			{ name: 'Views', description: 'Ticket views and their counts, and saved views.' },
			{ name: 'Stream', description: 'Live ticket changes.' },
			{ name: 'Notices', description: 'Mentions, followed tickets and side conversations, kept for whoever was away.' },
			{ name: 'Customers', description: 'Customers and their tickets.' },
			{ name: 'Accounts', description: 'Users and groups (signed-in users only).' },
			{ name: 'Macros', description: 'Canned replies with actions.' },
			{ name: 'Channels', description: 'Messaging and social channels: signed webhooks.' },
			{ name: 'Chat', description: "Live chats, agents' side." },
			{ name: 'Visitor', description: "Live chat, the customer's side (the widget): a visitor token, only the visitor's own chat." },
			{ name: 'Talk', description: 'Phone calls: the Talk console, and the built-in simulator that plays the phone network.' },
			...CONTEXT_TAGS,
			{ name: 'Routing', description: 'Agent status, offers, the supervisor dashboard, routing and SLA settings.' },
			{ name: 'Satisfaction', description: "Satisfaction surveys: the admins' settings, and the customer's answer through a survey mail's link." },
			RULES_TAG
		],
		paths: {
			...chatPaths(),
			...routingPaths({ errors, ok, jsonContent, errorBody: ErrorBody }),
			...followerPaths({ errors, ok, jsonContent, errorBody: ErrorBody }),
			...satisfactionPaths({ errors, ok, jsonContent, errorBody: ErrorBody }),
			...customFieldPaths({ errors, ok, jsonContent, errorBody: ErrorBody }),
			...rulePaths({ errors, ok, jsonContent, errorBody: ErrorBody }),
			'/tickets': {
				post: op({
					operationId: 'createTicket',
					tags: ['Tickets'],
					summary: 'Create a ticket',
					description: 'Creates a ticket with its first entry; the customer is found by email or created.',
					requestBody: { required: true, content: jsonContent(CreateTicket) },
					responses: { 201: ok('The ticket with its first entry.', Ticket), ...errors(400, 403, 413) }
				}),
				get: op({
					operationId: 'listTickets',
					tags: ['Tickets'],
					summary: 'List tickets',
					description: '`q` searches the subject and last message. Pages with `cursor`; `limit` is at most 100.',
					requestParams: { query: listTicketsQuery },
					responses: { 200: ok('A page of tickets the caller may see.', TicketList), ...errors(400) }
				})
			},
			'/tickets/bulk': {
				post: op({
					operationId: 'bulkUpdateTickets',
					tags: ['Tickets'],
					summary: 'Act on many tickets at once',
					description:
						'Applies the action to each ticket on its own, as the caller, checked and merged as a change to one ticket would be (`PATCH /tickets/{id}`, then the macro\'s text as `POST /tickets/{id}/entries`): a ticket refused (not found, not yours to change, a field not allowed) stops nothing else. At most 100 tickets, each once.',
					requestBody: { required: true, content: jsonContent(BulkAction) },
					responses: { 200: ok('What happened to each ticket.', BulkReport), ...errors(400) }
				})
			},
			'/search': {
				get: op({
					operationId: 'searchTickets',
					tags: ['Tickets'],
					summary: 'Search tickets',
					description:
						'The tickets the caller may see that match `q`, best first (each word or phrase counts where it matched best: subject above number, tags and requester, above entries), with the passage that matched; a query of operators only lists most recently updated first. `400` names the term it cannot take (an unknown operator, a bad value, a colleague or group nobody is called). Pages with `cursor`; `limit` is at most 100.',
					requestParams: { query: searchQuerySchema },
					responses: { 200: ok('A page of matching tickets.', SearchResults), ...errors(400, 401) }
				})
			},
			'/saved-views': {
				get: op({
					operationId: 'listSavedViews',
					tags: ['Views'],
					summary: 'Your saved views and the shared ones',
					description: 'By name, yours first. Their counts are in `GET /views` (`saved`); what one holds is `GET /tickets?saved={id}`.',
					responses: { 200: ok('The views.', z.object({ views: z.array(SavedView) })), ...errors(401, 403) }
				}),
				post: op({
					operationId: 'createSavedView',
					tags: ['Views'],
					summary: 'Save a view',
					description: `Yours, or with \`shared\` (admins only) everyone's. The query is checked as a search would be (a term it cannot take is named). At most ${MAX_PERSONAL_VIEWS} of your own and ${MAX_SHARED_VIEWS} shared; names are unique among yours and among the shared ones, whatever their case.`,
					requestBody: { required: true, content: jsonContent(SavedViewInput) },
					responses: { 201: ok('The view.', SavedView), ...errors(400, 401, 403, 409) }
				})
			},
			'/saved-views/{id}': {
				get: op({
					operationId: 'getSavedView',
					tags: ['Views'],
					summary: 'A saved view',
					requestParams: { path: z.object({ id: idSchema }) },
					responses: { 200: ok('The view: yours or a shared one (any other is not found).', SavedView), ...errors(401, 403, 404) }
				}),
				put: op({
					operationId: 'updateSavedView',
					tags: ['Views'],
					summary: 'Change a saved view',
					description: 'Yours, or (admins) a shared one. A view stays shared or personal.',
					requestParams: { path: z.object({ id: idSchema }) },
					requestBody: { required: true, content: jsonContent(SavedViewInput) },
					responses: { 200: ok('The view as changed.', SavedView), ...errors(400, 401, 403, 404, 409) }
				}),
				delete: op({
					operationId: 'deleteSavedView',
					tags: ['Views'],
					summary: 'Delete a saved view',
					requestParams: { path: z.object({ id: idSchema }) },
					responses: { 204: { description: 'Deleted.' }, ...errors(401, 403, 404) }
				})
			},
			'/tickets/{id}': {
				get: op({
					operationId: 'getTicket',
					tags: ['Tickets'],
					summary: 'Get a ticket',
					requestParams: ticketPath,
					responses: { 200: ok("The ticket's fields and entries in display order.", Ticket), ...errors(404) }
				}),
				patch: op({
					operationId: 'updateTicket',
					tags: ['Tickets'],
					summary: "Change a ticket's fields",
					description:
						"As the caller, checked as the caller's own change in the live document would be (a supervisor or a bot token changes no field; an assignee must be able to hold tickets, a group must exist), and merged with what agents write meanwhile. Only the fields given change; `tags` is the whole list the ticket is to have.",
					requestParams: ticketPath,
					requestBody: { required: true, content: jsonContent(TicketFieldsPatch) },
					responses: {
						200: ok("The ticket's list row, with the change.", TicketRow),
						...errors(400, 403, 404),
						409: { description: '`required_fields`: solving needs custom fields the ticket’s form requires, and a solved ticket keeps them (clearing one without reopening is refused); the message names them.', content: jsonContent(ErrorBody) }
					}
				})
			},
			'/tickets/{id}/entries': {
				post: op({
					operationId: 'appendEntry',
					tags: ['Tickets'],
					summary: 'Append an entry',
					description: 'Retrying with the same `id` never appends twice.',
					requestParams: ticketPath,
					requestBody: { required: true, content: jsonContent(EntryInput) },
					responses: {
						201: ok('The stored entry, once durable.', Entry),
						200: ok('The stored entry: its `id` was already in the ticket.', Entry),
						...errors(400, 403, 404, 413)
					}
				})
			},
			'/tickets/{id}/events': {
				get: op({
					operationId: 'ticketEvents',
					tags: ['Tickets'],
					summary: "A ticket's event log",
					description:
						'Created, field changed, entry added, side conversation opened/closed, update rejected, viewed by a supervisor.',
					requestParams: {
						...ticketPath,
						query: ticketEventsQuery
					},
					responses: { 200: ok('Events in order.', z.object({ events: z.array(TicketEvent) })), ...errors(400, 404) }
				})
			},
			'/tickets/{id}/deliveries': {
				get: op({
					operationId: 'ticketDeliveries',
					tags: ['Tickets'],
					summary: "Delivery state of a ticket's outbound messages",
					description: 'By entry id: queued, sent or failed, with attempts, the last error and when it was sent.',
					requestParams: ticketPath,
					responses: {
						200: ok(
							'Deliveries by entry id.',
							z.object({
								deliveries: z.record(
									z.string(),
									z.object({ status: z.enum(['queued', 'sent', 'failed']), attempts: z.number().int(), lastError: z.string().optional(), sentAt: z.number().int().optional() })
								)
							})
						),
						...errors(404)
					}
				})
			},
			'/tickets/{id}/attachments': {
				post: op({
					operationId: 'uploadAttachment',
					tags: ['Tickets'],
					summary: 'Upload a file to attach to an entry',
					description:
						'The file is the raw request body; `name` its file name (directories are dropped), `type` (else the Content-Type) its media type. For whoever may write the ticket. List the answer in an entry\'s `meta.attachments`: entries may list only files uploaded to their own ticket. 413 `attachment_too_large` past ATTACHMENT_MAX_BYTES, `ticket_attachments_full` past ATTACHMENTS_PER_TICKET_BYTES; nothing is kept.',
					requestParams: { ...ticketPath, query: attachmentUploadQuery },
					requestBody: { required: true, content: { 'application/octet-stream': { schema: z.string().meta({ format: 'binary' }) } } },
					responses: { 201: ok('The stored file.', Attachment), ...errors(400, 403, 404, 413) }
				}),
				get: op({
					operationId: 'attachmentLimits',
					tags: ['Tickets'],
					summary: 'Attachment limits and what the ticket uses',
					requestParams: ticketPath,
					responses: {
						200: ok('The limits and the bytes the ticket\'s uploads take.', z.object({ maxBytes: z.number().int(), perEntry: z.number().int(), perTicketBytes: z.number().int(), usedBytes: z.number().int() })),
						...errors(404)
					}
				})
			},
			'/tickets/{id}/attachments/{sha256}': {
				get: op({
					operationId: 'downloadAttachment',
					tags: ['Tickets'],
					summary: 'Download an attachment',
					description:
						'Only a file an entry of the ticket lists, to a caller who may see that entry; 404 otherwise. Always `Content-Disposition: attachment` and `nosniff`; types a browser could run script in are served as application/octet-stream. One byte range is answered 206, an unsatisfiable one 416.',
					requestParams: { path: z.object({ id: idSchema.meta({ description: 'The ticket id.' }), sha256: sha256Param }) },
					responses: {
						200: { description: 'The file.', content: { 'application/octet-stream': { schema: z.string().meta({ format: 'binary' }) } } },
						206: { description: 'The byte range asked for.' },
						416: { description: 'The range asked for is not in the file.' },
						...errors(400, 404)
					}
				})
			},
			'/tickets/{id}/children': {
				post: op({
					operationId: 'createChildTicket',
					tags: ['Tickets'],
					summary: 'Create a child ticket',
					description:
						'Agents and admins who may write the parent. The child records the parent (`parentId`); the parent gets a side conversation of channel `child` naming the child (only the server writes those). Retrying with the same `id` never creates two.',
					requestParams: ticketPath,
					requestBody: { required: true, content: jsonContent(createChildSchema.meta({ id: 'CreateChildTicket' })) },
					responses: {
						201: ok('The child, as the caller may see it.', linkedTicketSchema.meta({ id: 'LinkedTicket' })),
						200: ok('The child created the first time with this `id`.', linkedTicketSchema),
						409: { description: '`id_taken`: the parent has a side conversation of another kind with this id; `limit_exceeded`: the parent holds as many side conversations as a ticket may.', content: jsonContent(ErrorBody) },
						...errors(400, 403, 404)
					}
				}),
				get: op({
					operationId: 'ticketFamily',
					tags: ['Tickets'],
					summary: "A ticket's parent and child tickets",
					description: 'A linked ticket the caller may not open is listed with its id and number only.',
					requestParams: ticketPath,
					responses: { 200: ok('The parent (or null) and the children, oldest first.', ticketFamilySchema), ...errors(404) }
				})
			},
			'/tickets/{id}/merge': {
				post: op({
					operationId: 'mergeTicket',
					tags: ['Tickets'],
					summary: 'Merge another ticket into this one',
					description:
						"Agents and admins who may write both tickets. This ticket gets copies of the other's entries (in time order, with their authors, `meta.mergedFrom` naming where each came from), its side conversations and drafts (none lost: a draft of a kind this ticket has one of is added to the newest such), its requester as a CC when they differ, and a note; the other is closed with a note and `mergedIntoId`, and mail, chat and messages that reach it later go here. Refused as a whole past any of this ticket's limits. Exactly once: of concurrent merges of the two tickets (either way round) one is made, the others answer 409.",
					requestParams: ticketPath,
					requestBody: { required: true, content: jsonContent(mergeRequestSchema.meta({ id: 'MergeRequest' })) },
					responses: {
						200: ok("Both tickets' list rows once stored.", z.object({ target: TicketRow, source: TicketRow })),
						409: { description: '`already_merged`: one of the tickets has been merged into another; `limit_exceeded`: this ticket cannot take the other (the limit is named).', content: jsonContent(ErrorBody) },
						...errors(400, 403, 404)
					}
				})
			},
			'/tickets/{id}/split': {
				post: op({
					operationId: 'splitTicket',
					tags: ['Tickets'],
					summary: 'Start a new ticket from entries of this one',
					description: `Agents and admins who may write the ticket. The entries (at most ${MAX_SPLIT_ENTRIES}, no events) are copied with their authors and times into a new ticket with the same requester, channel, group, assignee and priority (\`meta.splitFrom\` names where each came from); they stay in this ticket, which gets a note naming the new one.`,
					requestParams: ticketPath,
					requestBody: { required: true, content: jsonContent(splitRequestSchema.meta({ id: 'SplitRequest' })) },
					responses: {
						201: ok("The new ticket's list row.", TicketRow),
						409: { description: '`already_merged`: the ticket has been merged into another.', content: jsonContent(ErrorBody) },
						...errors(400, 403, 404)
					}
				})
			},
			'/views': {
				get: op({
					operationId: 'listViews',
					tags: ['Views'],
					summary: 'Views with counts',
					description:
						'`mine`, `unassigned` (in my groups), `open`, `pending`, `snoozed`, `solved`, `recent` (7 days), counted over the tickets the caller may see; and a signed-in user\'s saved views (their own and the shared ones) with their counts (`null` with `problem` when the query cannot run any more, such as a group since renamed).',
					responses: {
						200: ok('The views.', z.object({ views: z.array(View), saved: z.array(SavedView.extend({ count: z.number().int().nullable(), problem: z.string().optional() })) })),
						...errors()
					}
				})
			},
			'/stream': {
				get: op({
					operationId: 'stream',
					tags: ['Stream'],
					summary: 'Live ticket changes (Server-Sent Events)',
					description:
						'`event: ticket` with the ticket\'s list row (a `TicketRow` as JSON in `data`) whenever a ticket the caller may see is created or changes, once stored; `: keepalive` every 25 s. For a signed-in user also the workspace\'s call events, as on `/talk/stream` (`calls` first, then `call`), `event: side` (`{ticketId, number, sideId, subject, reason: named or message, fromId, preview, at}`) when they are named in an internal side conversation or a colleague writes in one they take part in, and `event: follow` (`{ticketId, number, subject, reason: message, status or mention, fromId, fromName, preview, entryId?, sideId?, at}`) for a ticket they follow (a new customer message, a status change, not their own) or a note that mentions them.',
					responses: {
						200: {
							description: 'An event stream that stays open.',
							content: { 'text/event-stream': { schema: z.string().meta({ description: 'Server-Sent Events; each `data` is a TicketRow.' }) } }
						},
						...errors()
					}
				})
			},
			'/channels/{id}/webhook': {
				post: op({
					operationId: 'channelWebhook',
					tags: ['Channels'],
					summary: "Receive a customer's message from a messaging or social channel",
					description:
						'Authenticated by its signature, not a bearer token: `X-Tandem-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the channel secret>`, with `X-Tandem-Timestamp` in unix seconds within 5 minutes of the server\'s clock. The message joins the customer\'s open ticket on the channel kind, or opens one; an event id already seen answers `{duplicate: true}`.',
					security: [],
					requestParams: {
						path: z.object({ id: idSchema.meta({ description: 'The channel id (from `cli channel add`).' }) }),
						header: z.object({
							'x-tandem-timestamp': z.string().meta({ description: 'Unix seconds.' }),
							'x-tandem-signature': z.string().meta({ description: '`sha256=<hex>`.' })
						})
					},
					requestBody: { content: jsonContent(webhookEventSchema) },
					responses: {
						200: ok(
							'Stored (or a duplicate).',
							z.union([z.object({ ticketId: idSchema, entryId: idSchema }), z.object({ duplicate: z.literal(true) })])
						),
						400: { description: ERROR_TEXT[400], content: jsonContent(ErrorBody) },
						401: { description: '`unauthorized`: a missing or wrong signature, or a timestamp outside ±5 minutes; nothing stored.', content: jsonContent(ErrorBody) },
						404: { description: '`not_found`: no such channel.', content: jsonContent(ErrorBody) },
						413: { description: ERROR_TEXT[413], content: jsonContent(ErrorBody) },
						503: { description: ERROR_TEXT[503], content: jsonContent(ErrorBody) }
					}
				})
			},
			'/talk/calls': {
				get: op({
					operationId: 'currentCalls',
					tags: ['Talk'],
					summary: 'My calls',
					description: "The caller's live calls and the calls ringing for them; users only.",
					responses: { 200: ok('Oldest first.', z.object({ calls: z.array(Call) })), ...errors(403) }
				}),
				post: op({
					operationId: 'placeCall',
					tags: ['Talk'],
					summary: "Call a ticket's requester",
					description: "Dials the requester's talk number from the Talk number of the ticket's group (or the first one). 422 `no_phone_number` when the requester has none.",
					requestBody: { required: true, content: jsonContent(placeCallSchema) },
					responses: { 201: ok('The call, dialling.', Call), ...errors(400, 403, 404, 409, 422) }
				})
			},
			'/talk/calls/{id}': {
				get: op({
					operationId: 'getCall',
					tags: ['Talk'],
					summary: 'Get a call',
					requestParams: callPath,
					responses: { 200: ok('The call.', Call), ...errors(403, 404) }
				})
			},
			...callActionPaths(),
			'/talk/stream': {
				get: op({
					operationId: 'talkStream',
					tags: ['Talk'],
					summary: 'Live calls (Server-Sent Events)',
					description:
						'First `event: calls` with `{calls}` (as `GET /talk/calls`), then `event: call` with a `Call` whenever a call on a ticket the caller may see changes; `: keepalive` every 25 s. Users only.',
					responses: {
						200: { description: 'An event stream that stays open.', content: { 'text/event-stream': { schema: z.string().meta({ description: 'Server-Sent Events.' }) } } },
						...errors(403)
					}
				})
			},
			'/talk/simulator/calls': {
				post: op({
					operationId: 'simulateCall',
					tags: ['Talk'],
					summary: 'Make the phone ring (simulator)',
					description: 'A simulated caller `from` dials Talk number `to` (default: the first). Admins, or API tokens scoped to talk. 422 `unknown_number` for a number that is not a Talk number.',
					requestBody: { required: true, content: jsonContent(simulatedCallSchema) },
					responses: { 201: ok('The ringing call.', StoredCall), ...errors(400, 403, 422) }
				})
			},
			'/talk/simulator/calls/{id}/hangup': {
				post: op({
					operationId: 'simulateHangUp',
					tags: ['Talk'],
					summary: 'The simulated customer hangs up',
					description: 'A ringing call ends as missed (abandoned); a call in progress ends. Admins, or API tokens scoped to talk.',
					requestParams: callPath,
					responses: { 200: ok('The ended call.', StoredCall), ...errors(403, 404) }
				})
			},
			'/users': {
				get: op({
					operationId: 'listUsers',
					tags: ['Accounts'],
					summary: 'List users',
					responses: { 200: ok('All users.', z.object({ users: z.array(User) })), ...errors(403) }
				})
			},
			'/groups': {
				get: op({
					operationId: 'listGroups',
					tags: ['Accounts'],
					summary: 'List groups',
					responses: { 200: ok('All groups.', z.object({ groups: z.array(Group) })), ...errors(403) }
				})
			},
			'/macros': {
				get: op({
					operationId: 'listMacros',
					tags: ['Macros'],
					summary: 'List macros',
					description: 'By title; users only.',
					responses: { 200: ok('All macros.', z.object({ macros: z.array(Macro) })), ...errors(403) }
				}),
				post: op({
					operationId: 'createMacro',
					tags: ['Macros'],
					summary: 'Create a macro',
					description: 'Admins only.',
					requestBody: { required: true, content: jsonContent(MacroInput) },
					responses: { 201: ok('The macro.', Macro), ...errors(400, 403, 413) }
				})
			},
			'/macros/{id}': {
				put: op({
					operationId: 'updateMacro',
					tags: ['Macros'],
					summary: 'Replace a macro',
					description: 'Admins only.',
					requestParams: macroPath,
					requestBody: { required: true, content: jsonContent(MacroInput) },
					responses: { 200: ok('The macro.', Macro), ...errors(400, 403, 404, 413) }
				}),
				delete: op({
					operationId: 'deleteMacro',
					tags: ['Macros'],
					summary: 'Delete a macro',
					description: 'Admins only.',
					requestParams: macroPath,
					responses: { 204: { description: 'Deleted.' }, ...errors(403, 404) }
				})
			},
			...contextPaths({ op, ok, errors, jsonContent, Customer })
		}
	});
}
