/** Tandem's process: configuration, database and services, the web app, listen. */
import { startEmailInbound } from './channels/email-inbound';
import { startEmailOutbound } from './channels/outbox';
import { ConfigError, loadConfig } from './config';
import { createHttpServer } from './http';
import { handleShutdown, listen, loadSvelteKit } from './lifecycle';
import { createLogger } from './log';
import { announce, seedIfEmpty } from './seed';
import { createServices, provideServices } from './services';

let config;
try {
	config = loadConfig();
} catch (error) {
	if (!(error instanceof ConfigError)) throw error;
	console.error(error.message);
	process.exit(1);
}

const logger = createLogger(config.logLevel);
const services = createServices(config, logger);
const seeded = config.seed ? await seedIfEmpty(services) : false;
provideServices(services);

const { handler } = await loadSvelteKit(config);
const { server, closeSockets } = createHttpServer(services.collab.hocuspocus, handler, config, logger);
const url = await listen(server, config);
const email = await startEmailInbound({ ...services, config });
const outbound = startEmailOutbound({ ...services, sqlite: services.db.$client, documents: services.collab.documents, config });
services.routing.start();
handleShutdown(server, closeSockets, services, [email, outbound, services.chats, services.routing]);
logger.info({ url, dataDir: config.dataDir, seeded }, 'listening');
announce(url, services);
