/**
 * The ticket document's value schemas: one place that says what an entry, a ticket field,
 * a side conversation and a draft may hold. Used at every boundary (HTTP, websocket updates,
 * bots, CLI) so a value is checked once, by the same rules, wherever it comes from.
 */
import { z } from 'zod';

export const ENTRY_KINDS = ['message', 'note', 'call', 'event'] as const;
export const CHANNELS = ['email', 'chat', 'messaging', 'social', 'talk', 'web', 'api', 'internal'] as const;
/** Channels a customer can be reached on and a ticket can start from. */
export const CUSTOMER_CHANNELS = ['email', 'chat', 'messaging', 'social', 'talk', 'web', 'api'] as const;
export const DIRECTIONS = ['in', 'out'] as const;
export const VISIBILITIES = ['public', 'internal'] as const;
export const AUTHOR_TYPES = ['agent', 'customer', 'bot', 'system'] as const;
export const STATUSES = ['new', 'open', 'pending', 'hold', 'solved', 'closed'] as const;
export const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export const SIDE_CHANNELS = ['email', 'internal', 'child'] as const;
export const SIDE_STATUSES = ['open', 'closed'] as const;
/** Where a ticket's satisfaction survey stands: asked, or answered good or bad (server/satisfaction.ts). */
export const SATISFACTION_VALUES = ['offered', 'good', 'bad'] as const;
export const SATISFACTION_RATINGS = ['good', 'bad'] as const;
/** A customer's comment with their rating: plain text, this many characters at most. */
export const MAX_SATISFACTION_COMMENT = 2000;

export type EntryKind = (typeof ENTRY_KINDS)[number];
export type Channel = (typeof CHANNELS)[number];
export type CustomerChannel = (typeof CUSTOMER_CHANNELS)[number];
export type Visibility = (typeof VISIBILITIES)[number];
export type AuthorType = (typeof AUTHOR_TYPES)[number];
export type Status = (typeof STATUSES)[number];
export type Priority = (typeof PRIORITIES)[number];
export type Satisfaction = (typeof SATISFACTION_VALUES)[number];
export type SatisfactionRating = (typeof SATISFACTION_RATINGS)[number];

/** Entry bodies are plain text of at most 64 KiB, measured in UTF-8 bytes. */
export const MAX_BODY_BYTES = 64 * 1024;
/** `meta` is small structured data (headers, call outcome, attachment references). */
export const MAX_META_BYTES = 16 * 1024;
/** Nesting levels of `meta` (`{}` is one): deeper JSON costs stack to copy, encode and render. */
export const MAX_META_DEPTH = 16;
export const MAX_ID_LENGTH = 64;
export const MAX_SUBJECT_LENGTH = 500;
export const MAX_TAGS = 100;
export const MAX_TAG_LENGTH = 64;

const utf8 = new TextEncoder();
export const byteLength = (text: string) => utf8.encode(text).length;

/**
 * Whether `value` nests objects and arrays deeper than `limit` levels. Walks with its own stack
 * (no recursion) and stops at the first level too deep, so any input is safe to check.
 */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
	const pending: [unknown, number][] = [[value, 0]];
	while (pending.length > 0) {
		const [node, depth] = pending.pop()!;
		if (node === null || typeof node !== 'object') continue;
		if (depth >= limit) return true;
		for (const child of Object.values(node)) pending.push([child, depth + 1]);
	}
	return false;
}

/** Ids chosen by writers: ULIDs by default, any short token of safe characters accepted. */
export const idSchema = z
	.string()
	.min(1)
	.max(MAX_ID_LENGTH)
	.regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : - only');

export const bodySchema = z
	.string()
	.refine((body) => byteLength(body) <= MAX_BODY_BYTES, `at most ${MAX_BODY_BYTES} bytes`);

/**
 * `value` with whatever nests deeper than `limit` levels replaced by a marker string; `value`
 * itself when nothing does. Recurses at most `limit` levels.
 */
export function cappedDepth(value: unknown, limit: number): unknown {
	if (!nestedDeeperThan(value, limit)) return value;
	const cap = (node: unknown, levels: number): unknown => {
		if (node === null || typeof node !== 'object') return node;
		if (levels === 0) return TOO_DEEP;
		if (Array.isArray(node)) return node.map((child) => cap(child, levels - 1));
		return Object.fromEntries(Object.entries(node).map(([key, child]) => [key, cap(child, levels - 1)]));
	};
	return cap(value, limit);
}
const TOO_DEEP = '[nested too deep]';

