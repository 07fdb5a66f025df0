/**
 * Accounts and tokens written straight into a data directory's database (see databaseEnv) before
 * the server starts, through the same services the server wires.
 */
import { loadConfig } from '../../server/config';
import type { Role } from '../../server/auth/principal';
import { createLogger } from '../../server/log';
import { createServices, type Services } from '../../server/services';
import { ApiTokens } from '../../server/auth/api-tokens';
import { Events } from '../../server/events';
import { withStore } from './db';
import { databaseEnv } from './server';

export const PASSWORD = 'correct horse battery';

export interface Fixture {
	dataDir: string;
	users: Record<string, { id: string; email: string; token: string }>;
	tokens: Record<string, { id: string; token: string }>;
	groups: Record<string, string>;
}

/**
 * Creates users (each with a session token usable as a bearer token) and API tokens.
 * `users`: name → role and groups; `bots`: name → channels. `env` overrides the database (see withServices).
 */
export async function prepare(
	dataDir: string,
	spec: { users?: Record<string, { role: Role; groups?: string[] }>; bots?: Record<string, string[] | undefined> },
	env: Record<string, string> = {}
): Promise<Fixture> {
	return withServices(dataDir, async (services) => {
		const { accounts, sessions, tokens } = services.auth;
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
	}, env);
}

/**
 * Runs `work` on the services of `dataDir`'s database (see databaseEnv), as the server wires them,
 * and closes them: for state a test writes without a server running. `env` overrides settings: a
 * DATABASE_URL of the test's own (a PostgreSQL it stops and starts).
 */
export async function withServices<T>(dataDir: string, work: (services: Services) => Promise<T>, env: Record<string, string> = {}): Promise<T> {
	const config = loadConfig({ DATA_DIR: dataDir, SEED: '0', ...(await databaseEnv(dataDir)), ...env });
	const services = await createServices(config, createLogger('silent'));
	try {
		return await work(services);
	} finally {
		await services.store.close();
	}
}

/** Revokes an API token through a store of its own (not a running server's); true when it was live. */
export const revokeToken = (dataDir: string, tokenId: string) => withStore(dataDir, (store) => new ApiTokens(store, new Events(store)).revoke(tokenId));
