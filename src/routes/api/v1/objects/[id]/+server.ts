import { json } from '@sveltejs/kit';
import { api, requirePrincipal } from '$lib/server/api';
import { requireRecordWriter } from '$lib/server/objects';
import { tandem } from '$lib/server/tandem';
import { notFound } from '../../../../../../server/errors';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = (event) =>
	api(() => {
		requirePrincipal(event);
		const record = tandem().objects.getRecord(event.params.id);
		if (!record) throw notFound('record');
		return json(record);
	});

export const DELETE: RequestHandler = (event) =>
	api(() => {
		tandem().objects.deleteRecord(event.params.id, requireRecordWriter(event));
		return new Response(null, { status: 204 });
	});
