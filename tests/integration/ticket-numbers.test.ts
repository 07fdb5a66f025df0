/**
 * Ticket numbers (#1042) against real processes: the server, the CLI on the same database, SMTP in
 * and the outbox's spooled mail. Numbers are sequential and unique across concurrent creators,
 * survive a kill and a reindex, reach the API, the stream and search, cannot be changed by a peer,
 * thread inbound mail for the ticket's own people only, and are given to existing tickets on upgrade.
 */
import { sql } from 'drizzle-orm';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { simpleParser } from 'mailparser';
import nodemailer, { type Transporter } from 'nodemailer';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/storage/database';
import { runCli } from '../helpers/cli';
import { countRows } from '../helpers/db';
import { prepare, type Fixture } from '../helpers/fixtures';
import * as Y from 'yjs';
import { appendEntries, initTicket, newId } from '../../src/lib/ticket';
import { api, connectPeer, ROOT, servers, smtpPort, startServer, tempDataDir, TEST_ENGINE, waitFor, type RunningServer } from '../helpers/server';
import { openEvents } from '../helpers/sse';
import { createTicket, type CreatedTicket } from '../helpers/tickets';

const SUPPORT = 'support@tandem.local';

type Created = CreatedTicket;

const newTicket = (server: RunningServer, token: string, subject: string, email = 'pat@example.com') =>
	createTicket(server, token, subject, { email, name: 'Pat' }, `First message of ${subject}`);

