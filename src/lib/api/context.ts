/**
 * Schemas of the context panel's API (zod): the customer profile, help-centre articles, custom
 * objects and apps. Shared by the endpoints, the admin forms and the browser (the app host).
 */
import { z } from 'zod';
import { MAX_SEARCH_LENGTH } from '../search-words';
import { CUSTOMER_CHANNELS, idSchema, MAX_TAGS, PRIORITIES, STATUSES, tagSchema, type SatisfactionRating } from '../ticket/schema';

const tagsSchema = z.array(z.string().trim().pipe(tagSchema)).max(MAX_TAGS);

// --- customer profile ----------------------------------------------------------------------

export const customerAddressSchema = z.strictObject({
	channel: z.enum(CUSTOMER_CHANNELS),
	address: z.string().trim().min(1).max(320)
});

/** `PATCH /customers/:id`: what is sent changes, the rest stays. */
export const customerPatchSchema = z.strictObject({
	name: z.string().trim().min(1).max(200).optional(),
	organisation: z.string().trim().max(200).optional(),
	notes: z.string().max(4000).optional(),
	tags: tagsSchema.optional(),
	addAddresses: z.array(customerAddressSchema).max(20).optional(),
	removeAddresses: z.array(customerAddressSchema).max(20).optional()
});
export type CustomerPatch = z.infer<typeof customerPatchSchema>;

/** `POST /customers/:id/link`: an unverified chat contact is who it says, or who the agent names. */
export const customerLinkSchema = z.strictObject({
	into: idSchema.optional().meta({ description: 'The known customer to link the contact to; without it, the one who has the email address it claimed.' })
});

// --- help centre ---------------------------------------------------------------------------

export const ARTICLE_STATUSES = ['draft', 'published'] as const;
export type ArticleStatus = (typeof ARTICLE_STATUSES)[number];

/** An article as an admin writes it (POST creates one, PUT replaces one). */
export const articleInputSchema = z.strictObject({
	title: z.string().trim().min(1).max(200),
	slug: z
		.string()
		.trim()
		.regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'lower-case letters, digits and single dashes')
		.max(100)
		.optional()
		.meta({ description: 'The address under /help/; made from the title when left out.' }),
	section: z.string().trim().min(1).max(80),
	tags: tagsSchema.default([]),
	body: z.string().max(100_000).meta({ description: 'Markdown.' }),
	status: z.enum(ARTICLE_STATUSES).default('draft')
});
export type ArticleInput = z.infer<typeof articleInputSchema>;

export const articleSearchQuery = z.strictObject({
	q: z.string().trim().max(MAX_SEARCH_LENGTH).optional().meta({ description: 'Words to search for; without it, every article by section and title.' }),
	limit: z.coerce.number().int().min(1).max(50).default(10)
});

/** A URL-safe slug from a title: "Reset your password" → "reset-your-password". */
export function slugify(title: string): string {
	return (
		title
			.normalize('NFKD')
			.replace(/[\u0300-\u036f]/g, '')
			.toLowerCase()
			.replace(/[^a-z0-9]+/g, '-')
			.replace(/^-+|-+$/g, '')
			.slice(0, 100)
			.replace(/-+$/, '') || 'article'
	);
}

// --- custom objects ------------------------------------------------------------------------

export const FIELD_TYPES = ['text', 'number', 'boolean', 'date', 'enum', 'url'] as const;

export const objectFieldSchema = z
	.strictObject({
		key: z.string().regex(/^[a-z][a-zA-Z0-9_]{0,39}$/, 'starts with a lower-case letter; letters, digits, _'),
		label: z.string().trim().min(1).max(80),
		type: z.enum(FIELD_TYPES),
		required: z.boolean().default(false),
		options: z.array(z.string().trim().min(1).max(80)).min(1).max(50).optional().meta({ description: 'The choices of an `enum` field.' })
	})
	.refine((field) => (field.type === 'enum') === !!field.options, { message: 'options are given for enum fields, and only for them', path: ['options'] });
export type ObjectField = z.infer<typeof objectFieldSchema>;

export const objectTypeInputSchema = z.strictObject({
	name: z.string().trim().min(1).max(80),
	fields: z
		.array(objectFieldSchema)
		.min(1)
		.max(40)
		.refine((fields) => new Set(fields.map((f) => f.key)).size === fields.length, 'field keys must be unique')
});
export type ObjectTypeInput = z.infer<typeof objectTypeInputSchema>;

/** The schema of a record's values, built from its type's field definitions. */
export function recordValuesSchema(fields: ObjectField[]) {
	const shape: Record<string, z.ZodType> = {};
	for (const field of fields) {
		const value = fieldValueSchema(field);
		shape[field.key] = field.required ? value : value.optional();
	}
	return z.strictObject(shape);
}

