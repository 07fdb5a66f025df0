import { json } from '@sveltejs/kit';
import { api, parseJson } from '$lib/server/api';
import { surveyAnswerSchema, surveyTokenSchema } from '$lib/api/satisfaction';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** A survey link's survey as its page shows it; records nothing. No sign-in: the signed token is the key. */
export const GET: RequestHandler = (event) =>
	api(async () => {
		const { surveys } = tandem();
		await surveys.limit(event.getClientAddress());
		const token = surveyTokenSchema.safeParse(event.params.token);
		return json(token.success ? await surveys.view(token.data) : { state: 'invalid' });
	});

/** The customer's answer through a survey link: the first, or a change within the window. */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const { surveys } = tandem();
		await surveys.limit(event.getClientAddress());
		const answer = await parseJson(event.request, surveyAnswerSchema);
		const token = surveyTokenSchema.safeParse(event.params.token);
		return json(await surveys.answerLink(token.success ? token.data : '', answer));
	});
