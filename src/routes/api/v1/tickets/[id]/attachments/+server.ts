import { json } from '@sveltejs/kit';
import { api, parse, requirePrincipal } from '$lib/server/api';
import { attachmentUploadQuery, mediaType } from '$lib/api/attachments';
import { tandem } from '$lib/server/tandem';
import { ApiError } from '../../../../../../../server/errors';
import type { RequestHandler } from './$types';

/**
 * Uploads one file to attach to an entry of the ticket: the raw body, `?name=` its file name,
 * `?type=` (else Content-Type) its type. 201 with its descriptor `{name, contentType, size, sha256}` for the entry's
 * `meta.attachments`; 413 past ATTACHMENT_MAX_BYTES or the ticket's ATTACHMENTS_PER_TICKET_BYTES.
 */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const principal = requirePrincipal(event);
		const { name, type } = parse(attachmentUploadQuery, Object.fromEntries(event.url.searchParams));
		const body = event.request.body;
		if (!body) throw new ApiError(400, 'empty_body', 'send the file as the request body');
		const attachment = await tandem().tickets.upload(
			event.params.id,
			{ name, contentType: mediaType(type ?? event.request.headers.get('content-type')), body: body as unknown as AsyncIterable<Uint8Array> },
			principal
		);
		return json(attachment, { status: 201 });
	});

/** The limits uploads and entries are held to, and the bytes the ticket's uploads take: `{maxBytes, perEntry, perTicketBytes, usedBytes}`. */
export const GET: RequestHandler = (event) =>
	api(async () => json(await tandem().tickets.attachmentUsage(event.params.id, requirePrincipal(event))));
