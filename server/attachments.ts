/**
 * Attachments: files uploaded by agents or received with inbound mail (channels/email-inbound.ts),
 * their bytes in the installation's file store (server/files.ts). An upload is recorded for its
 * ticket (ticket_attachments): an entry written by a user or a token may list only files uploaded
 * to its own ticket, so no one attaches (and so gets to download) another ticket's file by its hash.
 */
import { Readable } from 'node:stream';
import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { FALLBACK_TYPE, mediaType } from '../src/lib/api/attachments';
import { attachmentSchema, type Attachment, type Entry } from '../src/lib/ticket';
import type { AttachmentLimits } from './config';
import { ApiError, notFound } from './errors';
import type { FileStore } from './files';
import type { Store } from './storage/store';

const SHA256 = /^[0-9a-f]{64}$/;

/** The files uploaded to a ticket: each one's size by its SHA-256. */
export type Uploads = ReadonlyMap<string, number>;

/** Types a browser may be handed as they are: none of them can run script. Anything else is served as octet-stream. */
const SERVABLE_TYPES = /^(image\/(png|jpeg|gif|webp|avif)|application\/(pdf|zip|gzip)|text\/(plain|csv)|audio\/[a-z0-9.+-]+|video\/[a-z0-9.+-]+)$/;

/** The Content-Type a download is served with. */
export function servedType(contentType: string): string {
	const type = mediaType(contentType);
	return SERVABLE_TYPES.test(type) ? (type.startsWith('text/') ? `${type}; charset=utf-8` : type) : FALLBACK_TYPE;
}

