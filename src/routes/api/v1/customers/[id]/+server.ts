import { json } from '@sveltejs/kit';
import { api, parseJson, requirePrincipal, requireUser } from '$lib/server/api';
import { customerPatchSchema } from '$lib/api/context';
import { tandem } from '$lib/server/tandem';
import { forbidden } from '../../../../../../server/errors';
import type { RequestHandler } from './$types';

/** A customer with their addresses and the tickets of theirs the caller may see. */
export const GET: RequestHandler = (event) =>
	api(() => json(tandem().tickets.customerContext(event.params.id, requirePrincipal(event))));

/** Agents and admins edit a customer's profile and addresses. */
export const PATCH: RequestHandler = (event) =>
	api(async () => {
		const user = requireUser(event);
		if (user.role === 'supervisor') throw forbidden('supervisors are read-only');
		const patch = await parseJson(event.request, customerPatchSchema);
		const { customers, tickets } = tandem();
		customers.update(event.params.id, patch, user);
		return json(tickets.customerContext(event.params.id, user));
	});
