import { json } from '@sveltejs/kit';
import { api, requirePrincipal } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import { ticketAccess } from '../../../../../../../server/auth/policy';
import { notFound } from '../../../../../../../server/errors';
import type { RequestHandler } from './$types';

/** The ticket's SLA timers: when first reply, next reply and resolution are due, and which passed. */
export const GET: RequestHandler = (event) =>
	api(async () => {
		const principal = requirePrincipal(event);
		const { index, routing } = tandem();
		const row = await index.get(event.params.id);
		if (!row || !ticketAccess(principal, row)) throw notFound('ticket');
		return json(await routing.sla.slaFor(row));
	});
