/** Read-only looks into a data directory's SQLite file, for assertions on what was stored. */
import path from 'node:path';
import Database from 'better-sqlite3';
import * as Y from 'yjs';
import { TicketLog } from '../../server/storage/ticket-log';
import { openSqliteStore } from '../../server/storage/store';

export function countRows(dataDir: string, sql: string, ...params: unknown[]): number {
	const db = new Database(path.join(dataDir, 'tandem.sqlite'), { readonly: true, fileMustExist: true });
	try {
		return (db.prepare(sql).get(...params) as { n: number }).n;
	} finally {
		db.close();
	}
}

/** Rows of the update log and snapshots, and tickets, in one call. */
export function storedCounts(dataDir: string) {
	return {
		updates: countRows(dataDir, 'SELECT count(*) AS n FROM ticket_updates'),
		snapshots: countRows(dataDir, 'SELECT count(*) AS n FROM ticket_snapshots'),
		tickets: countRows(dataDir, 'SELECT count(*) AS n FROM tickets'),
		customers: countRows(dataDir, 'SELECT count(*) AS n FROM customers')
	};
}

/** The ticket as its stored log says it is (latest snapshot plus the rows after it), read straight from SQLite. */
export async function storedDocument(dataDir: string, ticketId: string): Promise<Y.Doc> {
	const store = openSqliteStore(path.join(dataDir, 'tandem.sqlite'));
	try {
		const doc = new Y.Doc();
		await new TicketLog(store).loadInto(ticketId, doc);
		return doc;
	} finally {
		await store.close();
	}
}
