import { json } from '@sveltejs/kit';
import { api, parseJson, requireAdmin, requireSupervisor } from '$lib/server/api';
import { newRuleSchema, RULE_KINDS, type RuleKind } from '$lib/api/rules';
import { shownRule } from '$lib/server/rules';
import { tandem } from '$lib/server/tandem';
import { ApiError } from '../../../../../server/errors';
import type { RequestHandler } from './$types';

/** Every rule (`?kind=trigger|automation` for one kind), in the order they run. Supervisors may read. */
export const GET: RequestHandler = (event) =>
	api(async () => {
		const user = requireSupervisor(event);
		const kind = event.url.searchParams.get('kind');
		if (kind !== null && !(RULE_KINDS as readonly string[]).includes(kind)) throw new ApiError(400, 'invalid_field', `kind: one of ${RULE_KINDS.join(', ')}`, 'kind');
		const rules = await tandem().rules.store.list((kind as RuleKind | null) ?? undefined);
		return json({ rules: rules.map((rule) => shownRule(rule, user)) });
	});

/** A new rule, last in its kind's order. */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const admin = requireAdmin(event);
		const input = await parseJson(event.request, newRuleSchema);
		return json(await tandem().rules.store.create(input, `user:${admin.id}`), { status: 201 });
	});
