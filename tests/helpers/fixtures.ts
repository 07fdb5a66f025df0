/** Accounts and tokens written straight into a data directory before the server starts. */
import path from 'node:path';
import { Accounts } from '../../server/accounts';
import { ApiTokens } from '../../server/auth/api-tokens';
import type { Role } from '../../server/auth/principal';
import { Sessions } from '../../server/auth/sessions';
import { Events } from '../../server/events';
import { openSqliteStore, type Store } from '../../server/storage/store';

export const PASSWORD = 'correct horse battery';

export interface Fixture {
	dataDir: string;
	users: Record<string, { id: string; email: string; token: string }>;
	tokens: Record<string, { id: string; token: string }>;
	groups: Record<string, string>;
}

/**
 * Creates users (each with a session token usable as a bearer token) and API tokens.
 * `users`: name → role and groups; `bots`: name → channels.
 */
export async function prepare(
	dataDir: string,
	spec: { users?: Record<string, { role: Role; groups?: string[] }>; bots?: Record<string, string[] | undefined> }
): Promise<Fixture> {
	return withStore(dataDir, async (store) => {
		const accounts = new Accounts(store);
		const sessions = new Sessions(store);
		const tokens = new ApiTokens(store, new Events(store));
		const fixture: Fixture = { dataDir, users: {}, tokens: {}, groups: {} };
		for (const [name, user] of Object.entries(spec.users ?? {})) {
			const created = await accounts.createUser({ email: `${name}@test.local`, name, role: user.role, password: PASSWORD, groups: user.groups });
			fixture.users[name] = { id: created.id, email: created.email, token: (await sessions.create(created.id)).token };
		}
		for (const [name, channels] of Object.entries(spec.bots ?? {})) {
			const created = await tokens.create(name, channels);
			fixture.tokens[name] = { id: created.id, token: created.token };
		}
		for (const group of await accounts.listGroups()) fixture.groups[group.name] = group.id;
		return fixture;
	});
}

/** Revokes an API token through a database handle of its own (not a running server's); true when it was live. */
export const revokeToken = (dataDir: string, tokenId: string) => withStore(dataDir, (store) => new ApiTokens(store, new Events(store)).revoke(tokenId));

/** Runs `work` on a store of its own over the data directory's database, closed afterwards. */
async function withStore<T>(dataDir: string, work: (store: Store) => Promise<T>): Promise<T> {
	const store = openSqliteStore(path.join(dataDir, 'tandem.sqlite'));
	try {
		return await work(store);
	} finally {
		await store.close();
	}
}
