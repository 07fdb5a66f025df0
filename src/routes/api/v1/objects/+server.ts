import { json } from '@sveltejs/kit';
import { api, parse, parseJson, requirePrincipal } from '$lib/server/api';
import { recordInputSchema, recordListQuery } from '$lib/api/context';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** The records the caller may read (auth/policy.ts: recordAccess). */
export const GET: RequestHandler = (event) =>
	api(async () => {
		const principal = requirePrincipal(event);
		const query = parse(recordListQuery, Object.fromEntries(event.url.searchParams));
		return json({ records: await tandem().objects.listRecords(query, principal) });
	});

export const POST: RequestHandler = (event) =>
	api(async () => {
		const principal = requirePrincipal(event);
		const input = await parseJson(event.request, recordInputSchema);
		return json(await tandem().objects.createRecord(input, principal), { status: 201 });
	});
