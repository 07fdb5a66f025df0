/**
 * PostgreSQL going away under load and coming back (issue #14, "Faults"): a cluster of this file's
 * own (the run's shared one is used by other files meanwhile) stopped with `pg_ctl stop -m
 * immediate`, a crash, while agents write, then started again; the Tandem server is not restarted.
 * And a database that stops answering while keeping its connections open.
 */
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { appendEntries, readEntries } from '../../src/lib/ticket';
import { SESSION_COOKIE } from '../../server/auth/sessions';
import { openPostgresStore } from '../../server/storage/store';
import { StorageError, TicketLog } from '../../server/storage/ticket-log';
import { storedDocumentAt } from '../helpers/db';
import { noteBy } from '../helpers/entries';
import { prepare, type Fixture } from '../helpers/fixtures';
import { assertOnce, mixedLoad } from '../helpers/load';
import { startCuttingProxy } from '../helpers/cutting-proxy';
import { startPostgres, type Postgres } from '../helpers/postgres';
import { api, connectPeer, servers, tempDataDir, waitFor } from '../helpers/server';

const pool = servers();
const { boot, connect } = pool;
let postgres: Postgres | undefined;
afterEach(async () => {
	await pool.cleanup();
	await postgres?.destroy();
});

async function createTicket(server: { url: string }, fx: Fixture, subject: string) {
	const res = await api(server, fx.tokens.bot.token).request('POST', '/api/v1/tickets', { subject, requester: { email: 'faulty@example.com' }, channel: 'chat', body: 'first' });
	expect(res.status).toBe(201);
	return res.body.id as string;
}

async function health(server: { url: string }) {
	const response = await fetch(`${server.url}/healthz`);
	return { status: response.status, body: await response.json() };
}

/** The entries of a ticket as its stored log says, read straight from the database. */
async function storedEntries(url: string, ticketId: string) {
	return readEntries(await storedDocumentAt(url, ticketId));
}

/**
 * Stops (SIGSTOP) or continues (SIGCONT) every process of the cluster: stopped, it keeps its
 * connections open and answers nothing, as a frozen host or a broken network path would.
 */
function signalCluster(cluster: Postgres, signal: 'SIGSTOP' | 'SIGCONT') {
	const postmaster = execFileSync('pgrep', ['-u', 'postgres', '-f', '--', `-p ${cluster.port} `]).toString().trim();
	const children = execFileSync('pgrep', ['-P', postmaster]).toString().trim().split('\n');
	for (const pid of [postmaster, ...children]) process.kill(Number(pid), signal);
}

