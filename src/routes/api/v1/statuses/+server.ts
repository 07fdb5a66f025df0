import { json } from '@sveltejs/kit';
import { api, parseJson, requireAdmin, requireUser } from '$lib/server/api';
import { customStatusSchema } from '$lib/api/routing';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = (event) =>
	api(async () => {
		requireUser(event);
		return json({ statuses: await tandem().routing.presence.statuses() });
	});

export const POST: RequestHandler = (event) =>
	api(async () => {
		const admin = requireAdmin(event);
		const input = await parseJson(event.request, customStatusSchema);
		return json(await tandem().routing.presence.addStatus(input.name, input.mapsTo, `user:${admin.id}`), { status: 201 });
	});
