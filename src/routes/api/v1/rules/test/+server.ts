import { json } from '@sveltejs/kit';
import { api, parseJson, requireAdmin } from '$lib/server/api';
import { ruleTestSchema } from '$lib/api/rules';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** Which tickets would these conditions match now? Of the 500 most recently updated, at most `limit`. */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const admin = requireAdmin(event);
		const { kind, conditions, limit } = await parseJson(event.request, ruleTestSchema);
		const rows = await tandem().rules.engine.matching(kind, conditions, admin, limit);
		return json({ tickets: rows.map(({ id, number, subject, status, priority, groupId, assigneeId, updatedAt }) => ({ id, number, subject, status, priority, groupId, assigneeId, updatedAt })) });
	});
