import { json } from '@sveltejs/kit';
import { api, parseJson, requireAdmin } from '$lib/server/api';
import { appInputSchema } from '$lib/api/context';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** Changes an app's URL, scopes and whether it is enabled. */
export const PUT: RequestHandler = (event) =>
	api(async () => {
		const admin = requireAdmin(event);
		const input = await parseJson(event.request, appInputSchema.omit({ name: true }));
		return json(await tandem().apps.update(event.params.id, input, admin));
	});

export const DELETE: RequestHandler = (event) =>
	api(async () => {
		await tandem().apps.delete(event.params.id, requireAdmin(event));
		return new Response(null, { status: 204 });
	});
