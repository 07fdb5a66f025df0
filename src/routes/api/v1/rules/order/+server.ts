import { json } from '@sveltejs/kit';
import { api, parseJson, requireAdmin } from '$lib/server/api';
import { ruleOrderSchema } from '$lib/api/rules';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** Puts every rule of a kind in a new order (the order they run in). */
export const PUT: RequestHandler = (event) =>
	api(async () => {
		const admin = requireAdmin(event);
		const { kind, ids } = await parseJson(event.request, ruleOrderSchema);
		return json({ rules: await tandem().rules.store.reorder(kind, ids, `user:${admin.id}`) });
	});
