import { json } from '@sveltejs/kit';
import { api, requireSupervisor } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** Every agent (status, channels, load against capacity, current ticket) and every group's queue. */
export const GET: RequestHandler = (event) =>
	api(async () => {
		requireSupervisor(event);
		return json(await tandem().routing.dashboard.data());
	});
