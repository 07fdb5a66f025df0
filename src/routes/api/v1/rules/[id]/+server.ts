import { json } from '@sveltejs/kit';
import { api, parseJson, requireAdmin, requireSupervisor } from '$lib/server/api';
import { ruleChangesSchema } from '$lib/api/rules';
import { shownRule } from '$lib/server/rules';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = (event) =>
	api(async () => {
		const user = requireSupervisor(event);
		return json(shownRule(await tandem().rules.store.get(event.params.id), user));
	});

/** Changes a rule: its name, conditions, actions, "stop here", or switches it on or off (`active`). */
export const PATCH: RequestHandler = (event) =>
	api(async () => {
		const admin = requireAdmin(event);
		const changes = await parseJson(event.request, ruleChangesSchema);
		return json(await tandem().rules.store.update(event.params.id, changes, `user:${admin.id}`));
	});

export const DELETE: RequestHandler = (event) =>
	api(async () => {
		const admin = requireAdmin(event);
		await tandem().rules.store.remove(event.params.id, `user:${admin.id}`);
		return new Response(null, { status: 204 });
	});
