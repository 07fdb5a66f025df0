/**
 * Tandem's services for one process: database, accounts, auth, tickets, macros, realtime. The
 * SvelteKit endpoints reach them through `globalThis` (src/lib/server/tandem.ts), the same object
 * in production (server/index.ts) and in `npm run dev` (the Vite plugin).
 */
import { Accounts } from './accounts';
import { Auth } from './auth';
import { Outbox } from './channels/outbox';
import { createRouting } from './routing';
import { Chats } from './channels/chat';
import { Channels } from './channels/webhooks';
import { ApiTokens } from './auth/api-tokens';
import { Sessions } from './auth/sessions';
import { createCollab } from './collab';
import type { Config } from './config';
import { Customers } from './customers';
import { Events } from './events';
import type { Logger } from './log';
import { Macros } from './macros';
import { openDatabase } from './storage/database';
import { TicketLog } from './storage/ticket-log';
import { TicketIndex } from './ticket-index';
import { Tickets } from './tickets';

export function createServices(config: Config, logger: Logger) {
	const db = openDatabase(config.databaseFile);
	const accounts = new Accounts(db);
	const events = new Events(db);
	const auth = new Auth(accounts, new Sessions(db), new ApiTokens(db, events), events);
	const log = new TicketLog(db.$client);
	const index = new TicketIndex(db, events);
	const customers = new Customers(db);
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
	const chats = new Chats(db, customers, accounts, tickets, index, collab.documents, events, logger, config.chat);
	const routing = createRouting({ db, events, index, tickets, accounts, chats, logger, settings: config.routing, openDocuments: () => collab.hocuspocus.documents });
	return { config, logger, db, accounts, auth, log, index, events, customers, tickets, macros, collab, outbox, channels, chats, routing };
}

export type Services = ReturnType<typeof createServices>;

export const SERVICES_KEY = Symbol.for('tandem.services');

export function provideServices(services: Services): void {
	(globalThis as Record<symbol, unknown>)[SERVICES_KEY] = services;
}
