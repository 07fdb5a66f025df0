/**
 * How much a peer may make a ticket hold: every part of the document a peer can grow has a cap
 * here, one place that the update checker, the server and the workspace UI (to warn early) share.
 * Past a cap a change is refused as a whole with REJECT.limitExceeded and a message naming the
 * limit; what a ticket already holds beyond a cap (written before a cap existed) stays readable,
 * and a change that shrinks it is accepted.
 */
import { MAX_BODY_BYTES, MAX_TAGS } from './schema';

export const LIMITS = {
	/** A draft becomes an entry body, which holds at most MAX_BODY_BYTES: no draft needs more characters. */
	draftTextLength: MAX_BODY_BYTES,
	draftsPerTicket: 50,
	sidesPerTicket: 100,
	participantsPerSide: 50,
	tagsPerTicket: MAX_TAGS,
	/**
	 * The stored size of a ticket (snapshot plus log since), in bytes. Past it a peer's update is
	 * accepted only when all it adds is conversation entries (each bounded by the entry schema), so
	 * a full ticket still takes replies; server-side writes (mail, chat, HTTP) are never refused
	 * for it.
	 */
	documentBytes: 16 * 1024 * 1024,
	/** One awareness state as a peer publishes it, JSON-encoded. */
	awarenessStateBytes: 4 * 1024,
	/** Awareness client ids one connection may speak for (a tab has one; a reload gets a new connection). */
	awarenessClientsPerConnection: 4
} as const;

export type LimitName = keyof typeof LIMITS;

/** The message a refusal carries: which limit, and its value. */
export function limitMessage(name: LimitName, what: string): string {
	return `limit ${name} exceeded: ${what} at most ${LIMITS[name]}`;
}
