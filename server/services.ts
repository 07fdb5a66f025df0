/**
 * Tandem's services for one process: database, accounts, auth, tickets, macros, channels, Talk,
 * realtime. The SvelteKit endpoints reach them through `globalThis` (src/lib/server/tandem.ts), the
 * same object in production (server/index.ts) and in `npm run dev` (the Vite plugin).
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { Accounts } from './accounts';
import { Apps } from './apps';
import { Attachments } from './attachments';
import { Auth, signInBackoff } from './auth';
import { BulkActions } from './bulk-actions';
import { Outbox } from './channels/outbox';
import { createRouting } from './routing';
import { createRules } from './rules';
import { Chats } from './channels/chat';
import { ImapMailboxes } from './channels/imap-mailboxes';
import { SupportAddresses } from './channels/support-addresses';
import { VisitorIdentities } from './channels/visitor-identity';
import { Channels } from './channels/webhooks';
import { AccessChanges } from './auth/access-changes';
import { ApiTokens } from './auth/api-tokens';
import { Sessions } from './auth/sessions';
import { RedisBus } from './cluster/bus';
import { ClusterConnections, LocalConnections, type ConnectionCounts } from './cluster/connections';
import { FeedRelay } from './cluster/feed';
import { Leadership } from './cluster/leadership';
import { createCollab } from './collab';
import type { Config } from './config';
import { Customers } from './customers';
import { CustomFields } from './custom-fields';
import { CustomObjects } from './custom-objects';
import { Events } from './events';
import { Followers } from './followers';
import { Notices } from './notices';
import { openFileStore } from './files';
import { HelpCentre } from './help-centre';
import { InteractionHistory } from './interaction-history';
import { Limiters } from './limiters';
import type { Logger } from './log';
import { Macros } from './macros';
import { Metrics } from './metrics';
import { Surveys } from './satisfaction';
import { SavedViews } from './saved-views';
import { SnoozeAlarm } from './snooze';
import { openStore } from './storage/store';
import { Calls } from './talk/calls';
import { TalkNumbers } from './talk/numbers';
import { SimulatorProvider } from './talk/simulator';
import { TicketLog } from './storage/ticket-log';
import { TicketIndex } from './ticket-index';
import { TicketSearch } from './search';
import { Tickets } from './tickets';

export async function createServices(config: Config, logger: Logger) {
	const store = await openStore(config);
	// Open sockets and streams are re-checked after every write that may take access away, once the
	// directory of users and groups (kept by Accounts for the policy) is reloaded.
	const accessChanges = new AccessChanges(store, logger);
	const accessChanged = () => accessChanges.changed();
	const accounts = new Accounts(store, accessChanged);
	accessChanges.keep(() => accounts.load());
	await accessChanges.load();
	const events = new Events(store);
	// A cluster node's rate limits and sign-in throttles count in Redis, with the other nodes'.
	const limiters = await Limiters.of(config.cluster, logger);
	const sessions = new Sessions(store, Date.now, accessChanged);
	const tokens = new ApiTokens(store, events, accessChanged);
	const auth = new Auth(accounts, sessions, tokens, events, limiters.loginThrottle('sign-in', signInBackoff(config.loginBackoffMs)));
	const metrics = new Metrics(config.metrics.token !== null || config.metrics.port !== null);
	const log = new TicketLog(store, (seconds) => metrics.logCommitSeconds.observe(seconds));
	const index = new TicketIndex(store, events);
	const customers = new Customers(store, index, events);
	const outbox = new Outbox(store);
	// A cluster node reaches the others through Redis; one that cannot yet still starts (DESIGN.md: Redis is not the record).
	const bus = config.cluster ? new RedisBus(config.cluster.redisUrl, logger) : null;
	await bus?.connect();
	const node = `${os.hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
	const leadership = new Leadership(store, { checkMs: config.leaderCheckMs, logger });
	const connections: ConnectionCounts = bus ? new ClusterConnections(bus, node) : new LocalConnections();
	const attachments = new Attachments(store, await openFileStore(store, config.dataDir, logger), config.attachments);
	const followers = new Followers(store, index, accounts);
	const notices = new Notices(store, index);
	const customFields = new CustomFields(store, events);
	const search = new TicketSearch(store, index, log, logger, customFields);
	customers.onUpdated((customerId) => search.follow.customerChanged(customerId));
	const collab = createCollab({
		outbox,
		auth,
		accessChanges,
		index,
		log,
		events,
		logger,
		compactAfter: config.compactAfter,
		maxUpdateBytes: config.maxMessageBytes,
		directory: accounts,
		followers,
		notices,
		customerName: async (id) => (await customers.get(id))?.name ?? null,
		attachments,
		fields: customFields,
		origin: config.origin,
		metrics,
		search: search.follow,
		cluster: bus && config.cluster ? { bus, node, catchUpMs: config.cluster.catchUpMs } : null
	});
	metrics.watch({ store, connections: () => collab.hocuspocus.getConnectionsCount(), documents: () => collab.hocuspocus.getDocumentsCount(), leader: () => leadership.leading });
	const tickets = new Tickets(store, log, index, customers, accounts, events, collab.documents, attachments, customFields);
	tickets.followChildren((err, ticketId) => logger.error({ err, ticketId }, 'telling a parent ticket of its child failed'));
	tickets.onRecorded((ticketId, doc) => collab.followNotify.ticketRecorded(ticketId, doc));
	const macros = new Macros(store, events);
	const bulk = new BulkActions({ tickets, macros, customers, logger });
	const snoozes = new SnoozeAlarm({ store, index, tickets, logger });
	const savedViews = new SavedViews(store, events, search, index);
	const channels = new Channels(store, customers, tickets, events);
	const supportAddresses = new SupportAddresses(store, config.smtp.supportAddress, events);
	const imapMailboxes = new ImapMailboxes(store, supportAddresses, events);
	const identities = new VisitorIdentities(store, customers, tickets, index, outbox, events, config.chat);
	const chats = new Chats(store, customers, accounts, tickets, index, collab.documents, events, logger, identities, config.chat, limiters);
	// Asked on this node when a change it stored solves a ticket or ends a chat (see Surveys.follow).
	const surveys = new Surveys({ store, limiters, index, tickets, outbox, events, logger, chats });
	const talkNumbers = new TalkNumbers(store, events);
	// The built-in simulator is the only telephony provider so far (server/talk/provider.ts).
	const talkSimulator = new SimulatorProvider();
	const calls = new Calls({ store, tickets, index, customers, accounts, numbers: talkNumbers, provider: talkSimulator, events, logger });
	// The context panel: customer history, help centre, custom objects, apps.
	const history = new InteractionHistory(customers, index, collab.documents);
	const help = new HelpCentre(store, events);
	const objects = new CustomObjects(store, customers, index, events);
	const apps = new Apps(store, events);
	const rules = createRules({ store, events, index, tickets, accounts, customers, outbox, documents: collab.documents, notify: collab.followNotify, logger });
	const routing = createRouting({ store, events, index, tickets, accounts, chats, logger, settings: config.routing, leadership, connections, lookAgain: bus !== null, openDocuments: () => collab.hocuspocus.documents, businessHours: () => rules.store.scheduleLookup() });
	// Incoming calls are offered through the router while someone is available for them.
	calls.route(routing);
	const relay = bus ? new FeedRelay(bus, node, logger) : null;
	return {
		config, logger, store, bus, relay, node, leadership, connections, limiters, metrics, accounts, auth, attachments, accessChanges, log, index, search, events, customers, customFields, followers, notices, tickets, macros, bulk, snoozes, savedViews, surveys, collab, outbox, channels, chats, identities, supportAddresses, imapMailboxes,
		talkNumbers, talkSimulator, calls, history, help, objects, apps, routing, rules
	};
}

export type Services = Awaited<ReturnType<typeof createServices>>;

/**
 * What a serving process runs besides its listeners: in a cluster, what streams show reaches every
 * node's streams and agents' connections are counted on every node; routing follows the tickets;
 * and the node leads (runs the work to do once) when it gets the leader lock.
 */
