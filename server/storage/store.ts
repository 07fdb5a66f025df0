/**
 * The one way services reach the database, on either engine: `DATABASE_URL=postgres://…` puts every
 * table on PostgreSQL (node-postgres through drizzle), otherwise the SQLite file (better-sqlite3).
 *
 * Queries are written once with drizzle against `store.tables`, typed with the SQLite schema, whose
 * row types are the canonical ones: on PostgreSQL the tables are the derived ones
 * (drizzle/schema.pg.ts), which read back the same JavaScript values (schema-parity test). Queries
 * keep to what both engines' builders share: `await` a query for its rows (never `.get()`,
 * `.all()` or `.run()`), `.returning()` to learn what a write touched. Where an engine needs its
 * own SQL, `store.engine` picks it, side by side in one place.
 *
 * Every query is asynchronous. Transactions are ambient: inside `store.transaction(work)` (in
 * `work` and everything it awaits), `store.db` is that transaction, so a service called from
 * inside joins it without being handed it, and a nested `store.transaction` is a savepoint. On
 * SQLite, which has one connection and executes synchronously, a transaction holds a lock that
 * other queries wait for, so nothing from outside ever runs inside an open transaction (and is
 * rolled back with it). Work started inside a transaction must end with it (no fire-and-forget).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type Database from 'better-sqlite3';
import { drizzle as drizzleNodePostgres } from 'drizzle-orm/node-postgres';
import { migrate as migratePostgres } from 'drizzle-orm/node-postgres/migrator';
import { is, sql, SQL, type SQLWrapper } from 'drizzle-orm';
import { SQLiteSyncDialect, type BaseSQLiteDatabase, type SQLiteTable } from 'drizzle-orm/sqlite-core';
import { drizzle as drizzleProxy, type SqliteRemoteResult } from 'drizzle-orm/sqlite-proxy';
import pg from 'pg';
import * as schema from '../../drizzle/schema';
import { pgSchema } from '../../drizzle/schema.pg';
import { MIGRATIONS } from '../paths';
import { openDatabase } from './database';

export type Engine = 'sqlite' | 'postgres';
/** A database or an open transaction: what queries are built on. */
export type StoreDb = BaseSQLiteDatabase<'async', SqliteRemoteResult, typeof schema>;
export type Tables = typeof schema;

export interface Store {
	readonly engine: Engine;
	/** The open transaction of the calling context, else the database. */
	readonly db: StoreDb;
	readonly tables: Tables;
	/**
	 * Runs `work` in one transaction: committed when it resolves, rolled back when it throws. Inside
	 * another transaction: a savepoint of it.
	 */
	transaction<T>(work: (tx: StoreDb) => Promise<T>): Promise<T>;
	/**
	 * Rows of a hand-written query (`sql\`…\``), as objects keyed by column name, on `on` (the
	 * database or a transaction). For what the query builder cannot say; SQL that differs by
	 * engine picks by `store.engine`.
	 */
	all<T = Record<string, unknown>>(query: SQLWrapper, on?: StoreDb): Promise<T[]>;
	/** Executes a hand-written statement; resolves with the number of rows it changed. */
	run(query: SQLWrapper, on?: StoreDb): Promise<number>;
	/**
	 * Locks the rows of `table` matching `where` until transaction `tx` ends, so that a decision
	 * read-then-written in `tx` has exactly one winner among concurrent ones: PostgreSQL takes row
	 * locks (SELECT … FOR UPDATE); on SQLite a transaction already excludes every other writer.
	 */
	lock(tx: StoreDb, table: SQLiteTable, where: SQL | undefined): Promise<void>;
	/**
	 * Makes the transactions that decide about `key` take turns until transaction `tx` ends: for
	 * decisions about rows that may not exist yet (is this name free in any case?), which no row
	 * lock covers. PostgreSQL: a transaction-scoped advisory lock on the key's hash; SQLite: a
	 * transaction already excludes every other writer.
	 */
	serialise(tx: StoreDb, key: string): Promise<void>;
	/**
	 * Calls `callback` once the work of the calling context is committed: when the outermost
	 * transaction around it commits (never if it, or the savepoint the call was made in, rolls
	 * back), or at once outside any transaction. For telling others (a worker, another process)
	 * of rows they can only see from their own connection once committed.
	 */
	afterCommit(callback: () => void): void;
	/**
	 * Takes the lock named `key` for as long as this process holds it, if no other process holds it
	 * (null: another does). PostgreSQL: a session advisory lock on a connection kept for it, released
	 * when the lock is, or by the server when the connection or the process dies. SQLite: the file
	 * has one process, which always gets it.
	 */
	holdLock(key: string): Promise<HeldLock | null>;
	close(): Promise<void>;
}

