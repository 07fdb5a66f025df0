import { api, parse, requirePrincipal } from '$lib/server/api';
import { sha256Param } from '$lib/api/attachments';
import { tandem } from '$lib/server/tandem';
import type { RequestEvent } from './$types';

/**
 * Downloads an attachment an entry of the ticket lists, to a principal who may see that entry;
 * 404 for anyone else, as for a file no entry lists. Single byte ranges are served (206).
 */
const download = (event: RequestEvent, withBody: boolean) =>
	api(async () => {
		const principal = requirePrincipal(event);
		const sha256 = parse(sha256Param, event.params.sha256);
		const { tickets, attachments } = tandem();
		const listed = await tickets.attachment(event.params.id, sha256, principal);
		return attachments.download(listed, event.request.headers.get('range'), withBody);
	});

export const GET = (event: RequestEvent) => download(event, true);
export const HEAD = (event: RequestEvent) => download(event, false);