function fieldValueSchema(field: ObjectField): z.ZodType {
	switch (field.type) {
		case 'text':
			return z.string().max(2000);
		case 'number':
			return z.number().finite();
		case 'boolean':
			return z.boolean();
		case 'date':
			return z.iso.date().or(z.iso.datetime());
		case 'enum':
			return z.enum(field.options as [string, ...string[]]);
		case 'url':
			return z.url({ protocol: /^https?$/ }).max(2000);
	}
}

export const recordInputSchema = z.strictObject({
	typeId: z.string().min(1).max(64),
	externalId: z.string().trim().min(1).max(200).optional(),
	values: z.record(z.string(), z.unknown()),
	customerIds: z.array(z.string().min(1).max(64)).max(20).default([]).meta({ description: 'Customers the record belongs to.' })
});
export type RecordInput = z.infer<typeof recordInputSchema>;

/** Linking a record to a ticket: one that belongs to someone other than the requester needs saying so. */
export const recordLinkSchema = z.strictObject({
	confirmOtherOwner: z
		.boolean()
		.default(false)
		.meta({ description: "Link it although it belongs to customers other than the ticket's requester; without it such a link is a 409 `other_owner`." })
});
export type RecordLink = z.infer<typeof recordLinkSchema>;

export const recordListQuery = z.strictObject({
	type: z.string().min(1).max(64).optional(),
	customer: z.string().min(1).max(64).optional(),
	q: z.string().trim().min(1).max(200).optional().meta({ description: 'Matches the external id or any value.' }),
	limit: z.coerce.number().int().min(1).max(100).default(50)
});

// --- apps ----------------------------------------------------------------------------------

export const APP_SCOPES = ['draft.insert', 'ticket.fields', 'ticket.tags', 'ticket.notes'] as const;
export type AppScope = (typeof APP_SCOPES)[number];

export const appInputSchema = z.strictObject({
	name: z.string().trim().regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'lower-case letters, digits and single dashes').max(60),
	url: z
		.string()
		.trim()
		.max(2000)
		// http only on this machine (an app under development).
		.refine((url) => /^\/apps\/[a-z0-9][\w./-]*$/.test(url) || /^(https:\/\/|http:\/\/(localhost|127\.0\.0\.1)(:\d+)?\/)\S*$/.test(url), 'a path under /apps/, or an https URL'),
	scopes: z.array(z.enum(APP_SCOPES)).max(APP_SCOPES.length).default([]),
	enabled: z.boolean().default(true)
});
export type AppInput = z.infer<typeof appInputSchema>;

/** What an app may ask of its host (static/apps/sdk.js), checked before anything is done. */
export const appRequestSchema = z.discriminatedUnion('action', [
	z.strictObject({ tandem: z.literal(1), id: z.number().int(), action: z.literal('ready') }),
	z.strictObject({ tandem: z.literal(1), id: z.number().int(), action: z.literal('insertIntoDraft'), text: z.string().min(1).max(10_000) }),
	z
		.strictObject({ tandem: z.literal(1), id: z.number().int(), action: z.literal('setField'), name: z.enum(['status', 'priority']), value: z.string() })
		.refine(({ name, value }) => (name === 'status' ? STATUSES : PRIORITIES).includes(value as never), {
			message: 'not a value this field takes',
			path: ['value']
		}),
	z.strictObject({ tandem: z.literal(1), id: z.number().int(), action: z.literal('addTag'), tag: z.string().trim().pipe(tagSchema) }),
	z.strictObject({ tandem: z.literal(1), id: z.number().int(), action: z.literal('addNote'), text: z.string().trim().min(1).max(10_000) })
]);
export type AppRequest = z.infer<typeof appRequestSchema>;

/** The scope each action needs (`ready` needs none: reading the context is what an app is for). */
export const ACTION_SCOPES: Record<Exclude<AppRequest['action'], 'ready'>, AppScope> = {
	insertIntoDraft: 'draft.insert',
	setField: 'ticket.fields',
	addTag: 'ticket.tags',
	addNote: 'ticket.notes'
};

/** One line of a customer's interaction history (GET /customers/{id}/history). */
export interface Interaction {
	/** Unique in the list: the entry's id, or `opened:<ticketId>`. */
	id: string;
	ticketId: string;
	subject: string;
	kind: 'opened' | 'message' | 'call' | 'event';
	channel: string;
	direction: 'in' | 'out' | null;
	/** The first words of the message or event. */
	preview: string;
	createdAt: number;
	/** On a satisfaction rating (an event): the customer's answer. */
	satisfaction?: SatisfactionRating;
}

/** A custom object record as the API answers it; `linkedTo` where it is listed for a ticket. */
export interface ObjectRecord {
	id: string;
	typeId: string;
	typeName: string;
	externalId: string | null;
	values: Record<string, unknown>;
	customerIds: string[];
	createdAt: number;
	updatedAt: number;
}

/** A record as a ticket shows it: linked to the ticket itself, or to its requester. */
export interface LinkedRecord extends ObjectRecord {
	linkedTo: ('ticket' | 'customer')[];
}