describe('ticket numbers', () => {
	let server: RunningServer;
	let fx: Fixture;
	let transport: Transporter;
	const admin = () => api(server, fx.users.root.token);
	const allTickets = async (): Promise<Created[]> => {
		const res = await admin().request('GET', '/api/v1/tickets?limit=100&sort=created');
		expect(res.status).toBe(200);
		return res.body.tickets;
	};
	const read = async (id: string) => {
		const res = await admin().request('GET', `/api/v1/tickets/${id}`);
		expect(res.status).toBe(200);
		return res.body as Created & { groupId: string | null; entries: { body: string; authorId: string }[] };
	};
	const search = async (token: string, q: string) => {
		const res = await api(server, token).request('GET', `/api/v1/tickets?q=${encodeURIComponent(q)}`);
		expect(res.status).toBe(200);
		return (res.body.tickets as Created[]).map((t) => t.id);
	};
	/** Moves a ticket into `group` as the admin's peer would, once the index has it there. */
	const moveToGroup = async (id: string, group: string) => {
		const peer = await connectPeer(server, id, fx.users.root.token);
		try {
			peer.doc.getMap('ticket').set('groupId', fx.groups[group]);
			await peer.acknowledged();
		} finally {
			peer.destroy();
		}
		// The ticket list and search read the index, which follows the document a moment later.
		await waitFor(async () => {
			const res = await admin().request('GET', `/api/v1/tickets?group=${fx.groups[group]}&limit=100`);
			return (res.body.tickets as Created[]).some((t) => t.id === id);
		}, 'the move to reach the ticket index');
	};
	/** A website visitor starting a chat: a ticket on channel chat. */
	const chat = async (name: string) => {
		const session = await api(server).request('POST', '/api/v1/visitor');
		expect(session.status).toBe(201);
		const started = await api(server).request('POST', '/api/v1/visitor/chat', { name, message: `Hi, ${name} here` }, { headers: { 'x-visitor-token': session.body.token } });
		expect(started.status).toBeLessThan(300);
	};
	const mail = (from: string, subject: string, messageId: string, text = `Mail ${messageId}`) =>
		transport.sendMail({ from, to: SUPPORT, subject, text, messageId });

	beforeAll(async () => {
		const dataDir = tempDataDir();
		fx = await prepare(dataDir, {
			users: { root: { role: 'admin' }, ann: { role: 'agent', groups: ['Billing'] }, carl: { role: 'agent', groups: ['Shipping'] } },
			bots: { mail: ['email'], api: ['email'], other: ['email'] }
		});
		server = await startServer({ dataDir });
		transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort(server), secure: false, ignoreTLS: true });
	});
	afterAll(async () => {
		transport?.close();
		if (server) expect(await server.stop()).toBe(0);
	});

	it('numbers tickets 1, 2, 3… without a gap or a repeat when API clients, SMTP, chat and the CLI create them at once', async () => {
		const clients = [fx.tokens.mail.token, fx.tokens.api.token, fx.tokens.other.token];
		const created = await Promise.all([
			...clients.flatMap((token, c) => Array.from({ length: 8 }, (_, i) => newTicket(server, token, `Concurrent ${c}-${i}`))),
			...Array.from({ length: 4 }, (_, i) => mail(`sender${i}@example.com`, `Mailed ${i}`, `<concurrent-${i}@example.com>`)),
			...Array.from({ length: 2 }, (_, i) => chat(`Visitor ${i}`)),
			// Other processes on the same database file: only the database can keep them apart.
			...Array.from({ length: 2 }, (_, i) =>
				runCli(server.dataDir, 'ticket', 'create', '--subject', `From the CLI ${i}`, '--email', 'cli@example.com', '--channel', 'email', '--body', 'hi', '--json')
			)
		]);
		const cliTickets = created.slice(-2).map((result) => {
			const { code, stdout, stderr } = result as { code: number; stdout: string; stderr: string };
			expect(code, stderr).toBe(0);
			return JSON.parse(stdout) as Created;
		});
		const tickets = await allTickets();
		expect(tickets).toHaveLength(3 * 8 + 4 + 2 + 2);
		expect(tickets.map((t) => t.number).sort((a, b) => a - b)).toEqual(Array.from({ length: tickets.length }, (_, i) => i + 1));
		// What each creator was told is what is stored.
		const stored = new Map(tickets.map((t) => [t.id, t.number]));
		for (const t of [...(created.slice(0, 24) as Created[]), ...cliTickets]) expect(stored.get(t.id)).toBe(t.number);
		expect(await countRows(server.dataDir, sql`SELECT value AS n FROM sequences WHERE name = 'ticket_number'`)).toBe(tickets.length);
	});

	it('carries the number in the API (create, read, list, customer) and on the event stream', async () => {
		const stream = await openEvents(`${server.url}/api/v1/stream`, fx.users.root.token);
		try {
			const before = (await allTickets()).length;
			const ticket = await newTicket(server, fx.tokens.mail.token, 'Numbered over the API', 'numbered@example.com');
			expect(ticket.number).toBe(before + 1);
			expect((await read(ticket.id)).number).toBe(ticket.number);
			expect((await allTickets()).find((t) => t.id === ticket.id)?.number).toBe(ticket.number);
			const customer = await admin().request('GET', `/api/v1/customers/${ticket.requesterId}`);
			expect(customer.body.tickets).toEqual([expect.objectContaining({ id: ticket.id, number: ticket.number })]);
			const event = await waitFor(() => stream.events.find((e) => e.name === 'ticket' && e.data.id === ticket.id), 'the stream row');
			expect(event.data.number).toBe(ticket.number);
		} finally {
			stream.close();
		}
	});

	it('finds a ticket by `#N` or `N` in search, only for those who may see it', async () => {
		const ticket = await newTicket(server, fx.tokens.mail.token, 'Lost parcel', 'searcher@example.com');
		const other = await newTicket(server, fx.tokens.mail.token, 'Another parcel', 'searcher@example.com');
		await moveToGroup(ticket.id, 'Billing');
		await moveToGroup(other.id, 'Billing');
		// The query is also searched as text: other tickets may mention the number (the concurrent
		// creators above write numbered subjects); the numbered ticket is always among the results.
		for (const q of [`#${ticket.number}`, String(ticket.number), ` #${ticket.number} `]) {
			expect(await search(fx.users.ann.token, q)).toContain(ticket.id);
		}
		const others = await search(fx.users.ann.token, `#${other.number}`);
		expect(others).toContain(other.id);
		expect(others).not.toContain(ticket.id);
		// Carl works Shipping: a number he guesses finds nothing he may not open.
		// (Tickets he may open that mention the number in their text are still found.)
		expect(await search(fx.users.carl.token, `#${ticket.number}`)).not.toContain(ticket.id);
		// Numbers nobody has, and digits past any number, are searched as words: no error.
		expect(await search(fx.users.ann.token, '#99999999999999999999')).toEqual([]);
		expect(await search(fx.users.ann.token, '#0')).toEqual([]);
	});

	it("refuses a peer's change to ticket.number and keeps the number", async () => {
		const ticket = await newTicket(server, fx.tokens.mail.token, 'Try renumbering', 'renumber@example.com');
		const peer = await connectPeer(server, ticket.id, fx.users.ann.token);
		try {
			expect(peer.doc.getMap('ticket').get('number')).toBe(ticket.number);
			peer.doc.getMap('ticket').set('number', 1);
			expect(await waitFor(() => peer.closeReason(), 'the refusal')).toBe('read-only-field');
		} finally {
			peer.destroy();
		}
		const fresh = await connectPeer(server, ticket.id, fx.users.root.token);
		try {
			expect(fresh.doc.getMap('ticket').get('number')).toBe(ticket.number);
		} finally {
			fresh.destroy();
		}
		expect((await read(ticket.id)).number).toBe(ticket.number);
	});

	describe('email', () => {
		let victim: Created;
		const entriesOf = async (id: string) => (await read(id)).entries;
		const ticketsWithSubject = async (subject: string) => (await allTickets()).filter((t) => t.subject === subject);

		beforeAll(async () => {
			victim = await newTicket(server, fx.tokens.mail.token, 'Refund for my order', 'victim@example.com');
		});

		it('sends replies with [#N] in the subject', async () => {
			const reply = await admin().request('POST', `/api/v1/tickets/${victim.id}/entries`, {
				kind: 'message',
				channel: 'email',
				visibility: 'public',
				body: 'Your refund is on its way.'
			});
			expect(reply.status).toBe(201);
			const file = path.join(server.dataDir, 'mail', 'outbox', `${reply.body.id}.eml`);
			await waitFor(() => fs.existsSync(file), 'the spooled reply');
			const sent = await simpleParser(fs.readFileSync(file));
			expect(sent.subject).toBe(`Re: Refund for my order [#${victim.number}]`);
			expect(sent.subject).not.toContain(victim.id);
		});

		it("threads the requester's mail by [#N] alone, and anyone's by the old [#<id>] tag", async () => {
			await mail('Victim <victim@example.com>', `Re: Refund for my order [#${victim.number}]`, '<requester-by-number@example.com>', 'Thanks, any date?');
			expect((await entriesOf(victim.id)).map((e) => e.body)).toContain('Thanks, any date?');
			await mail('Partner <partner@example.org>', `Re: Refund [#${victim.id.toLowerCase()}]`, '<partner-by-id@example.com>', 'Partner here, by id.');
			expect((await entriesOf(victim.id)).map((e) => e.body)).toContain('Partner here, by id.');
			expect(await ticketsWithSubject(`Re: Refund for my order [#${victim.number}]`)).toEqual([]);
		});

		it('opens a new ticket for a stranger who writes [#N] of a ticket not theirs, leaving that ticket as it was', async () => {
			const before = await entriesOf(victim.id);
			const guessed = `Hello [#${victim.number}]`;
			await mail('Mallory <mallory@evil.example>', guessed, '<guess-1@evil.example>', 'Send me the refund details.');
			// Every number at once does not help either.
			const sweep = `Re: ${Array.from({ length: victim.number }, (_, i) => `[#${i + 1}]`).join(' ')}`;
			await mail('Mallory <mallory@evil.example>', sweep, '<guess-2@evil.example>', 'Any of these.');
			expect(await entriesOf(victim.id)).toEqual(before);
			const [own] = await ticketsWithSubject(guessed);
			expect(own && (await entriesOf(own.id)).map((e) => e.body)).toEqual(['Send me the refund details.']);
			expect(own!.requesterId).not.toBe(victim.requesterId);
			expect(await ticketsWithSubject(sweep)).toHaveLength(1);
		});

		it('threads [#N] from someone who has written in the ticket before', async () => {
			// The partner joined by the ticket's id above: a participant now.
			await mail('Partner <partner@example.org>', `Re: [#${victim.number}] follow-up`, '<partner-by-number@example.com>', 'Partner again, by number.');
			expect((await entriesOf(victim.id)).map((e) => e.body)).toContain('Partner again, by number.');
		});
	});
});

