/**
 * Custom ticket fields in real Chromium, on the demo data: the admin adds a field on
 * /admin/fields; an agent fills it in in a ticket's header by keyboard, a colleague on the same
 * ticket sees it live; a refused value is said under its field; solving says which fields it needs;
 * the workspace's search finds the ticket by the value.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type BrowserSession } from '../helpers/browser';
import { startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';

let server: RunningServer;
let browser: BrowserSession;
let admin: Page;
let alex: Page;
let blake: Page;
let maggieId: string;

beforeAll(async () => {
	server = await startServer({ dataDir: tempDataDir(), env: { SEED: '1' } });
	browser = await launchBrowser();
	[admin, alex, blake] = await Promise.all(
		['admin@tandem.local', 'alex@tandem.local', 'blake@tandem.local'].map(async (email) => {
			const { page } = await browser.person(server.url, email, 'tandem-demo');
			page.setDefaultTimeout(15_000);
			return page;
		})
	);
	// Maggie's refund ticket, found by its demo order number.
	await waitFor(async () => (await (await admin.request.get('/api/v1/search?q=field.order_number:48213')).json()).results?.length === 1, 'the demo values indexed');
	maggieId = (await (await admin.request.get('/api/v1/search?q=field.order_number:48213')).json()).results[0].id;
}, 120_000);

afterAll(async () => {
	await browser?.close();
	await server?.stop();
});

describe('custom ticket fields', () => {
	it('an admin adds a field to the Refund request form', async () => {
		await admin.goto('/admin/fields', { waitUntil: 'networkidle' });
		const fields = admin.getByRole('region', { name: 'Ticket fields' });
		await fields.getByLabel('Label').last().fill('Serial number');
		await fields.getByLabel('Key').fill('serial_number');
		await fields.getByLabel('Type').selectOption('text');
		await fields.getByRole('button', { name: 'Add field' }).click();
		await expect.poll(() => fields.getByRole('status').textContent()).toContain('Field “Serial number” added.');
		await expect.poll(() => fields.getByRole('cell', { name: 'serial_number' }).count()).toBe(1);
		const forms = admin.getByRole('region', { name: 'Forms' });
		await forms.getByRole('checkbox', { name: 'Serial number' }).first().check();
		await forms.getByRole('button', { name: 'Save Refund request' }).click();
		await expect.poll(() => forms.getByRole('status').textContent()).toContain('Form saved.');
		await screenshot(admin, 'admin-fields');
	});

	it('an agent fills it in in the header, a colleague sees it live, and search finds the ticket by it', async () => {
		await Promise.all([alex, blake].map((page) => page.goto(`/tickets/${maggieId}`, { waitUntil: 'networkidle' })));
		const header = (page: Page) => page.getByRole('group', { name: 'Custom fields' });
		await expect.poll(() => header(alex).getByLabel('Form').inputValue()).not.toBe('');
		await expect(header(alex).getByLabel('Order number').inputValue()).resolves.toBe('#48213');

		const serial = header(alex).getByLabel('Serial number');
		await serial.fill('SN-778 spare unit');
		await serial.press('Enter');
		await expect.poll(() => header(blake).getByLabel('Serial number').inputValue()).toBe('SN-778 spare unit');

		// A choice picked by keyboard, seen by the colleague too.
		await header(alex).getByLabel('Reason').selectOption('Damaged in transit');
		await expect.poll(() => header(blake).getByLabel('Reason').inputValue()).toBe('Damaged in transit');

		// A value the pattern refuses is said under its field and not written.
		const order = header(alex).getByLabel('Order number');
		await order.fill('12');
		await order.press('Enter');
		await expect.poll(() => header(alex).getByRole('alert').innerText()).toMatch(/Order number: does not match/);
		await expect(header(blake).getByLabel('Order number').inputValue()).resolves.toBe('#48213');
		await screenshot(alex, 'custom-fields-header');

		// Search by the new field's words, in the workspace's search box.
		await waitFor(async () => (await (await alex.request.get('/api/v1/search?q=' + encodeURIComponent('field.serial_number:spare'))).json()).results?.length === 1, 'the value indexed');
		const box = alex.getByRole('searchbox', { name: 'Search tickets' });
		await box.fill('field.serial_number:spare');
		await box.press('Enter');
		await alex.getByRole('heading', { name: 'Search: field.serial_number:spare' }).waitFor();
		// The results replace the list shown before: only Maggie's ticket is left.
		await expect.poll(() => alex.locator('tbody tr').count()).toBe(1);
		await expect(alex.locator(`#row-${maggieId}`).count()).resolves.toBe(1);
	});

	it('a saved view shows custom fields as columns', async () => {
		const view = await alex.request.post('/api/v1/saved-views', { data: { name: 'Refunds by order', query: 'field.order_number:48213', columns: ['status', 'field.order_number', 'field.refund_reason'] } });
		expect(view.status()).toBe(201);
		await alex.goto(`/?saved=${(await view.json()).id}`, { waitUntil: 'networkidle' });
		const row = alex.locator(`#row-${maggieId}`);
		await row.waitFor();
		await expect(alex.locator('thead th').allTextContents()).resolves.toEqual(expect.arrayContaining(['Order number', 'Reason']));
		await expect(row.locator('td.custom').allInnerTexts()).resolves.toEqual(['#48213', 'Damaged in transit']);
	});

	it('the status menu says which fields solving needs', async () => {
		await alex.goto(`/tickets/${maggieId}`, { waitUntil: 'networkidle' });
		const header = alex.getByRole('group', { name: 'Custom fields' });
		await header.getByLabel('Reason').selectOption('');
		await expect.poll(() => alex.getByLabel('Status').locator('option[value="solved"]').innerText()).toMatch(/fill in Reason first/);
		await expect(alex.getByLabel('Status').locator('option[value="solved"]').isDisabled()).resolves.toBe(true);
		// Send and solve says so too, and keeps the reply as a draft: nothing reaches the server to be refused.
		const composer = alex.getByRole('region', { name: 'Reply composer' });
		await composer.locator('.cm-content').click();
		await alex.keyboard.type('Your refund is on its way.');
		await alex.keyboard.press('Control+Shift+Enter');
		await expect.poll(() => composer.getByRole('alert').innerText()).toMatch(/Not sent: fill in Reason before solving the ticket/);
		await expect(composer.locator('.cm-content').innerText()).resolves.toContain('Your refund is on its way.');
		await expect(alex.getByText('refused', { exact: false }).count()).resolves.toBe(0);
		await header.getByLabel('Reason').selectOption('Charged twice');
		await expect.poll(() => alex.getByLabel('Status').locator('option[value="solved"]').isDisabled()).toBe(false);

		// Once solved, the header keeps what solving needed: clearing it is said, not sent (the server would refuse it).
		const status = alex.locator('select:has(option[value="solved"])');
		await status.selectOption('solved');
		await waitFor(async () => (await (await alex.request.get(`/api/v1/tickets/${maggieId}`)).json()).status === 'solved', 'the ticket solved');
		await header.getByLabel('Reason').selectOption('');
		await expect.poll(() => header.getByRole('alert').innerText()).toMatch(/Reason is needed while the ticket is solved: reopen it first/);
		await expect(alex.getByText('refused', { exact: false }).count()).resolves.toBe(0);
		expect((await (await alex.request.get(`/api/v1/tickets/${maggieId}`)).json()).custom.refund_reason).toBe('Charged twice');
		await status.selectOption('open');
		await waitFor(async () => (await (await alex.request.get(`/api/v1/tickets/${maggieId}`)).json()).status === 'open', 'the ticket reopened');
	});

	it('an open header follows the admin’s changes to the fields without a reload', async () => {
		const header = alex.getByRole('group', { name: 'Custom fields' });
		await header.getByLabel('Order number').waitFor();
		const added = await admin.request.post('/api/v1/ticket-fields', { data: { key: 'gift_wrap', label: 'Gift wrap', type: 'checkbox' } });
		expect(added.status()).toBe(201);
		await header.getByLabel('Gift wrap').waitFor();
		expect((await admin.request.patch('/api/v1/ticket-fields/gift_wrap', { data: { archived: true } })).status()).toBe(200);
		await header.getByLabel('Gift wrap').waitFor({ state: 'detached' });
	});
});
