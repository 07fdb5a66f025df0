import { json } from '@sveltejs/kit';
import { customerLinkSchema } from '$lib/api/context';
import { api, parseJson, requireUser } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import { forbidden } from '../../../../../../../server/errors';
import type { RequestHandler } from './$types';

/** An agent links an unverified chat contact to a known customer; answers that customer. */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const user = requireUser(event);
		if (user.role === 'supervisor') throw forbidden('supervisors are read-only');
		const { into } = await parseJson(event.request, customerLinkSchema);
		const { identities, tickets } = tandem();
		const customer = await identities.link(event.params.id, into, user);
		return json(await tickets.customerContext(customer.id, user));
	});