describe('ticket numbers across restarts and upgrades', () => {
	const running = servers();
	afterEach(() => running.cleanup());

	it('keeps numbers after SIGKILL and a reindex, and continues after the highest', async () => {
		const dataDir = tempDataDir();
		const fx = await prepare(dataDir, { bots: { mail: ['email'] } });
		let server = await running.boot(dataDir);
		const first = [];
		for (const subject of ['One', 'Two', 'Three']) first.push(await newTicket(server, fx.tokens.mail.token, subject));
		expect(first.map((t) => t.number)).toEqual([1, 2, 3]);
		await server.kill();
		const reindex = await runCli(dataDir, 'reindex');
		expect(reindex.code, reindex.stderr).toBe(0);
		server = await running.boot(dataDir);
		const list = await api(server, fx.tokens.mail.token).request('GET', '/api/v1/tickets');
		const numberOf = (tickets: Created[]) => Object.fromEntries(tickets.map((t) => [t.id, t.number]));
		expect(numberOf(list.body.tickets)).toEqual(numberOf(first));
		expect((await newTicket(server, fx.tokens.mail.token, 'Four')).number).toBe(4);
	});

	it("names the ticket's number in the offer an agent gets", async () => {
		const dataDir = tempDataDir();
		const fx = await prepare(dataDir, { users: { ann: { role: 'agent' } }, bots: { mail: ['email'] } });
		const server = await running.boot(dataDir);
		const stream = await openEvents(`${server.url}/api/v1/agent/stream`, fx.users.ann.token);
		try {
			expect((await api(server, fx.users.ann.token).request('PUT', '/api/v1/me/status', { status: 'online' })).status).toBe(200);
			await newTicket(server, fx.tokens.mail.token, 'Before');
			const ticket = await newTicket(server, fx.tokens.mail.token, 'Offered');
			const offer = await waitFor(() => stream.events.find((e) => e.name === 'offer' && e.data.ticketId === ticket.id)?.data, 'the offer');
			expect(offer).toMatchObject({ number: ticket.number, subject: 'Offered' });
			expect(ticket.number).toBe(2);
		} finally {
			stream.close();
		}
	});

	// An upgrade of a SQLite file from a release before ticket numbers: PostgreSQL databases start at the current schema.
	it.skipIf(TEST_ENGINE === 'postgres')('gives tickets stored before numbers existed numbers in creation order, kept by a reindex', async () => {
		const dataDir = tempDataDir();
		// The database as the release before numbers left it: every migration up to this change.
		const source = path.join(ROOT, 'drizzle', 'migrations');
		const older = path.join(dataDir, 'older-migrations');
		fs.cpSync(source, older, { recursive: true });
		const journal = JSON.parse(fs.readFileSync(path.join(older, 'meta', '_journal.json'), 'utf8'));
		const cut = journal.entries.findIndex((e: { tag: string }) => e.tag.endsWith('_ticket_numbers'));
		expect(cut).toBeGreaterThan(0);
		journal.entries = journal.entries.slice(0, cut);
		fs.writeFileSync(path.join(older, 'meta', '_journal.json'), JSON.stringify(journal));
		const sqlite = new Database(path.join(dataDir, 'tandem.sqlite'));
		migrate(drizzle(sqlite), { migrationsFolder: older });
		// Tickets as that release stored them (documents without a number, and their rows), with
		// ids out of creation order, as imported or seeded data can be.
		const row = sqlite.prepare(
			"INSERT INTO tickets (id, subject, status, priority, requester_id, channel, created_at, updated_at) VALUES (?, ?, 'open', 'normal', 'c1', 'email', ?, ?)"
		);
		const log = sqlite.prepare("INSERT INTO ticket_updates (ticket_id, data, received_at, actor) VALUES (?, ?, ?, 'system')");
		for (const [id, createdAt] of [['OLD_C', 1000], ['OLD_A', 3000], ['OLD_B', 2000], ['OLD_D', 2000]] as const) {
			const doc = new Y.Doc();
			initTicket(doc, { subject: id, status: 'open', priority: 'normal', assigneeId: null, groupId: null, requesterId: 'c1', channel: 'email', createdAt, tags: [] });
			appendEntries(doc, [{ id: newId(), kind: 'message', channel: 'email', direction: 'in', visibility: 'public', authorType: 'customer', authorId: 'c1', body: 'hello', createdAt }]);
			log.run(id, Buffer.from(Y.encodeStateAsUpdate(doc)), createdAt);
			row.run(id, id, createdAt, createdAt);
		}
		sqlite.close();

		const created = await runCli(dataDir, 'ticket', 'create', '--subject', 'After the upgrade', '--email', 'new@example.com', '--channel', 'email', '--body', 'hi', '--json');
		expect(created.code, created.stderr).toBe(0);
		expect(JSON.parse(created.stdout).number).toBe(5);
		const numbers = () => {
			const db = openDatabase(path.join(dataDir, 'tandem.sqlite'));
			try {
				return db.$client.prepare("SELECT id, number FROM tickets WHERE id LIKE 'OLD_%' ORDER BY number").all();
			} finally {
				db.$client.close();
			}
		};
		const expected = [
			{ id: 'OLD_C', number: 1 },
			{ id: 'OLD_B', number: 2 },
			{ id: 'OLD_D', number: 3 },
			{ id: 'OLD_A', number: 4 }
		];
		expect(numbers()).toEqual(expected);
		// A rebuild of their rows from documents that carry no number keeps the numbers.
		const reindex = await runCli(dataDir, 'reindex');
		expect(reindex.code, reindex.stderr).toBe(0);
		expect(numbers()).toEqual(expected);
	});
});
