/** Users and groups. Passwords are hashed here and never leave this module. */
import { asc, eq, sql } from 'drizzle-orm';
import { newId } from '../src/lib/ticket';
import { groups, userGroups, users } from '../drizzle/schema';
import type { Db } from './storage/database';
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

export const normaliseEmail = (email: string) => email.trim().toLowerCase();

export class Accounts implements Directory {
	// Who a session belongs to is looked up on every request and connection: prepared once.
	private readonly userById;
	private readonly groupsOfUser;

	constructor(
		private readonly db: Db,
		/** Told after a user was disabled or regrouped, so open sockets and streams are re-checked at once. */
		private readonly accessChanged: () => void = () => {}
	) {
		this.userById = db.select().from(users).where(eq(users.id, sql.placeholder('id'))).prepare();
		this.groupsOfUser = db.select({ id: userGroups.groupId }).from(userGroups).where(eq(userGroups.userId, sql.placeholder('userId'))).prepare();
	}

	async createUser(input: NewUser): Promise<PublicUser> {
		const email = normaliseEmail(input.email);
		if (this.db.select({ id: users.id }).from(users).where(eq(users.email, email)).get()) {
			throw new AccountError(`a user with email ${email} already exists`);
		}
		const passwordHash = await hashPassword(input.password);
		const id = newId();
		const groupIds = (input.groups ?? []).map((name) => this.ensureGroup(name));
		this.db.transaction((tx) => {
			tx.insert(users).values({ id, email, name: input.name, role: input.role, passwordHash, createdAt: Date.now() }).run();
			for (const groupId of groupIds) tx.insert(userGroups).values({ userId: id, groupId }).run();
		});
		return this.get(id)!;
	}

	ensureGroup(name: string): string {
		const existing = this.db.select({ id: groups.id }).from(groups).where(eq(groups.name, name)).get();
		if (existing) return existing.id;
		const id = newId();
		this.db.insert(groups).values({ id, name, createdAt: Date.now() }).run();
		return id;
	}

	get(id: string): PublicUser | null {
		const row = this.userById.get({ id });
		if (!row) return null;
		const { passwordHash: _hidden, ...user } = row;
		return { ...user, groupIds: this.groupIdsOf(id) };
	}

	async setPassword(userId: string, password: string): Promise<void> {
		const passwordHash = await hashPassword(password);
		this.db.update(users).set({ passwordHash }).where(eq(users.id, userId)).run();
	}

	setDisabled(userId: string, disabled: boolean): void {
		this.db.update(users).set({ disabled }).where(eq(users.id, userId)).run();
		this.accessChanged();
	}

	/** Replaces a user's groups by name (groups are created when new). */
	setGroups(userId: string, names: string[]): void {
		const groupIds = names.map((name) => this.ensureGroup(name));
		this.db.transaction((tx) => {
			tx.delete(userGroups).where(eq(userGroups.userId, userId)).run();
			for (const groupId of groupIds) tx.insert(userGroups).values({ userId, groupId }).run();
		});
		this.accessChanged();
	}

	checkEmailExists(email: string): boolean {
		return !!this.db.select({ id: users.id }).from(users).where(eq(users.email, normaliseEmail(email))).get();
	}

	/** The user's id when the password matches an enabled account, else null. */
	async checkPassword(email: string, password: string): Promise<string | null> {
		const row = this.db.select().from(users).where(eq(users.email, normaliseEmail(email))).get();
		// Unknown and disabled accounts cost a hash check too: timing must not tell which exist.
		const matches = await verifyPassword(row?.passwordHash ?? (await standIn()), password);
		return row && !row.disabled && matches ? row.id : null;
	}

	/** The acting identity of an enabled user. */
	principal(id: string): UserPrincipal | null {
		const user = this.get(id);
		if (!user || user.disabled) return null;
		return { kind: 'user', id: user.id, role: user.role, name: user.name, email: user.email, groupIds: user.groupIds };
	}

	/** Whether a user may be assigned tickets: exists, enabled, not a supervisor. */
	canHoldTickets(userId: string): boolean {
		const user = this.principal(userId);
		return !!user && user.role !== 'supervisor';
	}

	groupExists(groupId: string): boolean {
		return !!this.db.select({ id: groups.id }).from(groups).where(eq(groups.id, groupId)).get();
	}

	groupIdsOf(userId: string): string[] {
		return this.groupsOfUser.all({ userId }).map((r) => r.id);
	}

	/** Every user, by name. */
	listUsers(): PublicUser[] {
		return this.db.select({ id: users.id }).from(users).orderBy(asc(users.name), asc(users.id)).all().map((r) => this.get(r.id)!);
	}

	/** Every group, by name. */
	listGroups() {
		return this.db.select().from(groups).orderBy(asc(groups.name)).all();
	}
}
