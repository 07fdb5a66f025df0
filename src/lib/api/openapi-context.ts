/**
 * The context panel's endpoints in the OpenAPI document (customer profile and history, help
 * centre, custom objects, apps), built with openapi.ts's helpers.
 */
import { z } from 'zod';
import type { ZodOpenApiOperationObject, ZodOpenApiResponsesObject } from 'zod-openapi';
import { idSchema, SATISFACTION_RATINGS, tagSchema } from '../ticket/schema';
import {
	APP_SCOPES,
	ARTICLE_STATUSES,
	appInputSchema,
	articleInputSchema,
	articleSearchQuery,
	customerLinkSchema,
	customerPatchSchema,
	objectFieldSchema,
	objectTypeInputSchema,
	recordInputSchema,
	recordLinkSchema,
	recordListQuery
} from './context';

export interface OpenApiHelpers {
	op: (operation: ZodOpenApiOperationObject) => ZodOpenApiOperationObject;
	ok: (description: string, schema: z.ZodType) => { description: string; content: Record<string, { schema: z.ZodType }> };
	errors: (...statuses: (400 | 401 | 403 | 404 | 409 | 413 | 503)[]) => ZodOpenApiResponsesObject;
	jsonContent: (schema: z.ZodType) => Record<string, { schema: z.ZodType }>;
	/** The `Customer` answer of `GET /customers/{id}`. */
	Customer: z.ZodType;
}

export const CONTEXT_TAGS = [
	{ name: 'Help centre', description: 'Articles in Markdown: search (agents), authoring (admins); published ones are public under /help.' },
	{ name: 'Custom objects', description: 'Object types with typed fields, their records, and links to customers and tickets.' },
	{ name: 'Apps', description: 'Sandboxed apps in the context panel and the scopes they may act in.' }
];

