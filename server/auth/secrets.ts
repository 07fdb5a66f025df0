/** Random tokens and their hashes (Lucia's design, with @oslojs): only hashes are stored; the server's own secrets. */
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from '@oslojs/encoding';
import { eq } from 'drizzle-orm';
import type { Store } from '../storage/store';

export function randomToken(): string {
	const bytes = new Uint8Array(20);
	crypto.getRandomValues(bytes);
	return encodeBase32LowerCaseNoPadding(bytes);
}

export function hashToken(token: string): string {
	return encodeHexLowerCase(sha256(new TextEncoder().encode(token)));
}

/**
 * The server's secret named `name` (e.g. the key that signs survey links): made at random the
 * first time it is asked for and kept in the database, so every node and every restart signs and
 * checks with the same one. Of two nodes making it at once, the first write wins and both read it.
 */
export async function serverSecret(store: Store, name: string): Promise<string> {
	const { serverSecrets } = store.tables;
	const bytes = new Uint8Array(32);
	crypto.getRandomValues(bytes);
	await store.db.insert(serverSecrets).values({ name, secret: encodeHexLowerCase(bytes), createdAt: Date.now() }).onConflictDoNothing();
	const [row] = await store.db.select({ secret: serverSecrets.secret }).from(serverSecrets).where(eq(serverSecrets.name, name)).limit(1);
	return row!.secret;
}
