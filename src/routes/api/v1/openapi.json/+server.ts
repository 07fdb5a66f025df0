import { openApiDocument } from '$lib/api/openapi';
import type { RequestHandler } from './$types';

/** Built once per process: the schemas do not change while it runs. */
let cached: string | undefined;

/** The OpenAPI 3.1 description of this API; public, like the page at `/api` that renders it. */
export const GET: RequestHandler = () => {
	cached ??= JSON.stringify(openApiDocument());
	return new Response(cached, { headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'public, max-age=300' } });
};
