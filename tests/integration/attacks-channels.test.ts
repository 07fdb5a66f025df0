/**
 * Attacks through the customer channels, against one running server: mail that could never be
 * stored (it must be stored, trimmed, or refused for good, never deferred forever), and chat
 * visitors who claim someone else's email address (they stay a separate, unverified contact until
 * an agent links them or they prove the address).
 */
import fs from 'node:fs';
import path from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countRows } from '../helpers/db';
import { prepare, type Fixture } from '../helpers/fixtures';
import { api, smtpPort, startServer, tempDataDir, type RunningServer } from '../helpers/server';

const SUPPORT = 'support@tandem.local';

let server: RunningServer;
let fx: Fixture;
let dataDir: string;
let transport: Transporter;

beforeAll(async () => {
	dataDir = tempDataDir('tandem-attacks-channels-');
	fx = await prepare(dataDir, {
		users: { ann: { role: 'agent' }, root: { role: 'admin' } },
		bots: { mail: ['email'] }
	});
	server = await startServer({ dataDir, env: { SMTP_PORT: '0' } });
	transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort(server), secure: false, ignoreTLS: true });
});
afterAll(async () => {
	transport?.close();
	expect(await server.stop()).toBe(0);
});

const as = (name: string) => api(server, fx.users[name]?.token ?? fx.tokens[name]!.token);
const ticketsOf = async (subject: string) =>
	((await as('root').request('GET', '/api/v1/tickets?limit=100')).body.tickets as { id: string; subject: string }[]).filter((t) => t.subject === subject);
const ticket = async (id: string) => (await as('root').request('GET', `/api/v1/tickets/${id}`)).body;
/** Sends `mail` over SMTP; the server's answer code (250 when accepted). */
const deliver = (mail: nodemailer.SendMailOptions) =>
	transport.sendMail(mail).then(
		(info) => Number(info.response.slice(0, 3)),
		(error: Error & { responseCode?: number }) => error.responseCode ?? -1
	);

describe('mail that does not fit a ticket entry', () => {
	it('stores a mail with a 20 KB Message-ID once, and threads a reply naming it', async () => {
		const longId = `<${'x'.repeat(20_000)}@example.com>`;
		const mail = { from: 'long-id@example.com', to: SUPPORT, subject: 'Long Message-ID', text: 'First.', messageId: longId };
		expect(await deliver(mail)).toBe(250);
		// The sender did not see our 250 and delivers again: nothing is stored twice.
		expect(await deliver(mail)).toBe(250);
		const [row, ...others] = await ticketsOf('Long Message-ID');
		expect(others).toEqual([]);
		const first = (await ticket(row!.id)).entries;
		expect(first).toHaveLength(1);
		expect(first[0].meta.messageId.length).toBeLessThan(300);
		const original = first[0].meta.attachments.find((a: { name: string }) => a.name === 'original.eml');
		expect(fs.readFileSync(path.join(dataDir, 'attachments', original.sha256), 'utf8')).toContain(longId.slice(1, -1));

		expect(await deliver({ from: 'long-id@example.com', to: SUPPORT, subject: 'Other words', text: 'Any news?', inReplyTo: longId, references: [longId] })).toBe(250);
		expect(await ticketsOf('Other words')).toEqual([]);
		expect((await ticket(row!.id)).entries.map((e: { body: string }) => e.body)).toEqual(['First.', 'Any news?']);
	});

	it('stores a mail with 60 attachments of 250-character names once: names shortened, the rest summarised, the original kept', async () => {
		const attachments = Array.from({ length: 60 }, (_, i) => ({
			// Quotes and backslashes double in JSON: the worst case for the entry's size.
			filename: `${i}-${'"\\'.repeat(123)}.pdf`.slice(-250),
			content: `file ${i}`,
			contentType: 'application/pdf'
		}));
		const mail = {
			from: `"${'N'.repeat(3000)}" <many@example.com>`,
			to: SUPPORT,
			subject: `Many files ${'"'.repeat(3000)}`,
			text: 'See attached.',
			html: `<p>${'See attached. '.repeat(2000)}</p>`,
			messageId: '<many-files@example.com>',
			attachments
		};
		expect(await deliver(mail)).toBe(250);
		expect(await deliver(mail)).toBe(250);
		const rows = ((await as('root').request('GET', '/api/v1/tickets?limit=100')).body.tickets as { id: string; subject: string }[]).filter((t) =>
			t.subject.startsWith('Many files')
		);
		expect(rows).toHaveLength(1);
		const [entry, ...more] = (await ticket(rows[0]!.id)).entries;
		expect(more).toEqual([]);
		expect(entry.body).toBe('See attached.');
		expect(Buffer.byteLength(JSON.stringify(entry.meta))).toBeLessThanOrEqual(16 * 1024);
		expect(entry.meta.subject).toMatch(/^Many files "+…\[cut\]$/);
		const [original, ...listed] = entry.meta.attachments as { name: string; size: number; sha256: string }[];
		expect(original!.name).toBe('original.eml');
		expect(fs.statSync(path.join(dataDir, 'attachments', original!.sha256)).size).toBe(original!.size);
		expect(listed.length).toBeGreaterThan(0);
		for (const a of listed) {
			expect(Buffer.byteLength(a.name)).toBeLessThanOrEqual(100);
			expect(a.name).toMatch(/\.pdf$/);
		}
		expect(entry.meta.attachmentsOmitted.count).toBe(60 - listed.length);
		// The listed files are stored; all 60 are in the original message.
		expect(fs.readFileSync(path.join(dataDir, 'attachments', listed[0]!.sha256), 'utf8')).toBe('file 0');
		expect(countRows(dataDir, "SELECT count(*) AS n FROM email_messages WHERE message_id = '<many-files@example.com>'")).toBe(1);
	});

	it('keeps serving mail afterwards', async () => {
		expect(await deliver({ from: 'after@example.com', to: SUPPORT, subject: 'After the big ones', text: 'Hello.' })).toBe(250);
		expect(await ticketsOf('After the big ones')).toHaveLength(1);
	});
});
