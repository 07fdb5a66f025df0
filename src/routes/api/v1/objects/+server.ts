import { json } from '@sveltejs/kit';
import { api, parse, parseJson, requirePrincipal } from '$lib/server/api';
import { recordInputSchema, recordListQuery } from '$lib/api/context';
import { requireRecordWriter } from '$lib/server/objects';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = (event) =>
	api(() => {
		requirePrincipal(event);
		const query = parse(recordListQuery, Object.fromEntries(event.url.searchParams));
		return json({ records: tandem().objects.listRecords(query) });
	});

export const POST: RequestHandler = (event) =>
	api(async () => {
		const writer = requireRecordWriter(event);
		const input = await parseJson(event.request, recordInputSchema);
		return json(tandem().objects.createRecord(input, writer), { status: 201 });
	});
