/**
 * API tokens for bots and integrations: shown once at creation, stored as a SHA-256 hash, scoped
 * to channels, revocable, last use recorded.
 */
import { and, eq, isNull, or, sql } from 'drizzle-orm';
import { CUSTOMER_CHANNELS, newId } from '../../src/lib/ticket';
import type { Events } from '../events';
import type { Db } from '../storage/database';
import { apiTokens } from '../../drizzle/schema';
import type { BotPrincipal } from './principal';
import { hashToken, randomToken } from './secrets';

/** API tokens carry a prefix so they are recognisable in logs and configuration. */
export const API_TOKEN_PREFIX = 'tdm_';
/** How often last use is written, at most: a busy bot should not write on every request. */
const LAST_USED_RESOLUTION_MS = 60_000;

export interface CreatedToken {
	id: string;
	token: string;
	name: string;
	channels: string[];
}

export class ApiTokens {
	// Checked on every API request and websocket connection: prepared once.
	private readonly byHash;
	private readonly byId;

	constructor(
		private readonly db: Db,
		private readonly events: Events,
		/** Told after a token was revoked, so open sockets and streams are re-checked at once. */
		private readonly accessChanged: () => void = () => {}
	) {
		this.byHash = db.select().from(apiTokens).where(eq(apiTokens.tokenHash, sql.placeholder('hash'))).prepare();
		this.byId = db.select().from(apiTokens).where(eq(apiTokens.id, sql.placeholder('id'))).prepare();
	}

	create(name: string, channels: readonly string[] = CUSTOMER_CHANNELS, createdBy: string | null = null): CreatedToken {
		const id = newId();
		const token = API_TOKEN_PREFIX + randomToken();
		this.db
			.insert(apiTokens)
			.values({ id, name, tokenHash: hashToken(token), channels: [...channels], createdBy, createdAt: Date.now() })
			.run();
		this.events.record({ actor: createdBy ?? 'system', type: 'token.created', data: { tokenId: id, name, channels: [...channels] } });
		return { id, token, name, channels: [...channels] };
	}

	/** The bot a token belongs to, or null for an unknown or revoked token. */
	verify(token: string): BotPrincipal | null {
		if (!token.startsWith(API_TOKEN_PREFIX)) return null;
		const row = this.byHash.get({ hash: hashToken(token) });
		if (!row || row.revokedAt !== null) return null;
		const now = Date.now();
		if (row.lastUsedAt === null || now - row.lastUsedAt > LAST_USED_RESOLUTION_MS) {
			this.db.update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, row.id)).run();
		}
		return botOf(row);
	}

	/** The bot of a live token, by the token's id (a re-check of an open connection, not a use). */
	live(tokenId: string): BotPrincipal | null {
		const row = this.byId.get({ id: tokenId });
		return row && row.revokedAt === null ? botOf(row) : null;
	}

	/** Revokes by id or by name; true when a live token was revoked. */
	revoke(idOrName: string, revokedBy = 'system'): boolean {
		const live = this.db
			.select({ id: apiTokens.id, name: apiTokens.name })
			.from(apiTokens)
			.where(and(or(eq(apiTokens.id, idOrName), eq(apiTokens.name, idOrName)), isNull(apiTokens.revokedAt)))
			.all();
		if (!live.length) return false;
		this.db.transaction(() => {
			for (const token of live) {
				this.db.update(apiTokens).set({ revokedAt: Date.now() }).where(eq(apiTokens.id, token.id)).run();
				this.events.record({ actor: revokedBy, type: 'token.revoked', data: { tokenId: token.id, name: token.name } });
			}
		});
		this.accessChanged();
		return true;
	}

	/**
	 * Revokes, then deletes, a token made for one task (the CLI's Talk simulator calls), so such
	 * tokens do not fill the token list; the audit log keeps its creation and revocation.
	 */
	discard(tokenId: string): void {
		this.revoke(tokenId);
		this.db.delete(apiTokens).where(eq(apiTokens.id, tokenId)).run();
	}

	list() {
		return this.db
			.select({
				id: apiTokens.id,
				name: apiTokens.name,
				channels: apiTokens.channels,
				createdAt: apiTokens.createdAt,
				lastUsedAt: apiTokens.lastUsedAt,
				revokedAt: apiTokens.revokedAt
			})
			.from(apiTokens)
			.all();
	}
}

const botOf = (row: typeof apiTokens.$inferSelect): BotPrincipal => ({ kind: 'bot', id: row.id, name: row.name, channels: row.channels });
