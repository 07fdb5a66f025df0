/**
 * Routing for one process: agent status, the router, SLA, admin settings and the supervisor
 * dashboard, wired together. `start` follows the ticket index; the work to do once (rebuilding
 * from the tables, offer expiry, status decay, SLA sweeps) runs while this node leads.
 */
import { SYSTEM } from '../auth/principal';
import type { Accounts } from '../accounts';
import type { ConnectionCounts } from '../cluster/connections';
import type { Leadership } from '../cluster/leadership';
import type { Chats } from '../channels/chat';
import type { Events } from '../events';
import type { Logger } from '../log';
import type { Store } from '../storage/store';
import type { TicketIndex } from '../ticket-index';
import type { Tickets } from '../tickets';
import { systemClock, type Clock } from './clock';
import { Dashboard, type OpenDocuments } from './dashboard';
import { AgentStatus, type PresenceSettings } from './presence';
import { Router } from './router';
import { RoutingSettings } from './settings';
import { Sla } from './sla';
import type { ScheduleLookup } from '../rules/rules';

/**
 * While leading, how often the leader looks again at what other nodes did that it may not have
 * heard of (their messages are lost while Redis is out of reach): offers to expire, agents to time out.
 */
const LOOK_AGAIN_MS = 5_000;

export interface RoutingDeps {
	store: Store;
	events: Events;
	index: TicketIndex;
	tickets: Tickets;
	accounts: Accounts;
	chats: Pick<Chats, 'serve'>;
	logger: Logger;
	openDocuments: OpenDocuments;
	settings: PresenceSettings;
	/** Who leads: the node that runs the work to do once. */
	leadership: Pick<Leadership, 'onChange'>;
	/** Agents' connections: this process's, or every node's in a cluster. */
	connections?: ConnectionCounts;
	/**
	 * Whether other nodes decide too (a cluster): the leader then looks again every LOOK_AGAIN_MS
	 * for what it was not told. A sole process hears of every change it makes.
	 */
	lookAgain?: boolean;
	clock?: Clock;
	/** Business hours by group, which SLA timers count in (none: around the clock). */
	businessHours?: () => Promise<ScheduleLookup>;
}

export function createRouting(deps: RoutingDeps) {
	const clock = deps.clock ?? systemClock((error) => deps.logger.error({ err: error }, 'a routing timer failed'));
	const settings = new RoutingSettings(deps.store);
	const sla = new Sla(deps.store, deps.events, clock, deps.businessHours);
	const presence = new AgentStatus(deps.store, deps.events, clock, deps.settings, deps.connections);
	const router = new Router({
		store: deps.store,
		clock,
		events: deps.events,
		presence,
		settings,
		sla,
		logger: deps.logger,
		assigner: {
			async assign(ticketId, agentId) {
				// Accepting opens a new ticket; the server writes as itself.
				const status = (await deps.index.get(ticketId))?.status;
				await deps.tickets.setFields(ticketId, status === 'new' ? { assigneeId: agentId, status: 'open' } : { assigneeId: agentId }, SYSTEM);
			}
		}
	});
	// Nothing runs on a timer until this node is told it leads.
	presence.standDown();
	router.standDown();
	const dashboard = new Dashboard(deps.accounts, presence, router, clock, deps.openDocuments, deps.connections);
	const stops: (() => void)[] = [];
	let lookingAgain: NodeJS.Timeout | null = null;
	const standDown = () => {
		if (lookingAgain) clearInterval(lookingAgain);
		lookingAgain = null;
		presence.standDown();
		router.standDown();
		sla.close();
	};
	return {
		settings,
		sla,
		presence,
		router,
		dashboard,
		/**
		 * One agent's live routing events for their workspace stream: every colleague's `status`
		 * and the agent's pending `offer`s first, then `offer`, `offer.withdrawn`, `assigned` and
		 * `status` as they happen on any node. While followed, the agent counts as connected (from
		 * the call on). Returns the stop.
		 */
		follow(userId: string, send: (name: string, data: unknown) => void): () => void {
			const connected = presence.connect(userId);
			const stopStatus = presence.feed.watch((p) => send('status', p));
			const stopRouting = router.feed.watch((e) => {
				if (e.agentId !== userId) return;
				if (e.type === 'offer') send('offer', e.offer);
				else if (e.type === 'offer.withdrawn') send('offer.withdrawn', { offerId: e.offerId, itemId: e.itemId, reason: e.reason });
				else send('assigned', { itemId: e.item.id, kind: e.item.kind, ref: e.item.ref, ticketId: e.item.ticketId, channel: e.item.channel });
			});
			const first = (async () => {
				await connected;
				for (const p of await presence.all()) send('status', p);
				for (const offer of await router.offersFor(userId)) send('offer', offer);
			})();
			first.catch((error: unknown) => deps.logger.error({ err: error, userId }, 'starting the routing stream failed'));
			return () => {
				stopStatus();
				stopRouting();
				connected.then(
					(release) => release(),
					() => {}
				);
			};
		},
		/** Follows status changes and the ticket index; leads when told (rebuilds the queues, starts the timers). */
		async start() {
			// Caught here: agent status drops a listener that fails, and routing must keep following.
			stops.push(presence.onChange((p) => router.onPresence(p).catch((error: unknown) => deps.logger.error({ err: error, userId: p.userId }, 'routing a status change failed'))));
			stops.push(
				router.onEvent((e) => {
					// An accepted chat is served at once, also one handed over from an agent who went away:
					// the visitor is told who joined.
					if (e.type !== 'assigned' || e.item.kind !== 'ticket' || e.item.channel !== 'chat') return;
					const serve = async () => {
						const agent = await deps.accounts.principal(e.agentId);
						if (agent) await deps.chats.serve(e.item.ref, agent, { handOver: true });
					};
					serve().catch((error: unknown) => deps.logger.info({ err: error, ticketId: e.item.ref }, 'the chat was not served'));
				})
			);
			stops.push(
				deps.index.onChange((row) => {
					// Caught here: routing must keep following. The router follows each ticket's rows in order.
					router.observe(row).catch((error: unknown) => deps.logger.error({ err: error, ticketId: row.id }, 'routing a ticket failed'));
				})
			);
			stops.push(
				deps.leadership.onChange(async (leading) => {
					if (!leading) return standDown();
					await presence.lead();
					await router.lead();
					sla.start();
					if (!deps.lookAgain) return;
					const lookAgain = () =>
						Promise.all([presence.timeTheUntimed(), router.rearm()]).catch((error: unknown) => deps.logger.warn({ err: error }, 'the leader’s second look failed'));
					lookingAgain = setInterval(() => void lookAgain(), LOOK_AGAIN_MS);
					lookingAgain.unref();
				})
			);
		},
		async close() {
			for (const stop of stops.splice(0)) stop();
			standDown();
			presence.close();
			router.close();
		}
	};
}

export type Routing = ReturnType<typeof createRouting>;
