/** Child tickets: the request that creates one from a parent, and the links both ways as the API shows them. */
import { z } from 'zod';
import { bodySchema, idSchema, MAX_SUBJECT_LENGTH, STATUSES } from '../ticket/schema';

export const createChildSchema = z.strictObject({
	id: idSchema.meta({
		description:
			"Chosen by the client (a ULID): the id of the child's side conversation in the parent. A retry with the same id creates nothing and answers the child made the first time."
	}),
	subject: z.string().trim().min(1).max(MAX_SUBJECT_LENGTH),
	body: bodySchema.refine((text) => text.trim().length > 0, 'must not be empty').meta({ description: "The child's first entry, an internal note by the caller." }),
	groupId: idSchema.nullable().optional().meta({ description: "The child's group (any group the caller may move a ticket to); the parent's by default." }),
	assigneeId: idSchema.nullable().optional().meta({ description: 'Someone who may hold tickets; unassigned by default.' }),
	requester: z
		.strictObject({ email: z.email().max(320), name: z.string().trim().min(1).max(200).optional() })
		.optional()
		.meta({ description: "Another customer, found by email or created; the parent's requester by default." })
});
export type NewChildTicket = z.infer<typeof createChildSchema>;

/**
 * One end of a parent–child link. What the caller may not see of the ticket at the other end is
 * left out: they learn that it exists and its number, never its subject, status or messages.
 */
export const linkedTicketSchema = z.object({
	id: idSchema,
	number: z.number().int().positive().nullable(),
	visible: z.boolean().meta({ description: 'Whether the caller may open the ticket; the fields below are there only when true.' }),
	subject: z.string().optional(),
	status: z.enum(STATUSES).optional(),
	latest: z
		.object({ body: z.string(), authorType: z.string(), authorId: z.string(), createdAt: z.number().int() })
		.nullable()
		.optional()
		.meta({ description: 'Its newest message or note (the body cut to 300 characters).' })
});
export type LinkedTicket = z.infer<typeof linkedTicketSchema>;

export const ticketFamilySchema = z.object({
	parent: linkedTicketSchema.nullable().meta({ description: 'The ticket this one is a child of, null when it is none.' }),
	children: z.array(linkedTicketSchema).meta({ description: 'Oldest first.' })
});
export type TicketFamily = z.infer<typeof ticketFamilySchema>;
