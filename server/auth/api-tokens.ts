/**
 * API tokens for bots and integrations: shown once at creation, stored as a SHA-256 hash, scoped
 * to channels, revocable, last use recorded.
 */
import { and, eq, isNull, lt, or } from 'drizzle-orm';
import { CUSTOMER_CHANNELS, newId } from '../../src/lib/ticket';
import type { Events } from '../events';
import type { Store } from '../storage/store';
import type { apiTokens } from '../../drizzle/schema';
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
	constructor(
		private readonly store: Store,
		private readonly events: Events,
		/** Told after a token was revoked, so open sockets and streams are re-checked at once. */
		private readonly accessChanged: () => Promise<void> = async () => {}
	) {}

	async create(name: string, channels: readonly string[] = CUSTOMER_CHANNELS, createdBy: string | null = null): Promise<CreatedToken> {
		const id = newId();
		const token = API_TOKEN_PREFIX + randomToken();
		await this.store.transaction(async (tx) => {
			await tx.insert(this.store.tables.apiTokens).values({ id, name, tokenHash: hashToken(token), channels: [...channels], createdBy, createdAt: Date.now() });
			await this.events.record({ actor: createdBy ?? 'system', type: 'token.created', data: { tokenId: id, name, channels: [...channels] } });
		});
		return { id, token, name, channels: [...channels] };
	}

	/** The bot a token belongs to, or null for an unknown or revoked token. */
	async verify(token: string): Promise<BotPrincipal | null> {
		if (!token.startsWith(API_TOKEN_PREFIX)) return null;
		const { apiTokens } = this.store.tables;
		const [row] = await this.store.db.select().from(apiTokens).where(eq(apiTokens.tokenHash, hashToken(token))).limit(1);
		if (!row || row.revokedAt !== null) return null;
		const now = Date.now();
		if (row.lastUsedAt === null || now - row.lastUsedAt > LAST_USED_RESOLUTION_MS) {
			// Conditional, so concurrent uses write it once per resolution.
			await this.store.db
				.update(apiTokens)
				.set({ lastUsedAt: now })
				.where(and(eq(apiTokens.id, row.id), or(isNull(apiTokens.lastUsedAt), lt(apiTokens.lastUsedAt, now - LAST_USED_RESOLUTION_MS))));
		}
		return botOf(row);
	}

	/** The bot of a live token, by the token's id (a re-check of an open connection, not a use). */
	async live(tokenId: string): Promise<BotPrincipal | null> {
		const { apiTokens } = this.store.tables;
		const [row] = await this.store.db.select().from(apiTokens).where(eq(apiTokens.id, tokenId)).limit(1);
		return row && row.revokedAt === null ? botOf(row) : null;
	}

	/** Revokes by id or by name; true when a live token was revoked (by this call, not a concurrent one). */
	async revoke(idOrName: string, revokedBy = 'system'): Promise<boolean> {
		const { apiTokens } = this.store.tables;
		const revoked = await this.store.transaction(async (tx) => {
			// One conditional statement: of concurrent revocations, only the one that revoked records it.
			const rows = await tx
				.update(apiTokens)
				.set({ revokedAt: Date.now() })
				.where(and(or(eq(apiTokens.id, idOrName), eq(apiTokens.name, idOrName)), isNull(apiTokens.revokedAt)))
				.returning({ id: apiTokens.id, name: apiTokens.name });
			await this.events.recordMany(rows.map((token) => ({ actor: revokedBy, type: 'token.revoked', data: { tokenId: token.id, name: token.name } })));
			return rows.length > 0;
		});
		if (revoked) await this.accessChanged();
		return revoked;
	}

	/**
	 * Revokes, then deletes, a token made for one task (the CLI's Talk simulator calls), so such
	 * tokens do not fill the token list; the audit log keeps its creation and revocation.
	 */
	async discard(tokenId: string): Promise<void> {
		const { apiTokens } = this.store.tables;
		await this.revoke(tokenId);
		await this.store.db.delete(apiTokens).where(eq(apiTokens.id, tokenId));
	}

	async list() {
		const { apiTokens } = this.store.tables;
		return this.store.db
			.select({
				id: apiTokens.id,
				name: apiTokens.name,
				channels: apiTokens.channels,
				createdAt: apiTokens.createdAt,
				lastUsedAt: apiTokens.lastUsedAt,
				revokedAt: apiTokens.revokedAt
			})
			.from(apiTokens);
	}
}

const botOf = (row: typeof apiTokens.$inferSelect): BotPrincipal => ({ kind: 'bot', id: row.id, name: row.name, channels: row.channels });
