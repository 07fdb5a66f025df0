import { json } from '@sveltejs/kit';
import { api, parseJson, requirePrincipal } from '$lib/server/api';
import { createChildSchema } from '$lib/api/children';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** Creates a child ticket: 201 once it and the parent's link are stored, 200 with the same child for a repeated id. */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const principal = requirePrincipal(event);
		const input = await parseJson(event.request, createChildSchema);
		const { child, created } = await tandem().tickets.createChild(event.params.id, input, principal);
		return json(child, { status: created ? 201 : 200 });
	});

/** The ticket's parent and children, each as far as the caller may see it. */
export const GET: RequestHandler = (event) =>
	api(async () => {
		const principal = requirePrincipal(event);
		return json(await tandem().tickets.family(event.params.id, principal));
	});
