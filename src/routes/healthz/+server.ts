import { json } from '@sveltejs/kit';
import { sql } from 'drizzle-orm';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/**
 * Liveness and a database round trip, for load balancers and monitors: a database that does not
 * answer is a 503 naming it (the process stays up and answers again once the database does).
 * `role` says whether this node is the leader (runs the work to do once) or a follower; `node`
 * names it as its logs and metrics do.
 */
export const GET: RequestHandler = async () => {
	const { store, logger, leadership, node } = tandem();
	const role = leadership.leading ? 'leader' : 'follower';
	try {
		await store.all(sql`SELECT 1`);
		return json({ status: 'ok', engine: store.engine, database: 'ok', role, node });
	} catch (error) {
		logger.warn({ err: error }, 'healthz: the database does not answer');
		return json({ status: 'unavailable', engine: store.engine, database: 'unavailable', role, node }, { status: 503 });
	}
};
