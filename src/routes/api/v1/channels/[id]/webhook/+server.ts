import { json } from '@sveltejs/kit';
import { api, parse, parseJsonText, readText } from '$lib/server/api';
import { webhookEventSchema } from '$lib/api/schemas';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/**
 * A messaging or social platform's message, authenticated by its signature (no bearer token):
 * 401 for a missing or wrong signature or a stale timestamp, with nothing stored.
 */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const { channels } = tandem();
		const raw = await readText(event.request);
		const headers = event.request.headers;
		const channel = await channels.authenticate(event.params.id, headers.get('x-tandem-timestamp'), headers.get('x-tandem-signature'), raw);
		const input = parse(webhookEventSchema, parseJsonText(raw));
		return json(await channels.receive(channel, input));
	});
