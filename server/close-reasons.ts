/**
 * Why the server refuses a websocket document or closes it: named reasons and close codes, sent
 * to the peer.
 * Reasons for refused updates come from the ticket module's checker (REJECT).
 */
export const REFUSE = {
	unauthorized: 'unauthorized',
	/** A cookie-authenticated socket opened from a page of another origin. */
	crossOrigin: 'cross-origin',
	unknownDocument: 'unknown-document',
	forbidden: 'forbidden',
	/** The principal lost the ticket while connected (signed out, disabled, regrouped, revoked, ticket moved). */
	accessRevoked: 'access-revoked',
	readOnly: 'read-only',
	tooLarge: 'update-too-large',
	storage: 'storage-unavailable',
	damaged: 'ticket-damaged'
} as const;

/**
 * Close codes of a `/yws` socket, which carries one document. 4400-4499 mirror HTTP's 4xx and
 * y-websocket clients take them as final (no reconnect); the others invite a retry.
 */
export const YWS_CLOSE = {
	unauthorized: 4401,
	/** The ticket may not be opened, or an update broke a rule: the reason says which. */
	refused: 4403,
	unknownDocument: 4404,
	tryAgainLater: 1013
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
