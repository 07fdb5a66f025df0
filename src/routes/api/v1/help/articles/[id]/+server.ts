import { json } from '@sveltejs/kit';
import { api, parseJson, requireAdmin, requireUser } from '$lib/server/api';
import { articleInputSchema } from '$lib/api/context';
import { tandem } from '$lib/server/tandem';
import { notFound } from '../../../../../../../server/errors';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = (event) =>
	api(async () => {
		const user = requireUser(event);
		const article = await tandem().help.get(event.params.id);
		if (!article || (article.status !== 'published' && user.role !== 'admin')) throw notFound('article');
		return json(article);
	});

export const PUT: RequestHandler = (event) =>
	api(async () => {
		const admin = requireAdmin(event);
		const input = await parseJson(event.request, articleInputSchema);
		return json(await tandem().help.update(event.params.id, input, admin));
	});

export const DELETE: RequestHandler = (event) =>
	api(async () => {
		await tandem().help.delete(event.params.id, requireAdmin(event));
		return new Response(null, { status: 204 });
	});
