import { json } from '@sveltejs/kit';
import { api, requireUser } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** The caller's kept notices, newest first (`?unread=true`: those not read yet), about tickets they may see now. */
export const GET: RequestHandler = (event) =>
	api(async () => json({ notices: await tandem().notices.list(requireUser(event), event.url.searchParams.get('unread') === 'true') }));
