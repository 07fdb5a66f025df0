import { json } from '@sveltejs/kit';
import { api, parse, parseJson, requireAdmin, requireUser } from '$lib/server/api';
import { articleInputSchema, articleSearchQuery } from '$lib/api/context';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** Search (`q`: ranked, with highlighted snippets) or list the articles; drafts only for admins. */
export const GET: RequestHandler = (event) =>
	api(async () => {
		const user = requireUser(event);
		const { q, limit } = parse(articleSearchQuery, Object.fromEntries(event.url.searchParams));
		const drafts = user.role === 'admin';
		const { help } = tandem();
		if (q) return json({ articles: await help.search(q, { drafts, limit }) });
		return json({ articles: await help.list({ drafts }) });
	});

export const POST: RequestHandler = (event) =>
	api(async () => {
		const admin = requireAdmin(event);
		const input = await parseJson(event.request, articleInputSchema);
		return json(await tandem().help.create(input, admin), { status: 201 });
	});
