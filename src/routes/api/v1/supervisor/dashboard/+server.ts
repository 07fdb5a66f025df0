import { json } from '@sveltejs/kit';
import { api, requireSupervisor } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** Every agent (status, channels, load against capacity, current ticket), every group's queue and today's satisfaction answers. */
export const GET: RequestHandler = (event) =>
	api(async () => {
		requireSupervisor(event);
		const { routing, surveys } = tandem();
		return json({ ...(await routing.dashboard.data()), satisfaction: await surveys.today() });
	});
