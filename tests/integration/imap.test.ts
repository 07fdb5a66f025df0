/**
 * IMAP mailboxes against a real Dovecot (tests/helpers/dovecot.ts) and a real Tandem process:
 * mailboxes are set on the admin page (page posts with the admin's session), mail is APPENDed to
 * Dovecot as a delivery would, and what was stored is read from the server's SQLite file and API.
 *
 * The server reads a folder only when IDLE pushes, on connecting, or every IMAP_POLL_MS (an hour
 * here): mail that arrives while a connection is up proves the push.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countRows, withStore } from '../helpers/db';
import { DOVECOT_PASSWORD, startDovecot, type Dovecot } from '../helpers/dovecot';
import { prepare, type Fixture } from '../helpers/fixtures';
import { sendPage } from '../helpers/pages';
import { api, startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';

const SUPPORT = 'support@tandem.test';
const MAX_EMAIL_BYTES = 200_000;
const SERVER_ENV = { SUPPORT_ADDRESS: SUPPORT, IMAP_POLL_MS: '3600000', IMAP_RETRY_MS: '200', MAX_EMAIL_BYTES: String(MAX_EMAIL_BYTES) };

let serial = 0;
/** A whole message as a mail server would deliver it. */
function message(fields: { from?: string; to?: string; subject: string; body?: string; messageId?: string; inReplyTo?: string; extra?: string }): string {
	const id = fields.messageId ?? `<imap-${Date.now()}-${++serial}@example.com>`;
	return [
		`From: ${fields.from ?? 'Val Jones <val@example.com>'}`,
		`To: ${fields.to ?? SUPPORT}`,
		`Subject: ${fields.subject}`,
		`Message-ID: ${id}`,
		...(fields.inReplyTo ? [`In-Reply-To: ${fields.inReplyTo}`, `References: ${fields.inReplyTo}`] : []),
		...(fields.extra ? [fields.extra] : []),
		'Date: Sun, 06 Dec 2026 05:00:00 +0000',
		'Content-Type: text/plain; charset=utf-8',
		'',
		fields.body ?? `Text of ${fields.subject}`,
		''
	].join('\r\n');
}

