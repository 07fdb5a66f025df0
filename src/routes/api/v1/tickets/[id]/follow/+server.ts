import { json } from '@sveltejs/kit';
import { api, requirePrincipal } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** The caller follows the ticket: told of its new customer messages and status changes. Answers with its followers. */
export const PUT: RequestHandler = (event) => api(async () => json(await tandem().followers.follow(event.params.id, requirePrincipal(event))));

/** The caller stops following the ticket. Answers with its followers. */
export const DELETE: RequestHandler = (event) => api(async () => json(await tandem().followers.unfollow(event.params.id, requirePrincipal(event))));
