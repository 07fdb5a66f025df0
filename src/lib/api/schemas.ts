/** Request and response schemas of the HTTP API (zod): validation at the boundary. */
import { z } from 'zod';
import { bodySchema, CUSTOMER_CHANNELS, idSchema, MAX_SUBJECT_LENGTH, MAX_TAGS, PRIORITIES, STATUSES, tagSchema, VISIBILITIES } from '../ticket/schema';
import { MACRO_PLACEHOLDERS, unknownPlaceholders } from '../macro-placeholders';
import { DEFAULT_VIEW_COLUMNS, FIELD_COLUMN_PATTERN, MAX_FIELD_COLUMNS, TICKET_SORTS, VIEW_COLUMNS, VIEW_IDS, type FieldColumn } from './views';
import { customValuesSchema, formIdSchema } from './custom-fields';

export { entryInputSchema } from '../ticket/schema';

/** Tags as a writer sends them: trimmed, each a valid tag. */
const tagsSchema = z.array(z.string().trim().pipe(tagSchema)).max(MAX_TAGS);

export const createTicketSchema = z.strictObject({
	subject: z.string().trim().min(1).max(MAX_SUBJECT_LENGTH),
	requester: z.strictObject({
		email: z.email(),
		name: z.string().trim().min(1).max(200).optional()
	}),
	channel: z.enum(CUSTOMER_CHANNELS),
	body: bodySchema.min(1),
	priority: z.enum(PRIORITIES).optional(),
	tags: tagsSchema.optional(),
	custom: customValuesSchema.optional(),
	formId: formIdSchema.optional()
});

/**
 * A change to a ticket's fields over HTTP (PATCH /tickets/{id}), made as the caller: only the
 * fields given change; `tags` is the whole list the ticket is to have.
 */
/** How far ahead a ticket may be snoozed. */
export const MAX_SNOOZE_MS = 366 * 24 * 60 * 60_000;

const ticketFieldsSchema = z.strictObject({
	subject: z.string().trim().min(1).max(MAX_SUBJECT_LENGTH).optional(),
	status: z.enum(STATUSES).optional(),
	priority: z.enum(PRIORITIES).optional(),
	assigneeId: idSchema.nullable().optional().meta({ description: 'A user who may hold tickets; null: unassigned.' }),
	groupId: idSchema.nullable().optional().meta({ description: 'An existing group; null: no group.' }),
	tags: tagsSchema.optional().meta({ description: 'The tags the ticket is to have: the ones missing are added, the others removed.' }),
	snoozedUntil: z
		.number()
		.int()
		.refine((at) => at > Date.now() && at <= Date.now() + MAX_SNOOZE_MS, 'a time in the coming year (ms since the epoch)')
		.nullable()
		.optional()
		.meta({ description: 'Snoozes the ticket until then (ms since the epoch, within a year): it leaves the views of work to do and returns at that time or with a customer message. null wakes it now.' }),
	custom: customValuesSchema.optional().meta({ description: 'Custom field values to set (the others stay); null clears one.' }),
	formId: formIdSchema.optional()
});

export const ticketFieldsPatchSchema = ticketFieldsSchema
	.refine((patch) => Object.keys(patch).length > 0, { message: 'name at least one field to change' });
export type TicketFieldsPatch = z.infer<typeof ticketFieldsPatchSchema>;

/** How many tickets one bulk action may change: a page of the list. */
export const MAX_BULK_TICKETS = 100;

/**
 * A bulk action on tickets selected in the list (POST /tickets/bulk): fields to set, tags to add
 * or remove, a macro to apply; applied per ticket as the caller, each reported on its own.
 */
