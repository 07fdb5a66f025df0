import { json } from '@sveltejs/kit';
import { api, parseJson, requireAdmin, requirePrincipal } from '$lib/server/api';
import { objectTypeInputSchema } from '$lib/api/context';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = (event) =>
	api(async () => {
		requirePrincipal(event);
		return json({ types: await tandem().objects.listTypes() });
	});

export const POST: RequestHandler = (event) =>
	api(async () => {
		const admin = requireAdmin(event);
		const input = await parseJson(event.request, objectTypeInputSchema);
		return json(await tandem().objects.createType(input, admin), { status: 201 });
	});
