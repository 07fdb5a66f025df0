import { json } from '@sveltejs/kit';
import { api, requireUser } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = (event) =>
	api(async () => {
		requireUser(event);
		return json({ groups: (await tandem().accounts.listGroups()).map(({ id, name }) => ({ id, name })) });
	});
