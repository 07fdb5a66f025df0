/** Resolves who is calling, from an API token, a session token or the session cookie. */
import type { Accounts } from '../accounts';
import type { Events } from '../events';
import type { ApiTokens } from './api-tokens';
import type { Principal } from './principal';
import { SESSION_COOKIE, type Session, type Sessions } from './sessions';
import { MemoryLoginThrottle, type BackoffRule, type LoginThrottle } from './throttle';

/** What an open socket or stream was authenticated with, so it can be re-checked while it lasts. */
export type Credential = { kind: 'token' | 'session'; id: string };

export interface Authenticated {
	principal: Principal;
	credential: Credential;
}

export type SignInResult =
	| { ok: true; token: string; session: Session }
	| { ok: false; reason: 'invalid' }
	| { ok: false; reason: 'throttled'; retryAfterSeconds: number };

/** The kinds of key sign-in failures are counted by (server/auth/throttle.ts). */
export type SignInKind = 'guess' | 'address';

/** How sign-in failures back off: `baseDelayMs` is the first wait after the free failures. */
export function signInBackoff(baseDelayMs = 1000): Record<SignInKind, BackoffRule> {
	const guess = { freeFailures: 3, baseDelayMs, maxDelayMs: 15 * 60_000 };
	return {
		// Per account and client address together: keyed on the pair, so guessing from one address
		// never keeps the owner out from another.
		guess,
		// Per client address, which a whole office may share: more free failures, any account.
		address: { ...guess, freeFailures: 10 }
	};
}

export class Auth {
	constructor(
		readonly accounts: Accounts,
		readonly sessions: Sessions,
		readonly tokens: ApiTokens,
		private readonly events: Events,
		private readonly throttle: LoginThrottle<SignInKind> = new MemoryLoginThrottle(signInBackoff())
	) {}

	/**
	 * Password sign-in. Failures say nothing about which part was wrong; repeated failures for an
	 * account from one address, or from an address for any accounts, are slowed down exponentially.
	 * No count is kept per account alone: that would let anyone keep a named user out.
	 */
	async signIn(email: string, password: string, address: string): Promise<SignInResult> {
		const guess = `${email.trim().toLowerCase()}\u0000${address}`;
		// Counted before the (slow) password check, so parallel guesses are throttled too.
		const wait = await this.throttle.attempt({ guess, address });
		if (wait > 0) return { ok: false, reason: 'throttled', retryAfterSeconds: Math.ceil(wait / 1000) };
		const userId = await this.accounts.checkPassword(email, password);
		if (!userId) {
			await this.events.record({ actor: `address:${address}`, type: 'login.failed', data: { email: email.trim().toLowerCase() } });
			return { ok: false, reason: 'invalid' };
		}
		// The pair's failures are forgiven; the address (maybe shared) only loses this attempt.
		await this.throttle.forgive({ guess });
		await this.throttle.retract({ address });
		const { token, session } = await this.sessions.create(userId);
		await this.events.record({ userId, actor: `user:${userId}`, type: 'login', data: { address } });
		return { ok: true, token, session };
	}

	/** A new password ends every session of the user. */
	async resetPassword(userId: string, password: string, by: string): Promise<void> {
		await this.accounts.setPassword(userId, password);
		await this.sessions.invalidateAllFor(userId);
		await this.events.record({ userId, actor: by, type: 'password.reset' });
	}

	/** Disabling a user ends their sessions at once. */
	async setDisabled(userId: string, disabled: boolean, by: string): Promise<void> {
		await this.accounts.setDisabled(userId, disabled);
		if (disabled) await this.sessions.invalidateAllFor(userId);
		await this.events.record({ userId, actor: by, type: disabled ? 'user.disabled' : 'user.enabled' });
	}

	async signOut(session: Session): Promise<void> {
		await this.sessions.invalidate(session.id);
		await this.events.record({ userId: session.userId, actor: `user:${session.userId}`, type: 'logout' });
	}

	/** Who a bearer credential (an API token or a session token) speaks for, and which credential it is. */
	async authenticate(token: string): Promise<Authenticated | null> {
		const bot = await this.tokens.verify(token);
		return bot ? { principal: bot, credential: { kind: 'token', id: bot.id } } : this.authenticateSession(token);
	}

	/** Who a session token (the cookie's) speaks for, and which session it is. */
	async authenticateSession(token: string): Promise<Authenticated | null> {
		const resolved = await this.fromSessionToken(token);
		return resolved && { principal: resolved.principal, credential: { kind: 'session', id: resolved.session.id } };
	}

	async fromSessionToken(token: string): Promise<{ principal: Principal; session: Session } | null> {
		const session = await this.sessions.validate(token);
		if (!session) return null;
		const principal = await this.accounts.currentPrincipal(session.userId);
		return principal ? { principal, session } : null;
	}

	async fromCookieHeader(header: string | null): Promise<Authenticated | null> {
		const token = readCookie(header, SESSION_COOKIE);
		return token ? this.authenticateSession(token) : null;
	}

	/**
	 * Who an open connection's credential speaks for now, as it would be resolved anew: null once
	 * the token is revoked, the session ended or the user disabled.
	 */
	async recheck(credential: Credential): Promise<Principal | null> {
		if (credential.kind === 'token') return this.tokens.live(credential.id);
		const session = await this.sessions.live(credential.id);
		return session && this.accounts.currentPrincipal(session.userId);
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
