/** Request and response schemas of the HTTP API (zod): validation at the boundary. */
import { z } from 'zod';
import { bodySchema, CUSTOMER_CHANNELS, MAX_SUBJECT_LENGTH, MAX_TAGS, PRIORITIES, STATUSES, tagSchema } from '../ticket/schema';

export { entryInputSchema } from '../ticket/schema';

export const createTicketSchema = z.strictObject({
	subject: z.string().trim().min(1).max(MAX_SUBJECT_LENGTH),
	requester: z.strictObject({
		email: z.email(),
		name: z.string().trim().min(1).max(200).optional()
	}),
	channel: z.enum(CUSTOMER_CHANNELS),
	body: bodySchema.min(1),
	priority: z.enum(PRIORITIES).optional(),
	tags: z.array(z.string().trim().pipe(tagSchema)).max(MAX_TAGS).optional()
});

export const listTicketsQuery = z.strictObject({
	status: z.enum(STATUSES).optional(),
	assignee: z.string().min(1).max(64).optional(),
	group: z.string().min(1).max(64).optional(),
	q: z.string().trim().min(1).max(200).optional(),
	limit: z.coerce.number().int().min(1).max(100).default(50),
	cursor: z.string().min(1).max(200).optional()
});
