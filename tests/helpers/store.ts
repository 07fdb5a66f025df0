/**
 * Stores for tests of services, on either engine: a fresh SQLite file, or a fresh database on the
 * run's PostgreSQL (tests/setup/postgres.ts). `describe.each(ENGINES)` runs a suite on both.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { openPostgresStore, openSqliteStore, type Engine, type Store } from '../../server/storage/store';
import { createDatabaseAt } from './postgres';

export const ENGINES: readonly Engine[] = ['sqlite', 'postgres'];

/** A new, migrated, empty store; close it when done (the SQLite file's folder is removed then). */
export async function openTestStore(engine: Engine): Promise<Store> {
	if (engine === 'postgres') return openPostgresStore(await createDatabaseAt(inject('postgresUrl'), 'test'));
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-store-'));
	const store = openSqliteStore(path.join(dir, 'tandem.sqlite'));
	const close = store.close;
	store.close = async () => {
		await close();
		fs.rmSync(dir, { recursive: true, force: true });
	};
	return store;
}
