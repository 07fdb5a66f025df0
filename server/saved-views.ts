/**
 * Saved views: a search query with columns and an order, a user's own or shared with everyone.
 * Users keep their own; admins write the shared ones. A view is a definition only: what it lists
 * is always searched as the one looking, so a shared view never shows a ticket its viewer may not
 * see.
 */
import { and, asc, count, eq, isNull, or, sql } from 'drizzle-orm';
import { parseSearchQuery, SearchQueryError, type SearchQuery } from '../src/lib/search-query';
import { newId } from '../src/lib/ticket';
import { MAX_PERSONAL_VIEWS, MAX_SHARED_VIEWS, type TicketSort } from '../src/lib/api/views';
import type { SavedViewInput } from '../src/lib/api/schemas';
import type { savedViews } from '../drizzle/schema';
import { actorOf, type Principal, type UserPrincipal } from './auth/principal';
import { ApiError, forbidden, isApiError, notFound } from './errors';
import type { Events } from './events';
import type { TicketSearch } from './search';
import type { Store } from './storage/store';
import type { TicketIndex } from './ticket-index';

type SavedViewRow = typeof savedViews.$inferSelect;

export interface SavedView {
	id: string;
	name: string;
	query: string;
	sort: TicketSort;
	columns: string[];
	/** Shared with every user; else the owner's own. */
	shared: boolean;
	/** Whether the caller may change or delete it. */
	editable: boolean;
	updatedAt: number;
}

export class SavedViews {
	constructor(
		private readonly store: Store,
		private readonly events: Pick<Events, 'record'>,
		private readonly search: Pick<TicketSearch, 'filter' | 'count'>,
		private readonly index: Pick<TicketIndex, 'list'>
	) {}

	/**
	 * The caller's views with how many tickets each holds for them, counted now. A view whose
	 * query cannot run any more (it names a group since deleted) has no count and says why.
	 */
	async summaries(viewer: Principal): Promise<(SavedView & { count: number | null; problem?: string })[]> {
		const views = await this.list(viewer);
		return Promise.all(
			views.map(async (view) => {
				try {
					return { ...view, count: await this.search.count(parseQuery(view.query), viewer) };
				} catch (error) {
					if (!isApiError(error)) throw error;
					return { ...view, count: null, problem: error.message };
				}
			})
		);
	}

	/** A page of what a view holds for the caller, in the view's order. */
	async tickets(id: string, viewer: Principal, page: { limit: number; cursor?: string }) {
		const view = await this.get(id, viewer);
		const where = await this.search.filter(parseQuery(view.query), viewer);
		return this.index.list({ viewer, where, sort: view.sort, limit: page.limit, cursor: page.cursor });
	}

	/** The caller's own views and the shared ones, by name. */
	async list(viewer: Principal): Promise<SavedView[]> {
		const user = userOf(viewer);
		const { savedViews } = this.store.tables;
		const rows = await this.store.db
			.select()
			.from(savedViews)
			.where(or(eq(savedViews.ownerId, user.id), isNull(savedViews.ownerId)))
			.orderBy(sql`${savedViews.ownerId} IS NULL`, sql`lower(${savedViews.name})`, asc(savedViews.id));
		return rows.map((row) => present(row, user));
	}

	/** One view the caller may use: their own or a shared one; any other is not found. */
	async get(id: string, viewer: Principal): Promise<SavedView> {
		const user = userOf(viewer);
		return present(await this.visibleRow(id, user), user);
	}

	async create(input: SavedViewInput, viewer: Principal): Promise<SavedView> {
		const user = userOf(viewer);
		if (input.shared && user.role !== 'admin') throw forbidden('only admins share views');
		parseQuery(input.query);
		const { savedViews } = this.store.tables;
		const now = Date.now();
		const row: SavedViewRow = { id: newId(), ...columnsOf(input), ownerId: input.shared ? null : user.id, createdBy: actorOf(user), createdAt: now, updatedAt: now };
		await this.store.transaction(async () => {
			// Counted and named in the transaction that writes, under the saver's user row: one user's
			// saves at once are taken in turn, so they cannot pass the limit or share a name.
			const { users } = this.store.tables;
			await this.store.lock(this.store.db, users, eq(users.id, user.id));
			const [{ n }] = (await this.store.db.select({ n: count() }).from(savedViews).where(ownedBy(savedViews, row.ownerId))) as [{ n: number }];
			const limit = row.ownerId === null ? MAX_SHARED_VIEWS : MAX_PERSONAL_VIEWS;
			if (n >= limit) throw new ApiError(409, 'limit_reached', `at most ${limit} ${row.ownerId === null ? 'shared views' : 'views of your own'}: delete one first`);
			await this.checkNameFree(row.name, row.ownerId);
			await this.store.db.insert(savedViews).values(row);
			await this.record(user, 'view.created', row);
		});
		return present(row, user);
	}

