import { json } from '@sveltejs/kit';
import { api, parseJson, requireAdmin } from '$lib/server/api';
import { macroInputSchema } from '$lib/api/schemas';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

export const PUT: RequestHandler = (event) =>
	api(async () => {
		const admin = requireAdmin(event);
		const input = await parseJson(event.request, macroInputSchema);
		return json(await tandem().macros.update(event.params.id, input, admin));
	});

export const DELETE: RequestHandler = (event) =>
	api(async () => {
		const admin = requireAdmin(event);
		await tandem().macros.delete(event.params.id, admin);
		return new Response(null, { status: 204 });
	});
