/**
 * A Tandem server inside the test process: the same services, http server and websocket path as
 * server/index.ts, on a port chosen by the OS, for tests that need the server's own database
 * handle (for example to make its writes fail).
 */
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../server/config';
import { createHttpServer } from '../../server/http';
import { listen, loadSvelteKit } from '../../server/lifecycle';
import { createLogger } from '../../server/log';
import { createServices, provideServices, type Services } from '../../server/services';
import { databaseEnv } from './server';

export async function startInProcess(dataDir: string, env: Record<string, string> = {}) {
	const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, SEED: '0', ...(await databaseEnv(dataDir)), ...env });
	const services: Services = await createServices(config, createLogger('silent'));
	provideServices(services);
	const { handler } = await loadSvelteKit(config);
	const { server, closeSockets } = createHttpServer(services.collab.hocuspocus, handler, config, services.logger);
	const url = await listen(server, config);
	return {
		url,
		wsUrl: url.replace(/^http/, 'ws') + '/collab',
		dataDir,
		port: (server.address() as AddressInfo).port,
		services,
		async close() {
			closeSockets();
			services.collab.hocuspocus.closeConnections();
			await new Promise((resolve) => server.close(resolve));
			await services.bus?.close();
			await services.limiters.close();
			await services.store.close();
		}
	};
}
