/**
 * Macros: canned replies an agent inserts into a draft, with field changes (status, priority,
 * tags, note or reply) applied alongside. Admins write them; every user may list them.
 */
import { asc, eq, sql } from 'drizzle-orm';
import { newId } from '../src/lib/ticket';
import type { MacroInput } from '../src/lib/api/schemas';
import type { macros } from '../drizzle/schema';
import { actorOf, type Principal } from './auth/principal';
import { notFound } from './errors';
import type { Events } from './events';
import type { Store } from './storage/store';

export type Macro = typeof macros.$inferSelect;

export class Macros {
	constructor(
		private readonly store: Store,
		private readonly events: Events
	) {}

	/** Every macro, by title. */
	async list(): Promise<Macro[]> {
		const { macros } = this.store.tables;
		return this.store.db
			.select()
			.from(macros)
			.orderBy(sql`lower(${macros.title})`, asc(macros.id));
	}

	async get(id: string): Promise<Macro | null> {
		const { macros } = this.store.tables;
		const [macro] = await this.store.db.select().from(macros).where(eq(macros.id, id)).limit(1);
		return macro ?? null;
	}

	/** `input` was checked by macroInputSchema; who may write macros is the caller's rule. */
	async create(input: MacroInput, by: Principal): Promise<Macro> {
		const { macros } = this.store.tables;
		const now = Date.now();
		const macro: Macro = { id: newId(), ...fieldsOf(input), createdBy: actorOf(by), createdAt: now, updatedAt: now };
		await this.store.transaction(async () => {
			await this.store.db.insert(macros).values(macro);
			await this.record(by, 'macro.created', macro);
		});
		return macro;
	}

	/** Replaces a macro's title, body and actions. Throws not found for an unknown id. */
	async update(id: string, input: MacroInput, by: Principal): Promise<Macro> {
		const { macros } = this.store.tables;
		return this.store.transaction(async () => {
			const [updated] = await this.store.db.update(macros).set({ ...fieldsOf(input), updatedAt: Date.now() }).where(eq(macros.id, id)).returning();
			if (!updated) throw notFound('macro');
			await this.record(by, 'macro.updated', updated);
			return updated;
		});
	}

	/** Throws not found for an unknown id. */
	async delete(id: string, by: Principal): Promise<void> {
		const { macros } = this.store.tables;
		await this.store.transaction(async () => {
			const [deleted] = await this.store.db.delete(macros).where(eq(macros.id, id)).returning();
			if (!deleted) throw notFound('macro');
			await this.record(by, 'macro.deleted', deleted);
		});
	}

	private async record(by: Principal, type: string, macro: Macro): Promise<void> {
		await this.events.record({ actor: actorOf(by), type, data: { macroId: macro.id, title: macro.title } });
	}
}

/** Exactly the stored fields of an input (a form may carry more, such as the macro's id). */
const fieldsOf = ({ title, body, actions }: MacroInput) => ({ title, body, actions });
