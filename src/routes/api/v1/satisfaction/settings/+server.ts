import { json } from '@sveltejs/kit';
import { api, parseJson, requireAdmin } from '$lib/server/api';
import { surveySettingsSchema } from '$lib/api/satisfaction';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** Per channel, whether a solved ticket's requester is asked how it went. */
export const GET: RequestHandler = (event) =>
	api(async () => {
		requireAdmin(event);
		return json(await tandem().surveys.settings());
	});

/** Switches surveys on or off for the channels named; applies to solves from now on. */
export const PUT: RequestHandler = (event) =>
	api(async () => {
		const admin = requireAdmin(event);
		const change = await parseJson(event.request, surveySettingsSchema);
		return json(await tandem().surveys.updateSettings(change, `user:${admin.id}`));
	});
