/**
 * Users and groups. Passwords are hashed here and never leave this module.
 *
 * The policy asks about users and groups synchronously, inside the update checker (`Directory`):
 * it is answered from a directory in memory, loaded from the store (`load`) and reloaded after
 * every write through Accounts and whenever AccessChanges sees the users or groups move (a write by
 * another process: the CLI, a second server). Everything else reads the store.
 */
import { asc, eq } from 'drizzle-orm';
import { newId } from '../src/lib/ticket';
import type { users } from '../drizzle/schema';
import type { Store } from './storage/store';
import { hashPassword, verifyPassword } from './auth/passwords';
import type { Directory } from './auth/policy';
import type { Role, UserPrincipal } from './auth/principal';

export interface NewUser {
	email: string;
	name: string;
	role: Role;
	password: string;
	groups?: string[];
}

export class AccountError extends Error {}

export type PublicUser = Omit<typeof users.$inferSelect, 'passwordHash'> & { groupIds: string[] };

let standInHash: Promise<string> | null = null;
/** A real argon2 hash of a random password, verified against when there is no account. */
const standIn = () => (standInHash ??= hashPassword(crypto.randomUUID()));

const principalOf = (user: Omit<PublicUser, 'groupIds'>, groupIds: string[]): UserPrincipal => ({
	kind: 'user',
	id: user.id,
	role: user.role,
	name: user.name,
	email: user.email,
	groupIds
});

export const normaliseEmail = (email: string) => email.trim().toLowerCase();

/** What the policy may ask about, as of the last load. */
interface DirectoryState {
	/** Enabled users by id. */
	principals: Map<string, UserPrincipal>;
	groupIds: Set<string>;
}

export class Accounts implements Directory {
	private directory: DirectoryState = { principals: new Map(), groupIds: new Set() };
	/** Loads started and applied: a load that ends after a later one does not overwrite it. */
	private loadsStarted = 0;
	private loadApplied = 0;

	constructor(
		private readonly store: Store,
		/**
		 * Told after every write to users and groups; it reloads the directory (AccessChanges does,
		 * then re-checks open sockets and streams at once). Without it, Accounts reloads it itself.
		 */
		private readonly accessChanged: (() => Promise<void>) | null = null
	) {}

	/** Reads the directory anew from the store. */
	async load(): Promise<void> {
		const started = ++this.loadsStarted;
		const { users, groups } = this.store.tables;
		const [enabled, groupRows, memberships] = await Promise.all([
			this.store.db.select().from(users).where(eq(users.disabled, false)),
			this.store.db.select({ id: groups.id }).from(groups),
			this.memberships()
		]);
		if (started < this.loadApplied) return;
		this.loadApplied = started;
		this.directory = {
			principals: new Map(enabled.map((u) => [u.id, principalOf(u, memberships.get(u.id) ?? [])])),
			groupIds: new Set(groupRows.map((g) => g.id))
		};
	}

	async createUser(input: NewUser): Promise<PublicUser> {
		const email = normaliseEmail(input.email);
		const taken = () => new AccountError(`a user with email ${email} already exists`);
		if (await this.checkEmailExists(email)) throw taken();
		// Hashed before the transaction: it takes a while, and on SQLite a transaction holds every writer.
		const passwordHash = await hashPassword(input.password);
		const id = newId();
		const { users, userGroups } = this.store.tables;
		await this.store.transaction(async (tx) => {
			const groupIds = [];
			for (const name of input.groups ?? []) groupIds.push(await this.ensureGroupIn(name));
			// The unique email decides between concurrent creations: the loser's groups roll back too.
			const inserted = await tx
				.insert(users)
				.values({ id, email, name: input.name, role: input.role, passwordHash, createdAt: Date.now() })
				.onConflictDoNothing({ target: users.email })
				.returning({ id: users.id });
			if (!inserted.length) throw taken();
			if (groupIds.length) await tx.insert(userGroups).values(groupIds.map((groupId) => ({ userId: id, groupId })));
		});
		await this.changed();
		return (await this.get(id))!;
	}

	/** The id of the group with this name, created when new. */
	async ensureGroup(name: string): Promise<string> {
		const id = await this.ensureGroupIn(name);
		await this.changed();
		return id;
	}

	async get(id: string): Promise<PublicUser | null> {
		const { users } = this.store.tables;
		const [row] = await this.store.db.select().from(users).where(eq(users.id, id)).limit(1);
		if (!row) return null;
		const { passwordHash: _hidden, ...user } = row;
		return { ...user, groupIds: await this.groupIdsOf(id) };
	}

	async setPassword(userId: string, password: string): Promise<void> {
		const passwordHash = await hashPassword(password);
		const { users } = this.store.tables;
		await this.store.db.update(users).set({ passwordHash }).where(eq(users.id, userId));
	}