/** `Content-Disposition: attachment` with an ASCII fallback name and the exact one (RFC 6266 / 5987). */
export function contentDisposition(name: string): string {
	const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
	const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
	return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** A listed attachment as any writer may have listed it (mail keeps a content type's parameters). */
const listedSchema = z.object({
	name: z.string(),
	contentType: z.string(),
	size: z.number(),
	sha256: z.string().regex(SHA256),
	skipped: z.literal(true).optional()
});

/** The stored files an entry lists (inbound mail may list files it skipped, the seed some without a hash). */
export function listedAttachments(entry: Entry): Attachment[] {
	const listed = entry.meta?.attachments;
	if (!Array.isArray(listed)) return [];
	return listed.flatMap((item) => {
		const parsed = listedSchema.safeParse(item);
		if (parsed.success && parsed.data.skipped) return [];
		return parsed.success ? [parsed.data] : [];
	});
}

/** Uploads to tickets: storing them within the limits, and what entries may list. */
export class Attachments {
	constructor(
		private readonly database: Store,
		readonly files: FileStore,
		readonly limits: AttachmentLimits
	) {}

	/**
	 * Stores an upload for `ticketId` by `actor` (the caller has checked they may write the ticket)
	 * and records it; refuses (413) past the file or ticket limit while it streams in.
	 */
	async upload(ticketId: string, actor: string, input: { name: string; contentType: string; body: AsyncIterable<Uint8Array> }): Promise<Attachment> {
		const { maxBytes, perTicketBytes } = this.limits;
		const staged = await this.files.stage(input.body, maxBytes);
		if (!staged) throw new ApiError(413, 'attachment_too_large', `a file may be at most ${sizeText(maxBytes)}`);
		const row = { ticketId, sha256: staged.sha256, uploadedBy: actor, name: input.name, contentType: input.contentType, size: staged.size, createdAt: Date.now() };
		// The ticket's total is known only now (a file it already has costs nothing more). Decided
		// under the ticket's row lock: concurrent uploads to one ticket are counted one after another.
		const { tickets, ticketAttachments } = this.database.tables;
		const room = await this.database.transaction(async (tx) => {
			await this.database.lock(tx, tickets, eq(tickets.id, ticketId));
			if (await this.uploaded(ticketId, staged.sha256)) return null;
			const left = perTicketBytes - (await this.bytesOf(ticketId));
			if (staged.size <= left) await tx.insert(ticketAttachments).values(row);
			return staged.size <= left ? null : left;
		}).catch(async (error) => {
			await this.files.discard(staged);
			throw error;
		});
		if (room !== null) {
			await this.files.discard(staged);
			throw new ApiError(413, 'ticket_attachments_full', `this ticket's attachments may take ${sizeText(perTicketBytes)} in all; ${sizeText(Math.max(0, room))} is left`);
		}
		// Stored once recorded, outside the ticket's lock (a large file takes a while to write); should
		// it fail, the same upload again finds the record and stores the bytes.
		await this.files.keep(staged);
		return { name: row.name, contentType: row.contentType, size: row.size, sha256: row.sha256 };
	}

	/**
	 * The download of a listed attachment: the whole file (200), or the one byte range asked for
	 * (206; 416 when the file has no such bytes; several ranges get the whole file). Served so that
	 * no browser renders it: as an attachment, with a type that cannot run script, not sniffed.
	 */
	async download(attachment: Attachment, range: string | null, withBody: boolean): Promise<Response> {
		const size = await this.files.sizeOf(attachment.sha256);
		if (size === null) throw notFound('attachment');
		const headers = new Headers({
			'content-type': servedType(attachment.contentType),
			'content-disposition': contentDisposition(attachment.name),
			'x-content-type-options': 'nosniff',
			'content-security-policy': "default-src 'none'; sandbox",
			'cache-control': 'private, no-store',
			'accept-ranges': 'bytes',
			etag: `"${attachment.sha256}"`
		});
		let bytes = size > 0 ? { start: 0, end: size - 1 } : null;
		let status = 200;
		const asked = range ? byteRange(range, size) : undefined;
		if (asked === null) {
			headers.set('content-range', `bytes */${size}`);
			return new Response(null, { status: 416, headers });
		}
		if (asked) {
			bytes = asked;
			status = 206;
			headers.set('content-range', `bytes ${asked.start}-${asked.end}/${size}`);
		}
		headers.set('content-length', String(bytes ? bytes.end - bytes.start + 1 : 0));
		const body = withBody && bytes ? (Readable.toWeb(Readable.from(this.files.read(attachment.sha256, bytes))) as ReadableStream<Uint8Array>) : null;
		return new Response(body, { status, headers });
	}

	/** The limits, and what `ticketId`'s uploads take of its total: what the composer tells agents before they hit them. */
	async usage(ticketId: string): Promise<AttachmentLimits & { usedBytes: number }> {
		return { ...this.limits, usedBytes: await this.bytesOf(ticketId) };
	}

	/** The files uploaded to `ticketId`: their sizes by hash (what `refused` checks entries against). */
	async uploadsOf(ticketId: string): Promise<Uploads> {
		const { ticketAttachments } = this.database.tables;
		const rows = await this.database.db.select({ sha256: ticketAttachments.sha256, size: ticketAttachments.size }).from(ticketAttachments).where(eq(ticketAttachments.ticketId, ticketId));
		return new Map(rows.map((r) => [r.sha256, r.size]));
	}

	/**
	 * Null when a user's or token's entry may carry the attachments it lists, given the ticket's
	 * `uploads` (see uploadsOf), else why not (in words).
	 */
	refused(uploads: Uploads, entry: Entry): string | null {
		if (!entry.meta || !('attachments' in entry.meta)) return null;
		const { perEntry } = this.limits;
		const parsed = z.array(attachmentSchema).safeParse(entry.meta.attachments);
		if (!parsed.success) {
			const issue = parsed.error.issues[0]!;
			return `meta.attachments.${issue.path.join('.')}: ${issue.message}`;
		}
		if (parsed.data.length > perEntry) return `an entry may carry at most ${perEntry} attachments`;
		for (const attachment of parsed.data) {
			const size = uploads.get(attachment.sha256);
			if (size === undefined) return `${attachment.name} was not uploaded to this ticket`;
			if (size !== attachment.size) return `${attachment.name} is listed with a size other than the uploaded file's`;
			if (attachment.skipped) return `${attachment.name} was uploaded: it is not skipped`;
		}
		return null;
	}

	private async uploaded(ticketId: string, sha256: string): Promise<boolean> {
		const { ticketAttachments } = this.database.tables;
		const [row] = await this.database.db
			.select({ size: ticketAttachments.size })
			.from(ticketAttachments)
			.where(and(eq(ticketAttachments.ticketId, ticketId), eq(ticketAttachments.sha256, sha256)))
			.limit(1);
		return !!row;
	}

	private async bytesOf(ticketId: string): Promise<number> {
		const { ticketAttachments } = this.database.tables;
		const [row] = await this.database.db
			.select({ bytes: sql<number>`coalesce(sum(${ticketAttachments.size}), 0)` })
			.from(ticketAttachments)
			.where(eq(ticketAttachments.ticketId, ticketId));
		return Number(row?.bytes ?? 0);
	}
}

/**
 * The one byte range a Range header asks for within `size` bytes: undefined when it asks for none
 * this serves (not bytes, several ranges, malformed: the whole file), null when unsatisfiable.
 */
function byteRange(header: string, size: number): { start: number; end: number } | null | undefined {
	const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
	if (!match || (!match[1] && !match[2])) return undefined;
	const [first, last] = [match[1] ? Number(match[1]) : null, match[2] ? Number(match[2]) : null];
	if (first === null) {
		// A suffix: the last `last` bytes.
		if (last === 0 || size === 0) return null;
		return { start: Math.max(0, size - last!), end: size - 1 };
	}
	if (first >= size || (last !== null && last < first)) return null;
	return { start: first, end: Math.min(last ?? size - 1, size - 1) };
}

/** A size for people: `25 MB`, `640 KB`. */
function sizeText(bytes: number): string {
	if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
	const value = bytes / (1024 * 1024);
	return `${Number.isInteger(value) ? value : value.toFixed(1)} MB`;
}
