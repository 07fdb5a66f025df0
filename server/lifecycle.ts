/** Starting and stopping the process: SvelteKit's handler, listening, graceful shutdown. */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { ConfigError, httpUrl, type Config } from './config';
import { RESOLVED } from './forwarded';
import { SVELTEKIT_HANDLER } from './paths';
import type { Services } from './services';

/** The SvelteKit app built by `vite build` (adapter-node's handler). */
export async function loadSvelteKit(config: Config) {
	// adapter-node reads its body limit when the handler loads; ours is checked per endpoint (an
	// upload's while it streams in, so the limit must leave room for the largest attachment).
	process.env.BODY_SIZE_LIMIT ??= String(Math.max(config.maxMessageBytes * 2, config.attachments.maxBytes + 64 * 1024));
	// The scheme, host and client address come from headers server/http.ts sets on every request
	// (from the socket, or a trusted proxy's X-Forwarded-*), never from what a client claims.
	process.env.PROTOCOL_HEADER = RESOLVED.proto;
	process.env.HOST_HEADER = RESOLVED.host;
	process.env.ADDRESS_HEADER = RESOLVED.address;
	if (config.origin) process.env.ORIGIN = config.origin;
	else delete process.env.ORIGIN;
	const file = SVELTEKIT_HANDLER;
	try {
		return (await import(pathToFileURL(file).href)) as { handler: Parameters<typeof import('./http').createHttpServer>[1] };
	} catch (error) {
		throw new Error(`the web app is not built (${file}): run \`npm run build\` or \`npm start\`. ${(error as Error).message}`);
	}
}

/**
 * Why a listener could not take its address, as a configuration error naming the setting to change
 * (a taken port is the usual case: another Tandem, or another program, holds it).
 */
export function listenError(setting: 'PORT' | 'SMTP_PORT' | 'METRICS_PORT', host: string, port: number, error: NodeJS.ErrnoException): ConfigError {
	const reasons: Record<string, string> = {
		EADDRINUSE: 'is already in use by another program',
		EACCES: 'may not be listened on by this user',
		EADDRNOTAVAIL: 'is not an address of this machine'
	};
	const reason = reasons[error.code ?? ''] ?? `cannot be listened on (${error.code ?? error.message})`;
	return new ConfigError(`${setting}=${port}: ${host}:${port} ${reason}; set ${setting} to a free port`);
}

export function listen(server: http.Server, config: Config): Promise<string> {
	return new Promise((resolve, reject) => {
		server.once('error', (error) => reject(listenError('PORT', config.host, config.port, error)));
		server.listen(config.port, config.host, () => {
			resolve(httpUrl(config.host, (server.address() as AddressInfo).port));
		});
	});
}

/**
 * Closes the ticket documents' peers and finishes what the loaded documents still owe the
 * database (their projections, compactions): before the store closes, on a stop and at the end of
 * a CLI command that wrote tickets.
 */
export async function settleDocuments(services: Pick<Services, 'collab'>): Promise<void> {
	const { hocuspocus, project } = services.collab;
	hocuspocus.closeConnections();
	hocuspocus.flushPendingStores();
	// A document without peers unloads once its store has run, projecting on the way out: let those
	// finish while the database is open (bounded: a document still held open is flushed below).
	const until = Date.now() + SETTLE_MS;
	while (hocuspocus.documents.size > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
	for (const name of [...hocuspocus.documents.keys()]) await project.flush(name);
	await hocuspocus.hooks('onDestroy', { instance: hocuspocus });
}
const SETTLE_MS = 5_000;
const SETTLE_POLL_MS = 20;

/** How long a stop waits for the database's connections to be returned before it ends the process. */
const STORE_CLOSE_MS = 5_000;

/** On SIGTERM/SIGINT: stop accepting, close peers, flush projections, close the database. */
export function handleShutdown(server: http.Server, closeSockets: () => void, services: Services, listeners: { close(): Promise<void> }[] = []) {
	let stopping = false;
	const stop = async (signal: string) => {
		if (stopping) return;
		stopping = true;
		services.logger.info({ signal }, 'shutting down');
		server.close();
		closeSockets();
		// Other listeners (SMTP in, the email outbox worker): stop taking new work; a message being
		// stored or sent finishes first.
		await Promise.all(listeners.map((l) => l.close().catch(() => {})));
		await settleDocuments(services);
		await services.bus?.close();
		await services.limiters.close();
		// Everything acknowledged is committed already: a connection still held (a request cut off
		// mid-query) must not keep the process from ending.
		const closed = await Promise.race([services.store.close().then(() => true), new Promise<false>((resolve) => setTimeout(resolve, STORE_CLOSE_MS, false).unref())]);
		if (!closed) services.logger.warn({ waitedMs: STORE_CLOSE_MS }, 'the database did not close in time; stopping anyway');
		services.logger.info('stopped');
		process.exit(0);
	};
	process.on('SIGTERM', () => void stop('SIGTERM'));
	process.on('SIGINT', () => void stop('SIGINT'));
}
