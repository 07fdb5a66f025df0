/** The channels' background parts of a process: the SMTP listener and the outbox worker. */
import type { Services } from '../services';
import { startEmailInbound } from './email-inbound';
import { startEmailOutbound } from './outbox';

/** Starts them; each returned listener's `close` stops it (shutdown waits for work in hand). */
export async function startChannelWorkers(services: Services): Promise<{ close(): Promise<void> }[]> {
	const { config } = services;
	const email = await startEmailInbound({ ...services, config });
	const outbound = startEmailOutbound({ ...services, sqlite: services.db.$client, documents: services.collab.documents, config });
	return [email, outbound, services.chats];
}
