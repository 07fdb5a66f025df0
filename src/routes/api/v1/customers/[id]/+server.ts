import { json } from '@sveltejs/kit';
import { api, parseJson, requirePrincipal } from '$lib/server/api';
import { customerPatchSchema } from '$lib/api/context';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** A customer with their addresses and the tickets of theirs the caller may see. */
export const GET: RequestHandler = (event) =>
	api(async () => json(await tandem().tickets.customerContext(event.params.id, requirePrincipal(event))));

/** Agents who may write one of the customer's tickets, and admins, edit their profile and addresses. */
export const PATCH: RequestHandler = (event) =>
	api(async () => {
		const principal = requirePrincipal(event);
		const patch = await parseJson(event.request, customerPatchSchema);
		const { customers, tickets } = tandem();
		await customers.update(event.params.id, patch, principal);
		return json(await tickets.customerContext(event.params.id, principal));
	});
