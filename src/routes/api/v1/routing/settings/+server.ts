import { json } from '@sveltejs/kit';
import { api, parseJson, requireAdmin, requireUser } from '$lib/server/api';
import { routingSettingsSchema } from '$lib/api/routing';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = (event) =>
	api(async () => {
		requireUser(event);
		return json(await tandem().routing.settings.get());
	});

/** Changes apply at once: new capacities may let waiting work be offered. */
export const PUT: RequestHandler = (event) =>
	api(async () => {
		const admin = requireAdmin(event);
		const input = await parseJson(event.request, routingSettingsSchema);
		const { routing, events } = tandem();
		const settings = await routing.settings.update(input);
		await events.record({ actor: `user:${admin.id}`, type: 'routing.settings.changed', data: input });
		await routing.router.dispatch();
		return json(settings);
	});
