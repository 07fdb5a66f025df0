/**
 * The two schemas cannot drift: the SQLite migrations and the PostgreSQL migrations, each applied
 * to an empty database, give the same tables, columns (type family and nullability), primary keys,
 * unique constraints, indexes (with their predicates), foreign keys and triggers; and a row
 * written through drizzle reads back as the same JavaScript values on both engines.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { eq, getTableName } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as sqliteSchema from '../../drizzle/schema';
import * as pgSchemaModule from '../../drizzle/schema.pg';
import { openDatabase, type Db } from '../../server/storage/database';
import { startPostgres, type Postgres } from '../helpers/postgres';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/**
 * The full-text indexes, the help centre's `help_articles_fts` and the tickets' `ticket_search`, on
 * both engines but each engine's own structure (server/help-centre.ts, server/search/): SQLite's
 * FTS5 tables with their shadow tables and triggers, PostgreSQL's tables of a tsvector with a GIN
 * index (migrations-pg 0002_help_search, 0008_ticket_search). Left out of the comparison.
 */
const SEARCH_TABLES = /^(help_articles_fts|ticket_search)/;

interface Shape {
	tables: Record<string, { columns: Record<string, string>; primaryKey: string[] }>;
	unique: string[];
	indexes: string[];
	foreignKeys: string[];
	triggers: string[];
}

