import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entrySchema, type Entry } from '../../src/lib/ticket';
import { countRows } from '../helpers/db';
import { prepare } from '../helpers/fixtures';
import { api, startServer, tempDataDir, waitFor, type Api, type RunningServer } from '../helpers/server';

const READ_CHANNELS = ['email', 'chat', 'messaging', 'social', 'talk', 'web', 'api'];
const DAY = 24 * 60 * 60_000;

let server: RunningServer | undefined;
let reader: Api;
let admin: Api;
let seededCount: number;
let seededAt: number;
let tickets: { id: string; subject: string; status: string; channel: string; entryCount: number }[];

beforeAll(async () => {
	const dataDir = tempDataDir();
	seededAt = Date.now();
	const first = await startServer({ dataDir, env: { SEED: '1' } });
	await first.stop();
	seededCount = await countRows(dataDir, sql`SELECT count(*) AS n FROM tickets`);
	// A bot token that may read tickets of every channel, written while the server is down.
	const fx = await prepare(dataDir, { users: { ops: { role: 'admin' } }, bots: { reader: READ_CHANNELS } });
	server = await startServer({ dataDir, env: { SEED: '1' } });
	reader = api(server, fx.tokens.reader.token);
	admin = api(server, fx.users.ops.token);
	const listed = await reader.request('GET', '/api/v1/tickets?limit=100');
	expect(listed.status).toBe(200);
	tickets = listed.body.tickets;
});
afterAll(async () => {
	await server?.stop();
});

async function entriesOf(id: string): Promise<Entry[]> {
	const res = await reader.request('GET', `/api/v1/tickets/${id}`);
	expect(res.status).toBe(200);
	return res.body.entries;
}

