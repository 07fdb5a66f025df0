import { json } from '@sveltejs/kit';
import { api, parseJson, requireAdmin } from '$lib/server/api';
import { formInputSchema } from '$lib/api/custom-fields';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = (event) =>
	api(async () => {
		const admin = requireAdmin(event);
		const input = await parseJson(event.request, formInputSchema);
		return json(await tandem().customFields.createForm(input, `user:${admin.id}`), { status: 201 });
	});