/** CC and BCC of an email message: each at most MAX_RECIPIENTS addresses, MAX_RECIPIENT_LIST_LENGTH characters written out. */
export const MAX_RECIPIENTS = 20;
export const MAX_RECIPIENT_LIST_LENGTH = 2000;
/** One email address; printable ASCII without spaces, so nothing can end a mail header early. */
export const emailAddressSchema = z.email().max(254);
export const recipientListSchema = z
	.array(emailAddressSchema)
	.max(MAX_RECIPIENTS)
	.refine((list) => list.join(', ').length <= MAX_RECIPIENT_LIST_LENGTH, `at most ${MAX_RECIPIENT_LIST_LENGTH} characters`);
/** What an email message's `meta` says about its copies (other keys are not this schema's business). */
const emailRecipientsMetaSchema = z.looseObject({ cc: recipientListSchema.optional(), bcc: recipientListSchema.optional() });
/** An email message's `meta.cc` and `meta.bcc`, if any, are lists of addresses (checked on entries and on entry input). */
const emailRecipientsRule: [(e: { channel: Channel; meta?: Record<string, unknown> }) => boolean, { message: string; path: string[] }] = [
	(e) => e.channel !== 'email' || emailRecipientsMetaSchema.safeParse(e.meta ?? {}).success,
	{ message: `meta.cc and meta.bcc are lists of at most ${MAX_RECIPIENTS} email addresses`, path: ['meta'] }
];
/** CC or BCC as typed into a draft: checked as addresses when the reply is sent. */
const recipientTextSchema = z
	.string()
	.max(MAX_RECIPIENT_LIST_LENGTH)
	.regex(/^[^\u0000-\u001f\u007f]*$/, 'no control characters');

// Depth first: the JSON check and the size measure below recurse.
const metaSchema = z
	.preprocess((meta, ctx) => {
		if (nestedDeeperThan(meta, MAX_META_DEPTH)) ctx.addIssue({ code: 'custom', message: `nested at most ${MAX_META_DEPTH} levels deep` });
		return meta;
	}, z.record(z.string(), z.json()))
	.refine((meta) => byteLength(JSON.stringify(meta)) <= MAX_META_BYTES, `at most ${MAX_META_BYTES} bytes`);

/** One conversation entry exactly as stored in the document: immutable, no unknown keys. */
export const entrySchema = z
	.strictObject({
		id: idSchema,
		kind: z.enum(ENTRY_KINDS),
		channel: z.enum(CHANNELS),
		direction: z.enum(DIRECTIONS).optional(),
		visibility: z.enum(VISIBILITIES),
		authorType: z.enum(AUTHOR_TYPES),
		authorId: idSchema,
		body: bodySchema,
		createdAt: z.number().int().nonnegative(),
		meta: metaSchema.optional()
	})
	.refine((e) => e.visibility === 'internal' || e.kind !== 'note', {
		message: 'notes are internal',
		path: ['visibility']
	})
	.refine(...emailRecipientsRule);

export type Entry = z.infer<typeof entrySchema>;

/** An entry as a writer submits it over HTTP: the server may choose `id` and `createdAt`. */
export const entryInputSchema = z.strictObject({
	id: idSchema.optional(),
	kind: z.enum(ENTRY_KINDS).default('message'),
	channel: z.enum(CHANNELS),
	direction: z.enum(DIRECTIONS).optional(),
	visibility: z.enum(VISIBILITIES).default('public'),
	authorType: z.enum(AUTHOR_TYPES).optional(),
	authorId: idSchema.optional(),
	body: bodySchema,
	createdAt: z.number().int().nonnegative().optional(),
	meta: metaSchema.optional()
}).refine(...emailRecipientsRule);
export type EntryInput = z.infer<typeof entryInputSchema>;

/** What an entry's `meta.attachments` lists: a file stored under its SHA-256 (`skipped`: listed, not kept). */
export const attachmentSchema = z.strictObject({
	name: z.string().min(1).max(255).regex(/^[^\u0000-\u001f\u007f/\\]+$/, 'a file name without control characters or slashes'),
	contentType: z.string().max(255).regex(/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i, 'a media type such as application/pdf'),
	size: z.number().int().nonnegative(),
	sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case hex SHA-256'),
	skipped: z.literal(true).optional()
});
export type Attachment = z.infer<typeof attachmentSchema>;

export const tagSchema = z
	.string()
	.min(1)
	.max(MAX_TAG_LENGTH)
	.regex(/^\S(.*\S)?$/, 'no spaces at either end');

