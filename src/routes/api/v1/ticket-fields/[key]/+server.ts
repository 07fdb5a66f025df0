import { json } from '@sveltejs/kit';
import { api, parseJson, requireAdmin } from '$lib/server/api';
import { fieldChangeSchema } from '$lib/api/custom-fields';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

export const PATCH: RequestHandler = (event) =>
	api(async () => {
		const admin = requireAdmin(event);
		const change = await parseJson(event.request, fieldChangeSchema);
		return json(await tandem().customFields.updateField(event.params.key, change, `user:${admin.id}`));
	});
