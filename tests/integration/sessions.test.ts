/**
 * Sign-in, sessions and the admin page through the real server: cookies, throttling, logout,
 * expiry and extension, sessions ended by password reset and disabling, CSRF, role guards, API
 * tokens created and revoked from the admin page.
 *
 * Form posts are sent the way browsers send them: urlencoded, with the page's own Origin. "Page"
 * posts (Accept: text/html) get SvelteKit's plain answers (303, or the page with 400/429);
 * "enhanced" posts (x-sveltekit-action) get `{ type, status, data }` JSON, `data` in devalue.
 */
import { sql } from 'drizzle-orm';
import { parse as devalueParse } from 'devalue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../server/auth/secrets';
import { countRows, withStore } from '../helpers/db';
import { PASSWORD, prepare, type Fixture } from '../helpers/fixtures';
import { startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';

const COOKIE = 'tandem_session';
const DAY = 24 * 60 * 60 * 1000;
const INCORRECT = 'Incorrect email or password.';

interface Sent {
	status: number;
	location: string | null;
	setCookies: string[];
	text: string;
}

interface SendOptions {
	/** Session token sent as the `tandem_session` cookie. */
	cookie?: string;
	/** Sent as `Authorization: Bearer …`. */
	bearer?: string;
	/** Form fields (urlencoded); arrays repeat the field. */
	form?: Record<string, string | string[]>;
	/** The Origin header of a form post: the server's own by default, null for none. */
	origin?: string | null;
	/** An enhanced form post (JSON answer) rather than a plain one (page or redirect). */
	enhanced?: boolean;
	headers?: Record<string, string>;
}

async function send(server: RunningServer, method: string, route: string, options: SendOptions = {}): Promise<Sent> {
	const headers: Record<string, string> = { accept: options.enhanced ? 'application/json' : 'text/html', ...options.headers };
	if (options.enhanced) headers['x-sveltekit-action'] = 'true';
	if (options.cookie !== undefined) headers.cookie = `${COOKIE}=${options.cookie}`;
	if (options.bearer !== undefined) headers.authorization = `Bearer ${options.bearer}`;
	let body: URLSearchParams | undefined;
	if (options.form) {
		body = new URLSearchParams();
		for (const [name, value] of Object.entries(options.form)) for (const v of [value].flat()) body.append(name, v);
		headers['content-type'] = 'application/x-www-form-urlencoded';
	}
	if (method !== 'GET') {
		const origin = options.origin === undefined ? server.url : options.origin;
		if (origin !== null) headers.origin = origin;
	}
	const response = await fetch(server.url + route, { method, headers, body, redirect: 'manual' });
	return { status: response.status, location: response.headers.get('location'), setCookies: response.headers.getSetCookie(), text: await response.text() };
}

const post = (server: RunningServer, route: string, form: Record<string, string | string[]>, options: Omit<SendOptions, 'form'> = {}) =>
	send(server, 'POST', route, { ...options, form });

/** The answer to an enhanced form post. */
function actionResult(sent: Sent): { type: string; status: number; location?: string; data: any } {
	expect(sent.status, sent.text).toBe(200);
	const json = JSON.parse(sent.text);
	return { ...json, data: json.data === undefined ? undefined : devalueParse(json.data) };
}

function signIn(server: RunningServer, email: string, password: string, options: Omit<SendOptions, 'form'> = {}) {
	return post(server, '/login', { email, password }, options);
}

/** The session cookie set by a response (its full Set-Cookie line), if any. */
function sessionCookie(sent: Sent): string | undefined {
	return sent.setCookies.find((c) => c.startsWith(`${COOKIE}=`));
}

function cookieValue(line: string): string {
	return decodeURIComponent(line.slice(COOKIE.length + 1).split(';')[0]);
}

function cookieAttributes(line: string): Map<string, string> {
	const attributes = new Map<string, string>();
	for (const part of line.split(';').slice(1)) {
		const [name, ...value] = part.trim().split('=');
		attributes.set(name.toLowerCase(), value.join('='));
	}
	return attributes;
}

/** Asserts a successful page sign-in and returns the new session token. */
async function signInOk(server: RunningServer, email: string, password = PASSWORD, options: Omit<SendOptions, 'form'> = {}): Promise<string> {
	const sent = await signIn(server, email, password, options);
	expect(sent.status, sent.text.slice(0, 300)).toBe(303);
	expect(sent.location).toBe('/');
	const line = sessionCookie(sent);
	expect(line).toBeDefined();
	return cookieValue(line!);
}

/** Whether a token still opens the app (page with the cookie) and the API (bearer). */
async function tokenWorks(server: RunningServer, token: string): Promise<{ page: number; api: number }> {
	const page = await send(server, 'GET', '/', { cookie: token });
	const apiCall = await send(server, 'GET', '/api/v1/tickets', { bearer: token });
	return { page: page.status, api: apiCall.status };
}

async function sessionRow(dataDir: string, token: string): Promise<{ user_id: string; expires_at: number } | undefined> {
	const [row] = await withStore(dataDir, (store) => store.all<{ user_id: string; expires_at: number }>(sql`SELECT user_id, expires_at FROM sessions WHERE id = ${hashToken(token)}`));
	return row;
}

async function setSessionExpiry(dataDir: string, token: string, expiresAt: number): Promise<void> {
	await withStore(dataDir, (store) => store.run(sql`UPDATE sessions SET expires_at = ${expiresAt} WHERE id = ${hashToken(token)}`));
}

describe('sign-in, sessions and the admin page', () => {
	let server: RunningServer;
	let fx: Fixture;

	beforeAll(async () => {
		const dataDir = tempDataDir();
		fx = await prepare(dataDir, {
			users: {
				ann: { role: 'agent' },
				sue: { role: 'supervisor' },
				root: { role: 'admin' },
				zoe: { role: 'agent' },
				dan: { role: 'agent' },
				liz: { role: 'agent' }
			}
		});
		server = await startServer({ dataDir });
	});
	afterAll(async () => {
		expect(await server?.stop()).toBe(0);
	});

	/**
	 * All requests come from 127.0.0.1, and failures from an address count together: a successful
	 * sign-in clears the address's count, so tests that fail on purpose call this afterwards.
	 */
	const clearAddressBackoff = () => signInOk(server, 'ann@test.local');

	it('signs in with an HttpOnly, SameSite=Lax session cookie (not Secure on http), and the app opens with it', async () => {
		const sent = await signIn(server, 'ANN@test.local ', PASSWORD);
		expect(sent.status, sent.text.slice(0, 300)).toBe(303);
		expect(sent.location).toBe('/');
		const line = sessionCookie(sent);
		expect(line).toBeDefined();
		const attributes = cookieAttributes(line!);
		expect(attributes.has('httponly')).toBe(true);
		expect(attributes.get('samesite')?.toLowerCase()).toBe('lax');
		expect(attributes.get('path')).toBe('/');
		expect(attributes.has('secure')).toBe(false);
		const token = cookieValue(line!);
		// Only the SHA-256 of the token is stored, as the session id, for 30 days.
		const row = await sessionRow(server.dataDir, token);
		expect(row?.user_id).toBe(fx.users.ann.id);
		expect(row!.expires_at).toBeGreaterThan(Date.now() + 29 * DAY);
		expect(await countRows(server.dataDir, sql`SELECT count(*) AS n FROM sessions WHERE id = ${token}`)).toBe(0);

		const home = await send(server, 'GET', '/', { cookie: token });
		expect(home.status).toBe(200);
		expect(home.text).toMatch(/ann\b[^<]*<span[^>]*>\s*· agent/);
		// A signed-in user is sent on from the sign-in page.
		const login = await send(server, 'GET', '/login', { cookie: token });
		expect(login.status).toBe(303);
		expect(login.location).toBe('/');

		const anonymous = await send(server, 'GET', '/');
		expect(anonymous.status).toBe(303);
		expect(anonymous.location).toBe('/login');
		expect(anonymous.text).not.toContain('ann');
	});

	it('answers a wrong password and an unknown account alike, and sets no cookie', async () => {
		const sessionsBefore = await countRows(server.dataDir, sql`SELECT count(*) AS n FROM sessions`);
		const wrongPassword = await signIn(server, 'ann@test.local', 'not the password');
		const unknownAccount = await signIn(server, 'nobody@test.local', PASSWORD);
		for (const sent of [wrongPassword, unknownAccount]) {
			expect(sent.status).toBe(400);
			expect(sent.text).toContain(INCORRECT);
			expect(sessionCookie(sent)).toBeUndefined();
		}
		await clearAddressBackoff();

		const enhancedWrong = actionResult(await signIn(server, 'ann@test.local', 'not the password', { enhanced: true }));
		const enhancedUnknown = actionResult(await signIn(server, 'nobody@test.local', PASSWORD, { enhanced: true }));
		for (const result of [enhancedWrong, enhancedUnknown]) {
			expect(result).toMatchObject({ type: 'failure', status: 400 });
		}
		// Identical apart from the email echoed back into the form.
		expect({ ...enhancedWrong.data, email: null }).toEqual({ ...enhancedUnknown.data, email: null });
		expect(enhancedWrong.data.message).toBe(INCORRECT);
		await clearAddressBackoff();
		// Two successful sign-ins above, no session from the failures.
		expect(await countRows(server.dataDir, sql`SELECT count(*) AS n FROM sessions`)).toBe(sessionsBefore + 2);
	});

	it('signs out: the cookie is cleared and the old token opens nothing any more', async () => {
		const token = await signInOk(server, 'ann@test.local');
		expect(await tokenWorks(server, token)).toEqual({ page: 200, api: 200 });

		const sent = await send(server, 'POST', '/logout', { cookie: token });
		expect(sent.status).toBe(303);
		expect(sent.location).toBe('/login');
		const cleared = sessionCookie(sent);
		expect(cleared).toBeDefined();
		expect(cookieValue(cleared!)).toBe('');
		const attributes = cookieAttributes(cleared!);
		expect(attributes.get('max-age') === '0' || new Date(attributes.get('expires') ?? 0).getTime() <= Date.now()).toBe(true);
		expect(await sessionRow(server.dataDir, token)).toBeUndefined();

		const home = await send(server, 'GET', '/', { cookie: token });
		expect(home.status).toBe(303);
		expect(home.location).toBe('/login');
		expect((await send(server, 'GET', '/api/v1/tickets', { bearer: token })).status).toBe(401);
	});

	it('refuses and deletes an expired session, and clears its cookie', async () => {
		const token = await signInOk(server, 'ann@test.local');
		await setSessionExpiry(server.dataDir, token, Date.now() - 1000);

		const home = await send(server, 'GET', '/', { cookie: token });
		expect(home.status).toBe(303);
		expect(home.location).toBe('/login');
		const cleared = sessionCookie(home);
		expect(cleared && cookieValue(cleared)).toBe('');
		expect(await sessionRow(server.dataDir, token)).toBeUndefined();
		expect((await send(server, 'GET', '/api/v1/tickets', { bearer: token })).status).toBe(401);
	});

	it('extends a session past half its life to 30 days from now, and the cookie with it', async () => {
		const token = await signInOk(server, 'ann@test.local');
		// Not yet half used (20 days left of 30): left alone.
		const twentyDays = Date.now() + 20 * DAY;
		await setSessionExpiry(server.dataDir, token, twentyDays);
		expect((await send(server, 'GET', '/', { cookie: token })).status).toBe(200);
		expect((await sessionRow(server.dataDir, token))?.expires_at).toBe(twentyDays);

		// More than half used (10 days left): extended to 30 days from now.
		await setSessionExpiry(server.dataDir, token, Date.now() + 10 * DAY);
		const before = Date.now();
		const home = await send(server, 'GET', '/', { cookie: token });
		const after = Date.now();
		expect(home.status).toBe(200);
		const expiresAt = (await sessionRow(server.dataDir, token))!.expires_at;
		expect(expiresAt).toBeGreaterThanOrEqual(before + 30 * DAY);
		expect(expiresAt).toBeLessThanOrEqual(after + 30 * DAY);
		const line = sessionCookie(home);
		expect(line).toBeDefined();
		expect(cookieValue(line!)).toBe(token);
		const cookieExpires = new Date(cookieAttributes(line!).get('expires') ?? '').getTime();
		// The Expires attribute has whole seconds.
		expect(Math.abs(cookieExpires - expiresAt)).toBeLessThan(1000);
	});

	it('ends the sessions of a user whose password an admin resets; only the new password signs in', async () => {
		const { zoe, root } = fx.users;
		const other = await signInOk(server, 'zoe@test.local');
		expect(await tokenWorks(server, zoe.token)).toEqual({ page: 200, api: 200 });

		const result = actionResult(await post(server, '/admin?/resetPassword', { userId: zoe.id, password: 'a brand new secret' }, { cookie: root.token, enhanced: true }));
		expect(result).toMatchObject({ type: 'success', status: 200, data: { action: 'resetPassword' } });

		for (const token of [zoe.token, other]) {
			expect(await tokenWorks(server, token)).toEqual({ page: 303, api: 401 });
			expect(await sessionRow(server.dataDir, token)).toBeUndefined();
		}
		// The admin's own session is untouched.
		expect(await tokenWorks(server, root.token)).toEqual({ page: 200, api: 200 });

		const old = await signIn(server, 'zoe@test.local', PASSWORD);
		expect(old.status).toBe(400);
		expect(old.text).toContain(INCORRECT);
		await signInOk(server, 'zoe@test.local', 'a brand new secret');
	});

	it('ends the sessions of a disabled user, who cannot sign in until enabled again', async () => {
		const { dan, root } = fx.users;
		expect(await tokenWorks(server, dan.token)).toEqual({ page: 200, api: 200 });

		const result = actionResult(await post(server, '/admin?/setDisabled', { userId: dan.id, disabled: 'true' }, { cookie: root.token, enhanced: true }));
		expect(result).toMatchObject({ type: 'success', status: 200, data: { action: 'setDisabled' } });
		expect(await tokenWorks(server, dan.token)).toEqual({ page: 303, api: 401 });
		expect(await sessionRow(server.dataDir, dan.token)).toBeUndefined();

		const refused = await signIn(server, 'dan@test.local', PASSWORD);
		expect(refused.status).toBe(400);
		// Same answer as for a wrong password: a disabled account is not revealed.
		expect(refused.text).toContain(INCORRECT);
		expect(sessionCookie(refused)).toBeUndefined();
		await clearAddressBackoff();

		// An admin cannot lock themselves out.
		const self = actionResult(await post(server, '/admin?/setDisabled', { userId: root.id, disabled: 'true' }, { cookie: root.token, enhanced: true }));
		expect(self).toMatchObject({ type: 'failure', status: 400 });
		expect(await tokenWorks(server, root.token)).toEqual({ page: 200, api: 200 });

		actionResult(await post(server, '/admin?/setDisabled', { userId: dan.id, disabled: 'false' }, { cookie: root.token, enhanced: true }));
		await signInOk(server, 'dan@test.local');
	});

	it('refuses cross-site form posts (403) and acts on none of them', async () => {
		const sessions = () => countRows(server.dataDir, sql`SELECT count(*) AS n FROM sessions`);
		const users = () => countRows(server.dataDir, sql`SELECT count(*) AS n FROM users`);
		const sessionsBefore = await sessions();
		const usersBefore = await users();
		for (const origin of ['http://evil.example', null]) {
			const login = await signIn(server, 'ann@test.local', PASSWORD, { origin });
			expect(login.status).toBe(403);
			expect(sessionCookie(login)).toBeUndefined();

			const create = await post(
				server,
				'/admin?/createUser',
				{ email: 'mallory@test.local', name: 'Mallory', role: 'admin', password: 'mallory password' },
				{ cookie: fx.users.root.token, origin }
			);
			expect(create.status).toBe(403);

			const logout = await send(server, 'POST', '/logout', { cookie: fx.users.liz.token, origin, form: {} });
			expect(logout.status).toBe(403);
		}
		expect(await sessions()).toBe(sessionsBefore);
		expect(await users()).toBe(usersBefore);
		expect(await countRows(server.dataDir, sql`SELECT count(*) AS n FROM users WHERE email = 'mallory@test.local'`)).toBe(0);
		expect(await tokenWorks(server, fx.users.liz.token)).toEqual({ page: 200, api: 200 });
	});

	it('opens /admin to admins only', async () => {
		for (const name of ['ann', 'sue']) {
			const page = await send(server, 'GET', '/admin', { cookie: fx.users[name].token });
			expect(page.status).toBe(403);
			expect(page.text).not.toContain('root@test.local');
			// The page's data endpoint (client-side navigation) is guarded the same way.
			const data = await send(server, 'GET', '/admin/__data.json', { cookie: fx.users[name].token });
			expect(data.status).toBe(403);
			expect(data.text).not.toContain('root@test.local');
			// So are its actions.
			const create = await post(
				server,
				'/admin?/createUser',
				{ email: `${name}-made@test.local`, name: 'Made', role: 'admin', password: 'made password' },
				{ cookie: fx.users[name].token, enhanced: true }
			);
			expect(create.status).toBe(403);
			expect(await countRows(server.dataDir, sql`SELECT count(*) AS n FROM users WHERE email = ${`${name}-made@test.local`}`)).toBe(0);
		}
		expect((await send(server, 'GET', '/admin')).location).toBe('/login');

		const page = await send(server, 'GET', '/admin', { cookie: fx.users.root.token });
		expect(page.status).toBe(200);
		for (const user of Object.values(fx.users)) expect(page.text).toContain(user.email);
	});

	it('lets an admin create a user, who can then sign in', async () => {
		const result = actionResult(
			await post(
				server,
				'/admin?/createUser',
				{ email: 'New.Person@test.local', name: 'New Person', role: 'agent', password: 'new person password', groups: 'Billing, Returns' },
				{ cookie: fx.users.root.token, enhanced: true }
			)
		);
		expect(result).toMatchObject({ type: 'success', status: 200, data: { action: 'createUser' } });
		expect(JSON.stringify(result)).not.toContain('$argon2');
		const token = await signInOk(server, 'new.person@test.local', 'new person password');
		const home = await send(server, 'GET', '/', { cookie: token });
		expect(home.status).toBe(200);
		expect(home.text).toMatch(/New Person\b[^<]*<span[^>]*>\s*· agent/);

		const duplicate = actionResult(
			await post(
				server,
				'/admin?/createUser',
				{ email: 'new.person@test.local', name: 'Again', role: 'agent', password: 'another password' },
				{ cookie: fx.users.root.token, enhanced: true }
			)
		);
		expect(duplicate).toMatchObject({ type: 'failure', status: 400 });
		expect(await countRows(server.dataDir, sql`SELECT count(*) AS n FROM users WHERE email = 'new.person@test.local'`)).toBe(1);
	});

	it('lets an admin create an API token, shown once, that works until revoked', async () => {
		const sent = await post(server, '/admin?/createToken', { name: 'helpdesk-bot', channels: ['email', 'chat'] }, { cookie: fx.users.root.token, enhanced: true });
		const result = actionResult(sent);
		expect(result).toMatchObject({ type: 'success', status: 200, data: { action: 'createToken' } });
		const token: string = result.data.token;
		expect(token).toMatch(/^tdm_[a-z2-7]+$/);
		expect(sent.text.split(token).length - 1).toBe(1);

		const [row] = await withStore(server.dataDir, (store) =>
			store.all<{ id: string; token_hash: string; channels: string }>(sql`SELECT id, token_hash, CAST(channels AS text) AS channels FROM api_tokens WHERE name = 'helpdesk-bot'`)
		);
		expect(row!.token_hash).toBe(hashToken(token));
		expect(JSON.parse(row!.channels)).toEqual(['email', 'chat']);

		const admin = await send(server, 'GET', '/admin', { cookie: fx.users.root.token });
		expect(admin.text).toContain('helpdesk-bot');
		expect(admin.text).not.toContain(token);
		expect(admin.text).not.toContain(row.token_hash);

		const listed = await send(server, 'GET', '/api/v1/tickets', { bearer: token });
		expect(listed.status).toBe(200);

		const revoked = actionResult(await post(server, '/admin?/revokeToken', { tokenId: row.id }, { cookie: fx.users.root.token, enhanced: true }));
		expect(revoked).toMatchObject({ type: 'success', status: 200, data: { action: 'revokeToken' } });
		expect((await send(server, 'GET', '/api/v1/tickets', { bearer: token })).status).toBe(401);

		const again = actionResult(await post(server, '/admin?/revokeToken', { tokenId: row.id }, { cookie: fx.users.root.token, enhanced: true }));
		expect(again).toMatchObject({ type: 'failure', status: 404 });

		const noChannel = actionResult(await post(server, '/admin?/createToken', { name: 'nothing' }, { cookie: fx.users.root.token, enhanced: true }));
		expect(noChannel).toMatchObject({ type: 'failure', status: 400 });
	});

	it('never sends a password hash to the browser', async () => {
		const page = await send(server, 'GET', '/admin', { cookie: fx.users.root.token });
		expect(page.status).toBe(200);
		expect(page.text).not.toContain('$argon2');
		expect(page.text.toLowerCase()).not.toContain('passwordhash');
		const data = await send(server, 'GET', '/admin/__data.json', { cookie: fx.users.root.token });
		expect(data.status).toBe(200);
		expect(data.text).not.toContain('$argon2');
		expect(data.text.toLowerCase()).not.toContain('passwordhash');
	});
});

describe('sign-in throttling', () => {
	// The client address comes from X-Forwarded-For when a proxy is trusted (as behind one): each
	// test signs in from addresses of its own, so one server serves them all without one test's
	// failures counting against another's.
	const servers: RunningServer[] = [];
	afterAll(async () => {
		await Promise.all(servers.map((s) => s.stop()));
	});

	async function freshServer(env: Record<string, string>): Promise<RunningServer> {
		const dataDir = tempDataDir();
		await prepare(dataDir, { users: { amy: { role: 'agent' }, bob: { role: 'agent' }, cat: { role: 'agent' } } });
		const started = await startServer({ dataDir, env: { TRUST_PROXY: '1', ...env } });
		servers.push(started);
		return started;
	}

	let server: RunningServer;
	let lockout: RunningServer;
	beforeAll(async () => {
		[server, lockout] = await Promise.all([
			// A long first wait: the checks after the free failures must land inside it however slow the machine is.
			freshServer({ LOGIN_BACKOFF_MS: '30000' }),
			// A wait the attacker of the targeted lockout can sit out and guess again, as such an
			// attack would, long enough for the check right after each guess to land inside the
			// doubled wait that guess starts, however slow the machine is.
			freshServer({ LOGIN_BACKOFF_MS: '750' })
		]);
	});

	const from = (address: string) => ({ headers: { 'x-forwarded-for': address } });

	function expectThrottled(sent: Sent, seconds: number) {
		expect(sent.status, sent.text.slice(0, 300)).toBe(429);
		expect(sent.text).toContain(`Try again in ${seconds} s`);
		expect(sessionCookie(sent)).toBeUndefined();
	}

	it('after three failures for an account, refuses the fourth attempt (429), even with the right password', async () => {
		const client = from('10.1.0.1');
		const sessionsBefore = await countRows(server.dataDir, sql`SELECT count(*) AS n FROM sessions`);
		for (let i = 0; i < 3; i++) {
			const sent = await signIn(server, 'amy@test.local', `wrong ${i}`, client);
			expect(sent.status).toBe(400);
			expect(sent.text).toContain(INCORRECT);
		}
		expectThrottled(await signIn(server, 'amy@test.local', PASSWORD, client), 30);
		// The enhanced form gives the same answer.
		const enhanced = actionResult(await signIn(server, 'amy@test.local', PASSWORD, { ...client, enhanced: true }));
		expect(enhanced).toMatchObject({ type: 'failure', status: 429 });
		expect(enhanced.data.message).toMatch(/Try again in 30 s/);
		expect(await countRows(server.dataDir, sql`SELECT count(*) AS n FROM sessions`)).toBe(sessionsBefore);
	});

	it('does not let simultaneous guesses slip past the backoff', async () => {
		const client = from('10.2.0.1');
		const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => signIn(server, 'amy@test.local', `guess ${i}`, client)));
		const checked = answers.filter((sent) => sent.status === 400).length;
		const throttled = answers.filter((sent) => sent.status === 429).length;
		expect(checked + throttled).toBe(answers.length);
		// Three free failures, however the guesses are timed.
		expect(checked).toBeLessThanOrEqual(3);
		expect((await signIn(server, 'amy@test.local', PASSWORD, client)).status).toBe(429);
	});

	it('clears an account’s failures after a successful sign-in', async () => {
		const client = from('10.3.0.1');
		for (let round = 0; round < 2; round++) {
			for (let i = 0; i < 2; i++) expect((await signIn(server, 'amy@test.local', `wrong ${round}.${i}`, client)).status).toBe(400);
			// Without the reset, the failures would add up to 4 and 6: this sign-in would be throttled.
			await signInOk(server, 'amy@test.local', PASSWORD, client);
		}
	});

	it('backs off per account and address together and per address, and never locks the owner out from elsewhere', async () => {
		// Four wrong guesses at amy from one address: the fourth attempt from there is throttled, the right password too.
		for (let i = 0; i < 3; i++) expect((await signIn(server, 'amy@test.local', `wrong ${i}`, from('10.0.0.1'))).status).toBe(400);
		expectThrottled(await signIn(server, 'amy@test.local', PASSWORD, from('10.0.0.1')), 30);
		// A spray across other accounts from that address: after ten failures in all, the address backs off.
		for (let i = 0; i < 7; i++) expect([400, 429]).toContain((await signIn(server, `nobody${i}@test.local`, 'guess', from('10.0.0.1'))).status);
		// Another account from the same address: the address is throttled.
		expectThrottled(await signIn(server, 'bob@test.local', PASSWORD, from('10.0.0.1')), 30);
		// amy from elsewhere, with the attacker's wait still running: she signs in at once.
		await signInOk(server, 'amy@test.local', PASSWORD, from('10.0.0.9'));
		// Another account from another address: unaffected.
		await signInOk(server, 'cat@test.local', PASSWORD, from('10.0.0.2'));
	});

	it('keeps an attacker who guesses once per expired wait from locking the owner out (targeted lockout)', async () => {
		const attacker = from('10.6.6.6');
		// The free failures first...
		for (let i = 0; i < 3; i++) expect((await signIn(lockout, 'amy@test.local', `guess ${i}`, attacker)).status).toBe(400);
		for (let round = 0; round < 3; round++) {
			// ...then one wrong guess each time the attacker's wait has passed,
			await waitFor(async () => (await signIn(lockout, 'amy@test.local', `guess ${round}`, attacker)).status === 400, 'the attacker may guess again', 15_000);
			// after which the attacker waits again (1.5 s, then 3 s),
			expect((await signIn(lockout, 'amy@test.local', 'another guess', attacker)).status).toBe(429);
			// while amy, from her own address, signs in at once with her password.
			await signInOk(lockout, 'amy@test.local', PASSWORD, from('192.0.2.7'));
		}
	});
});