/** A lock held by this process (see `Store.holdLock`). */
export interface HeldLock {
	/** Whether it is still held: false once its connection broke (the server has let it go). */
	check(): Promise<boolean>;
	release(): Promise<void>;
}

/** The store for a configuration: PostgreSQL when `database.url` is set, else the SQLite file. */
export async function openStore(config: {
	databaseFile: string;
	database: { url: string | null; poolMax: number; statementTimeoutMs: number };
}): Promise<Store> {
	if (!config.database.url) return openSqliteStore(config.databaseFile);
	return openPostgresStore(config.database.url, { maxConnections: config.database.poolMax, statementTimeoutMs: config.database.statementTimeoutMs });
}

const toSql = (query: SQLWrapper): SQL => (is(query, SQL) ? query : query.getSQL());

export interface PostgresOptions {
	/** Connections in the pool. */
	maxConnections?: number;
	/** A statement running longer is cancelled (ms). */
	statementTimeoutMs?: number;
	/** Waiting longer for a free connection fails the query (ms). */
	connectTimeoutMs?: number;
}

/** A first-come, first-served lock (SQLite's single connection). */
class Lock {
	private tail: Promise<void> = Promise.resolve();
	/** Holders and waiters. */
	private queued = 0;

	get busy() {
		return this.queued > 0;
	}

	async acquire(): Promise<() => void> {
		this.queued++;
		let release!: () => void;
		const previous = this.tail;
		this.tail = new Promise<void>((resolve) => (release = resolve));
		await previous;
		return () => {
			this.queued--;
			release();
		};
	}

	/** Resolves when every holder and waiter queued before it is done. */
	async drain(): Promise<void> {
		(await this.acquire())();
	}
}

/** The callbacks of Store.afterCommit, kept per transaction and savepoint in the calling context. */
class CommitCallbacks {
	private readonly pending = new AsyncLocalStorage<(() => void)[]>();

	add(callback: () => void) {
		const list = this.pending.getStore();
		if (list) list.push(callback);
		else callback();
	}

	/** Runs `transaction`; when it commits, its callbacks join the enclosing one's, or are called. */
	async around<T>(transaction: () => Promise<T>): Promise<T> {
		const enclosing = this.pending.getStore();
		const own: (() => void)[] = [];
		const result = await this.pending.run(own, transaction);
		if (enclosing) enclosing.push(...own);
		else for (const callback of own) callback();
		return result;
	}
}

/** Prepared statements by SQL text; a query built anew each call prepares once. Bounded. */
class StatementCache {
	private readonly statements = new Map<string, Database.Statement>();
	constructor(
		private readonly client: Database.Database,
		private readonly limit = 1000
	) {}

	get(sql: string): Database.Statement {
		let statement = this.statements.get(sql);
		if (!statement) {
			if (this.statements.size >= this.limit) this.statements.clear();
			statement = this.client.prepare(sql);
			this.statements.set(sql, statement);
		}
		return statement;
	}
}

/** The SQLite flavour: its one better-sqlite3 connection, for what only SQLite has (pragmas in fault tests). */
export type SqliteStore = Store & { client: Database.Database };

