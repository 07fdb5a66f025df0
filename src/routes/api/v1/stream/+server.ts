import { api, requirePrincipal } from '$lib/server/api';
import { principalEventStream } from '$lib/server/sse';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/**
 * Server-Sent Events: `event: ticket` with the ticket's index row whenever a ticket the caller
 * may see is created or changes, once the change is stored. For a signed-in user it is also the
 * workspace's one stream (a browser allows few connections per server): `calls` (the live calls,
 * first on every connection) and `call` changes, as on `/talk/stream`; and for agents and admins
 * the routing events of `/agent/stream` (`status`, `offer`, `offer.withdrawn`, `assigned`), the
 * stream counting as their connection; and `side` (a SideNotice) when they are named in an
 * internal side conversation, or a colleague writes in one they take part in; and `follow` (a
 * FollowNotice) of a ticket they follow (a customer message, a status change) or are mentioned in;
 * and `ticket-fields` (no data) when an admin changes the custom fields or forms.
 */
export const GET: RequestHandler = (event) =>
	api(() => {
		const principal = requirePrincipal(event);
		const { tickets, calls, routing, collab, customFields, logger } = tandem();
		return principalEventStream(event, (send) => {
			const stops = [tickets.watch(principal, (row) => send('ticket', row))];
			if (principal.kind === 'user') {
				// Sent once read: a `call` change in that moment may reach the console before it.
				calls.current(principal).then(
					(list) => send('calls', { calls: list }),
					(error: unknown) => logger.error({ err: error, userId: principal.id }, 'reading the live calls failed')
				);
				stops.push(calls.watch(principal, (call) => send('call', call)));
				if (principal.role !== 'supervisor') stops.push(routing.follow(principal.id, send));
				stops.push(collab.sideNotify.follow(principal.id, (notice) => send('side', notice)));
				stops.push(collab.followNotify.follow(principal.id, (notice) => send('follow', notice)));
				// An admin changed the custom fields or forms (on any node): open headers read them again.
				stops.push(customFields.changed.watch(() => send('ticket-fields', {})));
			}
			return () => stops.forEach((stop) => stop());
		});
	});