export async function startServices({ relay, index, search, logger, routing, calls, collab, imapMailboxes, connections, leadership, snoozes, surveys, customFields, rules }: Services): Promise<void> {
	// Tickets written while no server ran (a command-line import) become searchable in the background.
	void search.follow
		.catchUp()
		.then((count) => count && logger.info({ count }, 'tickets added to the search index'))
		.catch((error: Error) => logger.error({ err: error.message }, 'search index catch-up failed'));
	surveys.follow();
	// Solves told of just before the last stop are asked about now (each once: see Surveys.offer).
	void surveys
		.catchUp()
		.then((count) => logger.info({ count }, 'satisfaction surveys caught up'))
		.catch((error: Error) => logger.error({ err: error.message }, 'satisfaction survey catch-up failed'));
	await relay?.carry(
		index.feed,
		routing.presence.feed,
		routing.router.feed,
		calls.feed,
		collab.sideNotify.feed,
		collab.followNotify.feed,
		imapMailboxes.changes,
		imapMailboxes.reports,
		// What a node caches of the settings is dropped on every node when one changes them.
		routing.settings.changed,
		routing.sla.changed,
		routing.presence.statusesChanged,
		customFields.changed,
		rules.store.changed
	);
	rules.engine.follow();
	await connections.start();
	await routing.start();
	snoozes.follow(leadership);
	rules.automations.follow(leadership);
	await leadership.start();
}

/** Stops leading (the work stops before another node can take over), then leaves the cluster's relays. */
export async function stopServices({ leadership, routing, connections, relay, snoozes, rules }: Services): Promise<void> {
	await leadership.close();
	await snoozes.close();
	await rules.automations.close();
	await rules.engine.close();
	await routing.close();
	await connections.close();
	await relay?.close();
}

export const SERVICES_KEY = Symbol.for('tandem.services');

export function provideServices(services: Services): void {
	(globalThis as Record<symbol, unknown>)[SERVICES_KEY] = services;
}