describe('demo seed', () => {
	it('writes about twenty tickets once: a restart does not seed again', async () => {
		expect(seededCount).toBeGreaterThanOrEqual(18);
		expect(seededCount).toBeLessThanOrEqual(25);
		expect(tickets).toHaveLength(seededCount);
		expect(await countRows(server!.dataDir, sql`SELECT count(*) AS n FROM tickets`)).toBe(seededCount);
	});

	it('covers every main channel and several statuses', () => {
		const channels = new Set(tickets.map((t) => t.channel));
		for (const channel of ['email', 'chat', 'messaging', 'social', 'talk']) expect(channels).toContain(channel);
		expect(new Set(tickets.map((t) => t.status)).size).toBeGreaterThanOrEqual(4);
	});

	it("tells Maggie's story in order: chat, the email with the refund reference, then a call", async () => {
		const maggie = tickets.find((t) => t.subject.includes('#48213'));
		expect(maggie).toBeDefined();
		const entries = await entriesOf(maggie!.id);
		const lastChat = entries.findLastIndex((e) => e.channel === 'chat');
		const refundEmail = entries.findIndex((e) => e.channel === 'email' && e.body.includes('RF-2093-7741'));
		const call = entries.findIndex((e) => e.kind === 'call');
		expect(lastChat).toBeGreaterThanOrEqual(0);
		expect(refundEmail).toBeGreaterThan(lastChat);
		expect(call).toBeGreaterThan(refundEmail);
		// Her chat, ended, with the pages she browsed before it (the visitor path), newest first.
		const chat = await reader.request('GET', `/api/v1/tickets/${maggie!.id}/chat`);
		expect(chat.status).toBe(200);
		expect(chat.body.chat).toMatchObject({ status: 'ended', presence: 'left' });
		expect(chat.body.path.map((p: { title: string }) => p.title)).toEqual(['Refunds and returns · Help', 'My orders · Northwind Outfitters', 'Northwind Outfitters']);
	});

	it("defines demo custom fields and a Refund request form, filled in on Maggie's ticket and findable by them", async () => {
		const defs = (await reader.request('GET', '/api/v1/ticket-fields')).body;
		expect(defs.fields.map((f: { label: string }) => f.label)).toEqual(['Order number', 'Refund amount', 'Reason', 'Product', 'Under warranty', 'Purchase date']);
		const form = defs.forms.find((f: { name: string }) => f.name === 'Refund request');
		const maggie = tickets.find((t) => t.subject.includes('#48213'))!;
		expect((await reader.request('GET', `/api/v1/tickets/${maggie.id}`)).body).toMatchObject({ formId: form.id, custom: { order_number: '#48213', refund_amount: 84, refund_reason: 'Charged twice' } });
		await waitFor(async () => (await reader.request('GET', `/api/v1/search?q=${encodeURIComponent('field.refund_reason:"charged twice"')}`)).body.results?.some((r: { id: string }) => r.id === maggie.id), 'Maggie found by her reason');
	});

	it('has a long conversation of at least 150 entries', async () => {
		const long = tickets.find((t) => t.entryCount >= 150);
		expect(long).toBeDefined();
		expect((await entriesOf(long!.id)).length).toBeGreaterThanOrEqual(150);
	});

	it('dates every entry in the last two weeks, strictly increasing within a ticket, each a valid entry', async () => {
		for (const ticket of tickets) {
			const entries = await entriesOf(ticket.id);
			expect(entries.length, ticket.subject).toBeGreaterThanOrEqual(2);
			let previous = 0;
			for (const entry of entries) {
				expect(entrySchema.safeParse(entry).success, `${ticket.subject}: ${entry.id}`).toBe(true);
				expect(entry.createdAt, ticket.subject).toBeGreaterThan(previous);
				expect(entry.createdAt, ticket.subject).toBeGreaterThan(seededAt - 15 * DAY);
				expect(entry.createdAt, ticket.subject).toBeLessThanOrEqual(Date.now());
				previous = entry.createdAt;
			}
		}
	});

	it('shares saved views that find demo tickets, for every user', async () => {
		const counts = async () => Object.fromEntries(((await admin.request('GET', '/api/v1/views')).body.saved as { name: string; count: number; shared: boolean }[]).map((v) => [v.name, v.shared && v.count]));
		await waitFor(async () => Object.values(await counts()).every((n) => typeof n === 'number' && n > 0), 'the demo tickets in the search index');
		expect(Object.keys(await counts()).sort()).toEqual(['Refunds', 'Urgent and high']);
	});

	it("holds the context panel's demo data: help-centre articles, Maggie's orders and profile, the example app", async () => {
		expect(await countRows(server!.dataDir, sql`SELECT count(*) AS n FROM help_articles WHERE status = 'published'`)).toBeGreaterThanOrEqual(5);
		expect(await countRows(server!.dataDir, sql`SELECT count(*) AS n FROM apps WHERE name = 'order-lookup' AND enabled`)).toBe(1);
		const help = await (await fetch(`${server!.url}/help`)).text();
		expect(help).toContain('How refunds work');
		const maggie = tickets.find((t) => t.subject.includes('#48213'))!;
		const records = await reader.request('GET', `/api/v1/tickets/${maggie.id}/objects`);
		expect(records.body.records.map((r: { typeName: string; externalId: string }) => `${r.typeName} ${r.externalId}`)).toEqual(expect.arrayContaining(['Order 48213', 'Order 47102']));
		const detail = await reader.request('GET', `/api/v1/tickets/${maggie.id}`);
		const customer = await reader.request('GET', `/api/v1/customers/${detail.body.requesterId}`);
		expect(customer.body).toMatchObject({ organisation: 'Chen Design Studio', tags: ['vip', 'repeat-buyer'] });
	});

	it('holds satisfaction answers of today on the dashboard and in the tickets, and a survey mail of a solved email ticket', async () => {
		const dashboard = await admin.request('GET', '/api/v1/supervisor/dashboard');
		expect(dashboard.body.satisfaction).toMatchObject({ good: 1, bad: 1 });
		const rated = async (subject: string) => (await reader.request('GET', `/api/v1/tickets/${tickets.find((t) => t.subject === subject)!.id}`)).body;
		expect(await rated("Product photos won't upload")).toMatchObject({ satisfaction: 'good', satisfactionComment: expect.stringContaining('Thanks, Casey') });
		expect(await rated('Company name and VAT number on invoice #47102')).toMatchObject({ satisfaction: 'bad' });
		const asked = await rated('Cancel subscription at end of term');
		expect(asked).toMatchObject({ satisfaction: 'offered', channel: 'email' });
		const spool = path.join(server!.dataDir, 'mail', 'outbox');
		const mail = await waitFor(() => fs.readdirSync(spool).find((name) => name.startsWith('survey-')), 'the survey mail in the outbox');
		expect(fs.readFileSync(path.join(spool, mail), 'utf8')).toContain(`How did we do? [#${asked.number}]`);
	});

	it('ships rules: the VIP trigger has routed a new email from Maggie’s studio, and names itself in its events', async () => {
		const rules = (await admin.request('GET', '/api/v1/rules')).body.rules as { id: string; name: string; kind: string; active: boolean }[];
		expect(rules.map((r) => [r.kind, r.name, r.active])).toEqual([
			['automation', 'Remind after 48 business hours pending', false],
			['automation', 'Close solved tickets after 4 days', false],
			['trigger', 'VIP email to Billing', true],
			['trigger', 'Customer replied to a pending ticket', true]
		]);
		const vip = tickets.find((t) => t.subject === 'Invoice for the studio redesign')!;
		const detail = (await reader.request('GET', `/api/v1/tickets/${vip.id}`)).body;
		const groups = (await admin.request('GET', '/api/v1/groups')).body.groups as { id: string; name: string }[];
		expect(detail).toMatchObject({ priority: 'high', tags: ['vip'], groupId: groups.find((g) => g.name === 'Billing')!.id });
		const events = (await admin.request('GET', `/api/v1/tickets/${vip.id}/events`)).body.events as { type: string; data: { name?: string } }[];
		expect(events.filter((e) => e.type === 'rule.fired').map((e) => e.data.name)).toEqual(['VIP email to Billing']);
		const hours = (await admin.request('GET', '/api/v1/business-hours')).body.schedules;
		expect(hours).toEqual([expect.objectContaining({ timeZone: 'Europe/London', holidays: [] })]);
	});
});
