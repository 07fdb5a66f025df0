/**
 * The channels' background parts of a process: the SMTP listener, the IMAP fetchers and the outbox
 * worker. In a cluster every node listens for SMTP and works the outbox (its rows are claimed one
 * node at a time); the IMAP fetchers run on the leader alone: one connection per mailbox, whose
 * after-fetch actions (flag, move, delete) no two nodes race for.
 */
import type { Services } from '../services';
import { Inbox, startEmailInbound } from './email-inbound';
import { startImapFetching } from './imap';
import { startEmailOutbound } from './outbox';

/** Starts them; each returned listener's `close` stops it (shutdown waits for work in hand). */
export async function startChannelWorkers(services: Services): Promise<{ close(): Promise<void> }[]> {
	const { config } = services;
	const email = await startEmailInbound({ ...services, config });
	const inbox = new Inbox({ ...services, config });
	const imap = services.leadership.whileLeading(() =>
		startImapFetching({
			mailboxes: services.imapMailboxes,
			supportAddresses: services.supportAddresses,
			inbox,
			events: services.events,
			logger: services.logger,
			settings: { ...config.imap, maxEmailBytes: config.smtp.maxEmailBytes }
		})
	);
	const outbound = startEmailOutbound({ ...services, documents: services.collab.documents, config });
	return [email, imap, outbound, services.chats];
}
