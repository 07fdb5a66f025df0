/**
 * The CLI (server/cli.ts) as a person runs it: a real process against a real data directory,
 * alone or next to a running server.
 */
import fs from 'node:fs';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type Result } from '../helpers/cli';
import { withStore } from '../helpers/db';
import { api, startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';

/** A failure is one line on stderr, nothing on stdout, no stack trace. */
function expectFailure(result: Result, code: 1 | 2, message: RegExp) {
	expect(result.code, result.stderr).toBe(code);
	expect(result.stdout).toBe('');
	expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
	expect(result.stderr).toMatch(message);
	expect(result.stderr).not.toMatch(/^\s+at /m);
}

function expectSuccess(result: Result) {
	expect(result.code, result.stderr).toBe(0);
	expect(result.stderr).toBe('');
}

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

async function createToken(dataDir: string, name: string, ...extra: string[]): Promise<{ token: string; id: string }> {
	const result = await runCli(dataDir, 'token', 'create', '--name', name, '--json', ...extra);
	expectSuccess(result);
	return JSON.parse(result.stdout);
}

describe('help', () => {
	const COMMANDS = ['user add', 'token create', 'token revoke', 'token list', 'ticket create', 'reindex', 'seed', 'copy'];
	const OPTIONS = ['--email', '--name', '--role', '--password', '--group', '--channels', '--json', '--subject', '--channel', '--body', '--priority', '--to'];

	it('lists every command and option, without touching the database', async () => {
		const dataDir = tempDataDir();
		const results = await Promise.all([runCli(dataDir), runCli(dataDir, '--help'), runCli(dataDir, 'help')]);
		for (const result of results) {
			expectSuccess(result);
			for (const name of [...COMMANDS, ...OPTIONS, '<id-or-name>']) expect(result.stdout).toContain(name);
			expect(result.stdout).toBe(results[0].stdout);
		}
		expect(fs.readdirSync(dataDir)).toEqual([]);
	});

	it('shows one command, and refuses an unknown one', async () => {
		const dataDir = tempDataDir();
		const [one, viaHelp, unknown, noSub] = await Promise.all([
			runCli(dataDir, 'user', 'add', '--help'),
			runCli(dataDir, 'help', 'user', 'add'),
			runCli(dataDir, 'frobnicate'),
			runCli(dataDir, 'token')
		]);
		expectSuccess(one);
		expect(one.stdout).toContain('user add');
		expect(one.stdout).toContain('--group');
		expect(one.stdout).not.toContain('token create');
		expect(viaHelp.stdout).toBe(one.stdout);
		expectFailure(unknown, 2, /unknown command "frobnicate"/);
		expectFailure(noSub, 2, /create, revoke, list/);
	});
});

describe('user add', () => {
	const dataDir = tempDataDir();
	const base = ['user', 'add', '--name', 'Ann Agent', '--role', 'agent'];

	it('creates a user with groups, created when missing, and prints the id', async () => {
		const result = await runCli(dataDir, ...base, '--email', 'Ann@Example.com', '--password', 'long enough', '--group', 'Billing', '--group', 'Tech');
		expectSuccess(result);
		const id = result.stdout.trim();
		expect(id).toMatch(ULID);
		expect(result.stdout).toBe(id + '\n');
		await withStore(dataDir, async (store) => {
			expect(await store.all(sql`SELECT email, name, role FROM users WHERE id = ${id}`)).toEqual([{ email: 'ann@example.com', name: 'Ann Agent', role: 'agent' }]);
			const groups = await store.all(sql`SELECT g.name FROM user_groups ug JOIN groups g ON g.id = ug.group_id WHERE ug.user_id = ${id} ORDER BY g.name`);
			expect(groups).toEqual([{ name: 'Billing' }, { name: 'Tech' }]);
		});
	});

	it('refuses bad input with one line and an exit code', async () => {
		const [missing, badRole, unknownOption, shortPassword, duplicate, badEmail] = await Promise.all([
			runCli(dataDir, ...base, '--email', 'bob@example.com'),
			runCli(dataDir, 'user', 'add', '--name', 'Bob', '--role', 'boss', '--email', 'bob@example.com', '--password', 'long enough'),
			runCli(dataDir, ...base, '--email', 'bob@example.com', '--password', 'long enough', '--colour', 'red'),
			runCli(dataDir, ...base, '--email', 'bob@example.com', '--password', 'short', '--group', 'Never'),
			runCli(dataDir, ...base, '--email', 'ANN@example.com', '--password', 'long enough'),
			runCli(dataDir, ...base, '--email', 'not-an-email', '--password', 'long enough')
		]);
		expectFailure(missing, 2, /missing required option --password/);
		expectFailure(badRole, 2, /--role: "boss" is not one of admin, supervisor, agent/);
		expectFailure(unknownOption, 2, /unknown option '--colour'/);
		expectFailure(shortPassword, 1, /at least 8 characters/);
		expectFailure(duplicate, 1, /ann@example\.com already exists/);
		expectFailure(badEmail, 2, /--email/);
		await withStore(dataDir, async (store) => {
			expect(await store.all(sql`SELECT email FROM users`)).toEqual([{ email: 'ann@example.com' }]);
			expect(await store.all(sql`SELECT count(*) AS n FROM groups WHERE name = 'Never'`)).toEqual([{ n: 0 }]);
		});
	});
});

describe('next to a running server', () => {
	let server: RunningServer;
	let dataDir: string;
	/** A token made by the CLI, for reading what the server holds. */
	let reader: string;

	beforeAll(async () => {
		dataDir = tempDataDir();
		server = await startServer({ dataDir });
		({ token: reader } = await createToken(dataDir, 'reader'));
	});
	afterAll(async () => {
		await server?.stop();
	});

	it('creates a token the server accepts, lists it without its secret, and revokes it', async () => {
		const created = await runCli(dataDir, 'token', 'create', '--name', 'helpdesk-bot', '--json');
		expectSuccess(created);
		expect(created.stdout.endsWith('\n')).toBe(true);
		expect(created.stdout.trimEnd().split('\n')).toHaveLength(1);
		const { token, id, ...rest } = JSON.parse(created.stdout);
		expect(rest).toEqual({});
		expect(token).toMatch(/^tdm_/);
		expect(id).toMatch(ULID);
		expect((await api(server, token).request('GET', '/api/v1/tickets')).status).toBe(200);

		const listed = await runCli(dataDir, 'token', 'list');
		expectSuccess(listed);
		expect(listed.stdout).toContain(id);
		expect(listed.stdout).toContain('helpdesk-bot');
		expect(listed.stdout).not.toContain(token);

		const revoked = await runCli(dataDir, 'token', 'revoke', id);
		expectSuccess(revoked);
		expect((await api(server, token).request('GET', '/api/v1/tickets')).status).toBe(401);
		for (const again of await Promise.all([runCli(dataDir, 'token', 'revoke', id), runCli(dataDir, 'token', 'revoke', 'helpdesk-bot')])) {
			expectFailure(again, 1, /no live API token/);
		}
	});

	it('scopes a token to channels, revokes by name, and refuses an unknown channel', async () => {
		const [badChannel, empty, scoped, human] = await Promise.all([
			runCli(dataDir, 'token', 'create', '--name', 'fax-bot', '--channels', 'email,fax'),
			runCli(dataDir, 'token', 'create', '--name', 'no-bot', '--channels', ','),
			runCli(dataDir, 'token', 'create', '--name', 'mail-bot', '--channels', 'email', '--json'),
			runCli(dataDir, 'token', 'create', '--name', 'human-bot')
		]);
		expectFailure(badChannel, 2, /unknown channel "fax"/);
		expectFailure(empty, 2, /--channels/);
		expectSuccess(human);
		expect(human.stdout).toMatch(/tdm_\w+/);
		expect(human.stdout).toMatch(/not be shown again/);
		const mail = JSON.parse(scoped.stdout);

		const list = await runCli(dataDir, 'token', 'list', '--json');
		expectSuccess(list);
		const tokens = JSON.parse(list.stdout) as { id: string; name: string; channels: string[]; revokedAt: number | null }[];
		expect(tokens.map((t) => t.name)).not.toContain('fax-bot');
		expect(tokens.find((t) => t.id === mail.id)?.channels).toEqual(['email']);
		expect(tokens.find((t) => t.name === 'human-bot')?.channels).toEqual(['email', 'chat', 'messaging', 'social', 'talk', 'web', 'api']);
		expect(list.stdout).not.toContain('tdm_');

		const chat = await api(server, mail.token).request('POST', '/api/v1/tickets', {
			subject: 'Chat',
			requester: { email: 'pat@example.com' },
			channel: 'chat',
			body: 'hi'
		});
		expect(chat.status).toBe(403);

		expectSuccess(await runCli(dataDir, 'token', 'revoke', 'mail-bot'));
		expect((await api(server, mail.token).request('GET', '/api/v1/tickets')).status).toBe(401);
	});

	it('creates a ticket the server lists', async () => {
		const created = await runCli(
			dataDir,
			'ticket', 'create',
			'--subject', 'Printer on fire',
			'--email', 'pat@example.com',
			'--name', 'Pat',
			'--channel', 'email',
			'--body', 'It is on fire.',
			'--priority', 'high'
		);
		expectSuccess(created);
		const id = created.stdout.trim();
		expect(id).toMatch(ULID);

		const list = await api(server, reader).request('GET', '/api/v1/tickets');
		expect(list.status).toBe(200);
		const row = list.body.tickets.find((t: { id: string }) => t.id === id);
		expect(row).toMatchObject({ subject: 'Printer on fire', status: 'new', priority: 'high', channel: 'email', entryCount: 1, lastPublicPreview: 'It is on fire.' });
		const detail = await api(server, reader).request('GET', `/api/v1/tickets/${id}`);
		expect(detail.status).toBe(200);
		expect(detail.body.entries).toMatchObject([{ body: 'It is on fire.', authorType: 'customer', direction: 'in', channel: 'email' }]);

		const asJson = await runCli(dataDir, 'ticket', 'create', '--subject', 'Chat hello', '--email', 'sam@example.com', '--channel', 'chat', '--body', 'Hello?', '--json');
		expectSuccess(asJson);
		const ticket = JSON.parse(asJson.stdout);
		expect(ticket).toMatchObject({ subject: 'Chat hello', channel: 'chat', priority: 'normal', entryCount: 1 });
		expect((await api(server, reader).request('GET', `/api/v1/tickets/${ticket.id}`)).body.subject).toBe('Chat hello');
	});

	it('refuses an invalid ticket, naming the option', async () => {
		const base = ['ticket', 'create', '--subject', 'S', '--body', 'B'];
		const [badEmail, badChannel, badPriority, missing] = await Promise.all([
			runCli(dataDir, ...base, '--email', 'nobody', '--channel', 'email'),
			runCli(dataDir, ...base, '--email', 'pat@example.com', '--channel', 'internal'),
			runCli(dataDir, ...base, '--email', 'pat@example.com', '--channel', 'email', '--priority', 'asap'),
			runCli(dataDir, 'ticket', 'create', '--subject', 'S', '--email', 'pat@example.com', '--channel', 'email')
		]);
		expectFailure(badEmail, 2, /--email:/);
		expectFailure(badChannel, 2, /--channel:/);
		expectFailure(badPriority, 2, /--priority:/);
		expectFailure(missing, 2, /missing required option --body/);
	});

	it('seeds demo data only while there are no users', async () => {
		const count = async () => {
			const list = await api(server, reader).request('GET', '/api/v1/tickets?limit=100');
			expect(list.status).toBe(200);
			return list.body.tickets.length as number;
		};
		const ticketsBefore = await count();
		const seeded = await runCli(dataDir, 'seed');
		expectSuccess(seeded);
		expect(seeded.stdout).toContain('admin@tandem.local');
		const seededCount = await count();
		expect(seededCount).toBeGreaterThan(ticketsBefore);

		const again = await runCli(dataDir, 'seed');
		expectSuccess(again);
		expect(again.stdout).toMatch(/skipped/i);
		expect(await count()).toBe(seededCount);
	});
});

describe('reindex', () => {
	it('restores a damaged index exactly from the documents, recording no events', async () => {
		const dataDir = tempDataDir();
		const { token } = await createToken(dataDir, 'mailer');
		let server = await startServer({ dataDir });
		const client = api(server, token);
		const ids: string[] = [];
		for (const [subject, channel] of [
			['Refund please', 'email'],
			['Where is my order', 'chat'],
			['Login broken', 'web']
		]) {
			const res = await client.request('POST', '/api/v1/tickets', { subject, requester: { email: 'pat@example.com', name: 'Pat' }, channel, body: `About: ${subject}` });
			expect(res.status).toBe(201);
			ids.push(res.body.id);
		}
		const appended = await client.request('POST', `/api/v1/tickets/${ids[1]}/entries`, { channel: 'chat', body: 'Any news?', authorType: 'customer' });
		expect(appended.status).toBe(201);
		const listSorted = async () => {
			const res = await client.request('GET', '/api/v1/tickets');
			expect(res.status).toBe(200);
			return (res.body.tickets as { id: string; entryCount: number }[]).sort((a, b) => a.id.localeCompare(b.id));
		};
		const before = await waitFor(async () => {
			const rows = await listSorted();
			return rows.find((t) => t.id === ids[1])?.entryCount === 2 && rows;
		}, 'the appended entry in the index');
		expect(before).toHaveLength(3);
		const eventsOf = async (id: string) => (await client.request('GET', `/api/v1/tickets/${id}/events`)).body.events;
		const eventsBefore = await Promise.all(ids.map(eventsOf));
		await server.stop();

		await withStore(dataDir, async (store) => {
			await store.run(sql`UPDATE tickets SET subject = 'x', entry_count = 0, last_public_preview = NULL, tags = '["junk"]'`);
			await store.run(sql`DELETE FROM tickets WHERE id = ${ids[0]}`);
			expect(await store.all(sql`SELECT count(*) AS n FROM tickets`)).toEqual([{ n: 2 }]);
		});

		const result = await runCli(dataDir, 'reindex');
		expectSuccess(result);
		expect(result.stdout).toBe('Reindexed 3 tickets.\n');

		server = await startServer({ dataDir });
		try {
			const after = api(server, token);
			const rows = ((await after.request('GET', '/api/v1/tickets')).body.tickets as { id: string }[]).sort((a, b) => a.id.localeCompare(b.id));
			expect(rows).toEqual(before);
			const eventsAfter = await Promise.all(ids.map(async (id) => (await after.request('GET', `/api/v1/tickets/${id}/events`)).body.events));
			expect(eventsAfter).toEqual(eventsBefore);
		} finally {
			await server.stop();
		}
	});

	it('reports a ticket it cannot load by id, rebuilds the others, and exits 1', async () => {
		const dataDir = tempDataDir();
		const created = await runCli(dataDir, 'ticket', 'create', '--subject', 'Fine', '--email', 'pat@example.com', '--channel', 'email', '--body', 'ok');
		expectSuccess(created);
		const good = created.stdout.trim();
		await withStore(dataDir, async (store) => {
			await store.run(sql`INSERT INTO ticket_updates (ticket_id, seq, data, received_at, actor) VALUES ('BROKEN1', 1, ${Buffer.from([0xff, 0xff, 0xff])}, 0, 'system')`);
			await store.run(
				sql`INSERT INTO tickets (id, subject, status, priority, requester_id, channel, created_at, updated_at) VALUES ('GHOST1', 'ghost', 'new', 'normal', 'r', 'email', 1, 1)`
			);
			await store.run(sql`UPDATE tickets SET subject = 'x' WHERE id = ${good}`);
		});

		const result = await runCli(dataDir, 'reindex');
		expect(result.code).toBe(1);
		expect(result.stdout).toBe('Reindexed 1 ticket; 2 failed.\n');
		const lines = result.stderr.trimEnd().split('\n');
		expect(lines).toHaveLength(2);
		expect(lines.find((l) => l.includes('BROKEN1'))).toBeDefined();
		expect(lines.find((l) => l.includes('GHOST1'))).toBeDefined();
		expect(result.stderr).not.toMatch(/^\s+at /m);

		await withStore(dataDir, async (store) => {
			expect(await store.all(sql`SELECT subject FROM tickets WHERE id = ${good}`)).toEqual([{ subject: 'Fine' }]);
			expect(await store.all(sql`SELECT subject FROM tickets WHERE id = 'GHOST1'`)).toEqual([{ subject: 'ghost' }]);
			expect(await store.all(sql`SELECT count(*) AS n FROM tickets WHERE id = 'BROKEN1'`)).toEqual([{ n: 0 }]);
		});
	});
});
