import { json } from '@sveltejs/kit';
import { api, requireUser } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** Links the record to the ticket; answers the ticket's records. */
export const POST: RequestHandler = (event) =>
	api(() => json({ records: tandem().objects.link(event.params.id, event.params.recordId, requireUser(event)) }));

export const DELETE: RequestHandler = (event) =>
	api(() => json({ records: tandem().objects.unlink(event.params.id, event.params.recordId, requireUser(event)) }));
