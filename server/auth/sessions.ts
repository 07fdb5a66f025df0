/**
 * Sessions as Lucia describes them: a random token in the browser's cookie, its SHA-256 as the
 * session id in the database, 30 days, extended when half used.
 */
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../storage/database';
import { sessions } from '../../drizzle/schema';
import { hashToken, randomToken } from './secrets';

export const SESSION_COOKIE = 'tandem_session';
const DAY = 24 * 60 * 60 * 1000;
export const SESSION_LIFETIME_MS = 30 * DAY;

export interface Session {
	id: string;
	userId: string;
	expiresAt: number;
}

export class Sessions {
	// Checked on every request and websocket connection: prepared once.
	private readonly byId;

	constructor(
		private readonly db: Db,
		private readonly now: () => number = Date.now,
		/** Told after sessions ended, so open sockets and streams are re-checked at once. */
		private readonly accessChanged: () => void = () => {}
	) {
		this.byId = db.select().from(sessions).where(eq(sessions.id, sql.placeholder('id'))).prepare();
	}

	create(userId: string): { token: string; session: Session } {
		const token = randomToken();
		const session = { id: hashToken(token), userId, expiresAt: this.now() + SESSION_LIFETIME_MS };
		this.db.insert(sessions).values({ ...session, createdAt: this.now() }).run();
		return { token, session };
	}

	/** The live session for a token, extended when more than half its lifetime has passed. */
	validate(token: string): Session | null {
		const id = hashToken(token);
		const row = this.byId.get({ id });
		if (!row) return null;
		const now = this.now();
		if (now >= row.expiresAt) {
			this.invalidate(id);
			return null;
		}
		if (now >= row.expiresAt - SESSION_LIFETIME_MS / 2) {
			row.expiresAt = now + SESSION_LIFETIME_MS;
			this.db.update(sessions).set({ expiresAt: row.expiresAt }).where(eq(sessions.id, id)).run();
		}
		return { id: row.id, userId: row.userId, expiresAt: row.expiresAt };
	}

	/** The live session with this id (not extended: a re-check of an open connection, not a use). */
	live(sessionId: string): Session | null {
		const row = this.byId.get({ id: sessionId });
		return row && this.now() < row.expiresAt ? { id: row.id, userId: row.userId, expiresAt: row.expiresAt } : null;
	}

	invalidate(sessionId: string): void {
		this.db.delete(sessions).where(eq(sessions.id, sessionId)).run();
		this.accessChanged();
	}

	invalidateAllFor(userId: string): void {
		this.db.delete(sessions).where(eq(sessions.userId, userId)).run();
		this.accessChanged();
	}
}