export const bulkActionSchema = z
	.strictObject({
		ticketIds: z
			.array(idSchema)
			.min(1)
			.max(MAX_BULK_TICKETS)
			.refine((ids) => new Set(ids).size === ids.length, 'each ticket once'),
		set: ticketFieldsSchema.omit({ subject: true, tags: true }).optional().meta({ description: 'Fields every ticket is to have.' }),
		addTags: tagsSchema.min(1).optional(),
		removeTags: tagsSchema.min(1).optional(),
		macroId: idSchema.optional().meta({ description: "A macro: its text added to each ticket (a reply on the ticket's channel, or a note when the macro makes notes) with its placeholders filled in for that ticket, and its field changes made." }),
		mergeInto: idSchema.optional().meta({ description: 'A ticket every other selected ticket is merged into (as `POST /tickets/{mergeInto}/merge`), one after another; on its own, with nothing else to do.' })
	})
	.refine((action) => (action.set && Object.keys(action.set).length > 0) || action.addTags || action.removeTags || action.macroId || action.mergeInto, {
		message: 'name something to do: set, addTags, removeTags, macroId or mergeInto'
	})
	.refine((action) => !action.mergeInto || (!action.set && !action.addTags && !action.removeTags && !action.macroId), {
		message: 'mergeInto: a merge is done on its own',
		path: ['mergeInto']
	});
export type BulkAction = z.infer<typeof bulkActionSchema>;

/** A list column: a built-in one, or a custom field's (`field.<key>`). */
export const listColumnSchema = z.union([z.enum(VIEW_COLUMNS), z.string().regex(FIELD_COLUMN_PATTERN, 'a column name, or field.<key>') as z.ZodType<FieldColumn>]);

/** A saved view as its owner writes it (POST creates one, PUT replaces one). */
export const savedViewInputSchema = z.strictObject({
	name: z.string().trim().min(1).max(80),
	query: z.string().trim().min(1).max(500).meta({ description: 'A search query (the language of `GET /search`): what the view holds, cut to what each viewer may see.' }),
	sort: z.enum(TICKET_SORTS).default('updated'),
	columns: z
		.array(listColumnSchema)
		.max(VIEW_COLUMNS.length + MAX_FIELD_COLUMNS)
		.refine((columns) => columns.filter((c) => c.startsWith('field.')).length <= MAX_FIELD_COLUMNS, `at most ${MAX_FIELD_COLUMNS} custom field columns`)
		.refine((columns) => new Set(columns).size === columns.length, 'each column once')
		.default([...DEFAULT_VIEW_COLUMNS])
		.meta({ description: 'The columns shown besides the subject, in order.' }),
	shared: z.boolean().default(false).meta({ description: 'Shared with every user (admins only); otherwise the caller\'s own.' })
});
export type SavedViewInput = z.infer<typeof savedViewInputSchema>;

export const listTicketsQuery = z.strictObject({
	view: z.enum(VIEW_IDS).optional(),
	status: z.enum(STATUSES).optional(),
	assignee: z.string().min(1).max(64).optional(),
	group: z.string().min(1).max(64).optional(),
	q: z
		.string()
		.trim()
		.min(1)
		.max(200)
		.optional()
		.meta({ description: 'Words in the subject or the latest public message; `1042` or `#1042` also finds ticket number 1042.' }),
	sort: z.enum(TICKET_SORTS).default('updated'),
	saved: idSchema.optional().meta({ description: "A saved view: what it holds for the caller, in the view's order (`sort` and the other filters are not taken with it)." }),
	limit: z.coerce.number().int().min(1).max(100).default(50),
	cursor: z.string().min(1).max(200).optional()
}).refine((query) => !query.saved || (!query.view && !query.status && !query.assignee && !query.group && !query.q), {
	message: 'saved: a saved view is listed on its own, without view, status, assignee, group or q',
	path: ['saved']
});

/**
 * What a macro does besides inserting its body into the draft: set the ticket's status and
 * priority, add tags, and make the draft a public reply or an internal note.
 */
export const macroActionsSchema = z.strictObject({
	status: z.enum(STATUSES).optional(),
	priority: z.enum(PRIORITIES).optional(),
	addTags: tagsSchema.optional(),
	visibility: z.enum(VISIBILITIES).optional()
});
export type MacroActions = z.infer<typeof macroActionsSchema>;

/** A macro as an admin writes it (POST creates one, PUT replaces one). */
export const macroInputSchema = z.strictObject({
	title: z.string().trim().min(1).max(200),
	body: bodySchema.superRefine((body, ctx) => {
		const unknown = unknownPlaceholders(body);
		if (unknown.length) {
			const known = Object.keys(MACRO_PLACEHOLDERS).map((name) => `{{${name}}}`).join(', ');
			ctx.addIssue({ code: 'custom', message: `${unknown.join(', ')} ${unknown.length > 1 ? 'are not placeholders' : 'is not a placeholder'}: use ${known}` });
		}
	}).meta({ description: 'The text inserted; `{{ticket.number}}`, `{{ticket.subject}}`, `{{requester.name}}`, `{{requester.first_name}}`, `{{agent.name}}` and `{{agent.first_name}}` are filled in when it is applied.' }),
	actions: macroActionsSchema.default({})
});
export type MacroInput = z.infer<typeof macroInputSchema>;

