/**
 * Accounts, sessions, API tokens, the access epoch and the event log on both engines: what each
 * reads and writes, the policy's directory following writes made elsewhere, and every decision
 * (creating unless it exists, extending or ending a session, revoking a token) with one winner
 * among concurrent attempts (on PostgreSQL, each on a connection of its own).
 */
import { eq, sql } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountError, Accounts } from '../../server/accounts';
import { Auth } from '../../server/auth';
import { AccessChanges } from '../../server/auth/access-changes';
import { API_TOKEN_PREFIX, ApiTokens } from '../../server/auth/api-tokens';
import { hashToken } from '../../server/auth/secrets';
import { SESSION_LIFETIME_MS, Sessions } from '../../server/auth/sessions';
import { Events } from '../../server/events';
import { createLogger } from '../../server/log';
import type { Store } from '../../server/storage/store';
import { waitFor } from '../helpers/server';
import { ENGINES, openTestStore } from '../helpers/store';

const PASSWORD = 'correct horse battery';

describe.each(ENGINES)('accounts and the auth path on %s', (engine) => {
	let store: Store;
	let events: Events;
	beforeAll(async () => {
		store = await openTestStore(engine);
		events = new Events(store);
	});
	afterAll(async () => {
		await store?.close();
	});

	const epoch = async () => {
		const { accessEpoch } = store.tables;
		return (await store.db.select({ epoch: accessEpoch.epoch }).from(accessEpoch).where(eq(accessEpoch.id, 1)))[0]!.epoch;
	};
	const eventsOfType = async (type: string) => {
		const { events } = store.tables;
		return store.db.select().from(events).where(eq(events.type, type));
	};
	const settled = async <T>(attempts: Promise<T>[]) => {
		const results = await Promise.allSettled(attempts);
		return {
			won: results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
			lost: results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []))
		};
	};

	describe('accounts', () => {
		it('creates users with their groups and reads them back, emails compared without case', async () => {
			const accounts = new Accounts(store);
			const ada = await accounts.createUser({ email: ' Ada@Example.com ', name: 'Ada', role: 'agent', password: PASSWORD, groups: ['Support', 'Billing'] });
			const bea = await accounts.createUser({ email: 'bea@example.com', name: 'Bea', role: 'supervisor', password: PASSWORD });
			expect(ada).toMatchObject({ email: 'ada@example.com', name: 'Ada', role: 'agent', disabled: false });
			expect(ada).not.toHaveProperty('passwordHash');
			const groups = await accounts.listGroups();
			expect(groups.map((g) => g.name)).toEqual(['Billing', 'Support']);
			expect([...ada.groupIds].sort()).toEqual(groups.map((g) => g.id).sort());
			expect(await accounts.get(ada.id)).toEqual(ada);
			expect(await accounts.get('nobody')).toBeNull();
			expect((await accounts.listUsers()).map((u) => u.name)).toEqual(['Ada', 'Bea']);
			expect(await accounts.groupIdsOf(bea.id)).toEqual([]);
			expect(await accounts.checkEmailExists('ADA@example.com')).toBe(true);
			expect(await accounts.checkEmailExists('cy@example.com')).toBe(false);
			expect(await accounts.checkPassword('ada@EXAMPLE.com', PASSWORD)).toBe(ada.id);
			expect(await accounts.checkPassword('ada@example.com', 'wrong password')).toBeNull();
			await expect(accounts.createUser({ email: 'ADA@example.com', name: 'Ada 2', role: 'agent', password: PASSWORD })).rejects.toThrow(AccountError);
			// The directory the policy asks, synchronously.
			expect(accounts.principal(ada.id)).toEqual({ kind: 'user', id: ada.id, role: 'agent', name: 'Ada', email: 'ada@example.com', groupIds: ada.groupIds });
			expect(accounts.canHoldTickets(ada.id)).toBe(true);
			expect(accounts.canHoldTickets(bea.id)).toBe(false);
			expect(accounts.groupExists(groups[0]!.id)).toBe(true);
			expect(accounts.groupExists('no-such-group')).toBe(false);
		});

		it('disables, regroups and re-passwords, the directory following each write', async () => {
			const accounts = new Accounts(store);
			const cy = await accounts.createUser({ email: 'cy@example.com', name: 'Cy', role: 'agent', password: PASSWORD, groups: ['Sales'] });
			await accounts.setGroups(cy.id, ['Returns', 'Support']);
			const names = new Map((await accounts.listGroups()).map((g) => [g.id, g.name]));
			expect((await accounts.groupIdsOf(cy.id)).map((id) => names.get(id)).sort()).toEqual(['Returns', 'Support']);
			expect(accounts.principal(cy.id)!.groupIds.map((id) => names.get(id)).sort()).toEqual(['Returns', 'Support']);
			await accounts.setDisabled(cy.id, true);
			expect(accounts.principal(cy.id)).toBeNull();
			expect(accounts.canHoldTickets(cy.id)).toBe(false);
			expect(await accounts.currentPrincipal(cy.id)).toBeNull();
			expect(await accounts.checkPassword('cy@example.com', PASSWORD)).toBeNull();
			await accounts.setDisabled(cy.id, false);
			expect(await accounts.currentPrincipal(cy.id)).toEqual(accounts.principal(cy.id));
			await accounts.setPassword(cy.id, 'another long password');
			expect(await accounts.checkPassword('cy@example.com', 'another long password')).toBe(cy.id);
		});

		it('lets one of concurrent creations of an email win; the others get the AccountError and leave no groups', async () => {
			const accounts = new Accounts(store);
			const { won, lost } = await settled(
				['Left', 'Middle', 'Right'].map((group) => accounts.createUser({ email: 'race@example.com', name: group, role: 'agent', password: PASSWORD, groups: [`Race ${group}`] }))
			);
			expect(won).toHaveLength(1);
			expect(lost).toHaveLength(2);
			for (const error of lost) expect(error).toBeInstanceOf(AccountError);
			const raceGroups = (await accounts.listGroups()).filter((g) => g.name.startsWith('Race '));
			expect(raceGroups.map((g) => g.name)).toEqual([`Race ${won[0]!.name}`]);
		});

		it('makes one group of concurrent creations of a name', async () => {
			const accounts = new Accounts(store);
			const ids = await Promise.all(Array.from({ length: 4 }, () => accounts.ensureGroup('Escalations')));
			expect(new Set(ids).size).toBe(1);
			expect((await accounts.listGroups()).filter((g) => g.name === 'Escalations')).toHaveLength(1);
		});

		it('lets the last of concurrent regroupings of a user stand, whole', async () => {
			const accounts = new Accounts(store);
			const dee = await accounts.createUser({ email: 'dee@example.com', name: 'Dee', role: 'agent', password: PASSWORD });
			const choices = [['Alpha', 'Beta'], ['Beta', 'Gamma'], ['Delta']];
			for (const name of choices.flat()) await accounts.ensureGroup(name);
			const names = new Map((await accounts.listGroups()).map((g) => [g.id, g.name]));
			for (let round = 0; round < 3; round++) {
				await Promise.all(choices.map((names) => accounts.setGroups(dee.id, names)));
				const kept = (await accounts.groupIdsOf(dee.id)).map((id) => names.get(id)!).sort();
				expect(choices.map((c) => c.join())).toContain(kept.join());
			}
		});

		it('shows the directory what another Accounts on the database wrote, at the next poll of the access epoch', async () => {
			const here = new Accounts(store);
			const changes = new AccessChanges(store, createLogger('silent'));
			changes.keep(() => here.load());
			await changes.load();
			let told = 0;
			changes.subscribe(() => void told++);
			const elsewhere = new Accounts(store);
			// A user in no group and a new group move no epoch: the poll sees them all the same.
			const eve = await elsewhere.createUser({ email: 'eve@example.com', name: 'Eve', role: 'agent', password: PASSWORD });
			expect(here.principal(eve.id)).toBeNull();
			await changes.poll();
			expect(here.principal(eve.id)).toMatchObject({ id: eve.id, groupIds: [] });
			const groupId = await elsewhere.ensureGroup('Night shift');
			expect(here.groupExists(groupId)).toBe(false);
			await changes.poll();
			expect(here.groupExists(groupId)).toBe(true);
			await elsewhere.setGroups(eve.id, ['Night shift']);
			await elsewhere.setDisabled(eve.id, true);
			const toldBefore = told;
			await changes.poll();
			expect(here.principal(eve.id)).toBeNull();
			expect(told).toBe(toldBefore + 1);
			// Nothing moved: no reload, no re-check.
			await changes.poll();
			expect(told).toBe(toldBefore + 1);
		});

		it('says once that the access epoch cannot be read, however often it polls, and once that it can again', async () => {
			const own = await openTestStore(engine);
			try {
				const lines: { level: number; msg: string }[] = [];
				const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
				let polls = 0;
				class CountedPolls extends AccessChanges {
					override async poll() {
						polls++;
						return super.poll();
					}
				}
				const changes = new CountedPolls(own, logger);
				await changes.load();
				await own.run(sql`ALTER TABLE access_epoch RENAME TO access_epoch_away`);
				const poller = changes.start(1);
				try {
					await waitFor(() => polls >= 10, 'ten failed polls');
					await own.run(sql`ALTER TABLE access_epoch_away RENAME TO access_epoch`);
					await waitFor(() => lines.some((line) => line.msg === 'access epoch poll works again'), 'the poll to work again');
				} finally {
					await poller.close();
				}
				expect(lines.map((line) => line.msg)).toEqual(['access epoch poll failed; retrying, quietly until it works again', 'access epoch poll works again']);
			} finally {
				await own.close();
			}
		});
	});

	describe('sessions', () => {
		let userId: string;
		beforeAll(async () => {
			userId = (await new Accounts(store).createUser({ email: 'sam@example.com', name: 'Sam', role: 'agent', password: PASSWORD })).id;
		});

		it('creates, validates, extends when half used, and ends sessions', async () => {
			let now = 1_000_000;
			const sessions = new Sessions(store, () => now);
			const { token, session } = await sessions.create(userId);
			expect(session).toEqual({ id: hashToken(token), userId, expiresAt: now + SESSION_LIFETIME_MS });
			expect(await sessions.validate(token)).toEqual(session);
			expect(await sessions.validate('not a token')).toBeNull();
			now += SESSION_LIFETIME_MS / 2 + 1;
			expect(await sessions.validate(token)).toEqual({ ...session, expiresAt: now + SESSION_LIFETIME_MS });
			expect(await sessions.live(session.id)).toEqual({ ...session, expiresAt: now + SESSION_LIFETIME_MS });
			now += SESSION_LIFETIME_MS;
			expect(await sessions.live(session.id)).toBeNull();
			expect(await sessions.validate(token)).toBeNull();
			const { sessions: table } = store.tables;
			expect(await store.db.select().from(table).where(eq(table.id, session.id))).toEqual([]);
			const second = await sessions.create(userId);
			const third = await sessions.create(userId);
			await sessions.invalidate(second.session.id);
			expect(await sessions.validate(second.token)).toBeNull();
			expect(await sessions.validate(third.token)).not.toBeNull();
			await sessions.invalidateAllFor(userId);
			expect(await sessions.validate(third.token)).toBeNull();
		});

		it('extends a session among concurrent validations without ever shortening it (no epoch moves)', async () => {
			// Each validation reads its own time: later ones extend further.
			let now = 5_000_000;
			const sessions = new Sessions(store, () => now++);
			const { token, session } = await sessions.create(userId);
			now += SESSION_LIFETIME_MS / 2;
			const before = await epoch();
			const validated = await Promise.all(Array.from({ length: 6 }, () => sessions.validate(token)));
			for (const live of validated) expect(live!.expiresAt).toBeGreaterThan(now - 6 + SESSION_LIFETIME_MS / 2);
			expect(await epoch()).toBe(before);
			expect((await sessions.live(session.id))!.expiresAt).toBe(Math.max(...validated.map((live) => live!.expiresAt)));
		});

		it('ends an expired session once among concurrent validations, telling of it once', async () => {
			let now = 9_000_000;
			let told = 0;
			const sessions = new Sessions(store, () => now, async () => void told++);
			const { token } = await sessions.create(userId);
			now += SESSION_LIFETIME_MS;
			expect(await Promise.all(Array.from({ length: 4 }, () => sessions.validate(token)))).toEqual([null, null, null, null]);
			expect(told).toBe(1);
		});

		it('moves the access epoch once for every session ended, however concurrently', async () => {
			const sessions = new Sessions(store);
			const created = await Promise.all(Array.from({ length: 6 }, () => sessions.create(userId)));
			const before = await epoch();
			await Promise.all(created.map(({ session }) => sessions.invalidate(session.id)));
			expect(await epoch()).toBe(before + 6);
		});
	});

	describe('API tokens', () => {
		it('creates, verifies, lists, revokes and discards tokens, recording each', async () => {
			let told = 0;
			const tokens = new ApiTokens(store, events, async () => void told++);
			const created = await tokens.create('mailer', ['email'], 'user:admin');
			expect(created.token.startsWith(API_TOKEN_PREFIX)).toBe(true);
			expect(await tokens.verify(created.token)).toEqual({ kind: 'bot', id: created.id, name: 'mailer', channels: ['email'] });
			expect(await tokens.verify(`${API_TOKEN_PREFIX}unknown`)).toBeNull();
			expect(await tokens.verify('no prefix')).toBeNull();
			expect(await tokens.live(created.id)).toEqual({ kind: 'bot', id: created.id, name: 'mailer', channels: ['email'] });
			const listed = (await tokens.list()).find((t) => t.id === created.id)!;
			expect(listed).toMatchObject({ name: 'mailer', channels: ['email'], revokedAt: null });
			expect(listed.lastUsedAt).toEqual(expect.any(Number));
			expect(listed).not.toHaveProperty('tokenHash');
			expect(await tokens.revoke('mailer', 'user:admin')).toBe(true);
			expect(told).toBe(1);
			expect(await tokens.verify(created.token)).toBeNull();
			expect(await tokens.live(created.id)).toBeNull();
			expect(await tokens.revoke(created.id)).toBe(false);
			expect(told).toBe(1);
			expect((await eventsOfType('token.created')).find((e) => e.data.tokenId === created.id)).toMatchObject({ actor: 'user:admin', data: { name: 'mailer', channels: ['email'] } });
			expect((await eventsOfType('token.revoked')).filter((e) => e.data.tokenId === created.id)).toHaveLength(1);
			const once = await tokens.create('one task', ['talk']);
			await tokens.discard(once.id);
			expect((await tokens.list()).some((t) => t.id === once.id)).toBe(false);
			expect((await eventsOfType('token.revoked')).filter((e) => e.data.tokenId === once.id)).toHaveLength(1);
		});

		it('lets one of concurrent revocations revoke (and record it)', async () => {
			const tokens = new ApiTokens(store, events);
			const created = await tokens.create('contested', ['chat']);
			const revoked = await Promise.all(Array.from({ length: 4 }, (_, i) => tokens.revoke(i % 2 ? created.id : 'contested')));
			expect(revoked.filter(Boolean)).toHaveLength(1);
			expect((await eventsOfType('token.revoked')).filter((e) => e.data.tokenId === created.id)).toHaveLength(1);
		});

		it('verifies a token used concurrently every time', async () => {
			const tokens = new ApiTokens(store, events);
			const created = await tokens.create('busy bot', ['chat']);
			const bots = await Promise.all(Array.from({ length: 5 }, () => tokens.verify(created.token)));
			for (const bot of bots) expect(bot?.id).toBe(created.id);
		});
	});

	describe('sign-in', () => {
		it('signs in, authenticates the session, and ends it when the user is disabled', async () => {
			const accounts = new Accounts(store);
			const sessions = new Sessions(store);
			const auth = new Auth(accounts, sessions, new ApiTokens(store, events), events);
			const user = await accounts.createUser({ email: 'ivy@example.com', name: 'Ivy', role: 'admin', password: PASSWORD });
			expect(await auth.signIn('ivy@example.com', 'wrong password', '192.0.2.1')).toEqual({ ok: false, reason: 'invalid' });
			const signedIn = await auth.signIn('IVY@example.com', PASSWORD, '192.0.2.1');
			if (!signedIn.ok) throw new Error('sign-in failed');
			const authenticated = await auth.authenticate(signedIn.token);
			expect(authenticated).toEqual({ principal: accounts.principal(user.id), credential: { kind: 'session', id: signedIn.session.id } });
			expect(await auth.recheck(authenticated!.credential)).toEqual(authenticated!.principal);
			await auth.setDisabled(user.id, true, 'user:someone');
			expect(await auth.authenticate(signedIn.token)).toBeNull();
			expect(await auth.recheck(authenticated!.credential)).toBeNull();
			const recorded = (await store.db.select().from(store.tables.events).where(eq(store.tables.events.userId, user.id))).map((e) => e.type);
			expect(recorded).toEqual(['login', 'user.disabled']);
		});
	});

	describe('the event log', () => {
		it('records events and reads a ticket’s in order, from a point, to a limit', async () => {
			await events.record({ ticketId: 'T1', actor: 'system', type: 'first', data: { nested: { list: [1, 'é'] }, flag: true } });
			await events.recordMany([
				{ ticketId: 'T1', actor: 'user:u', type: 'second', createdAt: 42 },
				{ ticketId: 'T2', actor: 'user:u', type: 'elsewhere' },
				{ ticketId: 'T1', actor: 'user:u', type: 'third' }
			]);
			await events.recordMany([]);
			const all = await events.forTicket('T1');
			expect(all.map((e) => e.type)).toEqual(['first', 'second', 'third']);
			expect(all[0]).toMatchObject({ userId: null, data: { nested: { list: [1, 'é'] }, flag: true } });
			expect(all[1]).toMatchObject({ createdAt: 42, data: {} });
			expect((await events.forTicket('T1', all[0]!.id, 1)).map((e) => e.type)).toEqual(['second']);
		});

		it('writes events inside a transaction as part of it: rolled back with it', async () => {
			await expect(
				store.transaction(async () => {
					await events.record({ ticketId: 'T3', actor: 'system', type: 'rolled back' });
					await events.recordMany([{ ticketId: 'T3', actor: 'system', type: 'rolled back too' }]);
					throw new Error('on purpose');
				})
			).rejects.toThrow('on purpose');
			await store.transaction(async () => {
				await events.record({ ticketId: 'T3', actor: 'system', type: 'kept' });
			});
			expect((await events.forTicket('T3')).map((e) => e.type)).toEqual(['kept']);
		});
	});
});