export function openSqliteStore(file: string): SqliteStore {
	const client = openDatabase(file).$client;
	const lock = new Lock();
	const inTransaction = new AsyncLocalStorage<StoreDb>();
	const commits = new CommitCallbacks();
	const statements = new StatementCache(client);
	const dialect = new SQLiteSyncDialect();
	// Outside the transaction that holds the connection, wait for it (and those queued) to end.
	const exclusive = async <T>(work: () => T): Promise<T> => {
		if (inTransaction.getStore() || !lock.busy) return work();
		const release = await lock.acquire();
		try {
			return work();
		} finally {
			release();
		}
	};
	const execute = (sql: string, params: unknown[], method: 'run' | 'all' | 'values' | 'get') => {
		const statement = statements.get(sql);
		if (method === 'run' && !statement.reader) return { rows: [], ...statement.run(...params) };
		const raw = statement.raw(true);
		try {
			return { rows: method === 'get' ? (raw.get(...params) as unknown[]) : (raw.all(...params) as unknown[]) };
		} finally {
			statement.raw(false);
		}
	};
	const db = drizzleProxy(async (sql, params, method) => exclusive(() => execute(sql, params, method)), { schema });
	return {
		engine: 'sqlite',
		client,
		get db() {
			return inTransaction.getStore() ?? db;
		},
		tables: schema,
		all: <T>(query: SQLWrapper) => {
			const { sql, params } = dialect.sqlToQuery(toSql(query));
			return exclusive(() => statements.get(sql).all(...params) as T[]);
		},
		run: (query: SQLWrapper) => {
			const { sql, params } = dialect.sqlToQuery(toSql(query));
			return exclusive(() => statements.get(sql).run(...params).changes);
		},
		async lock() {},
		async serialise() {},
		holdLock: async () => ({ check: async () => true, release: async () => {} }),
		afterCommit: (callback) => commits.add(callback),
		transaction: (work) =>
			commits.around(async () => {
				const outer = inTransaction.getStore();
				if (outer) return outer.transaction((tx) => inTransaction.run(tx, () => work(tx)));
				const release = await lock.acquire();
				try {
					// BEGIN and COMMIT run in the transaction's context too (they hold the lock it took).
					return await inTransaction.run(db, () => db.transaction((tx) => inTransaction.run(tx, () => work(tx)), { behavior: 'immediate' }));
				} finally {
					release();
				}
			}),
		async close() {
			await lock.drain();
			client.close();
		}
	};
}

type PgExecutor = ReturnType<typeof drizzleNodePostgres>;
const executeOn = (on: StoreDb, query: SQLWrapper) => (on as unknown as PgExecutor).execute(toSql(query));

// bigint columns and count(*) (int8) read as JavaScript numbers, as on SQLite: Tandem's stay far
// below 2^53. Set on pg's global parsers because drizzle passes its own per query, falling back to those.
pg.types.setTypeParser(pg.types.builtins.INT8, Number);

/**
 * How much longer than the statement timeout a query may wait for its answer before the client
 * gives up on it: the statement timeout is enforced by the server, so a server that stopped
 * answering (frozen, its host gone without closing the connection) never sends it.
 */
const ANSWER_MARGIN_MS = 2_000;