export function contextPaths({ op, ok, errors, jsonContent, Customer }: OpenApiHelpers): Record<string, Record<string, ZodOpenApiOperationObject>> {
	const id = (what: string) => ({ path: z.object({ id: idSchema.meta({ description: `The ${what} id.` }) }) });
	const noContent = { 204: { description: 'Done.' } };

	const Interaction = z
		.object({
			id: z.string(),
			ticketId: idSchema,
			subject: z.string(),
			kind: z.enum(['opened', 'message', 'call', 'event']),
			channel: z.string(),
			direction: z.enum(['in', 'out']).nullable(),
			preview: z.string(),
			createdAt: z.number().int(),
			satisfaction: z.enum(SATISFACTION_RATINGS).optional().meta({ description: "On a satisfaction rating (an event): the customer's answer." })
		})
		.meta({ id: 'Interaction' });
	const Article = z
		.object({
			id: idSchema,
			slug: z.string(),
			title: z.string(),
			section: z.string(),
			tags: z.array(tagSchema),
			body: z.string().meta({ description: 'Markdown.' }),
			status: z.enum(ARTICLE_STATUSES),
			createdAt: z.number().int(),
			updatedAt: z.number().int(),
			publishedAt: z.number().int().nullable()
		})
		.meta({ id: 'Article' });
	const ArticleHit = z
		.object({
			id: idSchema,
			slug: z.string(),
			title: z.string(),
			section: z.string(),
			status: z.enum(ARTICLE_STATUSES),
			titleHtml: z.string().meta({ description: 'The title, HTML-escaped, matched words in `<mark>`.' }),
			snippet: z.string().meta({ description: 'A passage of the body around the matches, plain text.' }),
			snippetHtml: z.string().meta({ description: 'The passage HTML-escaped, matches in `<mark>`.' })
		})
		.meta({ id: 'ArticleHit' });
	const ObjectType = z
		.object({ id: idSchema, name: z.string(), fields: z.array(objectFieldSchema), createdAt: z.number().int() })
		.meta({ id: 'ObjectType' });
	const ObjectRecord = z
		.object({
			id: idSchema,
			typeId: idSchema,
			typeName: z.string(),
			externalId: z.string().nullable(),
			values: z.record(z.string(), z.unknown()),
			customerIds: z.array(idSchema),
			createdAt: z.number().int(),
			updatedAt: z.number().int()
		})
		.meta({ id: 'ObjectRecord' });
	const LinkedRecords = z.object({
		records: z.array(ObjectRecord.extend({ linkedTo: z.array(z.enum(['ticket', 'customer'])) })).meta({ description: 'Linked to the ticket, to its requester, or both.' })
	});
	const App = z
		.object({ id: idSchema, name: z.string(), url: z.string(), scopes: z.array(z.enum(APP_SCOPES)), enabled: z.boolean(), createdAt: z.number().int() })
		.meta({ id: 'App' });
	const conflict = { 409: { description: '`conflict`: a record of this type with this `externalId` exists.', content: jsonContent(z.object({ error: z.object({ code: z.string(), message: z.string() }) })) } };

	return {
		'/customers/{id}/history': {
			get: op({
				operationId: 'customerHistory',
				tags: ['Customers'],
				summary: "A customer's interactions across their tickets",
				description: 'Tickets opened, messages on each channel, calls and chat events of the tickets the caller may see, newest first (≤ 200). Internal notes are left out.',
				requestParams: id('customer'),
				responses: { 200: ok('Newest first.', z.object({ interactions: z.array(Interaction) })), ...errors(404) }
			})
		},
		'/help/articles': {
			get: op({
				operationId: 'searchArticles',
				tags: ['Help centre'],
				summary: 'Search or list articles',
				description: 'With `q`: ranked by bm25 (title over tags over body), every word as a prefix, falling back to any word; with highlighted snippets (`ArticleHit`). Without: every article (`Article`) by section and title. Drafts only for admins. Users only.',
				requestParams: { query: articleSearchQuery },
				responses: { 200: ok('Articles.', z.object({ articles: z.array(z.union([ArticleHit, Article])) })), ...errors(400, 403) }
			}),
			post: op({
				operationId: 'createArticle',
				tags: ['Help centre'],
				summary: 'Write an article',
				description: 'Admins only. A `published` article is public at `/help/<slug>` at once.',
				requestBody: { required: true, content: jsonContent(articleInputSchema.meta({ id: 'ArticleInput' })) },
				responses: { 201: ok('The article.', Article), ...errors(400, 403, 413) }
			})
		},
		'/help/articles/{id}': {
			get: op({ operationId: 'getArticle', tags: ['Help centre'], summary: 'Get an article', description: 'Drafts only for admins.', requestParams: id('article'), responses: { 200: ok('The article.', Article), ...errors(403, 404) } }),
			put: op({
				operationId: 'updateArticle',
				tags: ['Help centre'],
				summary: 'Replace an article (publish, unpublish)',
				description: 'Admins only. The slug stays unless one is given.',
				requestParams: id('article'),
				requestBody: { required: true, content: jsonContent(articleInputSchema) },
				responses: { 200: ok('The article.', Article), ...errors(400, 403, 404, 413) }
			}),
			delete: op({ operationId: 'deleteArticle', tags: ['Help centre'], summary: 'Delete an article', description: 'Admins only.', requestParams: id('article'), responses: { ...noContent, ...errors(403, 404) } })
		},
		'/object-types': {
			get: op({ operationId: 'listObjectTypes', tags: ['Custom objects'], summary: 'List object types', responses: { 200: ok('By name.', z.object({ types: z.array(ObjectType) })), ...errors() } }),
			post: op({
				operationId: 'createObjectType',
				tags: ['Custom objects'],
				summary: 'Define an object type',
				description: 'Admins only. Field types: `text`, `number`, `boolean`, `date` (ISO 8601), `enum` (with `options`), `url`.',
				requestBody: { required: true, content: jsonContent(objectTypeInputSchema.meta({ id: 'ObjectTypeInput' })) },
				responses: { 201: ok('The type.', ObjectType), ...errors(400, 403, 413) }
			})
		},
		'/object-types/{id}': {
			get: op({ operationId: 'getObjectType', tags: ['Custom objects'], summary: 'Get an object type', requestParams: id('object type'), responses: { 200: ok('The type.', ObjectType), ...errors(404) } }),
			delete: op({ operationId: 'deleteObjectType', tags: ['Custom objects'], summary: 'Delete an object type with its records', description: 'Admins only.', requestParams: id('object type'), responses: { ...noContent, ...errors(403, 404) } })
		},
		'/objects': {
			get: op({ operationId: 'listRecords', tags: ['Custom objects'], summary: 'List records', description: 'Newest first, the records the caller may read (admins and supervisors: all; an API token: its own and those linked to a customer or ticket it may see; an agent: those linked to a customer or ticket they may see, or to nobody). `customerIds` names only customers the caller may see; a `customer` the caller may not see is a 404.', requestParams: { query: recordListQuery }, responses: { 200: ok('Records.', z.object({ records: z.array(ObjectRecord) })), ...errors(400, 404) } }),
			post: op({
				operationId: 'createRecord',
				tags: ['Custom objects'],
				summary: 'Create a record',
				description: "API tokens and admins. `values` are checked against the type's fields: a wrong or missing value is a 400 naming it (`values.total`); so is a customer the caller may not see (`customerIds.0`).",
				requestBody: { required: true, content: jsonContent(recordInputSchema.meta({ id: 'RecordInput' })) },
				responses: { 201: ok('The record.', ObjectRecord), ...errors(400, 403, 413), ...conflict }
			})
		},
		'/objects/{id}': {
			get: op({ operationId: 'getRecord', tags: ['Custom objects'], summary: 'Get a record', description: 'A record the caller may not read is a 404.', requestParams: id('record'), responses: { 200: ok('The record.', ObjectRecord), ...errors(404) } }),
			delete: op({ operationId: 'deleteRecord', tags: ['Custom objects'], summary: 'Delete a record', description: 'Admins, and the API token that created it.', requestParams: id('record'), responses: { ...noContent, ...errors(403, 404) } })
		},
		'/tickets/{id}/objects': {
			get: op({ operationId: 'ticketRecords', tags: ['Custom objects'], summary: "A ticket's records", description: 'Records linked to the ticket and to its requester.', requestParams: id('ticket'), responses: { 200: ok('The records.', LinkedRecords), ...errors(404) } })
		},
		'/tickets/{id}/objects/{recordId}': {
			post: op({
				operationId: 'linkRecord',
				tags: ['Custom objects'],
				summary: 'Link a record to the ticket',
				description:
					"Signed-in agents and admins who may write to the ticket; supervisors are read-only. Linking twice changes nothing. A record that belongs to customers and not to the ticket's requester is linked only with `confirmOtherOwner: true` (otherwise `409 other_owner`, naming its owners the caller may see).",
				requestParams: { path: z.object({ id: idSchema, recordId: idSchema }) },
				requestBody: { required: false, content: jsonContent(recordLinkSchema.meta({ id: 'RecordLink' })) },
				responses: { 200: ok("The ticket's records.", LinkedRecords), ...errors(403, 404, 409) }
			}),
			delete: op({
				operationId: 'unlinkRecord',
				tags: ['Custom objects'],
				summary: 'Unlink a record from the ticket',
				requestParams: { path: z.object({ id: idSchema, recordId: idSchema }) },
				responses: { 200: ok("The ticket's records.", LinkedRecords), ...errors(403, 404) }
			})
		},
		'/apps': {
			get: op({ operationId: 'listApps', tags: ['Apps'], summary: 'List apps', description: 'Enabled apps; admins see all. Users only.', responses: { 200: ok('Apps by name.', z.object({ apps: z.array(App) })), ...errors(403) } }),
			post: op({
				operationId: 'installApp',
				tags: ['Apps'],
				summary: 'Install an app',
				description: 'Admins only. `url`: a path under `/apps/` or an https URL; `scopes`: what it may do.',
				requestBody: { required: true, content: jsonContent(appInputSchema.meta({ id: 'AppInput' })) },
				responses: { 201: ok('The app.', App), ...errors(400, 403, 413) }
			})
		},
		'/apps/{id}': {
			put: op({
				operationId: 'updateApp',
				tags: ['Apps'],
				summary: "Change an app's URL, scopes, enabled",
				description: 'Admins only.',
				requestParams: id('app'),
				requestBody: { required: true, content: jsonContent(appInputSchema.omit({ name: true })) },
				responses: { 200: ok('The app.', App), ...errors(400, 403, 404) }
			}),
			delete: op({ operationId: 'removeApp', tags: ['Apps'], summary: 'Remove an app', description: 'Admins only.', requestParams: id('app'), responses: { ...noContent, ...errors(403, 404) } })
		},
		'/customers/{id}': {
			get: op({
				operationId: 'getCustomer',
				tags: ['Customers'],
				summary: 'Get a customer',
				description: 'Visible to whoever may open one of their tickets, and to admins and supervisors; else a 404.',
				requestParams: id('customer'),
				responses: { 200: ok('The customer, their profile, addresses and tickets.', Customer), ...errors(404) }
			}),
			patch: op({
				operationId: 'updateCustomer',
				tags: ['Customers'],
				summary: "Edit a customer's profile and addresses",
				description: 'Admins, and agents who may write one of the customer\'s tickets (a customer the caller may not see is a 404, one they may only read a 403). Only the fields sent change; `addAddresses` / `removeAddresses` per channel. An address another customer has is a 400.',
				requestParams: id('customer'),
				requestBody: { required: true, content: jsonContent(customerPatchSchema.meta({ id: 'CustomerPatch' })) },
				responses: { 200: ok('The customer.', Customer), ...errors(400, 403, 404, 413) }
			})
		},
		'/customers/{id}/link': {
			post: op({
				operationId: 'linkCustomer',
				tags: ['Customers'],
				summary: 'Link an unverified chat contact to a known customer',
				description:
					"Agents and admins who may write one of the contact's tickets. A chat visitor's contact (`unverified`) is linked to `into`, or to the customer who has the address it claimed (`claimedEmail`), or, when nobody has it, becomes a known customer at that address. Its tickets move to that customer (event `customer.linked`). 409 `already_verified` for a known customer.",
				requestParams: id('customer'),
				requestBody: { required: true, content: jsonContent(customerLinkSchema.meta({ id: 'CustomerLink' })) },
				responses: {
					200: ok('The customer the contact is now filed under.', Customer),
					...errors(400, 403, 404),
					409: { description: '`already_verified`: the customer is not an unverified contact.', content: jsonContent(z.object({ error: z.object({ code: z.string(), message: z.string() }) })) }
				}
			})
		}
	};
}

/** The profile fields `GET /customers/{id}` adds to the customer. */
export const customerProfileFields = {
	organisation: z.string(),
	notes: z.string(),
	tags: z.array(tagSchema),
	unverified: z.boolean().meta({ description: "A chat visitor's contact: who they are is what they typed, unproven. Never matched by address." }),
	claimedEmail: z.string().nullable().meta({ description: 'The email address an unverified contact gave, not proven.' })
};
