import { api, requireUser } from '$lib/server/api';
import { principalEventStream } from '$lib/server/sse';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/**
 * The routing stream alone (the workspace gets the same events on `/stream`): `offer` (pending
 * ones first), `offer.withdrawn`, `assigned`, and `status` for every colleague (all of them
 * first). While one is open the caller counts as connected; when their last one closes they turn
 * away, then offline.
 */
export const GET: RequestHandler = (event) =>
	api(() => {
		const user = requireUser(event);
		return principalEventStream(event, (send) => tandem().routing.follow(user.id, send));
	});
