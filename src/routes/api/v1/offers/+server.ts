import { json } from '@sveltejs/kit';
import { api, requireUser } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** The caller's pending offers, oldest first. */
export const GET: RequestHandler = (event) => api(async () => json({ offers: await tandem().routing.router.offersFor(requireUser(event).id) }));
