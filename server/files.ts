/**
 * Files' bytes (attachments, inbound mail kept aside), content-addressed by SHA-256: written once,
 * never changed, an equal file stored once. One interface, kept in one of two places:
 *
 * - DiskFileStore, DATA_DIR/attachments/<sha256>: an installation on SQLite, one process whose
 *   files lie beside its database file.
 * - DatabaseFileStore, the tables `files` and `file_chunks`: on PostgreSQL, so that every node of a
 *   cluster reads what any node stored, nothing is on one node's disk, and a dump holds the files.
 *
 * An upload is staged first: hashed and counted as it streams in, written to a scratch file on the
 * node's own disk (never more than the limit), and stored only once it is known to fit.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, asc, eq, gt, inArray } from 'drizzle-orm';
import type { Logger } from './log';
import type { Store } from './storage/store';

const SHA256 = /^[0-9a-f]{64}$/;

/** The bytes of a file in one chunk row: a 25 MB attachment is 100 rows, a byte range reads only the rows it spans. */
export const CHUNK_BYTES = 256 * 1024;

export const sha256Of = (content: Uint8Array) => createHash('sha256').update(content).digest('hex');

/** Bytes `start` to `end`, both included. */
export interface ByteRange {
	start: number;
	end: number;
}

/** An upload hashed and counted into a scratch file, not stored yet. */
export interface StagedFile {
	temp: string;
	sha256: string;
	size: number;
}

