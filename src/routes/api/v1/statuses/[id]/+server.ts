import { api, requireAdmin } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** Agents who had it chosen get the built-in status it mapped to. */
export const DELETE: RequestHandler = (event) =>
	api(async () => {
		const admin = requireAdmin(event);
		await tandem().routing.presence.removeStatus(event.params.id, `user:${admin.id}`);
		return new Response(null, { status: 204 });
	});
