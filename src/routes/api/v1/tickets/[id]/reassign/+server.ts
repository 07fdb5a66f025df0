import { json } from '@sveltejs/kit';
import { api, parseJson, requireSupervisor } from '$lib/server/api';
import { reassignSchema } from '$lib/api/routing';
import { tandem } from '$lib/server/tandem';
import { ApiError, notFound } from '../../../../../../../server/errors';
import type { RequestHandler } from './$types';

/**
 * Supervisors (read-only in tickets) and admins give a ticket to an agent, past the queue and
 * capacity; the server writes the assignee.
 */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const user = requireSupervisor(event);
		const { assigneeId } = await parseJson(event.request, reassignSchema);
		const { index, accounts, routing } = tandem();
		if (!(await index.exists(event.params.id))) throw notFound('ticket');
		if (!(await accounts.canHoldTickets(assigneeId))) throw new ApiError(400, 'invalid_field', `assigneeId: ${assigneeId} cannot be assigned tickets`, 'assigneeId');
		await routing.router.reassign(event.params.id, assigneeId, `user:${user.id}`);
		return json({ ticketId: event.params.id, assigneeId });
	});