/** Scalar fields of the `ticket` map and their values; `tags` is a nested Y.Array of tagSchema. */
export const ticketFieldSchemas = {
	subject: z.string().max(MAX_SUBJECT_LENGTH),
	status: z.enum(STATUSES),
	priority: z.enum(PRIORITIES),
	assigneeId: idSchema.nullable(),
	groupId: idSchema.nullable(),
	requesterId: idSchema,
	channel: z.enum(CHANNELS),
	createdAt: z.number().int().nonnegative(),
	/** The ticket's short number (`#1042`), given by the server when it creates the ticket. */
	number: z.number().int().positive(),
	/** The ticket this one was spun off from as a child ticket; set by the server when it creates it. */
	parentId: idSchema,
	/** Until when the ticket is out of the views (ms since the epoch); null or past: not snoozed. */
	snoozedUntil: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable(),
	/** The ticket this one was merged into (it is closed, and what reaches it goes there); set by the server when it merges. */
	mergedIntoId: idSchema,
	/** Addresses copied on the ticket's email replies besides the requester (a merged ticket's requester); set by the server. */
	cc: recipientListSchema,
	/** The customer's answer to the survey of the ticket's latest solve, or that one was asked; set by the server. */
	satisfaction: z.enum(SATISFACTION_VALUES),
	/** The comment the customer gave with that answer (empty: none); set by the server. */
	satisfactionComment: z.string().max(MAX_SATISFACTION_COMMENT),
	/** The ticket's form (custom-fields.ts): which custom fields it shows and requires; null: none. */
	formId: idSchema.nullable()
} as const;
export type TicketFieldName = keyof typeof ticketFieldSchemas;
export const TICKET_FIELDS = Object.keys(ticketFieldSchemas) as TicketFieldName[];
/** Fields a peer may change; the rest are set by the server when the ticket is created. */
export const PEER_EDITABLE_FIELDS: readonly TicketFieldName[] = ['subject', 'status', 'priority', 'assigneeId', 'groupId', 'snoozedUntil', 'formId'];

export interface TicketFields {
	subject: string;
	status: Status;
	priority: Priority;
	assigneeId: string | null;
	groupId: string | null;
	requesterId: string;
	channel: Channel;
	createdAt: number;
	/** Absent on tickets created before numbers existed (their number is in the ticket index). */
	number?: number;
	/** Only on child tickets. */
	parentId?: string;
	/** Only once the ticket has been snoozed; null once woken. */
	snoozedUntil?: number | null;
	/** Only on a ticket merged into another. */
	mergedIntoId?: string;
	/** Only when the server copied someone on the ticket's replies (see `ticketFieldSchemas.cc`). */
	cc?: string[];
	/** Only once a satisfaction survey has been asked (see `ticketFieldSchemas.satisfaction`). */
	satisfaction?: Satisfaction;
	satisfactionComment?: string;
	tags: string[];
	/** Only once a form was chosen; null once cleared. */
	formId?: string | null;
	/** Custom field values by field key (custom-fields.ts), on tickets that have any. */
	custom?: Record<string, string | number | boolean | string[] | null>;
}

/** Scalar fields of a side conversation's map; `participants` and `entries` are nested Y.Arrays. */
export const sideFieldSchemas = {
	id: idSchema,
	subject: z.string().max(MAX_SUBJECT_LENGTH),
	channel: z.enum(SIDE_CHANNELS),
	status: z.enum(SIDE_STATUSES),
	createdBy: idSchema,
	createdAt: z.number().int().nonnegative(),
	/** The child ticket a side conversation of channel `child` stands for: only the server writes it. */
	childId: idSchema
} as const;
export const participantSchema = z.string().min(1).max(320);
/** A participant of an email side conversation: the address its messages go to. */
export const emailParticipantSchema = z.email().max(320);

/** Scalar fields of a draft's map; `text` is a Y.Text, `authors` a nested Y.Array of ids. */
export const draftFieldSchemas = {
	channel: z.enum(CHANNELS),
	visibility: z.enum(VISIBILITIES),
	/** When the draft was started: replies warn about customer messages that arrived since. */
	createdAt: z.number().int().nonnegative(),
	// Ticket changes staged with the draft (a macro's), applied with it when it is sent.
	stagedStatus: z.enum(STATUSES),
	stagedPriority: z.enum(PRIORITIES),
	/** Tags to add, one plain value (a list): staging or unstaging one rewrites it. */
	stagedTags: z.array(tagSchema).min(1).max(MAX_TAGS),
	/** An email reply's copies, as typed (comma-separated): shared, so co-writers see the same recipients. */
	cc: recipientTextSchema,
	bcc: recipientTextSchema
} as const;
/** Draft fields that stage a ticket change: a peer may remove them (unstage) as well as set them. */
export const STAGED_DRAFT_FIELDS = ['stagedStatus', 'stagedPriority', 'stagedTags'] as const;