export interface FileStore {
	/** Stores `content` (once: an equal file may be there already); resolves with its SHA-256. */
	put(content: Buffer): Promise<string>;
	/**
	 * Writes `body` to a scratch file, hashing as it goes; past `maxBytes` it writes nothing more and
	 * removes what it wrote. The rest of the body is still read (adapter-node bounds it) so that the
	 * client gets the refusal instead of a reset connection. Null when the body was too large.
	 */
	stage(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StagedFile | null>;
	/** Stores a staged file (or drops it when an equal file is there already). */
	keep(staged: StagedFile): Promise<void>;
	discard(staged: StagedFile): Promise<void>;
	/** The stored file's size; null when there is no such file. */
	sizeOf(sha256: string): Promise<number | null>;
	/** The file's bytes, or only `range` of them; reading fails when there is no such file. */
	read(sha256: string, range?: ByteRange): AsyncIterable<Buffer>;
	/** The hash of every stored file. */
	list(): AsyncIterable<string>;
}

/** Refuses anything but a hex SHA-256 before it reaches a path or a query. */
function checked(sha256: string): string {
	if (!SHA256.test(sha256)) throw new Error(`not a SHA-256: ${sha256.slice(0, 80)}`);
	return sha256;
}

const scratchFile = (dir: string) => path.join(dir, `upload.${randomBytes(8).toString('hex')}.tmp`);

async function stageIn(dir: string, body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StagedFile | null> {
	await fs.promises.mkdir(dir, { recursive: true });
	const temp = scratchFile(dir);
	const hash = createHash('sha256');
	const handle = await fs.promises.open(temp, 'wx');
	let size = 0;
	let complete = false;
	try {
		try {
			for await (const chunk of body) {
				size += chunk.byteLength;
				if (size > maxBytes) continue;
				hash.update(chunk);
				await handle.write(chunk);
			}
		} catch (error) {
			// A body cut off past the server's own limit is as refused as one counted past ours.
			if (size > maxBytes) return null;
			throw error;
		}
		complete = size <= maxBytes;
	} finally {
		await handle.close();
		if (!complete) await fs.promises.rm(temp, { force: true });
	}
	return complete ? { temp, sha256: hash.digest('hex'), size } : null;
}

/** DATA_DIR/attachments/<sha256>: each file written to a scratch file beside it and renamed into place. */
export class DiskFileStore implements FileStore {
	private readonly dir: string;

	constructor(dataDir: string) {
		this.dir = path.join(dataDir, 'attachments');
	}

	async put(content: Buffer): Promise<string> {
		const sha256 = sha256Of(content);
		const file = this.fileOf(sha256);
		if (!fs.existsSync(file)) {
			await fs.promises.mkdir(this.dir, { recursive: true });
			const temp = scratchFile(this.dir);
			await fs.promises.writeFile(temp, content);
			await fs.promises.rename(temp, file);
		}
		return sha256;
	}

	stage(body: AsyncIterable<Uint8Array>, maxBytes: number) {
		return stageIn(this.dir, body, maxBytes);
	}

	async keep(staged: StagedFile) {
		const file = this.fileOf(staged.sha256);
		if (fs.existsSync(file)) await this.discard(staged);
		else await fs.promises.rename(staged.temp, file);
	}

	async discard(staged: StagedFile) {
		await fs.promises.rm(staged.temp, { force: true });
	}

	async sizeOf(sha256: string): Promise<number | null> {
		try {
			return (await fs.promises.stat(this.fileOf(sha256))).size;
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
			throw error;
		}
	}

	async *read(sha256: string, range?: ByteRange): AsyncIterable<Buffer> {
		yield* fs.createReadStream(this.fileOf(sha256), range ?? {});
	}

	async *list(): AsyncIterable<string> {
		const names = fs.existsSync(this.dir) ? await fs.promises.readdir(this.dir) : [];
		for (const name of names.sort()) if (SHA256.test(name)) yield name;
	}

	private fileOf(sha256: string): string {
		return path.join(this.dir, checked(sha256));
	}
}

/** Bytes written do not have the hash or size they were stored under. */
export class DamagedFile extends Error {}

/** `source` cut into CHUNK_BYTES pieces (the last one shorter), whatever sizes it comes in. */
async function* inChunks(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncIterable<Buffer> {
	let pending: Buffer[] = [];
	let pendingBytes = 0;
	for await (const piece of source) {
		let rest = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
		while (pendingBytes + rest.length >= CHUNK_BYTES) {
			const take = CHUNK_BYTES - pendingBytes;
			yield Buffer.concat([...pending, rest.subarray(0, take)]);
			rest = rest.subarray(take);
			pending = [];
			pendingBytes = 0;
		}
		if (rest.length) {
			// A copy: a stream may reuse the buffer it handed out.
			pending.push(Buffer.from(rest));
			pendingBytes += rest.length;
		}
	}
	if (pendingBytes) yield Buffer.concat(pending);
}

/** Rows of hashes looked up or listed at a time. */
const BATCH = 200;

/**
 * The tables `files` and `file_chunks`: a file is its row and its chunk rows, inserted in one
 * transaction, so a file is there whole or not at all. Two nodes storing the same file at once both
 * succeed: the second insert of its row waits for the first transaction and then does nothing.
 * Uploads are staged in `scratchDir` on this node's disk until they are stored.
 */
export class DatabaseFileStore implements FileStore {
	constructor(
		private readonly store: Store,
		private readonly scratchDir = os.tmpdir()
	) {}

	async put(content: Buffer): Promise<string> {
		const sha256 = sha256Of(content);
		await this.write(sha256, content.length, [content]);
		return sha256;
	}

	stage(body: AsyncIterable<Uint8Array>, maxBytes: number) {
		return stageIn(this.scratchDir, body, maxBytes);
	}

	async keep(staged: StagedFile) {
		try {
			await this.write(staged.sha256, staged.size, fs.createReadStream(staged.temp));
		} finally {
			await this.discard(staged);
		}
	}

	async discard(staged: StagedFile) {
		await fs.promises.rm(staged.temp, { force: true });
	}

	async sizeOf(sha256: string): Promise<number | null> {
		const { files } = this.store.tables;
		const [row] = await this.store.db.select({ size: files.size }).from(files).where(eq(files.sha256, checked(sha256))).limit(1);
		return row ? row.size : null;
	}

	/** One query per chunk, none held open between them: a reader that stops early leaves nothing behind. */
	async *read(sha256: string, range?: ByteRange): AsyncIterable<Buffer> {
		const { files, fileChunks } = this.store.tables;
		const [file] = await this.store.db.select({ size: files.size, chunkBytes: files.chunkBytes }).from(files).where(eq(files.sha256, checked(sha256))).limit(1);
		if (!file) throw new Error(`no stored file ${sha256}`);
		const { start, end } = range ?? { start: 0, end: file.size - 1 };
		for (let seq = Math.floor(start / file.chunkBytes); seq * file.chunkBytes <= end; seq++) {
			const [chunk] = await this.store.db
				.select({ bytes: fileChunks.bytes })
				.from(fileChunks)
				.where(and(eq(fileChunks.sha256, sha256), eq(fileChunks.seq, seq)))
				.limit(1);
			if (!chunk) throw new DamagedFile(`file ${sha256} has no chunk ${seq}`);
			const offset = seq * file.chunkBytes;
			yield chunk.bytes.subarray(Math.max(0, start - offset), end - offset + 1);
		}
	}

	async *list(): AsyncIterable<string> {
		const { files } = this.store.tables;
		for (let last = ''; ; ) {
			const rows = await this.store.db.select({ sha256: files.sha256 }).from(files).where(gt(files.sha256, last)).orderBy(asc(files.sha256)).limit(BATCH);
			for (const row of rows) yield row.sha256;
			if (rows.length < BATCH) return;
			last = rows[rows.length - 1]!.sha256;
		}
	}

	/** Which of `hashes` have no stored file. */
	async missing(hashes: string[]): Promise<string[]> {
		const { files } = this.store.tables;
		const stored = new Set<string>();
		for (let i = 0; i < hashes.length; i += BATCH) {
			const rows = await this.store.db.select({ sha256: files.sha256 }).from(files).where(inArray(files.sha256, hashes.slice(i, i + BATCH)));
			for (const row of rows) stored.add(row.sha256);
		}
		return hashes.filter((hash) => !stored.has(hash));
	}

	/**
	 * Stores the file whose bytes `content` yields under `sha256`, unless it is stored already.
	 * The bytes are hashed as they are written: when they are not what `sha256` and `size` say
	 * (a damaged source), nothing is stored and DamagedFile is thrown.
	 */
	async write(sha256: string, size: number, content: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> {
		const { files, fileChunks } = this.store.tables;
		checked(sha256);
		await this.store.transaction(async (tx) => {
			const created = await tx.insert(files).values({ sha256, size, chunkBytes: CHUNK_BYTES, createdAt: Date.now() }).onConflictDoNothing().returning({ sha256: files.sha256 });
			if (!created.length) return;
			const hash = createHash('sha256');
			let written = 0;
			let seq = 0;
			for await (const bytes of inChunks(content)) {
				hash.update(bytes);
				written += bytes.length;
				await tx.insert(fileChunks).values({ sha256, seq: seq++, bytes });
			}
			const actual = hash.digest('hex');
			if (actual !== sha256 || written !== size) throw new DamagedFile(`file ${sha256} (${size} bytes) read as ${actual} (${written} bytes)`);
		});
	}
}

/**
 * Copies into the database every file of `from` it does not hold yet, each checked against its
 * hash as it is written. Resolves with what was copied, and the hashes of files whose bytes were
 * not what their name says (left out).
 */
export async function copyFiles(from: FileStore, to: DatabaseFileStore): Promise<{ copied: number; bytes: number; damaged: string[] }> {
	const result = { copied: 0, bytes: 0, damaged: [] as string[] };
	const copyBatch = async (hashes: string[]) => {
		for (const sha256 of await to.missing(hashes)) {
			const size = await from.sizeOf(sha256);
			if (size === null) continue;
			try {
				await to.write(sha256, size, from.read(sha256));
				result.copied++;
				result.bytes += size;
			} catch (error) {
				if (!(error instanceof DamagedFile)) throw error;
				result.damaged.push(sha256);
			}
		}
	};
	const batch: string[] = [];
	for await (const sha256 of from.list()) {
		batch.push(sha256);
		if (batch.length === BATCH) await copyBatch(batch.splice(0));
	}
	await copyBatch(batch);
	return result;
}

/** Where this installation keeps files: the database on PostgreSQL, DATA_DIR on SQLite. */
export function fileStoreOf(store: Store, dataDir: string): FileStore {
	return store.engine === 'postgres' ? new DatabaseFileStore(store, path.join(dataDir, 'tmp')) : new DiskFileStore(dataDir);
}

/**
 * The file store of this installation (fileStoreOf). On PostgreSQL, files an earlier version kept
 * in DATA_DIR/attachments are copied into the database first (once: what it holds is skipped); they
 * stay on disk for an installation that goes back to its SQLite file.
 */
export async function openFileStore(store: Store, dataDir: string, logger: Pick<Logger, 'info' | 'warn'>): Promise<FileStore> {
	const files = fileStoreOf(store, dataDir);
	if (!(files instanceof DatabaseFileStore)) return files;
	const { copied, bytes, damaged } = await copyFiles(new DiskFileStore(dataDir), files);
	if (copied) logger.info({ copied, bytes }, 'files from DATA_DIR/attachments copied into the database');
	for (const sha256 of damaged) logger.warn({ sha256 }, 'a file in DATA_DIR/attachments does not match its name: not copied');
	return files;
}
