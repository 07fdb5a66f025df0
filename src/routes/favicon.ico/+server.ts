// Browsers ask for /favicon.ico on their own. It is served here, not from static/, because the
// static file server sends no content type for .ico (and every response is `nosniff`).
import icon from '$lib/assets/favicon.ico?inline';
import type { RequestHandler } from './$types';

const bytes = Buffer.from(icon.slice(icon.indexOf(',') + 1), 'base64');

export const GET: RequestHandler = () =>
	new Response(bytes, { headers: { 'content-type': 'image/x-icon', 'cache-control': 'public, max-age=86400' } });
