/**
 * Looks into the database of a data directory, for assertions on what was stored: the SQLite file
 * in it, or on PostgreSQL the database its servers use (see databaseEnv). Queries are drizzle
 * `sql` with values as `${parameters}`, and must mean the same on both engines.
 */
import fs from 'node:fs';
import path from 'node:path';
import { count, type SQL } from 'drizzle-orm';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import * as Y from 'yjs';
import { fileStoreOf, type FileStore } from '../../server/files';
import { openPostgresStore, openSqliteStore, type Store } from '../../server/storage/store';
import { TicketLog } from '../../server/storage/ticket-log';
import { databaseEnv } from './server';

/** Runs `work` on a store opened on `dataDir`'s database, closed afterwards. */
export async function withStore<T>(dataDir: string, work: (store: Store) => Promise<T>): Promise<T> {
	const { DATABASE_URL } = await databaseEnv(dataDir);
	const store = DATABASE_URL ? await openPostgresStore(DATABASE_URL, { maxConnections: 2 }) : openSqliteStore(path.join(dataDir, 'tandem.sqlite'));
	try {
		return await work(store);
	} finally {
		await store.close();
	}
}

/** The number in column `n` of the first row of `query` (a count, a sum, any one number). */
export async function countRows(dataDir: string, query: SQL): Promise<number> {
	const [row] = await withStore(dataDir, (store) => store.all<{ n: number | string | null }>(query));
	if (!row) throw new Error('the query returned no row');
	// PostgreSQL's sum() is numeric, read as a string.
	return Number(row.n);
}

/** Rows of the update log and snapshots, and tickets, in one call. */
export async function storedCounts(dataDir: string) {
	return withStore(dataDir, async (store) => {
		const { ticketUpdates, ticketSnapshots, tickets, customers } = store.tables;
		const n = async (table: SQLiteTable) => (await store.db.select({ n: count() }).from(table))[0]!.n;
		return { updates: await n(ticketUpdates), snapshots: await n(ticketSnapshots), tickets: await n(tickets), customers: await n(customers) };
	});
}

/** The ticket as its stored log says it is (latest snapshot plus the rows after it), read straight from the database. */
export async function storedDocument(dataDir: string, ticketId: string): Promise<Y.Doc> {
	return withStore(dataDir, (store) => loadDocument(store, ticketId));
}

/** The same from the PostgreSQL database at `databaseUrl` (servers given their own DATABASE_URL). */
export async function storedDocumentAt(databaseUrl: string, ticketId: string): Promise<Y.Doc> {
	const store = await openPostgresStore(databaseUrl, { maxConnections: 1 });
	try {
		return await loadDocument(store, ticketId);
	} finally {
		await store.close();
	}
}

async function loadDocument(store: Store, ticketId: string): Promise<Y.Doc> {
	const doc = new Y.Doc();
	await new TicketLog(store).loadInto(ticketId, doc);
	return doc;
}

/** The bytes of stored file `sha256`, or null when `files` has none. */
export async function readStoredFile(files: FileStore, sha256: string): Promise<Buffer | null> {
	if ((await files.sizeOf(sha256)) === null) return null;
	const chunks: Buffer[] = [];
	for await (const bytes of files.read(sha256)) chunks.push(bytes);
	return Buffer.concat(chunks);
}

/** The same in `dataDir`'s installation, wherever it keeps files (server/files.ts). */
export async function storedFile(dataDir: string, sha256: string): Promise<Buffer | null> {
	return withStore(dataDir, (store) => readStoredFile(fileStoreOf(store, dataDir), sha256));
}

/** The hashes of every file `dataDir`'s installation holds. */
export async function storedFiles(dataDir: string): Promise<string[]> {
	return withStore(dataDir, async (store) => {
		const hashes: string[] = [];
		for await (const sha256 of fileStoreOf(store, dataDir).list()) hashes.push(sha256);
		return hashes;
	});
}

/** Uploads' scratch files left in `dataDir` (beside the files on disk, or in tmp/ when files are in the database): none once a request is answered. */
export function scratchFiles(dataDir: string): string[] {
	return ['attachments', 'tmp'].flatMap((dir) => {
		const full = path.join(dataDir, dir);
		return fs.existsSync(full) ? fs.readdirSync(full).filter((name) => name.endsWith('.tmp')) : [];
	});
}
