import { json } from '@sveltejs/kit';
import { api, parseJson, requireAdmin, requirePrincipal } from '$lib/server/api';
import { fieldInputSchema } from '$lib/api/custom-fields';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** Every custom field and form, archived ones included: what ticket values are checked against. */
export const GET: RequestHandler = (event) =>
	api(async () => {
		requirePrincipal(event);
		return json(await tandem().customFields.list());
	});

export const POST: RequestHandler = (event) =>
	api(async () => {
		const admin = requireAdmin(event);
		const input = await parseJson(event.request, fieldInputSchema);
		return json(await tandem().customFields.createField(input, `user:${admin.id}`), { status: 201 });
	});
