/**
 * Attachment uploads and downloads over HTTP (`/api/v1/tickets/{id}/attachments`): what the
 * request may say, checked once here. The file's bytes are the raw request body, its name the
 * `name` query parameter and its type the `type` query parameter or else the Content-Type header.
 */
import { z } from 'zod';
import { attachmentSchema } from '../ticket/schema';

/** Uploaded names are cut to this many UTF-16 units (a descriptor allows 255), never within a character. */
const MAX_NAME_CHARS = 200;
export const FALLBACK_TYPE = 'application/octet-stream';

/** A file name as shown and sent: no directories, no control characters, at most MAX_NAME_CHARS. */
export function safeFileName(raw: string): string {
	const base = raw.split(/[/\\]/).pop() ?? '';
	let name = '';
	for (const character of base.replace(/[\u0000-\u001f\u007f]+/g, '').trim()) {
		if (name.length + character.length > MAX_NAME_CHARS) break;
		name += character;
	}
	return name.trim().replace(/^\.+$/, '') || 'attachment';
}

/** The media type of a Content-Type header without parameters, or application/octet-stream. */
export function mediaType(header: string | null): string {
	const type = (header ?? '').split(';')[0]!.trim().toLowerCase();
	return type.length <= 100 && attachmentSchema.shape.contentType.safeParse(type).success ? type : FALLBACK_TYPE;
}

export const attachmentUploadQuery = z.object({
	/** The file's name as the agent's computer called it; any directories are dropped. */
	name: z.string().min(1).max(1000).transform(safeFileName),
	/**
	 * The file's type when the body cannot say it: SvelteKit refuses form-like Content-Types
	 * (text/plain…) on a POST that does not come from the workspace's own pages.
	 */
	type: z.string().max(200).optional()
});

export const sha256Param = z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case hex SHA-256');
