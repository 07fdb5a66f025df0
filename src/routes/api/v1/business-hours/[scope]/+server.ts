import { json } from '@sveltejs/kit';
import { api, parseJson, requireAdmin } from '$lib/server/api';
import { putBusinessHoursSchema } from '$lib/api/rules';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** Sets a group's business hours (`default`: for groups without their own); `schedule: null` removes them. */
export const PUT: RequestHandler = (event) =>
	api(async () => {
		const admin = requireAdmin(event);
		const { schedule } = await parseJson(event.request, putBusinessHoursSchema);
		const rules = tandem().rules.store;
		await rules.setSchedule(event.params.scope, schedule, `user:${admin.id}`);
		return json({ schedules: await rules.schedules() });
	});
