/**
 * The file store (server/files.ts) in each of its places: DATA_DIR, and the database on SQLite and
 * on PostgreSQL. A file is stored once and is there whole or not at all; it reads back whole or by
 * any byte range, across chunks; an upload is bounded while it is staged and leaves no scratch
 * file; names that are not hashes never reach a path or a query. In the database: two processes
 * storing the same file at once both succeed, bytes that do not match their hash are refused, and
 * on PostgreSQL the files an earlier version kept in DATA_DIR are copied in once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CHUNK_BYTES, DamagedFile, DatabaseFileStore, DiskFileStore, openFileStore, sha256Of, type FileStore } from '../../server/files';
import { openPostgresStore, type Store } from '../../server/storage/store';
import { readStoredFile, scratchFiles } from '../helpers/db';
import { createDatabaseAt } from '../helpers/postgres';
import { tempDataDir } from '../helpers/server';
import { openTestStore } from '../helpers/store';

const bytes = (size: number, seed: number) => Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + seed) % 251));

async function readAll(source: AsyncIterable<Buffer>): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of source) chunks.push(chunk);
	return Buffer.concat(chunks);
}

async function listed(files: FileStore): Promise<string[]> {
	const hashes: string[] = [];
	for await (const sha256 of files.list()) hashes.push(sha256);
	return hashes;
}

/** A request body arriving in `pieces` of `size` bytes. */
async function* body(pieces: number, size: number): AsyncIterable<Uint8Array> {
	for (let i = 0; i < pieces; i++) yield bytes(size, i);
}

/** Rows of the file tables holding `sha256`. */
async function rowsOf(store: Store, sha256: string) {
	const { files, fileChunks } = store.tables;
	const [[file], [chunks]] = await Promise.all([
		store.db.select({ n: count() }).from(files).where(eq(files.sha256, sha256)),
		store.db.select({ n: count() }).from(fileChunks).where(eq(fileChunks.sha256, sha256))
	]);
	return { files: file!.n, chunks: chunks!.n };
}

describe.each(['disk', 'sqlite', 'postgres'] as const)('the file store: %s', (place) => {
	let store: Store | undefined;
	let dataDir: string;
	let files: FileStore;
	beforeAll(async () => {
		dataDir = tempDataDir('tandem-files-');
		if (place === 'disk') files = new DiskFileStore(dataDir);
		else {
			store = await openTestStore(place);
			files = new DatabaseFileStore(store, path.join(dataDir, 'tmp'));
		}
	});
	afterAll(async () => {
		await store?.close();
		fs.rmSync(dataDir, { recursive: true, force: true });
	});

	it('stores a file once and reads it back whole and by any byte range, across chunks', async () => {
		const content = bytes(CHUNK_BYTES * 2 + 1000, 1);
		const sha256 = await files.put(content);
		expect(sha256).toBe(sha256Of(content));
		expect(await files.put(content)).toBe(sha256);
		if (store) expect(await rowsOf(store, sha256)).toEqual({ files: 1, chunks: 3 });
		expect(await files.sizeOf(sha256)).toBe(content.length);
		expect((await readAll(files.read(sha256))).equals(content)).toBe(true);
		const last = content.length - 1;
		for (const [start, end] of [
			[0, 0],
			[CHUNK_BYTES - 1, CHUNK_BYTES],
			[CHUNK_BYTES, CHUNK_BYTES * 2 - 1],
			[10, last],
			[CHUNK_BYTES + 5, CHUNK_BYTES * 2 + 10],
			[last, last]
		]) {
			expect((await readAll(files.read(sha256, { start: start!, end: end! }))).equals(content.subarray(start, end! + 1)), `${start}-${end}`).toBe(true);
		}
		const empty = await files.put(Buffer.alloc(0));
		expect(await files.sizeOf(empty)).toBe(0);
		expect((await readAll(files.read(empty))).length).toBe(0);
		expect((await listed(files)).sort()).toEqual([sha256, empty].sort());
	});

	it('has no file by a hash it was never given, and takes nothing but a hash for a name', async () => {
		const unknown = sha256Of(Buffer.from('never stored'));
		expect(await files.sizeOf(unknown)).toBeNull();
		await expect(readAll(files.read(unknown))).rejects.toThrow();
		for (const name of ['../tandem.sqlite', 'A'.repeat(64), `${unknown}/..`]) {
			await expect(files.sizeOf(name)).rejects.toThrow(/not a SHA-256/);
			await expect(readAll(files.read(name))).rejects.toThrow(/not a SHA-256/);
		}
	});

	it('stages an upload within its limit, then keeps or discards it, and leaves no scratch file', async () => {
		const limit = CHUNK_BYTES + 10;
		expect(await files.stage(body(3, CHUNK_BYTES / 2), limit)).toBeNull();
		expect(scratchFiles(dataDir)).toEqual([]);

		const kept = await files.stage(body(2, CHUNK_BYTES / 2 + 5), limit);
		const content = Buffer.concat([bytes(CHUNK_BYTES / 2 + 5, 0), bytes(CHUNK_BYTES / 2 + 5, 1)]);
		expect(kept).toMatchObject({ sha256: sha256Of(content), size: content.length });
		expect(await files.sizeOf(kept!.sha256)).toBeNull();
		await files.keep(kept!);
		expect((await readStoredFile(files, kept!.sha256))?.equals(content)).toBe(true);
		// The same file staged again is kept once.
		await files.keep((await files.stage(body(2, CHUNK_BYTES / 2 + 5), limit))!);
		if (store) expect(await rowsOf(store, kept!.sha256)).toEqual({ files: 1, chunks: 2 });

		const dropped = await files.stage(body(1, 100), limit);
		await files.discard(dropped!);
		expect(await files.sizeOf(dropped!.sha256)).toBeNull();
		expect(scratchFiles(dataDir)).toEqual([]);
	});
});

