/**
 * `/healthz` names the engine and makes a database round trip: a database that does not answer
 * is a 503 saying so, while the process stays up and answers.
 */
import pg from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startInProcess } from '../helpers/in-process';
import { TEST_ENGINE, tempDataDir } from '../helpers/server';

type InProcess = Awaited<ReturnType<typeof startInProcess>>;

async function health(server: { url: string }) {
	const response = await fetch(`${server.url}/healthz`);
	return { status: response.status, body: await response.json() };
}

/** Runs `sql` as the run's PostgreSQL superuser, on its maintenance database. */
async function asAdmin(sql: string, params: unknown[] = []) {
	const client = new pg.Client({ connectionString: inject('postgresUrl') });
	await client.connect();
	try {
		await client.query(sql, params);
	} finally {
		await client.end();
	}
}

/**
 * Makes the server's database stop answering: SQLite's connection closed; PostgreSQL's database
 * refusing connections, its open ones ended. Resolves with a way back where there is one.
 */
async function takeDatabaseAway(server: InProcess): Promise<(() => Promise<void>) | undefined> {
	if (TEST_ENGINE === 'sqlite') {
		await server.services.store.close();
		return undefined;
	}
	const name = new URL(server.services.config.database.url!).pathname.slice(1);
	await asAdmin(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
	await asAdmin('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
	return () => asAdmin(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
}

describe('/healthz', () => {
	let server: InProcess | undefined;
	afterEach(async () => {
		await server?.close();
	});

	it('answers 503 naming the database while it does not answer, and the process stays up', async () => {
		server = await startInProcess(tempDataDir());
		// In process the services run without their leader election: the node says it follows.
		const node = { role: 'follower', node: server.services.node };
		expect(await health(server)).toEqual({ status: 200, body: { status: 'ok', engine: TEST_ENGINE, database: 'ok', ...node } });

		const bringBack = await takeDatabaseAway(server);
		const unavailable = { status: 503, body: { status: 'unavailable', engine: TEST_ENGINE, database: 'unavailable', ...node } };
		expect(await health(server)).toEqual(unavailable);
		expect(await health(server)).toEqual(unavailable);
		expect((await fetch(`${server.url}/favicon.ico`)).status).toBe(200);

		if (!bringBack) return;
		await bringBack();
		expect(await health(server)).toEqual({ status: 200, body: { status: 'ok', engine: TEST_ENGINE, database: 'ok', ...node } });
	});
});
