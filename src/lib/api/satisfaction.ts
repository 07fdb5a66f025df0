/** Satisfaction surveys over HTTP: the customer's answer, the admin's per-channel settings, what the survey page shows. */
import { z } from 'zod';
import { CUSTOMER_CHANNELS, MAX_SATISFACTION_COMMENT, SATISFACTION_RATINGS, type CustomerChannel } from '../ticket/schema';

/** A customer's answer: good or bad, and an optional comment in plain text (line breaks allowed, no other control characters). */
export const surveyAnswerSchema = z
	.strictObject({
		rating: z.enum(SATISFACTION_RATINGS),
		comment: z
			.string()
			.max(MAX_SATISFACTION_COMMENT, `at most ${MAX_SATISFACTION_COMMENT} characters`)
			.regex(/^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/, 'plain text: no control characters')
			.transform((text) => text.trim())
			.optional()
			.meta({ description: `Plain text, at most ${MAX_SATISFACTION_COMMENT} characters; empty removes the comment. Left out: kept when the rating stays, dropped when it changes.` })
	})
	.meta({ id: 'SurveyAnswer' });
export type SurveyAnswer = z.infer<typeof surveyAnswerSchema>;

/** Per customer channel, whether the requester of a ticket solved there is asked; the channels not named stay as they are. */
export const surveySettingsSchema = z.partialRecord(z.enum(CUSTOMER_CHANNELS), z.boolean()).meta({ id: 'SurveySettings' });
export type SurveySettings = Record<CustomerChannel, boolean>;

/** A survey link as written: `<survey id>.<expiry>.<signature>`, in the URL path. */
export const surveyTokenSchema = z.string().min(1).max(200);

/**
 * What the survey page (and the chat widget) shows of a survey: whether it may be answered, the
 * answer recorded so far and until when it may be changed; `invalid` and `expired` say no more.
 */
export const surveyViewSchema = z
	.discriminatedUnion('state', [
		z.object({ state: z.enum(['invalid', 'expired']) }),
		z.object({
			state: z.enum(['open', 'answered']),
			number: z.number().int().nullable().meta({ description: "The ticket's number, so the customer knows what they rate." }),
			subject: z.string(),
			rating: z.enum(SATISFACTION_RATINGS).nullable(),
			comment: z.string(),
			changeableUntil: z.number().int().nullable().meta({ description: 'Until when the answer may still be changed (ms since the epoch); null: not answered yet.' })
		})
	])
	.meta({ id: 'SurveyView' });
export type SurveyView = z.infer<typeof surveyViewSchema>;

const counts = { good: z.number().int(), bad: z.number().int() };
/** Today's answers on the supervisor dashboard, per group and per agent the ticket had when it was solved. */
export const satisfactionTodaySchema = z
	.object({
		since: z.number().int().meta({ description: "Since when today counts: the server's local midnight." }),
		...counts,
		groups: z.array(z.object({ groupId: z.string().nullable(), ...counts })),
		agents: z.array(z.object({ agentId: z.string().nullable(), ...counts }))
	})
	.meta({ id: 'SatisfactionToday' });
export type SatisfactionToday = z.infer<typeof satisfactionTodaySchema>;

/** good / (good + bad) as a whole percentage; null with no answers. */
export function satisfactionScore(counts: { good: number; bad: number }): number | null {
	const total = counts.good + counts.bad;
	return total ? Math.round((counts.good / total) * 100) : null;
}