describe('IMAP mailboxes', () => {
	let dovecot: Dovecot;
	let dataDir: string;
	let fx: Fixture;
	let server: RunningServer;

	const page = (cookie: string, action?: string, form?: Record<string, string>) =>
		action ? sendPage(server, 'POST', `/admin?/${action}`, cookie, form) : sendPage(server, 'GET', '/admin', cookie);
	const admin = (action: string, form: Record<string, string>) => page(fx.users.root.token, action, form);
	const mailboxForm = (address: string, user: string, extra: Record<string, string> = {}) => ({
		address,
		host: dovecot.host,
		port: String(dovecot.port),
		tls: 'none',
		username: user,
		auth: 'password',
		secret: DOVECOT_PASSWORD,
		folder: 'INBOX',
		afterFetch: 'seen',
		...extra
	});
	const ticketsWith = (subject: string) => countRows(dataDir, sql`SELECT count(*) AS n FROM tickets WHERE subject = ${subject}`);
	const ticketsLike = (pattern: string) => countRows(dataDir, sql`SELECT count(*) AS n FROM tickets WHERE subject LIKE ${pattern}`);
	/** `timeoutMs`: longer after a Dovecot restart, when the reconnect waits out a backoff that doubled while it was down. */
	const ticketId = (subject: string, timeoutMs?: number) => waitFor(async () => (await ticketsWith(subject)) === 1, `a ticket “${subject}”`, timeoutMs).then(() => idOf(subject));
	const idOf = async (subject: string) => {
		const [row] = await withStore(dataDir, (store) => store.all<{ id: string }>(sql`SELECT id FROM tickets WHERE subject = ${subject}`));
		return row!.id;
	};
	const entries = async (id: string) => (await api(server, fx.tokens.mail.token).request('GET', `/api/v1/tickets/${id}`)).body.entries as { body: string }[];
	/** The status cell of a mailbox's row on the admin page. */
	const statusOf = async (address: string) => {
		const html = (await page(fx.users.root.token)).text;
		const row = html.slice(html.indexOf(`<code>${address}</code>`, html.indexOf('IMAP mailboxes')));
		const match = /data-imap-status="([a-z]+)"[^>]*>([\s\S]*?)<\/td>/.exec(row);
		return { state: match?.[1] ?? '', cell: match?.[2] ?? '' };
	};
	/** Connected, and the folder read once since: from here on only IDLE brings new mail in. */
	const connected = (address: string) =>
		waitFor(async () => {
			const { state, cell } = await statusOf(address);
			return state === 'connected' && !cell.includes('last fetch —');
		}, `${address} connected`, 20_000);
	const flagsOf = async (user: string, folder = 'INBOX') => {
		const client = await dovecot.client(user);
		try {
			await client.mailboxOpen(folder);
			const all = await client.fetchAll('1:*', { uid: true, flags: true, envelope: true }).catch(() => []);
			return all.map((m) => ({ subject: m.envelope?.subject ?? '', seen: m.flags?.has('\\Seen') ?? false }));
		} finally {
			await client.logout();
		}
	};

	beforeAll(async () => {
		dovecot = await startDovecot(['support', 'billing', 'sales', 'bulk']);
		dataDir = tempDataDir();
		fx = await prepare(dataDir, { users: { root: { role: 'admin', groups: ['Billing'] }, ann: { role: 'agent' } }, bots: { mail: ['email'] } });
		server = await startServer({ dataDir, env: SERVER_ENV });
	});
	afterAll(async () => {
		try {
			if (server) expect(await server.stop()).toBe(0);
		} finally {
			await dovecot?.destroy();
		}
	});

	it('refuses mailbox settings to an agent, and invalid ones naming the field', async () => {
		const sneaky = await page(fx.users.ann.token, 'saveImapMailbox', mailboxForm(SUPPORT, 'support'));
		expect(sneaky.status).toBe(403);
		for (const [field, bad] of [
			['port', { port: '70000' }],
			['host', { host: 'imap example!' }],
			['tls', { tls: 'maybe' }],
			['folder', { folder: 'INBOX*' }],
			['moveTo', { afterFetch: 'move' }],
			['moveTo', { afterFetch: 'move', moveTo: 'INBOX' }],
			['afterFetch', { afterFetch: 'shred' }],
			['secret', { secret: '' }]
		] as const) {
			const refused = await admin('saveImapMailbox', mailboxForm(SUPPORT, 'support', bad));
			expect(refused.status, field).toBe(400);
			expect(refused.text, field).toContain(`${field}:`);
		}
		expect((await admin('saveImapMailbox', mailboxForm('nobody@tandem.test', 'support'))).status).toBe(404);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM imap_mailboxes`)).toBe(0);
	});

	let firstId: string;

	it('turns mail appended to the mailbox into a ticket live (IDLE), flagged \\Seen after it is stored', async () => {
		await dovecot.append('support', message({ subject: 'Waiting before setup' }));
		const saved = await admin('saveImapMailbox', mailboxForm(SUPPORT, 'support'));
		expect(saved.status, saved.text).toBe(200);
		firstId = await ticketId('Waiting before setup');
		await connected(SUPPORT);

		// The connection is up and the next read is an hour away: only IDLE can bring this one.
		await dovecot.append('support', message({ subject: 'Arrived live', messageId: '<live-1@example.com>' }));
		const liveId = await ticketId('Arrived live');
		expect((await entries(liveId)).map((e) => e.body)).toEqual(['Text of Arrived live']);
		await waitFor(async () => (await flagsOf('support')).every((m) => m.seen), 'messages flagged \\Seen');
	});

	it('threads a reply (In-Reply-To) into its ticket', async () => {
		const liveId = await idOf('Arrived live');
		await dovecot.append('support', message({ subject: 'Re: Arrived live', body: 'Any news?', inReplyTo: '<live-1@example.com>' }));
		await waitFor(async () => (await entries(liveId)).length === 2, 'the reply in the ticket');
		expect((await entries(liveId)).map((e) => e.body)).toEqual(['Text of Arrived live', 'Any news?']);
		expect(await ticketsWith('Re: Arrived live')).toBe(0);
		expect(firstId).not.toBe(liveId);
	});

	it('shows the mailbox on the admin page without its password, and never logs it', async () => {
		const html = (await page(fx.users.root.token)).text;
		expect(html).toContain('support at 127.0.0.1');
		expect(html).toContain('set (leave empty to keep)');
		expect(html).not.toContain(DOVECOT_PASSWORD);
		expect(server.output()).not.toContain(DOVECOT_PASSWORD);
		// Saving again without a password keeps the saved one (and the cursor: nothing is fetched twice).
		const resaved = await admin('saveImapMailbox', mailboxForm(SUPPORT, 'support', { secret: '' }));
		expect(resaved.status, resaved.text).toBe(200);
		await connected(SUPPORT);
		await dovecot.append('support', message({ subject: 'After saving again' }));
		await ticketId('After saving again');
		expect(await ticketsWith('Arrived live')).toBe(1);
	});

	it('moves fetched mail to the folder set, for an added address (its group)', async () => {
		expect((await admin('addSupportAddress', { address: 'billing@tandem.test', name: 'Billing', groupId: fx.groups.Billing! })).status).toBe(200);
		const saved = await admin('saveImapMailbox', mailboxForm('billing@tandem.test', 'billing', { afterFetch: 'move', moveTo: 'Tandem-done' }));
		expect(saved.status, saved.text).toBe(200);
		await connected('billing@tandem.test');
		await dovecot.append('billing', message({ to: 'billing@tandem.test', subject: 'Invoice twice' }));
		await ticketId('Invoice twice');
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM tickets WHERE subject = ${'Invoice twice'} AND group_id = ${fx.groups.Billing!}`)).toBe(1);
		await waitFor(async () => (await flagsOf('billing')).length === 0, 'INBOX emptied');
		expect((await flagsOf('billing', 'Tandem-done')).map((m) => m.subject)).toEqual(['Invoice twice']);
	});

	it('leaves a message over MAX_EMAIL_BYTES in the mailbox, survives malformed MIME, and goes on', async () => {
		await dovecot.append('support', message({ subject: 'Far too big', body: 'x'.repeat(MAX_EMAIL_BYTES + 1000) }));
		await dovecot.append('support', 'this is not\r\na mail message at all\r\n\r\n--broken\r\n');
		await dovecot.append('support', message({ subject: 'Broken MIME', extra: 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="never-closed"' }));
		await dovecot.append('support', message({ subject: 'After the hostile ones' }));
		await ticketId('After the hostile ones');
		expect(await ticketsWith('Far too big')).toBe(0);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM events WHERE type = 'email.ignored' AND CAST(data AS text) LIKE '%MAX_EMAIL_BYTES%'`)).toBe(1);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM events WHERE type = 'email.unparsed'`)).toBe(1);
		const flags = await flagsOf('support');
		expect(flags.find((m) => m.subject === 'Far too big')?.seen).toBe(false);
		expect(flags.find((m) => m.subject === 'After the hostile ones')?.seen).toBe(true);
		expect((await page(fx.users.root.token)).status).toBe(200);
	});

	it('shows a refused sign-in clearly on the admin page and in the log, without the password', async () => {
		expect((await admin('addSupportAddress', { address: 'sales@tandem.test', name: 'Sales' })).status).toBe(200);
		const wrong = 'not-the-password-3141';
		expect((await admin('saveImapMailbox', mailboxForm('sales@tandem.test', 'sales', { secret: wrong }))).status).toBe(200);
		const { state, cell } = await waitFor(async () => {
			const status = await statusOf('sales@tandem.test');
			return status.state === 'failing' ? status : null;
		}, 'the failure on the admin page');
		expect(state).toBe('failing');
		expect(cell).toContain(`Sign-in refused by 127.0.0.1:${dovecot.port}: check the user name and password`);
		const logged = await waitFor(
			() => server.output().split('\n').find((line) => line.includes('imap mailbox failing') && line.includes('sales@tandem.test')),
			'the log line'
		);
		expect(logged).toContain('Sign-in refused');
		expect(server.output()).not.toContain(wrong);
		expect((await page(fx.users.root.token)).text).not.toContain(wrong);
		// The right password clears it.
		expect((await admin('saveImapMailbox', mailboxForm('sales@tandem.test', 'sales'))).status).toBe(200);
		await connected('sales@tandem.test');
		expect((await statusOf('sales@tandem.test')).cell).not.toContain('Sign-in refused');
	});

	it('survives a Dovecot restart: reconnects and fetches what arrived meanwhile', async () => {
		await dovecot.stop();
		await waitFor(async () => (await statusOf(SUPPORT)).state === 'failing', 'the lost connection shown');
		await dovecot.restart();
		await dovecot.append('support', message({ subject: 'While reconnecting' }));
		await ticketId('While reconnecting', 30_000);
		await connected(SUPPORT);
		await dovecot.append('support', message({ subject: 'After reconnecting' }));
		await ticketId('After reconnecting');
	});

	it('reads the folder again after a UIDVALIDITY change without storing anything twice', async () => {
		const validity = () => countRows(dataDir, sql`SELECT uid_validity AS n FROM imap_mailboxes WHERE address = ${SUPPORT}`);
		const before = { validity: await validity(), tickets: await countRows(dataDir, sql`SELECT count(*) AS n FROM tickets`), entries: await countRows(dataDir, sql`SELECT sum(entry_count) AS n FROM tickets`) };
		await dovecot.stop();
		dovecot.renumber('support');
		await dovecot.restart();
		await dovecot.append('support', message({ subject: 'After a new UIDVALIDITY' }));
		await ticketId('After a new UIDVALIDITY', 30_000);
		expect(await validity()).not.toBe(before.validity);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM tickets`)).toBe(before.tickets + 1);
		expect(await countRows(dataDir, sql`SELECT sum(entry_count) AS n FROM tickets`)).toBe(before.entries + 1);
	});

	it('neither loses nor duplicates a batch when Tandem is killed (SIGKILL) in the middle of it', async () => {
		// More than one of the server's fetch batches (50 messages, server/channels/imap.ts).
		const total = 80;
		expect((await admin('addSupportAddress', { address: 'bulk@tandem.test', name: 'Bulk' })).status).toBe(200);
		// A batch waiting in a folder no mailbox reads yet: once the mailbox is set, one fetch meets all of it.
		await dovecot.append('bulk', Array.from({ length: total }, (_, i) => message({ to: 'bulk@tandem.test', subject: `Batch ${String(i).padStart(3, '0')}` })));
		expect((await admin('saveImapMailbox', mailboxForm('bulk@tandem.test', 'bulk'))).status).toBe(200);
		const storedAtKill = await waitFor(async () => {
			const n = await ticketsLike('Batch %');
			return n > 0 && n;
		}, 'the batch to start', 30_000);
		await server.kill();
		expect(storedAtKill).toBeLessThan(total);

		server = await startServer({ dataDir, env: SERVER_ENV });
		await waitFor(async () => (await ticketsLike('Batch %')) >= total, 'the whole batch', 60_000);
		await waitFor(async () => (await flagsOf('bulk')).every((m) => m.seen), 'the batch flagged', 30_000);
		expect(await ticketsLike('Batch %')).toBe(total);
		expect(await countRows(dataDir, sql`SELECT count(DISTINCT subject) AS n FROM tickets WHERE subject LIKE 'Batch %' AND entry_count = 1`)).toBe(total);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM email_messages WHERE mailbox = 'bulk@tandem.test'`)).toBe(total);
		const cursor = await countRows(dataDir, sql`SELECT stored_uid AS n FROM imap_mailboxes WHERE address = 'bulk@tandem.test'`);
		expect(cursor).toBe(total);
	}, 180_000);

	it('stops fetching for a removed mailbox and for a removed support address', async () => {
		expect((await admin('removeImapMailbox', { address: 'sales@tandem.test' })).status).toBe(200);
		expect((await admin('removeSupportAddress', { address: 'billing@tandem.test' })).status).toBe(200);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM imap_mailboxes WHERE address IN ('sales@tandem.test', 'billing@tandem.test')`)).toBe(0);
		await dovecot.append('sales', message({ to: 'sales@tandem.test', subject: 'Nobody fetches this' }));
		await dovecot.append('support', message({ subject: 'Still fetched' }));
		await ticketId('Still fetched');
		expect(await ticketsWith('Nobody fetches this')).toBe(0);
		expect((await flagsOf('sales')).find((m) => m.subject === 'Nobody fetches this')?.seen).toBe(false);
	});
});