	async setDisabled(userId: string, disabled: boolean): Promise<void> {
		const { users } = this.store.tables;
		await this.store.db.update(users).set({ disabled }).where(eq(users.id, userId));
		await this.changed();
	}

	/** Replaces a user's groups by name (groups are created when new). */
	async setGroups(userId: string, names: string[]): Promise<void> {
		const { users, userGroups } = this.store.tables;
		await this.store.transaction(async (tx) => {
			// Concurrent replacements of one user's groups take turns: the last one's groups stand.
			await this.store.lock(tx, users, eq(users.id, userId));
			const groupIds = [];
			for (const name of names) groupIds.push(await this.ensureGroupIn(name));
			await tx.delete(userGroups).where(eq(userGroups.userId, userId));
			if (groupIds.length) await tx.insert(userGroups).values(groupIds.map((groupId) => ({ userId, groupId })));
		});
		await this.changed();
	}

	async checkEmailExists(email: string): Promise<boolean> {
		const { users } = this.store.tables;
		return (await this.store.db.select({ id: users.id }).from(users).where(eq(users.email, normaliseEmail(email))).limit(1)).length > 0;
	}

	/** The user's id when the password matches an enabled account, else null. */
	async checkPassword(email: string, password: string): Promise<string | null> {
		const { users } = this.store.tables;
		const [row] = await this.store.db.select().from(users).where(eq(users.email, normaliseEmail(email))).limit(1);
		// Unknown and disabled accounts cost a hash check too: timing must not tell which exist.
		const matches = await verifyPassword(row?.passwordHash ?? (await standIn()), password);
		return row && !row.disabled && matches ? row.id : null;
	}

	/**
	 * The acting identity of an enabled user, as the store has it now (the directory may lag a write
	 * by another process by one poll): what a request or connection is authenticated as.
	 */
	async currentPrincipal(id: string): Promise<UserPrincipal | null> {
		const user = await this.get(id);
		return user && !user.disabled ? principalOf(user, user.groupIds) : null;
	}

	/** The acting identity of an enabled user (from the directory). */
	principal(id: string): UserPrincipal | null {
		return this.directory.principals.get(id) ?? null;
	}

	/** The enabled user with this email address (from the directory): a colleague copied on a mail. */
	principalByEmail(email: string): UserPrincipal | null {
		const wanted = normaliseEmail(email);
		for (const principal of this.directory.principals.values()) if (principal.email === wanted) return principal;
		return null;
	}

	/** Whether a user may be assigned tickets: exists, enabled, not a supervisor (from the directory). */
	canHoldTickets(userId: string): boolean {
		const user = this.principal(userId);
		return !!user && user.role !== 'supervisor';
	}

	/** From the directory. */
	groupExists(groupId: string): boolean {
		return this.directory.groupIds.has(groupId);
	}

	async groupIdsOf(userId: string): Promise<string[]> {
		return (await this.memberships(userId)).get(userId) ?? [];
	}

	/** Every user, by name. */
	async listUsers(): Promise<PublicUser[]> {
		const { users } = this.store.tables;
		const rows = await this.store.db.select().from(users).orderBy(asc(users.name), asc(users.id));
		const memberships = await this.memberships();
		return rows.map(({ passwordHash: _hidden, ...user }) => ({ ...user, groupIds: memberships.get(user.id) ?? [] }));
	}

	/** Every group, by name. */
	async listGroups() {
		const { groups } = this.store.tables;
		return this.store.db.select().from(groups).orderBy(asc(groups.name));
	}

	/** The group ids of each user, or of `userId` only (users in no group are absent). */
	private async memberships(userId?: string): Promise<Map<string, string[]>> {
		const byUser = new Map<string, string[]>();
		const { userGroups } = this.store.tables;
		const rows = await this.store.db
			.select()
			.from(userGroups)
			.where(userId === undefined ? undefined : eq(userGroups.userId, userId))
			.orderBy(asc(userGroups.groupId));
		for (const { userId, groupId } of rows) byUser.set(userId, [...(byUser.get(userId) ?? []), groupId]);
		return byUser;
	}

	/** Finds or creates a group, in the caller's transaction if any: concurrent creations make one group. */
	private async ensureGroupIn(name: string): Promise<string> {
		const { groups } = this.store.tables;
		const [created] = await this.store.db.insert(groups).values({ id: newId(), name, createdAt: Date.now() }).onConflictDoNothing({ target: groups.name }).returning({ id: groups.id });
		if (created) return created.id;
		const [existing] = await this.store.db.select({ id: groups.id }).from(groups).where(eq(groups.name, name)).limit(1);
		return existing!.id;
	}

	private async changed(): Promise<void> {
		await (this.accessChanged ? this.accessChanged() : this.load());
	}
}