describe('PostgreSQL stopped and started under load', () => {
	it('acknowledges nothing it could not store, tells the writers, keeps serving what it can, and resumes by itself', async () => {
		postgres = await startPostgres();
		const env = { DATABASE_URL: await postgres.createDatabase('faults') };
		const dataDir = tempDataDir();
		const fx = await prepare(dataDir, { users: { ann: { role: 'agent' } }, bots: { bot: ['chat'] } }, { databaseUrl: env.DATABASE_URL });
		const server = await boot(dataDir, { ...env, LEADER_CHECK_MS: '200' });
		const bot = api(server, fx.tokens.bot.token);
		const ticketId = await createTicket(server, fx, 'Written through the outage');
		const other = await createTicket(server, fx, 'Open beside it');
		const watcher = await connect(server, other, fx.users.ann.token);
		const writer = await connect(server, ticketId, fx.users.ann.token);
		const load = mixedLoad(server, writer, fx, ticketId);
		await waitFor(() => load.acknowledged.size >= 40, 'load to be acknowledged', 20_000);

		// A crash of the database while both write.
		await postgres.stop('immediate');
		await waitFor(() => writer.closeReason(), 'the writer to be told', 20_000);
		expect(writer.closeReason()).toBe('storage-unavailable');
		expect(writer.provider.unsyncedChanges).toBeGreaterThan(0); // the refused change was never acknowledged
		await waitFor(() => load.refused > 0, 'an HTTP write to be refused', 20_000);
		const refused = await bot.request('POST', `/api/v1/tickets/${ticketId}/entries`, { channel: 'chat', body: 'refused' });
		expect(refused).toMatchObject({ status: 503, body: { error: { code: 'storage_unavailable' } } });
		// Nothing more is acknowledged while the database is away (what was acknowledged before the
		// stop completed may still have been on its way back).
		const acknowledgedInOutage = load.acknowledged.size;
		const refusedSoFar = load.refused;
		await waitFor(() => load.refused >= refusedSoFar + 5, 'more HTTP writes to be refused', 20_000);
		expect(load.acknowledged.size).toBe(acknowledgedInOutage);

		// What it can still serve: every credential is in the database, so requests are answered
		// 503 (reads too), while the process stays up, says why on /healthz, serves static files, and
		// keeps open peers connected with their documents.
		expect(await health(server)).toMatchObject({ status: 503, body: { status: 'unavailable', engine: 'postgres', database: 'unavailable' } });
		// The leader lock went with its connection: the timers stop until the database is back.
		await waitFor(async () => (await health(server)).body.role === 'follower', 'the process to stop leading', 20_000);
		expect(await bot.request('GET', `/api/v1/tickets/${other}`)).toMatchObject({ status: 503, body: { error: { code: 'storage_unavailable' } } });
		expect((await fetch(`${server.url}/tickets/${other}`, { headers: { cookie: `${SESSION_COOKIE}=${fx.users.ann.token}` }, redirect: 'manual' })).status).toBe(503);
		expect((await fetch(`${server.url}/favicon.ico`)).status).toBe(200);
		expect(watcher.closeReason()).toBeNull();
		expect(watcher.provider.isSynced).toBe(true);
		// A peer that connects now is told the database is away, not that it may not open the ticket.
		const newcomer = await connectPeer(server, other, fx.users.ann.token, { waitSynced: false });
		expect(await waitFor(() => newcomer.closeReason(), 'the newcomer to be told', 20_000)).toBe('storage-unavailable');
		newcomer.destroy();

		// The database is back: writes resume without restarting Tandem.
		await postgres.start();
		await waitFor(async () => (await health(server)).status === 200, 'the server to reach the database again', 20_000);
		await waitFor(async () => (await health(server)).body.role === 'leader', 'the process to lead again', 20_000);
		await waitFor(() => load.acknowledged.size > acknowledgedInOutage, 'HTTP writes to be acknowledged again', 20_000);
		await load.stop();
		// The writer's unsent work goes through on a new connection.
		const unsent = readEntries(writer.doc).map((e) => e.id);
		const retry = await connect(server, ticketId, fx.users.ann.token);
		Y.applyUpdate(retry.doc, Y.encodeStateAsUpdate(writer.doc));
		await retry.acknowledged();
		// A peer that stayed connected through the outage writes again.
		appendEntries(watcher.doc, [noteBy(fx.users.ann.id, 'after the outage')]);
		await watcher.acknowledged();
		expect((await bot.request('POST', `/api/v1/tickets/${other}/entries`, { channel: 'chat', body: 'back' })).status).toBe(201);

		expect(server.process.exitCode).toBeNull();
		expect(server.output()).not.toContain('unhandled rejection');
		assertOnce(await storedEntries(env.DATABASE_URL, ticketId), [...load.acknowledged, ...unsent]);
		assertOnce(await storedEntries(env.DATABASE_URL, other), readEntries(watcher.doc).map((e) => e.id));
	}, 120_000); // a cluster of its own (initdb) and a server: about 30 s, up to a minute beside other files on 2 cores

	it('a write to a database that stops answering fails in bounded time, and the store works again when it answers', async () => {
		postgres = await startPostgres();
		const store = await openPostgresStore(await postgres.createDatabase('frozen'), { maxConnections: 1, statementTimeoutMs: 500, connectTimeoutMs: 1_000 });
		const log = new TicketLog(store);
		try {
			await log.append('T1', Y.encodeStateAsUpdate(new Y.Doc()), 'test');
			signalCluster(postgres, 'SIGSTOP');
			try {
				// The statement timeout cannot help: the server that would enforce it is not running.
				const giveUp = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the write neither failed nor succeeded in 15 s')), 15_000));
				await expect(Promise.race([log.append('T1', Y.encodeStateAsUpdate(new Y.Doc()), 'test'), giveUp])).rejects.toThrow(StorageError);
			} finally {
				signalCluster(postgres, 'SIGCONT');
			}
			expect(await log.append('T1', Y.encodeStateAsUpdate(new Y.Doc()), 'test')).toBeGreaterThan(1);
		} finally {
			await store.close();
		}
	});
});

describe('a commit whose answer is lost', () => {
	it('tells the writer its change was not stored, then acknowledges the change sent again instead of refusing it as a duplicate, and shows it everywhere once', async () => {
		postgres = await startPostgres();
		const direct = await postgres.createDatabase('lost');
		const proxy = await startCuttingProxy({ host: '127.0.0.1', port: postgres.port });
		try {
			const proxied = new URL(direct);
			proxied.port = String(proxy.port);
			const dataDir = tempDataDir();
			const fx = await prepare(dataDir, { users: { ann: { role: 'agent' }, bob: { role: 'agent' } }, bots: { bot: ['chat'] } }, { databaseUrl: direct });
			const server = await boot(dataDir, { DATABASE_URL: proxied.toString() });
			const ticketId = await createTicket(server, fx, 'An answer lost on the way');
			const watcher = await connect(server, ticketId, fx.users.bob.token);
			const writer = await connect(server, ticketId, fx.users.ann.token);
			const note = noteBy(fx.users.ann.id, 'written once');
			proxy.arm('ticket_updates');
			appendEntries(writer.doc, [note]);
			await waitFor(() => writer.closeReason(), 'the writer to be told', 20_000);
			expect(proxy.cuts).toBe(1);
			expect(writer.closeReason()).toBe('storage-unavailable');
			// Committed all the same: the log has it, and nobody here knows yet.
			expect((await storedEntries(direct, ticketId)).filter((e) => e.id === note.id)).toHaveLength(1);
			expect(readEntries(watcher.doc).some((e) => e.id === note.id)).toBe(false);

			// The writer comes back with its unacknowledged work, as the workspace does after a reload.
			writer.destroy();
			const again = await connect(server, ticketId, fx.users.ann.token, { doc: writer.doc });
			await again.acknowledged(20_000);
			expect(again.closeReason()).toBeNull();
			await waitFor(() => readEntries(watcher.doc).some((e) => e.id === note.id), 'the watcher to see the entry');
			const fresh = await connect(server, ticketId, fx.users.bob.token);
			expect(readEntries(fresh.doc).filter((e) => e.id === note.id)).toHaveLength(1);
			expect(readEntries(fresh.doc)).toEqual(readEntries(again.doc));
			expect((await storedEntries(direct, ticketId)).filter((e) => e.id === note.id)).toHaveLength(1);
		} finally {
			await proxy.close();
		}
	});
});
