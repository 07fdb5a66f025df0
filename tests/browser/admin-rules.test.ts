/**
 * The admin rules page in a real browser, on the demo data: the demo's rules listed and moved by
 * keyboard; an admin builds a trigger, tests which tickets it matches, saves it; an agent's change
 * of a ticket makes it act, live in the ticket's header and activity; switching the demo's
 * automation on closes the old solved demo tickets at once.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PASSWORD } from '../../server/seed';
import { launchBrowser, screenshot, type BrowserSession } from '../helpers/browser';
import { startServer, tempDataDir, type RunningServer } from '../helpers/server';

let server: RunningServer;
let browser: BrowserSession;
let admin: Page;

beforeAll(async () => {
	server = await startServer({ dataDir: tempDataDir(), env: { SEED: '1' } });
	browser = await launchBrowser();
	admin = (await browser.person(server.url, 'admin@tandem.local', DEMO_PASSWORD)).page;
	admin.setDefaultTimeout(15_000);
	await admin.goto('/admin', { waitUntil: 'networkidle' });
	await admin.getByRole('link', { name: /Rules: triggers, automations and business hours/ }).click();
	await admin.getByRole('heading', { name: 'Triggers' }).waitFor();
});

afterAll(async () => {
	await browser?.close();
	await server?.stop();
});

const section = (heading: string) => admin.getByRole('region', { name: heading });
const triggerNames = () => section('Triggers').getByRole('listitem').locator('strong').allTextContents();

describe('admin rules page', () => {
	it('lists the demo rules and moves one up by keyboard', async () => {
		expect(await triggerNames()).toEqual(['VIP email to Billing', 'Customer replied to a pending ticket']);
		await section('Automations').getByRole('listitem', { name: 'Close solved tickets after 4 days' }).waitFor();
		await admin.getByRole('button', { name: 'Move Customer replied to a pending ticket up' }).focus();
		await admin.keyboard.press('Enter');
		await expect.poll(triggerNames).toEqual(['Customer replied to a pending ticket', 'VIP email to Billing']);
		const stored = await (await admin.request.get('/api/v1/rules?kind=trigger')).json();
		expect(stored.rules.map((r: { name: string }) => r.name)).toEqual(['Customer replied to a pending ticket', 'VIP email to Billing']);
	});

	it('builds a trigger, tests it, and watches it act on a ticket an agent changes', async () => {
		const triggers = section('Triggers');
		await triggers.getByRole('button', { name: 'New trigger' }).click();
		const form = admin.getByRole('form', { name: 'New trigger' });
		await form.getByLabel('Name').fill('Invoice questions wait on finance');
		await form.getByRole('button', { name: 'Add condition' }).first().click();
		const first = form.getByRole('group', { name: 'Meets all of these: condition 1' });
		await first.getByLabel('Field').selectOption('subject');
		await first.getByLabel('Operator').selectOption('contains');
		await first.getByLabel('Value').fill('invoice');
		// Test: the demo's invoice tickets match now.
		await form.getByRole('button', { name: 'Test' }).click();
		const matches = form.getByRole('region', { name: 'Matching tickets' });
		await matches.getByRole('link', { name: /Invoice for the studio redesign/ }).waitFor();
		await matches.getByRole('link', { name: /invoice #47102/ }).waitFor();
		await form.getByRole('button', { name: 'Add condition' }).first().click();
		const second = form.getByRole('group', { name: 'Meets all of these: condition 2' });
		await second.getByLabel('Field').selectOption('statusChangedTo');
		await second.getByLabel('Value').selectOption('pending');
		await form.getByRole('group', { name: 'Action 1' }).getByLabel('Tags').fill('finance-review');
		await form.getByRole('button', { name: 'Add action' }).click();
		const mail = form.getByRole('group', { name: 'Action 2' });
		await mail.getByLabel('Action', { exact: true }).selectOption('emailGroup');
		await mail.getByLabel('Group').selectOption({ label: 'Billing' });
		await mail.getByLabel('Template').fill('Ticket #{{ticket.number}} waits on finance.');
		await screenshot(admin, 'admin-rules-editor');
		await form.getByRole('button', { name: 'Save' }).click();
		await admin.getByRole('status').getByText('Saved “Invoice questions wait on finance”.').waitFor();
		await triggers.getByRole('listitem', { name: 'Invoice questions wait on finance' }).waitFor();
		const saved = (await (await admin.request.get('/api/v1/rules?kind=trigger')).json()).rules.find((r: { name: string }) => r.name === 'Invoice questions wait on finance');
		expect(saved.actions).toEqual([
			{ type: 'addTags', tags: ['finance-review'] },
			{ type: 'emailGroup', groupId: expect.any(String), body: 'Ticket #{{ticket.number}} waits on finance.' }
		]);

		// An agent sets the VIP invoice ticket to pending in the ticket view: the trigger tags it, live.
		const alex = (await browser.person(server.url, 'alex@tandem.local', DEMO_PASSWORD)).page;
		alex.setDefaultTimeout(15_000);
		const { tickets } = await (await alex.request.get('/api/v1/tickets?q=studio%20redesign')).json();
		const ticketId = tickets.find((t: { subject: string }) => t.subject === 'Invoice for the studio redesign').id;
		await alex.goto(`/tickets/${ticketId}`);
		await alex.getByRole('region', { name: 'Reply composer' }).waitFor();
		await alex.getByText('Loading ticket…').waitFor({ state: 'detached' });
		await alex.getByRole('combobox', { name: 'Status' }).selectOption('pending');
		await alex.getByRole('group', { name: 'Tags' }).getByText('finance-review').waitFor();
		const activity = alex.getByRole('complementary', { name: 'Context' }).getByRole('region', { name: 'Ticket activity' });
		await activity.getByText('Rule “Invoice questions wait on finance” acted').waitFor();
		await activity.getByText('Rule “VIP email to Billing” acted').waitFor();
		await screenshot(alex, 'rule-acted');
	});

	it('switches a rule off and saves business hours for a group', async () => {
		const vip = section('Triggers').getByRole('listitem', { name: 'VIP email to Billing' });
		await vip.getByRole('switch').click();
		await admin.getByRole('status').getByText('“VIP email to Billing” is off.').waitFor();
		expect(await vip.getByRole('switch').isChecked()).toBe(false);
		await vip.getByText('Off', { exact: true }).waitFor();
		const stored = await (await admin.request.get('/api/v1/rules?kind=trigger')).json();
		expect(stored.rules.find((r: { name: string }) => r.name === 'VIP email to Billing').active).toBe(false);

		const hours = section('Business hours');
		await hours.getByLabel('For').selectOption({ label: 'Technical · not set' });
		await hours.getByLabel('Time zone').fill('America/New_York');
		await hours.getByLabel('Saturday hours').fill('10:00-14:00');
		await hours.getByLabel('Sunday hours').fill('25:00-26:00');
		await hours.getByRole('button', { name: 'Save business hours' }).click();
		await hours.getByRole('alert').getByText(/Sunday/).waitFor();
		await hours.getByLabel('Sunday hours').fill('');
		await hours.getByRole('button', { name: 'Save business hours' }).click();
		await hours.getByRole('status').getByText('Business hours saved.').waitFor();
		const { schedules } = await (await admin.request.get('/api/v1/business-hours')).json();
		expect(schedules.find((s: { timeZone: string }) => s.timeZone === 'America/New_York')).toMatchObject({ week: [[[540, 1020]], [[540, 1020]], [[540, 1020]], [[540, 1020]], [[540, 1020]], [[600, 840]], []] });
		await screenshot(admin, 'admin-rules');
	});

	it('switches the demo automation on and watches it close the demo tickets solved more than 4 days ago', async () => {
		const close = section('Automations').getByRole('listitem', { name: 'Close solved tickets after 4 days' });
		await close.getByRole('switch').click();
		await admin.getByRole('status').getByText('“Close solved tickets after 4 days” is on.').waitFor();
		// The leader looks at once (not at its next sweep a minute later): the ticket solved 9 days ago closes.
		const { tickets } = await (await admin.request.get('/api/v1/tickets?q=Upgrade%20to%20Pro%20plan')).json();
		const ticketId = tickets.find((t: { subject: string }) => t.subject === 'Upgrade to Pro plan').id;
		await admin.goto(`/tickets/${ticketId}`);
		await admin.getByText('Loading ticket…').waitFor({ state: 'detached' });
		await expect.poll(() => admin.getByRole('combobox', { name: 'Status' }).inputValue(), { timeout: 15_000 }).toBe('closed');
		const activity = admin.getByRole('complementary', { name: 'Context' }).getByRole('region', { name: 'Ticket activity' });
		await activity.getByText('Rule “Close solved tickets after 4 days” acted').waitFor();
		await screenshot(admin, 'automation-acted');
		// The one solved 3 days ago stays solved.
		const recent = (await (await admin.request.get("/api/v1/tickets?q=Product%20photos%20won't%20upload")).json()).tickets.find((t: { subject: string }) => t.subject === "Product photos won't upload");
		expect(recent.status).toBe('solved');
	});
});
