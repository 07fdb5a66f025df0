/** The dev server's single set of services (see dev-plugin.ts). */
import { startChannelWorkers } from './channels/workers';
import { loadConfig } from './config';
import { websocketEndpoints } from './http';
import { createLogger } from './log';
import { seedIfEmpty } from './seed';
import { createServices, provideServices, SERVICES_KEY, startServices, type Services } from './services';

type Dev = { services: Services; upgrade: ReturnType<typeof websocketEndpoints> };
const DEV_KEY = Symbol.for('tandem.dev');

export async function ensureDevServices(): Promise<Dev> {
	const store = globalThis as Record<symbol, unknown>;
	if (store[DEV_KEY]) return store[DEV_KEY] as Dev;
	const config = loadConfig();
	const services = await createServices(config, createLogger(config.logLevel));
	if (config.seed) await seedIfEmpty(services);
	await startServices(services);
	await services.accessChanges.start(config.accessPollMs);
	provideServices(services);
	// SMTP in and the outbox, as under `npm start` (they stop with the dev process).
	await startChannelWorkers(services);
	await services.calls.recover();
	const dev = { services: store[SERVICES_KEY] as Services, upgrade: websocketEndpoints(services.collab.hocuspocus, config) };
	store[DEV_KEY] = dev;
	return dev;
}
