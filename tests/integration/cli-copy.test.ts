/**
 * `cli copy --to`: a seeded SQLite installation moved into an empty database on the run's
 * PostgreSQL: every table with its rows, serial ids continuing after the copied ones, the files
 * from DATA_DIR (read back by hash), checked by the command itself; a database that is not empty
 * is refused and left as it was, and a file whose bytes do not match its name is reported.
 */
import fs from 'node:fs';
import path from 'node:path';
import { count, eq, sql } from 'drizzle-orm';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import * as schema from '../../drizzle/schema';
import { copyOrder } from '../../server/copy-to-postgres';
import { CHUNK_BYTES, DatabaseFileStore, DiskFileStore, sha256Of } from '../../server/files';
import { openPostgresStore, type Store } from '../../server/storage/store';
import { runCli, runScript } from '../helpers/cli';
import { readStoredFile, withStore } from '../helpers/db';
import { createDatabaseAt } from '../helpers/postgres';
import { tempDataDir } from '../helpers/server';

/** Rows per table. */
async function rowCounts(store: Store): Promise<Record<string, number>> {
	const counts: Record<string, number> = {};
	for (const name of copyOrder(schema)) {
		const [row] = await store.db.select({ n: count() }).from(store.tables[name] as SQLiteTable);
		counts[name] = row!.n;
	}
	return counts;
}

describe('cli copy --to', () => {
	let dataDir: string;
	let source: Record<string, number>;
	/** Files in the SQLite installation's DATA_DIR: an attachment of 2.5 chunks (text, so that the CLI's output can be compared), a small one, an empty one. */
	const files = [Buffer.from('0123456789abcdef'.repeat((CHUNK_BYTES * 2.5) / 16)), Buffer.from('a small file'), Buffer.alloc(0)];
	beforeAll(async () => {
		dataDir = tempDataDir('tandem-copy-');
		const seeded = await runCli(dataDir, 'seed');
		expect(seeded.stderr).toBe('');
		source = await withStore(dataDir, rowCounts);
		const disk = new DiskFileStore(dataDir);
		for (const content of files) await disk.put(content);
	});

	let target: Store | undefined;
	afterAll(async () => {
		await target?.close();
	});

	it('copies every table and every file into an empty database, and checks every ticket document and file', async () => {
		const url = await createDatabaseAt(inject('postgresUrl'), 'copy');
		const copy = await runCli(dataDir, 'copy', '--to', url);
		expect(copy.stderr).toBe('');
		expect(copy.code).toBe(0);
		expect(copy.stdout).toContain('users: 6 rows');
		expect(copy.stdout).toContain(`files: 3 (${files.reduce((sum, f) => sum + f.length, 0)} bytes)`);
		expect(copy.stdout).toContain(`${source.tickets} ticket documents compared`);
		expect(copy.stdout).toContain('3 files compared (SHA-256).');
		expect(copy.stdout).toContain('Copied and checked.');

		target = await openPostgresStore(url);
		expect(await rowCounts(target)).toEqual(source);
		expect(source.ticketUpdates! + source.ticketSnapshots!).toBeGreaterThan(0);
		// Values as written: the seeded admin, JSON and booleans included.
		const { users, apps } = target.tables;
		expect(await target.db.select({ name: users.name, role: users.role, disabled: users.disabled }).from(users).where(eq(users.email, 'admin@tandem.local'))).toEqual([
			{ name: 'Ada Admin', role: 'admin', disabled: false }
		]);
		expect(await target.db.select({ scopes: apps.scopes, enabled: apps.enabled }).from(apps)).toEqual([{ scopes: ['draft.insert'], enabled: true }]);
		// A new row's serial id continues after the copied ones.
		const { events } = target.tables;
		const [inserted] = await target.db.insert(events).values({ actor: 'system', type: 'test.after-copy', data: {}, createdAt: Date.now() }).returning({ id: events.id });
		const [copied] = await target.all<{ max: number }>(sql`SELECT max(id) AS max FROM ${events} WHERE type <> 'test.after-copy'`);
		expect(inserted!.id).toBe(copied!.max + 1);
		// The files are in the database, whole, and a node with a data directory of its own reads them there.
		const stored = new DatabaseFileStore(target);
		for (const content of files) expect((await readStoredFile(stored, sha256Of(content)))?.equals(content)).toBe(true);
		const elsewhere = tempDataDir('tandem-copy-node-');
		const got = await runScript('cli', ['file', 'get', sha256Of(files[0]!)], { DATA_DIR: elsewhere, DATABASE_URL: url, LOG_LEVEL: 'warn' });
		expect(got.stderr).toBe('');
		expect(got.stdout === files[0]!.toString('utf8')).toBe(true);
		expect(fs.existsSync(path.join(elsewhere, 'attachments'))).toBe(false);
	});

	it('refuses a database that has a table, and leaves it as it was', async () => {
		const url = await createDatabaseAt(inject('postgresUrl'), 'copy');
		const client = new pg.Client({ connectionString: url });
		await client.connect();
		try {
			await client.query('CREATE TABLE keep_me (id int)');
			const copy = await runCli(dataDir, 'copy', '--to', url);
			expect(copy.code).toBe(1);
			expect(copy.stderr).toMatch(/^error: .* is not an empty database \(it has public\.keep_me\): copy into a new, empty one\n$/);
			const { rows } = await client.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
			expect(rows).toEqual([{ table_name: 'keep_me' }]);
		} finally {
			await client.end();
		}
	});

	it('reports a file whose bytes do not match its name, and copies the rest', async () => {
		const damaged = sha256Of(Buffer.from('what the name says'));
		fs.writeFileSync(path.join(dataDir, 'attachments', damaged), 'something else');
		try {
			const url = await createDatabaseAt(inject('postgresUrl'), 'copy');
			const copy = await runCli(dataDir, 'copy', '--to', url);
			expect(copy.code).toBe(1);
			expect(copy.stderr).toBe(`error: the copy differs from the source:\n  file ${damaged}: its bytes in DATA_DIR do not match its name (not copied)\n`);
			expect(copy.stdout).toContain('3 files compared (SHA-256).');
		} finally {
			fs.rmSync(path.join(dataDir, 'attachments', damaged));
		}
	});

	it('refuses a --to that is not a postgres:// URL, as a usage error', async () => {
		const copy = await runCli(dataDir, 'copy', '--to', 'mysql://localhost/tandem');
		expect(copy.code).toBe(2);
		expect(copy.stderr).toContain('--to: "mysql://localhost/tandem" is not a postgres:// URL');
	});
});