describe('the file store in PostgreSQL', () => {
	let url: string;
	const stores: Store[] = [];
	const open = async () => {
		const store = await openPostgresStore(url, { maxConnections: 4 });
		stores.push(store);
		return store;
	};
	beforeAll(async () => {
		url = await createDatabaseAt(inject('postgresUrl'), 'files');
	});
	afterAll(async () => {
		await Promise.all(stores.map((store) => store.close()));
	});

	it('stores one file put by two processes at once, each several times, once', async () => {
		const [a, b] = [await open(), await open()];
		const content = bytes(CHUNK_BYTES * 4, 7);
		const puts = [a, b].flatMap((store) => Array.from({ length: 4 }, () => new DatabaseFileStore(store).put(content)));
		expect(new Set(await Promise.all(puts))).toEqual(new Set([sha256Of(content)]));
		expect(await rowsOf(a, sha256Of(content))).toEqual({ files: 1, chunks: 4 });
		expect((await readStoredFile(new DatabaseFileStore(b), sha256Of(content)))?.equals(content)).toBe(true);
	});

	it('refuses bytes that are not what their hash and size say, and keeps nothing of them', async () => {
		const store = await open();
		const files = new DatabaseFileStore(store);
		const claimed = sha256Of(Buffer.from('the real content'));
		await expect(files.write(claimed, 16, [Buffer.from('something else!!')])).rejects.toBeInstanceOf(DamagedFile);
		await expect(files.write(claimed, 99, [Buffer.from('the real content')])).rejects.toBeInstanceOf(DamagedFile);
		expect(await rowsOf(store, claimed)).toEqual({ files: 0, chunks: 0 });
	});

	it("copies the files an earlier version kept in DATA_DIR into the database once, and leaves out a damaged one", async () => {
		const store = await open();
		const dataDir = tempDataDir('tandem-files-import-');
		const disk = new DiskFileStore(dataDir);
		const kept = [bytes(CHUNK_BYTES + 3, 11), bytes(500, 12)];
		for (const content of kept) await disk.put(content);
		const damaged = sha256Of(Buffer.from('what the name says'));
		fs.writeFileSync(path.join(dataDir, 'attachments', damaged), 'not that');
		const logged: { level: string; data: Record<string, unknown> }[] = [];
		const logger = { info: (data: Record<string, unknown>) => logged.push({ level: 'info', data }), warn: (data: Record<string, unknown>) => logged.push({ level: 'warn', data }) };

		const files = await openFileStore(store, dataDir, logger as never);
		expect(files).toBeInstanceOf(DatabaseFileStore);
		for (const content of kept) expect((await readStoredFile(files, sha256Of(content)))?.equals(content)).toBe(true);
		expect(await files.sizeOf(damaged)).toBeNull();
		expect(logged).toEqual([
			{ level: 'info', data: { copied: 2, bytes: CHUNK_BYTES + 503 } },
			{ level: 'warn', data: { sha256: damaged } }
		]);
		// The disk copies stay (for going back to the SQLite file); a second start copies nothing more.
		expect((await listed(disk)).length).toBe(3);
		logged.length = 0;
		await openFileStore(store, dataDir, logger as never);
		expect(logged).toEqual([{ level: 'warn', data: { sha256: damaged } }]);
		fs.rmSync(dataDir, { recursive: true, force: true });
	});
});
