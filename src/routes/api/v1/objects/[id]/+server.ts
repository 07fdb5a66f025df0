import { json } from '@sveltejs/kit';
import { api, requirePrincipal } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import { notFound } from '../../../../../../server/errors';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = (event) =>
	api(async () => {
		const record = await tandem().objects.getRecord(event.params.id, requirePrincipal(event));
		if (!record) throw notFound('record');
		return json(record);
	});

export const DELETE: RequestHandler = (event) =>
	api(async () => {
		await tandem().objects.deleteRecord(event.params.id, requirePrincipal(event));
		return new Response(null, { status: 204 });
	});
