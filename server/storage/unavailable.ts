/**
 * Telling "the database did not answer" from "the query was wrong", on either engine. The first
 * is the caller's cue to come back later (HTTP 503, `storage-unavailable`); the second is a bug
 * or a refusal and must not be dressed up as an outage. No imports: the SvelteKit bundle uses it
 * too, on errors thrown by modules it does not share (matched by shape, not by class).
 */

interface ErrorLike {
	name?: unknown;
	code?: unknown;
	message?: unknown;
	cause?: unknown;
}

/** Sockets that could not reach, or lost, the database server. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * PostgreSQL SQLSTATEs of a server that is away or overloaded: connection exceptions (class 08),
 * too many connections, a statement cancelled by its timeout, shutting down or not yet started.
 */
const POSTGRES_CODES = new Set(['53300', '57014', '57P01', '57P02', '57P03']);

/** SQLite: the file is locked by another process, unreadable, or its disk is full. */
const SQLITE_CODES = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY)/;

/** What node-postgres and its pool say when a connection breaks or never comes, and the client's own read timeout. */
const DRIVER_MESSAGES = ['Connection terminated', 'timeout exceeded when trying to connect', 'Query read timeout', 'is not queryable'];

/** Whether `error`, or an error it was caused by, says the database could not be reached or did not answer. */
export function isDatabaseUnavailable(error: unknown): boolean {
	let e = error as ErrorLike | undefined;
	for (let depth = 0; e && typeof e === 'object' && depth < 8; depth++, e = e.cause as ErrorLike | undefined) {
		if (e.name === 'StorageError') return true;
		const code = typeof e.code === 'string' ? e.code : '';
		if (NETWORK_CODES.has(code) || POSTGRES_CODES.has(code) || code.startsWith('08') || SQLITE_CODES.test(code)) return true;
		const message = typeof e.message === 'string' ? e.message : '';
		if (DRIVER_MESSAGES.some((m) => message.includes(m))) return true;
	}
	return false;
}
