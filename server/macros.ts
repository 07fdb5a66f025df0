/**
 * Macros: canned replies an agent inserts into a draft, with field changes (status, priority,
 * tags, note or reply) applied alongside. Admins write them; every user may list them.
 */
import { asc, eq, sql } from 'drizzle-orm';
import { newId } from '../src/lib/ticket';
import type { MacroInput } from '../src/lib/api/schemas';
import { macros } from '../drizzle/schema';
import { actorOf, type Principal } from './auth/principal';
import { notFound } from './errors';
import type { Events } from './events';
import type { Db } from './storage/database';

export type Macro = typeof macros.$inferSelect;

export class Macros {
	constructor(
		private readonly db: Db,
		private readonly events: Events
	) {}

	/** Every macro, by title. */
	list(): Macro[] {
		return this.db
			.select()
			.from(macros)
			.orderBy(sql`${macros.title} COLLATE NOCASE`, asc(macros.id))
			.all();
	}

	get(id: string): Macro | null {
		return this.db.select().from(macros).where(eq(macros.id, id)).get() ?? null;
	}

	/** `input` was checked by macroInputSchema; who may write macros is the caller's rule. */
	create(input: MacroInput, by: Principal): Macro {
		const now = Date.now();
		const macro: Macro = { id: newId(), ...fieldsOf(input), createdBy: actorOf(by), createdAt: now, updatedAt: now };
		this.db.transaction(() => {
			this.db.insert(macros).values(macro).run();
			this.record(by, 'macro.created', macro);
		});
		return macro;
	}

	/** Replaces a macro's title, body and actions. Throws not found for an unknown id. */
	update(id: string, input: MacroInput, by: Principal): Macro {
		return this.db.transaction(() => {
			const updated = this.db.update(macros).set({ ...fieldsOf(input), updatedAt: Date.now() }).where(eq(macros.id, id)).returning().get();
			if (!updated) throw notFound('macro');
			this.record(by, 'macro.updated', updated);
			return updated;
		});
	}

	/** Throws not found for an unknown id. */
	delete(id: string, by: Principal): void {
		this.db.transaction(() => {
			const deleted = this.db.delete(macros).where(eq(macros.id, id)).returning().get();
			if (!deleted) throw notFound('macro');
			this.record(by, 'macro.deleted', deleted);
		});
	}

	private record(by: Principal, type: string, macro: Macro): void {
		this.events.record({ actor: actorOf(by), type, data: { macroId: macro.id, title: macro.title } });
	}
}

/** Exactly the stored fields of an input (a form may carry more, such as the macro's id). */
const fieldsOf = ({ title, body, actions }: MacroInput) => ({ title, body, actions });
