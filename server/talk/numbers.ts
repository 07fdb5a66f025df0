/** Talk numbers: the phone numbers customers call, each with a label and an optional group. */
import { and, asc, eq, ne } from 'drizzle-orm';
import type { talkNumbers } from '../../drizzle/schema';
import type { TalkNumberInput } from '../../src/lib/api/schemas';
import { newId } from '../../src/lib/ticket';
import { isUniqueViolation, type Store } from '../storage/store';
import { ApiError, notFound } from '../errors';
import type { Events } from '../events';

export type TalkNumber = typeof talkNumbers.$inferSelect;

export class TalkNumbers {
	constructor(
		private readonly store: Store,
		private readonly events?: Events
	) {}

	/** Adds a number (already normalised by talkNumberInputSchema); 409 when it exists. */
	async create(input: TalkNumberInput, by = 'system'): Promise<TalkNumber> {
		const row: TalkNumber = { id: newId(), ...input, createdAt: Date.now() };
		return this.taken(input.number, () =>
			this.store.transaction(async (tx) => {
				await this.ensureFree(input.number);
				await tx.insert(this.store.tables.talkNumbers).values(row);
				await this.events?.record({ actor: by, type: 'talk_number.created', data: { talkNumberId: row.id, number: row.number, label: row.label, groupId: row.groupId } });
				return row;
			})
		);
	}

	async update(id: string, input: TalkNumberInput, by = 'system'): Promise<TalkNumber> {
		const { talkNumbers } = this.store.tables;
		return this.taken(input.number, () =>
			this.store.transaction(async (tx) => {
				await this.store.lock(tx, talkNumbers, eq(talkNumbers.id, id));
				if (!(await this.get(id))) throw notFound('Talk number');
				await this.ensureFree(input.number, id);
				await tx.update(talkNumbers).set(input).where(eq(talkNumbers.id, id));
				await this.events?.record({ actor: by, type: 'talk_number.updated', data: { talkNumberId: id, ...input } });
				return (await this.get(id))!;
			})
		);
	}

	async get(id: string): Promise<TalkNumber | undefined> {
		const { talkNumbers } = this.store.tables;
		const [row] = await this.store.db.select().from(talkNumbers).where(eq(talkNumbers.id, id)).limit(1);
		return row;
	}

	/** The Talk number `number` (normalised), if it is one of ours. */
	async byNumber(number: string): Promise<TalkNumber | undefined> {
		const { talkNumbers } = this.store.tables;
		const [row] = await this.store.db.select().from(talkNumbers).where(eq(talkNumbers.number, number)).limit(1);
		return row;
	}

	/** All numbers, oldest first. */
	async list(): Promise<TalkNumber[]> {
		const { talkNumbers } = this.store.tables;
		return this.store.db.select().from(talkNumbers).orderBy(asc(talkNumbers.createdAt), asc(talkNumbers.id));
	}

	/** The number an outbound call for a ticket of `groupId` goes out from: the group's, else the first. */
	async outboundFor(groupId: string | null): Promise<TalkNumber | undefined> {
		const all = await this.list();
		return all.find((n) => groupId !== null && n.groupId === groupId) ?? all[0];
	}

	private async ensureFree(number: string, exceptId?: string) {
		const { talkNumbers } = this.store.tables;
		const [existing] = await this.store.db
			.select()
			.from(talkNumbers)
			.where(exceptId ? and(eq(talkNumbers.number, number), ne(talkNumbers.id, exceptId)) : eq(talkNumbers.number, number))
			.limit(1);
		if (existing) throw this.conflict(number, existing.label);
	}

	/** Runs `write`; a number stored meanwhile by someone else (the unique number decides) is a 409. */
	private async taken<T>(number: string, write: () => Promise<T>): Promise<T> {
		try {
			return await write();
		} catch (error) {
			if (!isUniqueViolation(error)) throw error;
			throw this.conflict(number, (await this.byNumber(number))?.label ?? number);
		}
	}

	private conflict(number: string, label: string) {
		return new ApiError(409, 'conflict', `${number} is already a Talk number (“${label}”)`, 'number');
	}
}
