import { error, text } from '@sveltejs/kit';
import { tandem } from '$lib/server/tandem';
import { metricsAccess } from '../../../server/metrics';
import type { RequestHandler } from './$types';

/** Prometheus metrics on the main port, for holders of METRICS_TOKEN (server/metrics.ts). */
export const GET: RequestHandler = async ({ request }) => {
	const { config, metrics } = tandem();
	const access = metricsAccess(config.metrics.token, request.headers.get('authorization'));
	if (access === 'off') error(404, 'Not found');
	if (access === 'unauthorized') return text('a bearer token (METRICS_TOKEN) is needed\n', { status: 401, headers: { 'www-authenticate': 'Bearer' } });
	const { contentType, body } = await metrics.exposition();
	return text(body, { headers: { 'content-type': contentType, 'cache-control': 'no-store' } });
};
