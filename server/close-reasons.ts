/**
 * Why the server refuses a websocket document or closes it: named reasons and close codes, sent
 * to the peer.
 * Reasons for refused updates come from the ticket module's checker (REJECT).
 */
export const REFUSE = {
	unauthorized: 'unauthorized',
	unknownDocument: 'unknown-document',
	forbidden: 'forbidden',
	readOnly: 'read-only',
	tooLarge: 'update-too-large',
	storage: 'storage-unavailable',
	damaged: 'ticket-damaged'
} as const;

/** How every websocket is closed when the server stops: clients may reconnect to its successor. */
export const SHUTDOWN = { code: 1001, reason: 'server shutting down' } as const;

/** The error shape Hocuspocus turns into a close message with `reason`. */
export function refusal(reason: string, message = reason): Error & { reason: string } {
	const error = Object.assign(new Error(message), { reason });
	// Hocuspocus prints what it catches: one line per refusal, not a stack trace a hostile peer
	// could fill the logs with.
	error.stack = `refused (${reason}): ${message}`;
	return error;
}
