import { json } from '@sveltejs/kit';
import { api, parseJson, requireAdmin } from '$lib/server/api';
import { userRoutingSchema } from '$lib/api/routing';
import { tandem } from '$lib/server/tandem';
import { notFound } from '../../../../../../../server/errors';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = (event) =>
	api(async () => {
		requireAdmin(event);
		const { accounts, routing } = tandem();
		if (!(await accounts.get(event.params.id))) throw notFound('user');
		return json(await routing.settings.agent(event.params.id));
	});

/** An agent's own capacities (null: the default again) and skills. */
export const PUT: RequestHandler = (event) =>
	api(async () => {
		const admin = requireAdmin(event);
		const input = await parseJson(event.request, userRoutingSchema);
		const { accounts, routing, events } = tandem();
		if (!(await accounts.get(event.params.id))) throw notFound('user');
		const result = await routing.settings.setAgent(event.params.id, input);
		await events.record({ userId: event.params.id, actor: `user:${admin.id}`, type: 'routing.agent.changed', data: input });
		await routing.router.dispatch();
		return json(result);
	});
