import { json } from '@sveltejs/kit';
import { recordLinkSchema } from '$lib/api/context';
import { api, parse, parseJsonText, readText, requireUser } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** Links the record to the ticket; answers the ticket's records. The body is optional (`{confirmOtherOwner}`). */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const by = requireUser(event);
		const text = await readText(event.request);
		const options = parse(recordLinkSchema, text.trim() ? parseJsonText(text) : {});
		return json({ records: await tandem().objects.link(event.params.id, event.params.recordId, by, options) });
	});

export const DELETE: RequestHandler = (event) =>
	api(async () => json({ records: await tandem().objects.unlink(event.params.id, event.params.recordId, requireUser(event)) }));
