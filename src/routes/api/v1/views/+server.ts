import { json } from '@sveltejs/kit';
import { api, requirePrincipal } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = (event) => api(async () => json({ views: await tandem().tickets.views(requirePrincipal(event)) }));
