/** Talk numbers: the phone numbers customers call, each with a label and an optional group. */
import { asc, eq } from 'drizzle-orm';
import { talkNumbers } from '../../drizzle/schema';
import type { TalkNumberInput } from '../../src/lib/api/schemas';
import { newId } from '../../src/lib/ticket';
import { ApiError, notFound } from '../errors';
import type { Events } from '../events';
import type { Db } from '../storage/database';

export type TalkNumber = typeof talkNumbers.$inferSelect;

export class TalkNumbers {
	constructor(
		private readonly db: Db,
		private readonly events?: Events
	) {}

	/** Adds a number (already normalised by talkNumberInputSchema); 409 when it exists. */
	create(input: TalkNumberInput, by = 'system'): TalkNumber {
		const row: TalkNumber = { id: newId(), ...input, createdAt: Date.now() };
		return this.db.transaction(() => {
			this.ensureFree(input.number);
			this.db.insert(talkNumbers).values(row).run();
			this.events?.record({ actor: by, type: 'talk_number.created', data: { talkNumberId: row.id, number: row.number, label: row.label, groupId: row.groupId } });
			return row;
		});
	}

	update(id: string, input: TalkNumberInput, by = 'system'): TalkNumber {
		return this.db.transaction(() => {
			if (!this.get(id)) throw notFound('Talk number');
			this.ensureFree(input.number, id);
			this.db.update(talkNumbers).set(input).where(eq(talkNumbers.id, id)).run();
			this.events?.record({ actor: by, type: 'talk_number.updated', data: { talkNumberId: id, ...input } });
			return this.get(id)!;
		});
	}

	get(id: string): TalkNumber | undefined {
		return this.db.select().from(talkNumbers).where(eq(talkNumbers.id, id)).get();
	}

	/** The Talk number `number` (normalised), if it is one of ours. */
	byNumber(number: string): TalkNumber | undefined {
		return this.db.select().from(talkNumbers).where(eq(talkNumbers.number, number)).get();
	}

	/** All numbers, oldest first. */
	list(): TalkNumber[] {
		return this.db.select().from(talkNumbers).orderBy(asc(talkNumbers.createdAt), asc(talkNumbers.id)).all();
	}

	/** The number an outbound call for a ticket of `groupId` goes out from: the group's, else the first. */
	outboundFor(groupId: string | null): TalkNumber | undefined {
		const all = this.list();
		return all.find((n) => groupId !== null && n.groupId === groupId) ?? all[0];
	}

	private ensureFree(number: string, exceptId?: string) {
		const existing = this.byNumber(number);
		if (existing && existing.id !== exceptId) throw new ApiError(409, 'conflict', `${number} is already a Talk number (“${existing.label}”)`, 'number');
	}
}
