/** Merging and splitting tickets: the requests (POST /tickets/{id}/merge and /split). */
import { z } from 'zod';
import { idSchema, MAX_SUBJECT_LENGTH } from '../ticket/schema';

/** Entries one split may take: a split starts a conversation, it does not move a ticket. */
export const MAX_SPLIT_ENTRIES = 100;

export const mergeRequestSchema = z.strictObject({
	sourceId: idSchema.meta({ description: 'The ticket merged into this one: it is closed and points here.' })
});
export type MergeRequest = z.infer<typeof mergeRequestSchema>;

export const splitRequestSchema = z.strictObject({
	entryIds: z
		.array(idSchema)
		.min(1)
		.max(MAX_SPLIT_ENTRIES)
		.refine((ids) => new Set(ids).size === ids.length, 'each entry once')
		.meta({ description: `Entries of the conversation (not events) that start the new ticket, at most ${MAX_SPLIT_ENTRIES}.` }),
	subject: z.string().trim().min(1).max(MAX_SUBJECT_LENGTH).optional().meta({ description: "The new ticket's subject; by default the first entry's words." }),
	id: idSchema.optional().meta({ description: "The new ticket's id, chosen by the caller so that a retry never splits twice: the same split again answers 200 with the ticket it made." })
});
export type SplitRequest = z.infer<typeof splitRequestSchema>;
