/**
 * The test harness itself, on the project's engine: a data directory has one database for every
 * use (fixtures, servers, the CLI, the db helpers), a fresh one per directory, and the db helpers
 * read and write it with SQL that means the same on both engines.
 */
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { countRows, storedCounts, withStore } from '../helpers/db';
import { databaseEnv, TEST_ENGINE, tempDataDir } from '../helpers/server';

describe(`the harness on ${TEST_ENGINE}`, () => {
	it('gives a data directory one database for every use, and another directory a fresh one', async () => {
		const [one, other] = [tempDataDir(), tempDataDir()];
		const env = await databaseEnv(one);
		expect(await databaseEnv(one)).toEqual(env);
		if (TEST_ENGINE === 'sqlite') {
			expect(env).toEqual({});
			return;
		}
		expect(env.DATABASE_URL).toMatch(/^postgres:\/\/.*\/server_\d+_\d+$/);
		expect((await databaseEnv(other)).DATABASE_URL).not.toBe(env.DATABASE_URL);
	});

	it('reads and writes through a store on that database', async () => {
		const dataDir = tempDataDir();
		expect(await storedCounts(dataDir)).toEqual({ updates: 0, snapshots: 0, tickets: 0, customers: 0 });
		await withStore(dataDir, async (store) => {
			expect(store.engine).toBe(TEST_ENGINE);
			await store.run(sql`INSERT INTO sequences (name, value) VALUES (${'harness'}, ${41})`);
		});
		// Another store on the same directory sees it: the same database.
		expect(await countRows(dataDir, sql`SELECT value + 1 AS n FROM sequences WHERE name = ${'harness'}`)).toBe(42);
		expect(await countRows(tempDataDir(), sql`SELECT count(*) AS n FROM sequences WHERE name = ${'harness'}`)).toBe(0);
	});
});
