import { json } from '@sveltejs/kit';
import { api, requireUser } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** Every stored schedule: by group id, and `default` for groups without their own. */
export const GET: RequestHandler = (event) =>
	api(async () => {
		requireUser(event);
		return json({ schedules: await tandem().rules.store.schedules() });
	});
