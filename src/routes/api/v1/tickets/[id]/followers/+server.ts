import { json } from '@sveltejs/kit';
import { api, requirePrincipal } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** Who follows the ticket (those who may still see it), and whether the caller does. */
export const GET: RequestHandler = (event) => api(async () => json(await tandem().followers.list(event.params.id, requirePrincipal(event))));