export const ticketEventsQuery = z.strictObject({
	after: z.coerce.number().int().min(0).default(0).meta({ description: 'Only events after this event id.' })
});

/** A message a messaging or social platform posts to `POST /channels/{id}/webhook`. */
export const webhookEventSchema = z.object({
	eventId: z.string().min(1).max(200),
	from: z.object({ id: z.string().trim().min(1).max(256), name: z.string().max(200).optional() }),
	text: z.string().min(1).pipe(bodySchema),
	sentAt: z.union([z.number().int(), z.string().max(64)]).optional()
});
export type WebhookEvent = z.infer<typeof webhookEventSchema>;

/** A page the chat widget saw the visitor view (the visitor path). */
export const chatPageSchema = z.strictObject({
	url: z.url({ protocol: /^https?$/ }).max(2000),
	title: z.string().trim().max(300).default('')
});
export type ChatPage = z.infer<typeof chatPageSchema>;

/** A visitor's message: non-empty text, an id of the visitor's choosing for exactly-once. */
const chatTextSchema = bodySchema.refine((text) => text.trim().length > 0, 'must not be empty');

/** `POST /visitor/chat`: the pre-chat form and the first message. */
export const startChatSchema = z.strictObject({
	name: z.string().trim().min(1).max(200),
	email: z.email().max(320).optional(),
	message: chatTextSchema,
	id: idSchema.optional().meta({ description: 'Id of the first message; a repeat does not write it twice.' }),
	page: chatPageSchema.optional()
});
export type StartChat = z.infer<typeof startChatSchema>;

export const chatMessageSchema = z.strictObject({ id: idSchema, body: chatTextSchema });
export const chatTypingSchema = z.strictObject({ typing: z.boolean() });
/** "left" is not said: it is what the server concludes when the visitor's widget is gone. */
export const chatPresenceSchema = z.strictObject({ presence: z.enum(['online', 'away']) });

/**
 * A phone number as typed ("+1 (555) 010-0142") reduced to a leading + and digits, the form Talk
 * numbers and customers' talk addresses are stored and matched in.
 */
export const normalisePhoneNumber = (input: string) => input.trim().replace(/[\s().-]/g, '');

export const phoneNumberSchema = z
	.string()
	.max(40)
	.transform(normalisePhoneNumber)
	.pipe(z.string().regex(/^\+?\d{3,15}$/, 'not a phone number: use digits, optionally with a leading + (spaces, dashes and brackets are ignored)'));

/** The simulator's incoming call: `from` rings `to` (default: the first Talk number). */
export const simulatedCallSchema = z.strictObject({
	from: phoneNumberSchema,
	to: phoneNumberSchema.optional(),
	name: z.string().trim().min(1).max(200).optional().meta({ description: "The caller's name, for a new customer." })
});

/** An outbound call from a ticket to its requester's talk number. */
export const placeCallSchema = z.strictObject({ ticketId: z.string().min(1).max(64) });

/** Where a call is transferred: one agent, or a group (its members' consoles ring). */
export const transferCallSchema = z.union([
	z.strictObject({ toUserId: z.string().min(1).max(64) }),
	z.strictObject({ toGroupId: z.string().min(1).max(64) })
]);
export type TransferTarget = z.infer<typeof transferCallSchema>;

/** The commands on one call: `POST /talk/calls/{id}/{action}`. */
export const CALL_ACTIONS = ['accept', 'decline', 'hold', 'resume', 'transfer', 'end'] as const;
export type CallAction = (typeof CALL_ACTIONS)[number];

/** A Talk number as an admin writes it. */
export const talkNumberInputSchema = z.strictObject({
	number: phoneNumberSchema,
	label: z.string().trim().min(1).max(120),
	groupId: z.string().min(1).max(64).nullable()
});
export type TalkNumberInput = z.infer<typeof talkNumberInputSchema>;