	/** Replaces a view's definition: the owner's own, or a shared one by an admin. Sharing is not changed. */
	async update(id: string, input: SavedViewInput, viewer: Principal): Promise<SavedView> {
		const user = userOf(viewer);
		parseQuery(input.query);
		const { savedViews } = this.store.tables;
		return this.store.transaction(async () => {
			const before = await this.editableRow(id, user);
			if (input.shared !== (before.ownerId === null)) throw new ApiError(400, 'invalid_field', 'shared: a view stays shared or personal; save a copy instead', 'shared');
			if (input.name !== before.name) await this.checkNameFree(input.name, before.ownerId);
			const [updated] = await this.store.db
				.update(savedViews)
				.set({ ...columnsOf(input), updatedAt: Date.now() })
				.where(eq(savedViews.id, id))
				.returning();
			await this.record(user, 'view.updated', updated!);
			return present(updated!, user);
		});
	}

	async delete(id: string, viewer: Principal): Promise<void> {
		const user = userOf(viewer);
		const { savedViews } = this.store.tables;
		await this.store.transaction(async () => {
			const row = await this.editableRow(id, user);
			await this.store.db.delete(savedViews).where(eq(savedViews.id, id));
			await this.record(user, 'view.deleted', row);
		});
	}

	private async visibleRow(id: string, user: UserPrincipal): Promise<SavedViewRow> {
		const { savedViews } = this.store.tables;
		const [row] = await this.store.db
			.select()
			.from(savedViews)
			.where(and(eq(savedViews.id, id), or(eq(savedViews.ownerId, user.id), isNull(savedViews.ownerId))))
			.limit(1);
		if (!row) throw notFound('view');
		return row;
	}

	private async editableRow(id: string, user: UserPrincipal): Promise<SavedViewRow> {
		const row = await this.visibleRow(id, user);
		if (!canEdit(row, user)) throw forbidden('only admins change shared views');
		return row;
	}

	private async checkNameFree(name: string, ownerId: string | null) {
		const { savedViews } = this.store.tables;
		const [taken] = await this.store.db
			.select({ id: savedViews.id })
			.from(savedViews)
			.where(and(ownedBy(savedViews, ownerId), sql`lower(${savedViews.name}) = lower(${name})`))
			.limit(1);
		if (taken) throw new ApiError(409, 'name_taken', `name: there is a ${ownerId === null ? 'shared view' : 'view of yours'} called ${name} already`, 'name');
	}

	private async record(user: UserPrincipal, type: string, row: SavedViewRow) {
		await this.events.record({ actor: actorOf(user), type, data: { viewId: row.id, name: row.name, shared: row.ownerId === null } });
	}
}

/** A view's query as the search reads it; a 400 naming the term it cannot take. */
function parseQuery(query: string): SearchQuery {
	try {
		return parseSearchQuery(query);
	} catch (error) {
		if (error instanceof SearchQueryError) throw new ApiError(400, 'invalid_field', `query: ${error.message}`, 'query');
		throw error;
	}
}

function userOf(principal: Principal): UserPrincipal {
	if (principal.kind !== 'user') throw forbidden('views are saved by users');
	return principal;
}

const ownedBy = (savedViews: Store['tables']['savedViews'], ownerId: string | null) => (ownerId === null ? isNull(savedViews.ownerId) : eq(savedViews.ownerId, ownerId));

const canEdit = (row: SavedViewRow, user: UserPrincipal) => (row.ownerId === null ? user.role === 'admin' : row.ownerId === user.id);

/** Exactly the stored fields of an input. */
const columnsOf = ({ name, query, sort, columns }: SavedViewInput) => ({ name, query, sort, columns });

function present(row: SavedViewRow, user: UserPrincipal): SavedView {
	return { id: row.id, name: row.name, query: row.query, sort: row.sort as TicketSort, columns: row.columns, shared: row.ownerId === null, editable: canEdit(row, user), updatedAt: row.updatedAt };
}
