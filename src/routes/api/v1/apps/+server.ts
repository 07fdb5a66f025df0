import { json } from '@sveltejs/kit';
import { api, parseJson, requireAdmin, requireUser } from '$lib/server/api';
import { appInputSchema } from '$lib/api/context';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** The apps of the context panel: enabled ones; admins see every installed app. */
export const GET: RequestHandler = (event) =>
	api(async () => {
		const user = requireUser(event);
		return json({ apps: await tandem().apps.list({ enabledOnly: user.role !== 'admin' }) });
	});

export const POST: RequestHandler = (event) =>
	api(async () => {
		const admin = requireAdmin(event);
		const input = await parseJson(event.request, appInputSchema);
		return json(await tandem().apps.create(input, admin), { status: 201 });
	});
