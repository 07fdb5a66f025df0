/**
 * Apps in the context panel: sandboxed iframes an admin installs, each with the scopes it may act
 * in (insert into the draft, set a field, add a tag, add a note). The browser enforces the scopes
 * (src/lib/client/apps.svelte.ts); everything an app does is then an ordinary, checked update of
 * the agent's own.
 */
import { eq, sql } from 'drizzle-orm';
import { apps } from '../drizzle/schema';
import type { AppInput } from '../src/lib/api/context';
import { newId } from '../src/lib/ticket';
import { actorOf, type Principal } from './auth/principal';
import { ApiError, notFound } from './errors';
import type { Events } from './events';
import type { Db } from './storage/database';

export type App = typeof apps.$inferSelect;

export class Apps {
	constructor(
		private readonly db: Db,
		private readonly events: Events
	) {}

	list(options: { enabledOnly?: boolean } = {}): App[] {
		return this.db
			.select()
			.from(apps)
			.where(options.enabledOnly ? eq(apps.enabled, true) : undefined)
			.orderBy(sql`${apps.name} COLLATE NOCASE`)
			.all();
	}

	get(id: string): App | null {
		return this.db.select().from(apps).where(eq(apps.id, id)).get() ?? null;
	}

	create(input: AppInput, by: Principal): App {
		if (this.db.select({ id: apps.id }).from(apps).where(eq(apps.name, input.name)).get()) {
			throw new ApiError(400, 'invalid_field', `name: an app called ${input.name} is installed already`, 'name');
		}
		const app: App = { id: newId(), ...input, scopes: [...new Set(input.scopes)], createdAt: Date.now() };
		this.db.transaction(() => {
			this.db.insert(apps).values(app).run();
			this.record(by, 'app.installed', app);
		});
		return app;
	}

	/** Replaces an app's URL, scopes and whether it is enabled (its name stays). */
	update(id: string, input: Omit<AppInput, 'name'>, by: Principal): App {
		return this.db.transaction(() => {
			const updated = this.db
				.update(apps)
				.set({ url: input.url, scopes: [...new Set(input.scopes)], enabled: input.enabled })
				.where(eq(apps.id, id))
				.returning()
				.get();
			if (!updated) throw notFound('app');
			this.record(by, 'app.updated', updated);
			return updated;
		});
	}

	delete(id: string, by: Principal): void {
		this.db.transaction(() => {
			const deleted = this.db.delete(apps).where(eq(apps.id, id)).returning().get();
			if (!deleted) throw notFound('app');
			this.record(by, 'app.removed', deleted);
		});
	}

	private record(by: Principal, type: string, app: App): void {
		this.events.record({ actor: actorOf(by), type, data: { appId: app.id, name: app.name, scopes: app.scopes, enabled: app.enabled } });
	}
}
