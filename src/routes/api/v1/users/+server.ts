import { json } from '@sveltejs/kit';
import { api, requireUser } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = (event) =>
	api(async () => {
		requireUser(event);
		const users = (await tandem().accounts.listUsers()).map(({ id, name, email, role, groupIds, disabled }) => ({ id, name, email, role, groupIds, disabled }));
		return json({ users });
	});
