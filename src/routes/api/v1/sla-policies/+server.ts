import { json } from '@sveltejs/kit';
import { api, parseJson, requireAdmin, requireUser } from '$lib/server/api';
import { slaPoliciesSchema } from '$lib/api/routing';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = (event) =>
	api(async () => {
		requireUser(event);
		return json({ policies: await tandem().routing.sla.policies() });
	});

/** Replaces the policies given (by priority and channel); the others stay. */
export const PUT: RequestHandler = (event) =>
	api(async () => {
		const admin = requireAdmin(event);
		const { policies } = await parseJson(event.request, slaPoliciesSchema);
		return json({ policies: await tandem().routing.sla.setPolicies(policies, `user:${admin.id}`) });
	});
