/** Accounts and tokens written straight into a data directory before the server starts. */
import path from 'node:path';
import { Accounts } from '../../server/accounts';
import { ApiTokens } from '../../server/auth/api-tokens';
import type { Role } from '../../server/auth/principal';
import { Sessions } from '../../server/auth/sessions';
import { Events } from '../../server/events';
import { openDatabase } from '../../server/storage/database';

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
	const db = openDatabase(path.join(dataDir, 'tandem.sqlite'));
	try {
		const accounts = new Accounts(db);
		const sessions = new Sessions(db);
		const tokens = new ApiTokens(db, new Events(db));
		const fixture: Fixture = { dataDir, users: {}, tokens: {}, groups: {} };
		for (const [name, user] of Object.entries(spec.users ?? {})) {
			const created = await accounts.createUser({ email: `${name}@test.local`, name, role: user.role, password: PASSWORD, groups: user.groups });
			fixture.users[name] = { id: created.id, email: created.email, token: sessions.create(created.id).token };
		}
		for (const [name, channels] of Object.entries(spec.bots ?? {})) {
			const created = tokens.create(name, channels);
			fixture.tokens[name] = { id: created.id, token: created.token };
		}
		for (const group of accounts.listGroups()) fixture.groups[group.name] = group.id;
		return fixture;
	} finally {
		db.$client.close();
	}
}
