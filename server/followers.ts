/**
 * Followers: colleagues who asked to hear of a ticket's new customer messages and status changes
 * (the Follow button), or were made followers by a mention or a CC of a mail on it. Following is
 * for users who may see the ticket, and lasts only while they may: a follower found unable to see
 * it (whenever the followers are read) is dropped, so nobody keeps hearing of a ticket moved away.
 */
import { and, asc, eq, inArray } from 'drizzle-orm';
import { MAX_FOLLOWERS_PER_TICKET, type Follower, type FollowerList } from '../src/lib/api/followers';
import { ticketAccess, type Directory, type TicketScope } from './auth/policy';
import type { Principal, UserPrincipal } from './auth/principal';
import { ApiError, forbidden, notFound } from './errors';
import type { Store } from './storage/store';
import type { TicketIndex } from './ticket-index';

export type FollowReason = Follower['reason'];

export class Followers {
	constructor(
		private readonly store: Store,
		private readonly index: Pick<TicketIndex, 'get'>,
		private readonly directory: Directory
	) {}

	/** The caller follows the ticket (again: nothing changes). 409 limit_exceeded when it has as many followers as it may. */
	async follow(ticketId: string, principal: Principal): Promise<FollowerList> {
		const { user, scope } = await this.visible(ticketId, principal);
		if (!(await this.add(ticketId, scope, user.id, 'button'))) {
			throw new ApiError(409, 'limit_exceeded', `limit followersPerTicket exceeded: a ticket has at most ${MAX_FOLLOWERS_PER_TICKET} followers`);
		}
		return this.list(ticketId, principal);
	}

	/** The caller stops following the ticket (not following: nothing changes). */
	async unfollow(ticketId: string, principal: Principal): Promise<FollowerList> {
		const { user } = await this.visible(ticketId, principal);
		const { ticketFollowers } = this.store.tables;
		await this.store.db.delete(ticketFollowers).where(and(eq(ticketFollowers.ticketId, ticketId), eq(ticketFollowers.userId, user.id)));
		return this.list(ticketId, principal);
	}

	/** Who follows the ticket, by when they started, for a user who may see it. */
	async list(ticketId: string, principal: Principal): Promise<FollowerList> {
		const { user, scope } = await this.visible(ticketId, principal);
		const followers = (await this.audience(ticketId, scope)).map(({ user: follower, reason, since }) => ({ userId: follower.id, name: follower.name, reason, since }));
		return { followers, following: followers.some((f) => f.userId === user.id), limit: MAX_FOLLOWERS_PER_TICKET };
	}

	/**
	 * Makes each of `userIds` who may see the ticket a follower (a mention, a CC), as long as there is
	 * room: past the cap the rest quietly are not (they are still told of what named them).
	 */
	async addAll(ticketId: string, scope: TicketScope, userIds: readonly string[], reason: FollowReason): Promise<void> {
		for (const userId of new Set(userIds)) {
			const user = this.directory.principal(userId);
			if (user && ticketAccess(user, scope) && !(await this.add(ticketId, scope, userId, reason))) return;
		}
	}

	/**
	 * The followers who may see the ticket as `scope` says it stands now, oldest first; the others
	 * are dropped on the way.
	 */
	async audience(ticketId: string, scope: TicketScope): Promise<{ user: UserPrincipal; reason: FollowReason; since: number }[]> {
		const { ticketFollowers } = this.store.tables;
		const rows = await this.store.db.select().from(ticketFollowers).where(eq(ticketFollowers.ticketId, ticketId)).orderBy(asc(ticketFollowers.createdAt), asc(ticketFollowers.userId));
		const kept = [];
		const lost = [];
		for (const row of rows) {
			const user = this.directory.principal(row.userId);
			if (user && ticketAccess(user, scope)) kept.push({ user, reason: row.reason, since: row.createdAt });
			else lost.push(row.userId);
		}
		if (lost.length) await this.store.db.delete(ticketFollowers).where(and(eq(ticketFollowers.ticketId, ticketId), inArray(ticketFollowers.userId, lost)));
		return kept;
	}

	/**
	 * Adds one follower unless they follow already; false when the ticket has as many as it may.
	 * Concurrent additions to one ticket take turns, so the cap holds.
	 */
	private add(ticketId: string, scope: TicketScope, userId: string, reason: FollowReason): Promise<boolean> {
		const { ticketFollowers } = this.store.tables;
		return this.store.transaction(async (tx) => {
			await this.store.serialise(tx, `followers:${ticketId}`);
			const followers = await this.audience(ticketId, scope);
			if (followers.some((f) => f.user.id === userId)) return true;
			if (followers.length >= MAX_FOLLOWERS_PER_TICKET) return false;
			await this.store.db.insert(ticketFollowers).values({ ticketId, userId, reason, createdAt: Date.now() }).onConflictDoNothing();
			return true;
		});
	}

	/** The caller as a user who may see the ticket, and the ticket's scope; 404 for a ticket they may not see. */
	private async visible(ticketId: string, principal: Principal): Promise<{ user: UserPrincipal; scope: TicketScope }> {
		const row = await this.index.get(ticketId);
		if (!row || !ticketAccess(principal, row)) throw notFound('ticket');
		if (principal.kind !== 'user') throw forbidden('only colleagues follow tickets, not API tokens');
		return { user: principal, scope: row };
	}
}
