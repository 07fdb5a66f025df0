/** Resolves who is calling, from an API token, a session token or the session cookie. */
import type { Accounts } from '../accounts';
import type { ApiTokens } from './api-tokens';
import type { Principal } from './principal';
import { SESSION_COOKIE, type Session, type Sessions } from './sessions';

export class Auth {
	constructor(
		readonly accounts: Accounts,
		readonly sessions: Sessions,
		readonly tokens: ApiTokens
	) {}

	/** A bearer credential: an API token (`tdm_…`) or a session token. */
	fromToken(token: string): Principal | null {
		return this.tokens.verify(token) ?? this.fromSessionToken(token)?.principal ?? null;
	}

	fromSessionToken(token: string): { principal: Principal; session: Session } | null {
		const session = this.sessions.validate(token);
		if (!session) return null;
		const principal = this.accounts.principal(session.userId);
		return principal ? { principal, session } : null;
	}

	fromCookieHeader(header: string | null): Principal | null {
		const token = readCookie(header, SESSION_COOKIE);
		return token ? (this.fromSessionToken(token)?.principal ?? null) : null;
	}
}

export function readCookie(header: string | null, name: string): string | null {
	if (!header) return null;
	for (const part of header.split(';')) {
		const eq = part.indexOf('=');
		if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
	}
	return null;
}
