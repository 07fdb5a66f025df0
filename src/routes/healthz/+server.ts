import { json } from '@sveltejs/kit';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** Liveness and a database round trip, for load balancers and monitors. */
export const GET: RequestHandler = () => {
	tandem().db.$client.prepare('SELECT 1').get();
	return json({ status: 'ok' });
};
