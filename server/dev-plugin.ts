/**
 * `npm run dev`: the same services and the same websocket paths (`/collab`, `/yws/…`) on Vite's
 * dev server, one instance per process kept on globalThis so a config reload does not open a second
 * one.
 */
import type { Plugin } from 'vite';

export function tandemDev(): Plugin {
	return {
		name: 'tandem-dev',
		apply: 'serve',
		async configureServer(vite) {
			if (process.env.VITEST) return;
			// Loaded through Vite's module graph: the endpoints see the very same module instances.
			const { ensureDevServices } = (await vite.ssrLoadModule('/server/dev-services.ts')) as typeof import('./dev-services.ts');
			const { services, upgrade } = await ensureDevServices();
			// Paths that are not ours (Vite's HMR socket) are left to Vite's own listener.
			vite.httpServer?.on('upgrade', (req, socket, head) => upgrade.handleUpgrade(req, socket, head));
			vite.httpServer?.once('listening', () => {
				const address = vite.httpServer?.address();
				if (address && typeof address === 'object') services.logger.info({ port: address.port }, 'dev server with /collab and /yws');
			});
		}
	};
}
