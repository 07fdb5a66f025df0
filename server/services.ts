/**
 * Tandem's services for one process: database, accounts, auth, tickets, macros, channels, Talk,
 * realtime. The SvelteKit endpoints reach them through `globalThis` (src/lib/server/tandem.ts), the
 * same object in production (server/index.ts) and in `npm run dev` (the Vite plugin).
 */
import { Accounts } from './accounts';
import { Apps } from './apps';
import { Auth } from './auth';
import { Outbox } from './channels/outbox';
import { createRouting } from './routing';
import { Chats } from './channels/chat';
import { SupportAddresses } from './channels/support-addresses';
import { VisitorIdentities } from './channels/visitor-identity';
import { Channels } from './channels/webhooks';
import { ApiTokens } from './auth/api-tokens';
import { Sessions } from './auth/sessions';
import { DEFAULT_THROTTLE, LoginThrottle } from './auth/throttle';
import { createCollab } from './collab';
import type { Config } from './config';
import { Customers } from './customers';
import { CustomObjects } from './custom-objects';
import { Events } from './events';
import { HelpCentre } from './help-centre';
import { InteractionHistory } from './interaction-history';
import type { Logger } from './log';
import { Macros } from './macros';
import { openDatabase } from './storage/database';
import { Calls } from './talk/calls';
import { TalkNumbers } from './talk/numbers';
import { SimulatorProvider } from './talk/simulator';
import { TicketLog } from './storage/ticket-log';
import { TicketIndex } from './ticket-index';
import { Tickets } from './tickets';

export function createServices(config: Config, logger: Logger) {
	const db = openDatabase(config.databaseFile);
	const accounts = new Accounts(db);
	const events = new Events(db);
	const throttle = { ...DEFAULT_THROTTLE, baseDelayMs: config.loginBackoffMs };
	const auth = new Auth(accounts, new Sessions(db), new ApiTokens(db, events), events, new LoginThrottle(throttle), new LoginThrottle({ ...throttle, freeFailures: 10 }));
	const log = new TicketLog(db.$client);
	const index = new TicketIndex(db, events);
	const customers = new Customers(db, events);
	const outbox = new Outbox(db.$client);
	const collab = createCollab({
		outbox,
		auth,
		index,
		log,
		events,
		logger,
		compactAfter: config.compactAfter,
		maxUpdateBytes: config.maxMessageBytes,
		canHoldTickets: (userId: string) => accounts.canHoldTickets(userId)
	});
	const tickets = new Tickets(db, log, index, customers, accounts, events, collab.documents);
	const macros = new Macros(db, events);
	const channels = new Channels(db, customers, tickets, events);
	const supportAddresses = new SupportAddresses(db, config.smtp.supportAddress, events);
	const identities = new VisitorIdentities(db, customers, tickets, index, outbox, events, config.chat);
	const chats = new Chats(db, customers, accounts, tickets, index, collab.documents, events, logger, identities, config.chat);
	const talkNumbers = new TalkNumbers(db, events);
	// The built-in simulator is the only telephony provider so far (server/talk/provider.ts).
	const talkSimulator = new SimulatorProvider();
	const calls = new Calls({ sqlite: db.$client, tickets, index, customers, accounts, numbers: talkNumbers, provider: talkSimulator, events, logger });
	// The context panel: customer history, help centre, custom objects, apps.
	const history = new InteractionHistory(customers, index, collab.documents);
	const help = new HelpCentre(db, events);
	const objects = new CustomObjects(db, customers, index, events);
	const apps = new Apps(db, events);
	const routing = createRouting({ db, events, index, tickets, accounts, chats, logger, settings: config.routing, openDocuments: () => collab.hocuspocus.documents });
	// Incoming calls are offered through the router while someone is available for them.
	calls.route(routing);
	return {
		config, logger, db, accounts, auth, log, index, events, customers, tickets, macros, collab, outbox, channels, chats, identities, supportAddresses,
		talkNumbers, talkSimulator, calls, history, help, objects, apps, routing
	};
}

export type Services = ReturnType<typeof createServices>;

export const SERVICES_KEY = Symbol.for('tandem.services');

export function provideServices(services: Services): void {
	(globalThis as Record<symbol, unknown>)[SERVICES_KEY] = services;
}
