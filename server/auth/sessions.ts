/**
 * Sessions as Lucia describes them: a random token in the browser's cookie, its SHA-256 as the
 * session id in the database, 30 days, extended when half used.
 */
import { and, eq, gt, lte, sql } from 'drizzle-orm';
import type { Store } from '../storage/store';
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
	constructor(
		private readonly store: Store,
		private readonly now: () => number = Date.now,
		/** Told after sessions ended, so open sockets and streams are re-checked at once. */
		private readonly accessChanged: () => Promise<void> = async () => {}
	) {}

	async create(userId: string): Promise<{ token: string; session: Session }> {
		const token = randomToken();
		const session = { id: hashToken(token), userId, expiresAt: this.now() + SESSION_LIFETIME_MS };
		await this.store.db.insert(this.store.tables.sessions).values({ ...session, createdAt: this.now() });
		return { token, session };
	}

	/** The live session for a token, extended when more than half its lifetime has passed. */
	async validate(token: string): Promise<Session | null> {
		const { sessions } = this.store.tables;
		const id = hashToken(token);
		const [row] = await this.store.db.select().from(sessions).where(eq(sessions.id, id)).limit(1);
		if (!row) return null;
		const now = this.now();
		if (now >= row.expiresAt) {
			// Only while still expired: an extension that got in first keeps it.
			const ended = await this.store.db
				.delete(sessions)
				.where(and(eq(sessions.id, id), lte(sessions.expiresAt, now)))
				.returning({ id: sessions.id });
			if (ended.length) await this.accessChanged();
			return null;
		}
		if (now < row.expiresAt - SESSION_LIFETIME_MS / 2) return { id: row.id, userId: row.userId, expiresAt: row.expiresAt };
		// One statement, so a session ended meanwhile is not taken for live, and concurrent
		// extensions never shorten it (which would move the access epoch).
		const extended = now + SESSION_LIFETIME_MS;
		const [live] = await this.store.db
			.update(sessions)
			.set({ expiresAt: sql`CASE WHEN ${sessions.expiresAt} < ${extended} THEN ${extended} ELSE ${sessions.expiresAt} END` })
			.where(and(eq(sessions.id, id), gt(sessions.expiresAt, now)))
			.returning({ id: sessions.id, userId: sessions.userId, expiresAt: sessions.expiresAt });
		return live ?? null;
	}

	/** The live session with this id (not extended: a re-check of an open connection, not a use). */
	async live(sessionId: string): Promise<Session | null> {
		const { sessions } = this.store.tables;
		const [row] = await this.store.db
			.select({ id: sessions.id, userId: sessions.userId, expiresAt: sessions.expiresAt })
			.from(sessions)
			.where(and(eq(sessions.id, sessionId), gt(sessions.expiresAt, this.now())))
			.limit(1);
		return row ?? null;
	}

	async invalidate(sessionId: string): Promise<void> {
		const { sessions } = this.store.tables;
		await this.store.db.delete(sessions).where(eq(sessions.id, sessionId));
		await this.accessChanged();
	}

	async invalidateAllFor(userId: string): Promise<void> {
		const { sessions } = this.store.tables;
		await this.store.db.delete(sessions).where(eq(sessions.userId, userId));
		await this.accessChanged();
	}
}
