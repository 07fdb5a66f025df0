/** Satisfaction surveys' endpoints in the OpenAPI description (see openapi.ts, which lends its helpers). */
import { z } from 'zod';
import type { ZodOpenApiOperationObject } from 'zod-openapi';
import type { OpenApiHelpers } from './openapi-routing';
import { surveyAnswerSchema, surveySettingsSchema, surveyViewSchema } from './satisfaction';

export function satisfactionPaths({ errors, ok, jsonContent, errorBody }: OpenApiHelpers): Record<string, Record<string, ZodOpenApiOperationObject>> {
	const op = (o: ZodOpenApiOperationObject): ZodOpenApiOperationObject => ({ tags: ['Satisfaction'], ...o });
	const error = (description: string) => ({ description, content: jsonContent(errorBody) });
	const settings = ok('Per customer channel, whether its solved tickets are surveyed.', z.object(Object.fromEntries(Object.keys(surveySettingsSchema.def.keyType.enum).map((channel) => [channel, z.boolean()]))));
	const token = { path: z.object({ token: z.string().meta({ description: 'The token of a survey mail\'s link (`/satisfaction/<token>?rating=good`): the survey, its expiry and an HMAC-SHA256 signature.' }) }) };
	const limited = { 429: error('`rate_limited`: at most 30 requests a minute from one address.') };
	const answerRules = 'The first answer is recorded; a different one (or a comment) may replace it for 24 hours after the first, while the link works (28 days). Each recorded answer is an entry in the ticket (kind `event`, internal, by the customer, `meta.satisfaction`) and sets the ticket fields `satisfaction` and `satisfactionComment`.';
	const visitorOp = (o: ZodOpenApiOperationObject) => op({ tags: ['Visitor'], security: [{ visitor: [] }], ...o });
	const visitorErrors = { 400: error('`invalid_field`.'), 401: error('`unauthorized`: no valid `X-Visitor-Token`.'), 404: error('`no_chat`: the visitor has no chat; `no_survey`: their chat has no survey yet.'), ...limited };
	return {
		'/satisfaction/settings': {
			get: op({ operationId: 'surveySettings', summary: 'Which channels are surveyed (admins)', responses: { 200: settings, ...errors(403) } }),
			put: op({
				operationId: 'setSurveySettings',
				summary: 'Switch surveys on or off per channel (admins)',
				description: 'Channels not named stay as they are. Applies to solves from now on; a solve on a channel switched off is never asked about later.',
				requestBody: { required: true, content: jsonContent(surveySettingsSchema) },
				responses: { 200: settings, ...errors(400, 403) }
			})
		},
		'/satisfaction/{token}': {
			get: op({
				operationId: 'surveyByLink',
				summary: "A survey link's survey (no sign-in)",
				description: 'Records nothing: mail scanners open links. An altered or unknown token answers `{state: "invalid"}`, a past one `{state: "expired"}`.',
				security: [],
				requestParams: token,
				responses: { 200: ok('The survey as its page shows it.', surveyViewSchema), ...limited }
			}),
			post: op({
				operationId: 'answerSurvey',
				summary: 'Answer a survey through its link (no sign-in)',
				description: answerRules,
				security: [],
				requestParams: token,
				requestBody: { required: true, content: jsonContent(surveyAnswerSchema) },
				responses: {
					200: ok('The survey, answered.', surveyViewSchema),
					400: error('`invalid_field`: the rating is not good or bad, or the comment is too long or not plain text.'),
					404: error('`invalid_link`: the token was altered, or names no survey.'),
					409: error('`already_answered`: the answer is final (24 hours after the first).'),
					410: error('`link_expired`: the link is past its time, or the ticket was solved again and asked anew.'),
					...limited
				}
			})
		},
		'/visitor/chat/satisfaction': {
			get: visitorOp({
				operationId: 'chatSurvey',
				summary: "The survey of the visitor's chat",
				description: 'Asked once per chat ticket: when the chat ends or its ticket is solved (the stream says `event: survey`).',
				responses: { 200: ok('`survey`: null until asked.', z.object({ survey: surveyViewSchema.nullable() })), ...visitorErrors }
			}),
			post: visitorOp({
				operationId: 'answerChatSurvey',
				summary: "Answer the survey of the visitor's chat",
				description: `Only the visitor whose chat it is. ${answerRules}`,
				requestBody: { required: true, content: jsonContent(surveyAnswerSchema) },
				responses: { 200: ok('The survey, answered.', z.object({ survey: surveyViewSchema })), ...visitorErrors, 409: error('`already_answered`.'), 410: error('`link_expired`: the survey has closed.') }
			})
		}
	};
}
