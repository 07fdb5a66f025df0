import { api, requireUser } from '$lib/server/api';
import { eventStream } from '$lib/server/sse';
import { tandem } from '$lib/server/tandem';
import { SESSION_COOKIE } from '../../../../../../server/auth/sessions';
import type { RequestHandler } from './$types';

/**
 * The workspace's routing stream (one per tab): `offer` (pending ones first), `offer.withdrawn`,
 * `assigned`, and `status` for every colleague (all of them first). While one is open the caller
 * counts as connected; when their last one closes they turn away, then offline.
 */
export const GET: RequestHandler = (event) =>
	api(() => {
		const user = requireUser(event);
		const { routing, auth } = tandem();
		const authorization = event.request.headers.get('authorization');
		const credential = authorization?.toLowerCase().startsWith('bearer ') ? authorization.slice(7).trim() : (event.cookies.get(SESSION_COOKIE) ?? '');
		return eventStream(
			event.request.signal,
			(send) => {
				const release = routing.presence.connect(user.id);
				const stopStatus = routing.presence.onChange((presence) => send('status', presence));
				const stopRouting = routing.router.onEvent((e) => {
					if (e.agentId !== user.id) return;
					if (e.type === 'offer') send('offer', e.offer);
					else if (e.type === 'offer.withdrawn') send('offer.withdrawn', { offerId: e.offerId, itemId: e.itemId, reason: e.reason });
					else send('assigned', { itemId: e.item.id, kind: e.item.kind, ref: e.item.ref, ticketId: e.item.ticketId, channel: e.item.channel });
				});
				for (const presence of routing.presence.all()) send('status', presence);
				for (const offer of routing.router.offersFor(user.id)) send('offer', offer);
				return () => {
					stopStatus();
					stopRouting();
					release();
				};
			},
			{ stillValid: () => auth.fromToken(credential) !== null }
		);
	});
