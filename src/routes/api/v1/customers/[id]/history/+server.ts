import { json } from '@sveltejs/kit';
import { api, requirePrincipal } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** The customer's interactions across the tickets of theirs the caller may see, newest first. */
export const GET: RequestHandler = (event) =>
	api(async () => json({ interactions: await tandem().history.of(event.params.id, requirePrincipal(event)) }));
