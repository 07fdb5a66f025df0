/**
 * The store on both engines: the same drizzle code reads and writes the same values, transactions
 * commit or roll back as a whole, and on SQLite (one connection) nothing from outside runs inside
 * an open transaction.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { count, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore, openSqliteStore, type Store } from '../../server/storage/store';
import { startPostgres, type Postgres } from '../helpers/postgres';

let postgres: Postgres;
const dirs: string[] = [];

beforeAll(async () => {
	postgres = await startPostgres();
});
afterAll(async () => {
	await postgres?.destroy();
	for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

const engines: [string, () => Promise<Store>][] = [
	[
		'sqlite',
		async () => {
			const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-store-'));
			dirs.push(dir);
			return openSqliteStore(path.join(dir, 'tandem.sqlite'));
		}
	],
	['postgres', async () => openPostgresStore(await postgres.createDatabase('store'))]
];

describe.each(engines)('the store on %s', (_engine, open) => {
	let store: Store;
	beforeAll(async () => {
		store = await open();
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
});
