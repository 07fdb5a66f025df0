import { json } from '@sveltejs/kit';
import { api, requireAdmin, requirePrincipal } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import { notFound } from '../../../../../../server/errors';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = (event) =>
	api(async () => {
		requirePrincipal(event);
		const type = await tandem().objects.getType(event.params.id);
		if (!type) throw notFound('object type');
		return json(type);
	});

/** Deletes the type with its records. */
export const DELETE: RequestHandler = (event) =>
	api(async () => {
		await tandem().objects.deleteType(event.params.id, requireAdmin(event));
		return new Response(null, { status: 204 });
	});
