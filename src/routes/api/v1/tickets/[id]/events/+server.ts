import { json } from '@sveltejs/kit';
import { z } from 'zod';
import { api, parse, requirePrincipal } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

const query = z.strictObject({ after: z.coerce.number().int().min(0).default(0) });

export const GET: RequestHandler = (event) =>
	api(() => {
		const principal = requirePrincipal(event);
		const { after } = parse(query, Object.fromEntries(event.url.searchParams));
		return json({ events: tandem().tickets.events(event.params.id, principal, after) });
	});
