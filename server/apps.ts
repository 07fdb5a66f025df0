/**
 * Apps in the context panel: sandboxed iframes an admin installs, each with the scopes it may act
 * in (insert into the draft, set a field, add a tag, add a note). The browser enforces the scopes
 * (src/lib/client/apps.svelte.ts); everything an app does is then an ordinary, checked update of
 * the agent's own.
 */
import { eq, sql } from 'drizzle-orm';
import type { apps } from '../drizzle/schema';
import type { AppInput } from '../src/lib/api/context';
import { newId } from '../src/lib/ticket';
import { actorOf, type Principal } from './auth/principal';
import { ApiError, notFound } from './errors';
import type { Events } from './events';
import { isUniqueViolation, type Store } from './storage/store';

export type App = typeof apps.$inferSelect;

export class Apps {
	constructor(
		private readonly store: Store,
		private readonly events: Events
	) {}

	async list(options: { enabledOnly?: boolean } = {}): Promise<App[]> {
		const { apps } = this.store.tables;
		return this.store.db
			.select()
			.from(apps)
			.where(options.enabledOnly ? eq(apps.enabled, true) : undefined)
			.orderBy(sql`lower(${apps.name})`);
	}

	async get(id: string): Promise<App | null> {
		const { apps } = this.store.tables;
		const [app] = await this.store.db.select().from(apps).where(eq(apps.id, id)).limit(1);
		return app ?? null;
	}

	/** An app whose name is installed already is a 400 (the name's unique index decides between concurrent installs). */
	async create(input: AppInput, by: Principal): Promise<App> {
		const { apps } = this.store.tables;
		const app: App = { id: newId(), ...input, scopes: [...new Set(input.scopes)], createdAt: Date.now() };
		try {
			await this.store.transaction(async () => {
				await this.store.db.insert(apps).values(app);
				await this.record(by, 'app.installed', app);
			});
		} catch (error) {
			if (isUniqueViolation(error)) throw new ApiError(400, 'invalid_field', `name: an app called ${input.name} is installed already`, 'name');
			throw error;
		}
		return app;
	}

	/** Replaces an app's URL, scopes and whether it is enabled (its name stays). */
	async update(id: string, input: Omit<AppInput, 'name'>, by: Principal): Promise<App> {
		const { apps } = this.store.tables;
		return this.store.transaction(async () => {
			const [updated] = await this.store.db
				.update(apps)
				.set({ url: input.url, scopes: [...new Set(input.scopes)], enabled: input.enabled })
				.where(eq(apps.id, id))
				.returning();
			if (!updated) throw notFound('app');
			await this.record(by, 'app.updated', updated);
			return updated;
		});
	}

	async delete(id: string, by: Principal): Promise<void> {
		const { apps } = this.store.tables;
		await this.store.transaction(async () => {
			const [deleted] = await this.store.db.delete(apps).where(eq(apps.id, id)).returning();
			if (!deleted) throw notFound('app');
			await this.record(by, 'app.removed', deleted);
		});
	}

	private async record(by: Principal, type: string, app: App): Promise<void> {
		await this.events.record({ actor: actorOf(by), type, data: { appId: app.id, name: app.name, scopes: app.scopes, enabled: app.enabled } });
	}
}
