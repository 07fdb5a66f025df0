/**
 * The CLI commands that talk to the running server: they find it where HOST and PORT say (the
 * server's own configuration), and leave nothing behind in the token list.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TalkNumbers } from '../../server/talk/numbers';
import { runScript, type Result } from '../helpers/cli';
import { countRows, withStore } from '../helpers/db';
import { prepare, withServices } from '../helpers/fixtures';
import { databaseEnv, startServer, tempDataDir, type RunningServer } from '../helpers/server';

let dataDir: string;
let server: RunningServer;

beforeAll(async () => {
	dataDir = tempDataDir();
	await prepare(dataDir, { users: { ann: { role: 'agent' } }, bots: { integration: ['email'] } });
	await withStore(dataDir, async (store) => {
		await new TalkNumbers(store).create({ number: '+15550100000', label: 'Support line', groupId: null });
	});
	server = await startServer({ dataDir });
});
afterAll(() => server?.kill());

/** The CLI with the server's configuration (PORT and HOST as it was started with) and no --url. */
async function cli(...args: string[]): Promise<Result> {
	const { hostname, port } = new URL(server.url);
	return runScript('cli', args, { DATA_DIR: dataDir, LOG_LEVEL: 'warn', HOST: hostname, PORT: port, ...(await databaseEnv(dataDir)) });
}

function expectSuccess(result: Result) {
	expect(result.code, result.stderr).toBe(0);
	expect(result.stderr).toBe('');
}

describe('talk call and hangup without --url', () => {
	it('reach the server at HOST:PORT, and leave the token list as it was', async () => {
		const before = await cli('token', 'list');
		expectSuccess(before);
		const placed = await cli('talk', 'call', '--from', '+15550105555', '--json');
		expectSuccess(placed);
		const call = JSON.parse(placed.stdout);
		expect(call.state).toBe('ringing');
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM calls WHERE id = ${call.id}`)).toBe(1);
		const hungUp = await cli('talk', 'hangup', call.id, '--json');
		expectSuccess(hungUp);
		expect(JSON.parse(hungUp.stdout)).toMatchObject({ id: call.id, state: 'ended' });
		const after = await cli('token', 'list');
		expectSuccess(after);
		expect(after.stdout).toBe(before.stdout);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM api_tokens`)).toBe(1);
	});

	it('a PORT where no server listens: one line naming the URL tried and --url, and no token left', async () => {
		const result = await runScript('cli', ['talk', 'call', '--from', '+15550105555'], { DATA_DIR: dataDir, LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: '1', ...(await databaseEnv(dataDir)) });
		expect(result.code).toBe(1);
		expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
		expect(result.stderr).toContain('http://127.0.0.1:1');
		expect(result.stderr).toContain('--url');
		// The temporary token of the failed call is gone too.
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM api_tokens`)).toBe(1);
	});
});
