import { json } from '@sveltejs/kit';
import { sql } from 'drizzle-orm';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/**
 * Liveness and a database round trip, for load balancers and monitors: a database that does not
 * answer is a 503 naming it (the process stays up and answers again once the database does).
 */
export const GET: RequestHandler = async () => {
	const { store, logger } = tandem();
	try {
		await store.all(sql`SELECT 1`);
		return json({ status: 'ok', engine: store.engine, database: 'ok' });
	} catch (error) {
		logger.warn({ err: error }, 'healthz: the database does not answer');
		return json({ status: 'unavailable', engine: store.engine, database: 'unavailable' }, { status: 503 });
	}
};