/** Whether `error` is the client giving up on a query whose answer never came (ANSWER_MARGIN_MS). */
const isUnanswered = (error: unknown) => {
	for (let e = error as { message?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
		if (e.message === 'Query read timeout') return true;
	}
	return false;
};

export async function openPostgresStore(url: string, options: PostgresOptions = {}): Promise<Store & { pool: pg.Pool }> {
	const statementTimeoutMs = options.statementTimeoutMs ?? 10_000;
	const pool = new pg.Pool({
		connectionString: url,
		max: options.maxConnections ?? 10,
		connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
		statement_timeout: statementTimeoutMs,
		query_timeout: statementTimeoutMs + ANSWER_MARGIN_MS
	});
	// An idle connection that breaks (the server restarted) is dropped by the pool; without a
	// listener its error would end the process.
	pool.on('error', () => {});
	// So does a connection that breaks while checked out (in a transaction, between two queries):
	// its queries fail, and the pool drops it when it is released.
	pool.on('connect', (client) => client.on('error', () => {}));
	const pgDb = drizzleNodePostgres(pool, { schema: pgSchema });
	await migratePostgres(pgDb, { migrationsFolder: MIGRATIONS.postgres });
	// The derived tables produce the rows the SQLite types describe (see the module comment).
	const db = pgDb as unknown as StoreDb;
	const inTransaction = new AsyncLocalStorage<StoreDb>();
	const commits = new CommitCallbacks();
	const current = () => inTransaction.getStore() ?? db;
	const byClient = new WeakMap<pg.PoolClient, PgExecutor>();
	return {
		engine: 'postgres',
		pool,
		get db() {
			return current();
		},
		tables: pgSchema as unknown as Tables,
		transaction: (work) =>
			commits.around(async () => {
				const run = (on: PgExecutor) => on.transaction((tx) => inTransaction.run(tx as unknown as StoreDb, () => work(tx as unknown as StoreDb)));
				const outer = inTransaction.getStore();
				if (outer) return run(outer as unknown as PgExecutor);
				// A connection of our own rather than drizzle's pool transaction, which keeps the connection
				// for good when BEGIN fails (a database gone away): released whatever happens, and dropped
				// by the pool when broken.
				const client = await pool.connect();
				let unanswered: Error | undefined;
				try {
					let onClient = byClient.get(client);
					if (!onClient) byClient.set(client, (onClient = drizzleNodePostgres(client, { schema: pgSchema }) as unknown as PgExecutor));
					return await run(onClient);
				} catch (error) {
					if (isUnanswered(error)) unanswered = error as Error;
					throw error;
				} finally {
					// A connection still waiting for an answer would hold up whoever takes it next: dropped.
					client.release(unanswered);
				}
			}),
		afterCommit: (callback) => commits.add(callback),
		all: async <T>(query: SQLWrapper, on: StoreDb = current()) => (await executeOn(on, query)).rows as T[],
		run: async (query: SQLWrapper, on: StoreDb = current()) => (await executeOn(on, query)).rowCount ?? 0,
		async lock(tx, table, where) {
			const select = (tx as unknown as PgExecutor).select({ locked: sql`1` }).from(table as never);
			await (where ? select.where(where) : select).for('update');
		},
		async serialise(tx, key) {
			await executeOn(tx, sql`SELECT pg_advisory_xact_lock(hashtextextended(${key}, 0))`);
		},
		holdLock: (key) => holdAdvisoryLock(pool, key),
		close: () => pool.end()
	};
}

/** A session advisory lock on a connection taken from the pool for it (see `Store.holdLock`). */
async function holdAdvisoryLock(pool: pg.Pool, key: string): Promise<HeldLock | null> {
	const client = await pool.connect();
	let broken = false;
	const onError = () => (broken = true);
	client.on('error', onError);
	// Back to the pool (pooled clients are reused: the listener goes with the loan); a broken one is dropped.
	const giveBack = () => {
		client.off('error', onError);
		client.release(broken || undefined);
	};
	try {
		const { rows } = await client.query<{ held: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS held', [key]);
		if (!rows[0]?.held) {
			giveBack();
			return null;
		}
	} catch (error) {
		broken = true;
		giveBack();
		throw error;
	}
	let released = false;
	return {
		async check() {
			if (released || broken) return false;
			try {
				await client.query('SELECT 1');
				return true;
			} catch {
				broken = true;
				return false;
			}
		},
		async release() {
			if (released) return;
			released = true;
			// A sound connection unlocks first; a broken one took the lock with it.
			if (!broken) await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch(() => (broken = true));
			giveBack();
		}
	};
}

/**
 * Whether `error` (as a query threw it: drizzle wraps the driver's error as its `cause`) is a
 * unique constraint refusing a row, on either engine: where "already exists" is a normal outcome
 * of a race, the constraint is the final word.
 */
export function isUniqueViolation(error: unknown): boolean {
	for (let e = error as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
		if (e.code === '23505' || e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return true;
	}
	return false;
}