/** SQLite declared types and PostgreSQL types, as the families drizzle maps between them. */
const FAMILY: Record<string, string> = { text: 'text', jsonb: 'text', integer: 'integer', bigint: 'integer', boolean: 'integer', blob: 'blob', bytea: 'blob' };
const family = (type: string) => FAMILY[type.toLowerCase()] ?? `unknown:${type}`;
/** Predicates as each engine prints them, reduced to the words: `status != 'done'` = `(status <> 'done'::text)`. */
const predicate = (where: string | null) => (where ?? '').replace(/::text/g, '').replace(/<>/g, '!=').replace(/[()"`\s]/g, '').toLowerCase();

function sqliteShape(db: Db): Shape {
	const sqlite = db.$client;
	const names = (sqlite.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__drizzle%'`).all() as { name: string }[])
		.map((r) => r.name)
		.filter((n) => !SEARCH_TABLES.test(n));
	const shape: Shape = { tables: {}, unique: [], indexes: [], foreignKeys: [], triggers: [] };
	for (const table of names) {
		const info = sqlite.prepare(`PRAGMA table_info("${table}")`).all() as { name: string; type: string; notnull: number; pk: number }[];
		shape.tables[table] = {
			columns: Object.fromEntries(info.map((c) => [c.name, `${family(c.type)} ${c.notnull || c.pk ? 'not null' : 'null'}`])),
			primaryKey: info.filter((c) => c.pk).sort((a, b) => a.pk - b.pk).map((c) => c.name)
		};
		for (const ix of sqlite.prepare(`PRAGMA index_list("${table}")`).all() as { name: string; unique: number; origin: string; partial: number }[]) {
			if (ix.origin === 'pk') continue;
			const columns = (sqlite.prepare(`PRAGMA index_info("${ix.name}")`).all() as { name: string }[]).map((c) => c.name).join(',');
			const sql = (sqlite.prepare(`SELECT sql FROM sqlite_master WHERE name = ?`).get(ix.name) as { sql: string | null } | undefined)?.sql ?? null;
			const where = ix.partial && sql ? sql.slice(sql.toUpperCase().lastIndexOf(' WHERE ') + 7) : null;
			(ix.unique ? shape.unique : shape.indexes).push(`${table}(${columns})${where ? ` where ${predicate(where)}` : ''}${ix.unique ? '' : ` ${ix.name}`}`);
		}
		for (const fk of sqlite.prepare(`PRAGMA foreign_key_list("${table}")`).all() as { from: string; table: string; to: string; on_delete: string }[])
			shape.foreignKeys.push(`${table}.${fk.from} -> ${fk.table}.${fk.to} on delete ${fk.on_delete.toLowerCase()}`);
	}
	shape.triggers = (sqlite.prepare(`SELECT tbl_name || '.' || name AS t FROM sqlite_master WHERE type = 'trigger'`).all() as { t: string }[])
		.map((r) => r.t)
		.filter((t) => !SEARCH_TABLES.test(t));
	return normalise(shape);
}

async function postgresShape(client: pg.Client): Promise<Shape> {
	const shape: Shape = { tables: {}, unique: [], indexes: [], foreignKeys: [], triggers: [] };
	const columns = await client.query<{ table_name: string; column_name: string; data_type: string; is_nullable: string }>(
		`SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = 'public'`
	);
	for (const c of columns.rows) {
		shape.tables[c.table_name] ??= { columns: {}, primaryKey: [] };
		shape.tables[c.table_name]!.columns[c.column_name] = `${family(c.data_type)} ${c.is_nullable === 'NO' ? 'not null' : 'null'}`;
	}
	const indexes = await client.query<{ table: string; name: string; unique: boolean; primary: boolean; columns: string[]; where: string | null }>(
		`SELECT t.relname AS table, i.relname AS name, x.indisunique AS unique, x.indisprimary AS primary,
		        array(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n ORDER BY k.o)::text[] AS columns,
		        pg_get_expr(x.indpred, x.indrelid) AS where
		   FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
		  WHERE n.nspname = 'public'`
	);
	for (const ix of indexes.rows) {
		if (ix.primary) shape.tables[ix.table]!.primaryKey = ix.columns;
		else (ix.unique ? shape.unique : shape.indexes).push(`${ix.table}(${ix.columns.join(',')})${ix.where ? ` where ${predicate(ix.where)}` : ''}${ix.unique ? '' : ` ${ix.name}`}`);
	}
	const fks = await client.query<{ table: string; column: string; ftable: string; fcolumn: string; on_delete: string }>(
		`SELECT kcu.table_name AS table, kcu.column_name AS column, ccu.table_name AS ftable, ccu.column_name AS fcolumn, rc.delete_rule AS on_delete
		   FROM information_schema.referential_constraints rc
		   JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = rc.constraint_name
		   JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = rc.constraint_name
		  WHERE rc.constraint_schema = 'public'`
	);
	for (const fk of fks.rows) shape.foreignKeys.push(`${fk.table}.${fk.column} -> ${fk.ftable}.${fk.fcolumn} on delete ${fk.on_delete.toLowerCase()}`);
	const triggers = await client.query<{ t: string }>(`SELECT c.relname || '.' || tg.tgname AS t FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid WHERE NOT tg.tgisinternal`);
	shape.triggers = triggers.rows.map((r) => r.t);
	delete shape.tables['__drizzle_migrations'];
	for (const table of Object.keys(shape.tables)) if (SEARCH_TABLES.test(table)) delete shape.tables[table];
	shape.indexes = shape.indexes.filter((ix) => !SEARCH_TABLES.test(ix));
	shape.unique = shape.unique.filter((ix) => !SEARCH_TABLES.test(ix));
	return normalise(shape);
}

function normalise(shape: Shape): Shape {
	return { ...shape, unique: shape.unique.sort(), indexes: shape.indexes.sort(), foreignKeys: shape.foreignKeys.sort(), triggers: shape.triggers.sort() };
}

describe('the SQLite and PostgreSQL schemas', () => {
	let postgres: Postgres;
	let client: pg.Client;
	let dir: string;
	let sqlite: Db;

	beforeAll(async () => {
		postgres = await startPostgres();
		const url = await postgres.createDatabase('parity');
		client = new pg.Client({ connectionString: url });
		await client.connect();
		await migrate(drizzle(client), { migrationsFolder: path.join(root, 'drizzle/migrations-pg') });
		dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-parity-'));
		sqlite = openDatabase(path.join(dir, 'tandem.sqlite'));
	});

	afterAll(async () => {
		await client?.end();
		sqlite?.$client.close();
		await postgres?.destroy();
		if (dir) fs.rmSync(dir, { recursive: true, force: true });
	});

	it('every SQLite table has its PostgreSQL twin under the same export name', () => {
		const tables = (module: Record<string, unknown>) =>
			Object.entries(module)
				.filter(([, v]) => {
					try {
						return typeof v === 'object' && v !== null && typeof getTableName(v as never) === 'string';
					} catch {
						return false;
					}
				})
				.map(([k, v]) => `${k}:${getTableName(v as never)}`)
				.sort();
		const fromSqlite = tables(sqliteSchema);
		expect(fromSqlite.length).toBeGreaterThan(30);
		expect(tables(pgSchemaModule).filter((t) => !t.startsWith('pgSchema'))).toEqual(fromSqlite);
	});

	it('migrate to the same tables, columns, keys, indexes, foreign keys and triggers', async () => {
		const [fromSqlite, fromPostgres] = [sqliteShape(sqlite), await postgresShape(client)];
		expect(Object.keys(fromPostgres.tables).sort()).toEqual(Object.keys(fromSqlite.tables).sort());
		for (const table of Object.keys(fromSqlite.tables)) expect({ table, ...fromPostgres.tables[table] }).toEqual({ table, ...fromSqlite.tables[table] });
		expect(fromPostgres.unique).toEqual(fromSqlite.unique);
		expect(fromPostgres.indexes).toEqual(fromSqlite.indexes);
		expect(fromPostgres.foreignKeys).toEqual(fromSqlite.foreignKeys);
		expect(fromPostgres.triggers).toEqual(fromSqlite.triggers);
		for (const list of [fromSqlite.unique, fromSqlite.indexes, fromSqlite.foreignKeys, fromSqlite.triggers]) expect(list.length).toBeGreaterThan(3);
	});

	it('read back the same JavaScript values on both engines', async () => {
		const pgDb = drizzle(client);
		const { users, apiTokens, ticketUpdates } = sqliteSchema;
		const pgTables = pgSchemaModule.pgSchema;
		const user = { id: 'U1', email: 'a@example.com', name: 'Ada', role: 'agent' as const, passwordHash: 'h', disabled: true, createdAt: 1_767_225_600_123 };
		const token = { id: 'T1', name: 'bot', tokenHash: 'x', channels: ['chat', 'email'], createdAt: 1_767_225_600_123, lastUsedAt: null, revokedAt: null, createdBy: null };
		const update = { ticketId: 'K1', seq: 1, data: Buffer.from([0, 1, 2, 255]), receivedAt: 1_767_225_600_999, actor: 'system' };
		sqlite.insert(users).values(user).run();
		sqlite.insert(apiTokens).values(token).run();
		sqlite.insert(ticketUpdates).values(update).run();
		await pgDb.insert(pgTables.users).values(user as never);
		await pgDb.insert(pgTables.apiTokens).values(token as never);
		await pgDb.insert(pgTables.ticketUpdates).values(update as never);
		const [fromSqlite, fromPostgres] = [
			[sqlite.select().from(users).where(eq(users.id, 'U1')).get(), sqlite.select().from(apiTokens).get(), sqlite.select().from(ticketUpdates).get()],
			[(await pgDb.select().from(pgTables.users))[0], (await pgDb.select().from(pgTables.apiTokens))[0], (await pgDb.select().from(pgTables.ticketUpdates))[0]]
		];
		expect(fromSqlite).toEqual([user, token, { ...update, seq: 1 }]);
		expect(fromPostgres).toEqual(fromSqlite);
		expect(Buffer.isBuffer((fromPostgres[2] as { data: unknown }).data)).toBe(true);
	});

	it('move the access epoch on both engines when a user is disabled', async () => {
		const epoch = async () => Number((await client.query('SELECT epoch FROM access_epoch WHERE id = 1')).rows[0].epoch);
		const before = await epoch();
		await client.query(`UPDATE users SET disabled = false WHERE id = 'U1'`);
		expect(await epoch()).toBe(before + 1);
		await client.query(`UPDATE users SET name = 'Ada L.' WHERE id = 'U1'`);
		expect(await epoch()).toBe(before + 1);
		const sqliteEpoch = () => (sqlite.$client.prepare('SELECT epoch FROM access_epoch WHERE id = 1').get() as { epoch: number }).epoch;
		const sqliteBefore = sqliteEpoch();
		sqlite.$client.prepare(`UPDATE users SET disabled = 0 WHERE id = 'U1'`).run();
		expect(sqliteEpoch()).toBe(sqliteBefore + 1);
	});
});
