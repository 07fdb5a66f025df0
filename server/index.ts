/** Tandem's process: configuration, database and services, the web app, listen. */
import { startChannelWorkers } from './channels/workers';
import { ConfigError, loadConfig } from './config';
import { createHttpServer, oneLine } from './http';
import { handleShutdown, listen, loadSvelteKit } from './lifecycle';
import { createLogger } from './log';
import { serveMetrics } from './metrics';
import { announce, seedIfEmpty } from './seed';
import { createServices, provideServices, startServices, stopServices } from './services';

/** A bad setting (or a port another program holds) ends the start with its message, not a stack trace. */
function exitOnConfigError(error: unknown): never {
	if (!(error instanceof ConfigError)) throw error;
	console.error(error.message);
	process.exit(1);
}

let config;
try {
	config = loadConfig();
} catch (error) {
	exitOnConfigError(error);
}

const logger = createLogger(config.logLevel);
// Defence in depth: every request and socket is guarded where it is handled (server/http.ts); a
// promise that still escapes is logged instead of ending the process for everyone.
process.on('unhandledRejection', (error) => logger.error({ err: oneLine(error) }, 'unhandled rejection'));
const services = await createServices(config, logger);
const seeded = config.seed ? await seedIfEmpty(services) : false;
provideServices(services);
// Calls that ended while their entry could not be stored (or just before a stop) get it now.
await services.calls.recover();

const { handler } = await loadSvelteKit(config);
const { server, closeSockets } = createHttpServer(services.collab.hocuspocus, handler, config, logger);
const url = await listen(server, config).catch(exitOnConfigError);
// Survey mails link to the workspace as customers reach it: ORIGIN, else where this process listens.
services.surveys.linksTo(config.origin ?? url);
const workers = await startChannelWorkers(services).catch(exitOnConfigError);
const metricsPort = config.metrics.port === null ? [] : [await serveMetrics(services.metrics, { ...config.metrics, port: config.metrics.port }, logger).catch(exitOnConfigError)];
await startServices(services);
const accessPoll = await services.accessChanges.start(config.accessPollMs);
handleShutdown(server, closeSockets, services, [...workers, ...metricsPort, { close: () => stopServices(services) }, accessPoll]);
logger.info({ url, dataDir: config.dataDir, seeded }, 'listening');
await announce(url, services);
