import { json } from '@sveltejs/kit';
import { api, requirePrincipal } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** The built-in views and (for a signed-in user) their saved views, each with how many tickets it holds for the caller. */
export const GET: RequestHandler = (event) =>
	api(async () => {
		const principal = requirePrincipal(event);
		const { tickets, savedViews } = tandem();
		const [views, saved] = await Promise.all([tickets.views(principal), principal.kind === 'user' ? savedViews.summaries(principal) : []]);
		return json({ views, saved });
	});
