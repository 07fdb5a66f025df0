import { error, fail } from '@sveltejs/kit';
import { isApiError } from '../../../../server/errors';
import { surveyAnswerSchema, surveyTokenSchema } from '$lib/api/satisfaction';
import { tandem } from '$lib/server/tandem';
import type { Actions, PageServerLoad } from './$types';

/**
 * The page a survey mail's links open. Opening it records nothing (mail scanners open links): in
 * a browser the page sends the answer the link names at once, as a POST, and its buttons do the
 * same without JavaScript.
 */
export const load: PageServerLoad = async ({ params, url, getClientAddress }) => {
	const { surveys } = tandem();
	try {
		await surveys.limit(getClientAddress());
	} catch (refused) {
		if (isApiError(refused)) error(refused.status, refused.message);
		throw refused;
	}
	const token = surveyTokenSchema.safeParse(params.token);
	const linked = url.searchParams.get('rating');
	return {
		view: token.success ? await surveys.view(token.data) : ({ state: 'invalid' } as const),
		linked: linked === 'good' || linked === 'bad' ? linked : null
	};
};

export const actions: Actions = {
	default: async ({ params, request, getClientAddress }) => {
		const { surveys } = tandem();
		const form = await request.formData();
		const answer = surveyAnswerSchema.safeParse({ rating: form.get('rating'), comment: form.get('comment') ?? undefined });
		if (!answer.success) return fail(400, { message: answer.error.issues[0]?.path[0] === 'comment' ? `Your comment: ${answer.error.issues[0].message}` : 'Choose Good or Bad.' });
		try {
			await surveys.limit(getClientAddress());
			const token = surveyTokenSchema.safeParse(params.token);
			return { view: await surveys.answerLink(token.success ? token.data : '', answer.data) };
		} catch (refused) {
			if (isApiError(refused)) return fail(refused.status, { message: refused.message });
			throw refused;
		}
	}
};
