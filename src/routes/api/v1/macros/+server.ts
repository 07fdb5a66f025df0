import { json } from '@sveltejs/kit';
import { api, parseJson, requireAdmin, requireUser } from '$lib/server/api';
import { macroInputSchema } from '$lib/api/schemas';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = (event) =>
	api(async () => {
		requireUser(event);
		return json({ macros: await tandem().macros.list() });
	});

export const POST: RequestHandler = (event) =>
	api(async () => {
		const admin = requireAdmin(event);
		const input = await parseJson(event.request, macroInputSchema);
		return json(await tandem().macros.create(input, admin), { status: 201 });
	});
