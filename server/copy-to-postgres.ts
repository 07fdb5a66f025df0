/**
 * Moving an installation from its SQLite file to PostgreSQL (`cli copy --to`): every table is
 * copied into an empty database in foreign-key order, a batch of rows at a time (memory stays
 * bounded whatever the size), in one transaction (a failed copy leaves nothing behind); serial
 * sequences are advanced past the copied ids. Then the copy is checked against the source: the
 * row count of every table, every ticket document loaded from both logs, and every file read back
 * and hashed. Files (server/files.ts) go from DATA_DIR, where SQLite keeps them, into the database.
 */
import { createHash } from 'node:crypto';
import { count, getTableColumns, gt, is, sql } from 'drizzle-orm';
import { getTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core';
import pg from 'pg';
import * as Y from 'yjs';
import { copyFiles, DatabaseFileStore, type FileStore } from './files';
import { openPostgresStore, type Store, type Tables } from './storage/store';
import { TicketLog } from './storage/ticket-log';

/** The copy cannot start (the target is not empty) or did not come out equal. */
export class CopyError extends Error {}

type TableName = { [K in keyof Tables]: Tables[K] extends SQLiteTable ? K : never }[keyof Tables];

/** Rows read and written at a time. */
const BATCH_ROWS = 200;

/** The URL as it may be shown: without its password. */
export function shownUrl(url: string): string {
	const shown = new URL(url);
	if (shown.password) shown.password = '***';
	return shown.toString();
}

/** The tables of the file store: a SQLite installation keeps its files in DATA_DIR, copied file by file (copyFiles). */
const FILE_TABLES: readonly (keyof Tables)[] = ['files', 'fileChunks'];

/**
 * The tables copied row by row, in an order in which every row's foreign keys point at rows
 * already copied. The access epoch goes last: triggers on other tables (user_groups) bump it while
 * those are copied.
 */
export function copyOrder(tables: Tables): TableName[] {
	const names = (Object.keys(tables) as (keyof Tables)[]).filter((name): name is TableName => is(tables[name], SQLiteTable) && !FILE_TABLES.includes(name));
	const nameOf = new Map(names.map((name) => [tables[name] as SQLiteTable, name]));
	const ordered: TableName[] = [];
	const visit = (name: TableName) => {
		if (ordered.includes(name)) return;
		for (const key of getTableConfig(tables[name]).foreignKeys) {
			const referenced = nameOf.get(key.reference().foreignTable);
			if (referenced && referenced !== name) visit(referenced);
		}
		ordered.push(name);
	};
	for (const name of names) if (name !== 'accessEpoch') visit(name);
	return [...ordered, 'accessEpoch'];
}

/** Refuses a database that has any table: the copy never merges into or overwrites data. */
async function assertEmpty(url: string): Promise<void> {
	const client = new pg.Client({ connectionString: url });
	await client.connect();
	try {
		const { rows } = await client.query<{ name: string }>(
			`SELECT table_schema || '.' || table_name AS name FROM information_schema.tables
			 WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1 LIMIT 3`
		);
		if (rows.length) {
			throw new CopyError(`${shownUrl(url)} is not an empty database (it has ${rows.map((r) => r.name).join(', ')}${rows.length === 3 ? ', …' : ''}): copy into a new, empty one`);
		}
	} finally {
		await client.end();
	}
}

/** Copies `source` (a SQLite store) and its files into the empty PostgreSQL database at `url`, then checks the copy. */
export async function copyToPostgres(source: Store, sourceFiles: FileStore, url: string, progress: (line: string) => void): Promise<void> {
	if (source.engine !== 'sqlite') throw new CopyError('the copy reads the SQLite file in DATA_DIR: unset DATABASE_URL');
	await assertEmpty(url);
	const target = await openPostgresStore(url);
	try {
		const order = copyOrder(source.tables);
		const targetFiles = new DatabaseFileStore(target);
		progress(`Copying ${order.length} tables and the files to ${shownUrl(url)}.`);
		const damaged = await target.transaction(async () => {
			// The migrations wrote first rows (the ticket number sequence, the access epoch): the source's replace them.
			for (const name of [...order].reverse()) await target.db.delete(target.tables[name]);
			for (const name of order) progress(`  ${getTableConfig(source.tables[name]).name}: ${await copyTable(source, target, name)} rows`);
			await advanceSequences(target);
			const files = await copyFiles(sourceFiles, targetFiles);
			progress(`  files: ${files.copied} (${files.bytes} bytes)`);
			return files.damaged;
		});
		progress('Checking the copy.');
		const mismatches = [
			...(await compareCounts(source, target, order)),
			...(await compareDocuments(source, target, progress)),
			...damaged.map((sha256) => `file ${sha256}: its bytes in DATA_DIR do not match its name (not copied)`),
			...(await compareFiles(sourceFiles, targetFiles, new Set(damaged), progress))
		];
		if (mismatches.length) throw new CopyError(`the copy differs from the source:\n  ${mismatches.join('\n  ')}`);
	} finally {
		await target.close();
	}
}

/** Copies one table in batches, in SQLite's rowid order (a parent row before its children); resolves with the rows copied. */
async function copyTable(source: Store, target: Store, name: TableName): Promise<number> {
	const from = source.tables[name] as SQLiteTable;
	const columns = getTableColumns(from);
	let last = 0;
	let copied = 0;
	for (;;) {
		const batch = await source.db
			.select({ rowid: sql<number>`rowid`, row: columns })
			.from(from)
			.where(gt(sql`rowid`, last))
			.orderBy(sql`rowid`)
			.limit(BATCH_ROWS);
		if (!batch.length) return copied;
		await target.db.insert(target.tables[name] as SQLiteTable).values(batch.map((b) => b.row));
		copied += batch.length;
		last = batch[batch.length - 1]!.rowid;
	}
}

/** Serial columns continue after the largest copied value (explicit ids do not advance a sequence). */
async function advanceSequences(target: Store): Promise<void> {
	const serials = await target.all<{ table: string; column: string }>(
		sql`SELECT table_name AS "table", column_name AS "column" FROM information_schema.columns
			WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%'`
	);
	for (const { table, column } of serials) {
		const [t, c] = [sql.identifier(table), sql.identifier(column)];
		await target.run(sql`SELECT setval(pg_get_serial_sequence(${table}, ${column}), coalesce(max(${c}), 0) + 1, false) FROM ${t}`);
	}
}

async function compareCounts(source: Store, target: Store, order: TableName[]): Promise<string[]> {
	const mismatches: string[] = [];
	for (const name of order) {
		const [[from], [to]] = await Promise.all([source, target].map((store) => store.db.select({ n: count() }).from(store.tables[name] as SQLiteTable)));
		if (from!.n !== to!.n) mismatches.push(`${getTableConfig(source.tables[name]).name}: ${from!.n} rows in SQLite, ${to!.n} in PostgreSQL`);
	}
	return mismatches;
}

/** Every ticket's document, loaded from each log (snapshot and updates), one ticket at a time. */
async function compareDocuments(source: Store, target: Store, progress: (line: string) => void): Promise<string[]> {
	const { tickets } = source.tables;
	const [sourceLog, targetLog] = [new TicketLog(source), new TicketLog(target)];
	const mismatches: string[] = [];
	let compared = 0;
	let last = '';
	for (;;) {
		const ids = await source.db.select({ id: tickets.id }).from(tickets).where(gt(tickets.id, last)).orderBy(tickets.id).limit(BATCH_ROWS);
		if (!ids.length) break;
		for (const { id } of ids) {
			const [from, to] = [new Y.Doc(), new Y.Doc()];
			await sourceLog.loadInto(id, from);
			await targetLog.loadInto(id, to);
			if (!Y.equalSnapshots(Y.snapshot(from), Y.snapshot(to))) mismatches.push(`ticket ${id}: the document differs`);
			from.destroy();
			to.destroy();
		}
		compared += ids.length;
		last = ids[ids.length - 1]!.id;
	}
	progress(`  ${compared} ticket documents compared.`);
	return mismatches;
}

/** Every file of the source read back from the database and hashed: its bytes must be what its name says. */
async function compareFiles(source: FileStore, target: FileStore, damaged: ReadonlySet<string>, progress: (line: string) => void): Promise<string[]> {
	const mismatches: string[] = [];
	let compared = 0;
	for await (const sha256 of source.list()) {
		if (damaged.has(sha256)) continue;
		compared++;
		if ((await target.sizeOf(sha256)) === null) {
			mismatches.push(`file ${sha256}: not in PostgreSQL`);
			continue;
		}
		const hash = createHash('sha256');
		for await (const bytes of target.read(sha256)) hash.update(bytes);
		const actual = hash.digest('hex');
		if (actual !== sha256) mismatches.push(`file ${sha256}: reads back as ${actual}`);
	}
	progress(`  ${compared} files compared (SHA-256).`);
	return mismatches;
}
