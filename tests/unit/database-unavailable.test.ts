/**
 * What counts as "the database does not answer" (a 503, come back later) and what does not (a
 * fault of the server or a refusal), on errors the drivers really throw.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { StorageError } from '../../server/storage/ticket-log';
import { isDatabaseUnavailable } from '../../server/storage/unavailable';
import { freePort } from '../helpers/ports';

/** Wrapped as drizzle wraps a driver's error. */
const failedQuery = (cause: unknown) => new Error('Failed query: select 1', { cause });

function sqliteError(work: (db: Database.Database) => void): unknown {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-unavailable-'));
	const db = new Database(path.join(dir, 'db.sqlite'));
	try {
		work(db);
	} catch (error) {
		return error;
	} finally {
		db.close();
		fs.rmSync(dir, { recursive: true, force: true });
	}
	throw new Error('expected the statement to fail');
}

describe('isDatabaseUnavailable', () => {
	it('is true of a PostgreSQL that refuses the connection, wrapped or not', async () => {
		const client = new pg.Client({ host: '127.0.0.1', port: await freePort(), user: 'tandem', connectionTimeoutMillis: 5_000 });
		const refused = await client.connect().then(
			() => null,
			(error: unknown) => error
		);
		expect(refused).toMatchObject({ code: 'ECONNREFUSED' });
		expect(isDatabaseUnavailable(refused)).toBe(true);
		expect(isDatabaseUnavailable(failedQuery(refused))).toBe(true);
	});

	it('is true of a server shutting down, a statement timeout, a broken connection and a StorageError', () => {
		for (const code of ['57P01', '57P03', '57014', '08006', '53300']) expect(isDatabaseUnavailable(failedQuery(Object.assign(new Error('pg'), { code })))).toBe(true);
		expect(isDatabaseUnavailable(failedQuery(new Error('Connection terminated unexpectedly')))).toBe(true);
		expect(isDatabaseUnavailable(new StorageError('could not write to the update log', new Error('disk')))).toBe(true);
	});

	it('is true of an SQLite file that cannot be opened', () => {
		let error: unknown;
		try {
			new Database(os.tmpdir()); // a folder where the file should be
		} catch (e) {
			error = e;
		}
		expect(error).toMatchObject({ code: 'SQLITE_CANTOPEN' });
		expect(isDatabaseUnavailable(failedQuery(error))).toBe(true);
	});

	it('is false of a wrong query, a refused row and a bug', () => {
		const syntax = sqliteError((db) => db.exec('SELEC 1'));
		expect(syntax).toMatchObject({ code: 'SQLITE_ERROR' });
		const unique = sqliteError((db) => db.exec('CREATE TABLE t (id TEXT PRIMARY KEY); INSERT INTO t VALUES (1); INSERT INTO t VALUES (1);'));
		expect(unique).toMatchObject({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
		for (const error of [syntax, unique, Object.assign(new Error('syntax error at or near "SELEC"'), { code: '42601' }), Object.assign(new Error('duplicate key'), { code: '23505' }), new TypeError("Cannot read properties of undefined (reading 'id')")]) {
			expect(isDatabaseUnavailable(failedQuery(error))).toBe(false);
		}
		expect(isDatabaseUnavailable(null)).toBe(false);
		expect(isDatabaseUnavailable('down')).toBe(false);
		// A cause chain that loops ends.
		const looping: Error & { cause?: unknown } = new Error('loop');
		looping.cause = looping;
		expect(isDatabaseUnavailable(looping)).toBe(false);
	});
});
