/** The running process's services (server/services.ts), for endpoints and page loads. */
import type { Services } from '../../../server/services';

const SERVICES_KEY = Symbol.for('tandem.services');

export function tandem(): Services {
	const services = (globalThis as Record<symbol, unknown>)[SERVICES_KEY] as Services | undefined;
	if (!services) throw new Error('Tandem services are not running: start with `npm start` or `npm run dev`');
	return services;
}
