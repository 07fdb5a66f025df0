/**
 * The store on both engines: the same drizzle code reads and writes the same values, transactions
 * commit or roll back as a whole, and on SQLite (one connection) nothing from outside runs inside
 * an open transaction.
 */
import { count, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../server/storage/store';
import { ENGINES, openTestStore } from '../helpers/store';

describe.each(ENGINES)('the store on %s', (engine) => {
	let store: Store;
	beforeAll(async () => {
		store = await openTestStore(engine);
	});
	afterAll(async () => {
		await store?.close();
	});

	const user = (id: string) => ({ id, email: `${id}@example.com`, name: id, role: 'agent' as const, passwordHash: 'h', createdAt: 1_767_225_600_123 });

	it('writes and reads rows with the same values, through one query code', async () => {
		const { users, customers } = store.tables;
		await store.db.insert(users).values(user('u1'));
		await store.db.insert(customers).values({ id: 'c1', name: 'Cleo', createdAt: 5, tags: ['vip', 'é'] });
		expect(await store.db.select().from(users).where(eq(users.id, 'u1'))).toEqual([{ ...user('u1'), disabled: false }]);
		expect(await store.db.select({ tags: customers.tags, unverified: customers.unverified }).from(customers)).toEqual([{ tags: ['vip', 'é'], unverified: false }]);
		const changed = await store.db.update(users).set({ disabled: true }).where(eq(users.id, 'u1')).returning({ id: users.id });
		expect(changed).toEqual([{ id: 'u1' }]);
		expect(await store.db.update(users).set({ disabled: true }).where(eq(users.id, 'nobody')).returning({ id: users.id })).toEqual([]);
		await store.db.insert(users).values(user('u1')).onConflictDoNothing();
		expect(await store.db.select({ n: count() }).from(users)).toEqual([{ n: 1 }]);
	});

	it('commits a transaction as a whole, and rolls it back as a whole when it throws', async () => {
		const { users } = store.tables;
		await store.transaction(async (tx) => {
			await tx.insert(users).values(user('u2'));
			await tx.insert(users).values(user('u3'));
		});
		await expect(
			store.transaction(async (tx) => {
				await tx.insert(users).values(user('u4'));
				await tx.insert(users).values(user('u2')); // taken: the whole transaction fails
			})
		).rejects.toThrow();
		expect((await store.db.select({ id: users.id }).from(users)).map((r) => r.id).sort()).toEqual(['u1', 'u2', 'u3']);
	});

	it('keeps a write made beside a transaction when that transaction rolls back', async () => {
		const { users } = store.tables;
		let inside!: () => void;
		const entered = new Promise<void>((resolve) => (inside = resolve));
		const failing = store.transaction(async (tx) => {
			await tx.insert(users).values(user('u5'));
			inside();
			// Give the write beside it every chance to run now.
			await new Promise((resolve) => setImmediate(resolve));
			throw new Error('rolled back on purpose');
		});
		await entered;
		// A drizzle query runs when it is awaited or then'd: start it now, while the transaction is open.
		const beside = store.db.insert(users).values(user('u6')).then(() => 'written');
		await expect(failing).rejects.toThrow('rolled back on purpose');
		expect(await beside).toBe('written');
		const ids = (await store.db.select({ id: users.id }).from(users)).map((r) => r.id);
		expect(ids).toContain('u6');
		expect(ids).not.toContain('u5');
	});

	it('gives every one of many concurrent increments its own value', async () => {
		const { sequences } = store.tables;
		await store.db.insert(sequences).values({ name: 'counter', value: 0 });
		const taken = await Promise.all(
			Array.from({ length: 40 }, () =>
				store.transaction(async (tx) => {
					const [row] = await tx
						.update(sequences)
						.set({ value: sql`${sequences.value} + 1` })
						.where(eq(sequences.name, 'counter'))
						.returning({ value: sequences.value });
					return row!.value;
				})
			)
		);
		expect(taken.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
	});

	it('runs hand-written SQL, reading rows as objects with numbers', async () => {
		const { sequences } = store.tables;
		await store.run(sql`INSERT INTO ${sequences} (name, value) VALUES (${'raw'}, ${7})`);
		expect(await store.all(sql`SELECT name, value, count(*) AS n FROM ${sequences} WHERE name = ${'raw'} GROUP BY name, value`)).toEqual([{ name: 'raw', value: 7, n: 1 }]);
		expect(await store.run(sql`UPDATE ${sequences} SET value = value + 1 WHERE name LIKE ${'ra%'}`)).toBe(1);
	});

	it('lets exactly one of two concurrent read-then-write decisions win, under a lock', async () => {
		const { sequences } = store.tables;
		await store.db.insert(sequences).values({ name: 'seat', value: 0 });
		// Each decision reads the seat, yields (as real work does) and takes it only if still free.
		const take = () =>
			store.transaction(async (tx) => {
				await store.lock(tx, sequences, eq(sequences.name, 'seat'));
				const [seat] = await tx.select({ value: sequences.value }).from(sequences).where(eq(sequences.name, 'seat'));
				await new Promise((resolve) => setTimeout(resolve, 20));
				if (seat!.value !== 0) return false;
				await tx.update(sequences).set({ value: 1 }).where(eq(sequences.name, 'seat'));
				return true;
			});
		const won = await Promise.all([take(), take(), take()]);
		expect(won.filter(Boolean)).toHaveLength(1);
	});

	it('calls back after the commit, when what was written is visible from outside; never after a rollback', async () => {
		const { sequences } = store.tables;
		const calls: string[] = [];
		store.afterCommit(() => calls.push('outside'));
		expect(calls).toEqual(['outside']);
		// What a callback reads, on a connection of its own (PostgreSQL) outside the transaction.
		const seen: Promise<unknown[]>[] = [];
		const seenFrom = (name: string) => () => {
			calls.push(name);
			seen.push(store.all(sql`SELECT name FROM ${sequences} WHERE name = ${name}`));
		};
		await store.transaction(async (tx) => {
			await tx.insert(sequences).values({ name: 'kept', value: 1 });
			store.afterCommit(seenFrom('kept'));
			await expect(
				store.transaction(async (inner) => {
					await inner.insert(sequences).values({ name: 'savepoint', value: 1 });
					store.afterCommit(seenFrom('savepoint'));
					throw new Error('savepoint rolled back');
				})
			).rejects.toThrow('savepoint rolled back');
			await store.transaction(async (inner) => {
				await inner.insert(sequences).values({ name: 'nested', value: 1 });
				store.afterCommit(seenFrom('nested'));
			});
			expect(calls).toEqual(['outside']);
		});
		expect(calls).toEqual(['outside', 'kept', 'nested']);
		expect(await Promise.all(seen)).toEqual([[{ name: 'kept' }], [{ name: 'nested' }]]);
		await expect(
			store.transaction(async (tx) => {
				await tx.insert(sequences).values({ name: 'rolled back', value: 1 });
				store.afterCommit(seenFrom('rolled back'));
				throw new Error('rolled back on purpose');
			})
		).rejects.toThrow('rolled back on purpose');
		expect(calls).toEqual(['outside', 'kept', 'nested']);
	});

	it('makes store.db the open transaction for everything the transaction awaits, and nests as a savepoint', async () => {
		const { users } = store.tables;
		// A service that knows nothing of transactions writes through store.db.
		const addUser = (id: string) => store.db.insert(users).values(user(id));
		await expect(
			store.transaction(async () => {
				await addUser('t1');
				throw new Error('rolled back on purpose');
			})
		).rejects.toThrow('rolled back on purpose');
		await store.transaction(async () => {
			await addUser('t2');
			await expect(
				store.transaction(async () => {
					await addUser('t3');
					throw new Error('inner only');
				})
			).rejects.toThrow('inner only');
			await addUser('t4');
		});
		const ids = (await store.db.select({ id: users.id }).from(users)).map((r) => r.id);
		expect(ids).toEqual(expect.arrayContaining(['t2', 't4']));
		expect(ids).not.toContain('t1');
		expect(ids).not.toContain('t3');
	});
});
