/**
 * Bulk actions in the list, in real Chromium: tickets picked by click, shift-click and `x`, then
 * a status, a tag and a macro applied to all of them, reported per ticket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type BrowserSession } from '../helpers/browser';
import { PASSWORD, prepare, type Fixture } from '../helpers/fixtures';
import { api, startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';
import { createTicket, type CreatedTicket } from '../helpers/tickets';

let server: RunningServer;
let fx: Fixture;
let browser: BrowserSession;

beforeAll(async () => {
	const dataDir = tempDataDir();
	fx = await prepare(dataDir, { users: { root: { role: 'admin' }, sam: { role: 'supervisor' } }, bots: { mail: ['email'] } });
	server = await startServer({ dataDir });
	browser = await launchBrowser();
});

afterAll(async () => {
	await browser?.close();
	await server?.stop();
});

const detail = async (ticket: CreatedTicket) => (await api(server, fx.users.root.token).request('GET', `/api/v1/tickets/${ticket.id}`)).body;

describe('bulk actions in the list', () => {
	it('selects with click, shift-click and x, sets a priority and a tag on all, applies a macro, and reports each ticket', async () => {
		const tickets: CreatedTicket[] = [];
		for (const subject of ['Bulk A', 'Bulk B', 'Bulk C', 'Bulk D', 'Bulk E']) tickets.push(await createTicket(server, fx.tokens.mail.token, subject));
		const macro = await api(server, fx.users.root.token).request('POST', '/api/v1/macros', { title: 'We are on it', body: 'Hi {{requester.first_name}}, we are on #{{ticket.number}}.', actions: {} });
		expect(macro.status).toBe(201);
		const { page } = await browser.person(server.url, fx.users.root.email, PASSWORD);
		page.setDefaultTimeout(15_000);
		await page.getByRole('link', { name: /All open/ }).click();
		// Newest first: E D C B A.
		const [a, b, c, d, e] = tickets as [CreatedTicket, CreatedTicket, CreatedTicket, CreatedTicket, CreatedTicket];
		await page.locator(`#row-${a.id}`).waitFor();
		const box = (t: CreatedTicket) => page.locator(`#row-${t.id}`).getByRole('checkbox');

		// Click E, shift-click C: E, D and C; `x` on the first row (E, under the cursor) unselects it.
		await box(e).click();
		await box(c).click({ modifiers: ['Shift'] });
		const bar = page.getByRole('region', { name: 'Bulk actions' });
		await expect(bar.locator('.count').innerText()).resolves.toBe('3 selected');
		await page.locator('body').click({ position: { x: 2, y: 2 } });
		await page.keyboard.press('x');
		await expect(bar.locator('.count').innerText()).resolves.toBe('2 selected');
		await expect(box(e).isChecked()).resolves.toBe(false);
		// Clicking a box picks the ticket without opening it.
		await box(a).click();
		expect(page.url()).not.toContain('/tickets/');
		await expect(bar.locator('.count').innerText()).resolves.toBe('3 selected');
		await screenshot(page, 'bulk-selected');

		await bar.getByLabel('Set priority').selectOption('urgent');
		await bar.getByRole('status').getByText('3 updated.').waitFor();
		for (const t of [a, c, d]) expect((await detail(t)).priority).toBe('urgent');
		for (const t of [b, e]) expect((await detail(t)).priority).toBe('normal');
		// The updated ones leave the selection; select them again with the header box (all listed), then drop B and E.
		await page.getByRole('checkbox', { name: 'Select every ticket listed' }).check();
		await box(b).click();
		await box(e).click();
		await bar.getByLabel('Tag').fill('storm');
		await bar.getByRole('button', { name: 'Add tag' }).click();
		await bar.getByRole('status').getByText('3 updated.').waitFor();
		for (const t of [a, c, d]) expect((await detail(t)).tags).toEqual(['storm']);

		await page.getByRole('checkbox', { name: 'Select every ticket listed' }).check();
		await bar.getByRole('button', { name: /Macros/ }).click();
		await page.getByRole('menuitem', { name: /We are on it/ }).click();
		await bar.getByRole('status').getByText('5 updated.').waitFor();
		for (const t of tickets) expect((await detail(t)).entries.at(-1).body).toBe(`Hi Maria, we are on #${t.number}.`);
		await screenshot(page, 'bulk-report');
	});

	it('reports a refused ticket by number and keeps it selected', async () => {
		const t = await createTicket(server, fx.tokens.mail.token, 'Refused one');
		const ok = await createTicket(server, fx.tokens.mail.token, 'Fine one');
		const { page } = await browser.person(server.url, fx.users.root.email, PASSWORD);
		page.setDefaultTimeout(15_000);
		await page.getByRole('link', { name: /All open/ }).click();
		await page.locator(`#row-${t.id}`).getByRole('checkbox').click();
		await page.locator(`#row-${ok.id}`).getByRole('checkbox').click();
		// Between picking and applying, the ticket gets 100 tags from elsewhere: one more is refused.
		const full = Array.from({ length: 100 }, (_, i) => `t${i}`);
		expect((await api(server, fx.users.root.token).request('PATCH', `/api/v1/tickets/${t.id}`, { tags: full })).status).toBe(200);
		const bar = page.getByRole('region', { name: 'Bulk actions' });
		await bar.getByLabel('Tag').fill('one-more');
		await bar.getByRole('button', { name: 'Add tag' }).click();
		const report = bar.getByRole('status');
		await report.getByText('1 updated, 1 refused.').waitFor();
		await expect(report.locator('li').innerText()).resolves.toMatch(new RegExp(`^#${t.number} Refused one: .*tag`));
		await expect(bar.locator('.count').innerText()).resolves.toBe('1 selected');
		await waitFor(async () => (await detail(ok)).tags.includes('one-more'), 'the other ticket tagged');
		expect((await detail(t)).tags).toHaveLength(100);
	});

	it('merges the selected tickets into the one chosen, after a confirmation', async () => {
		const target = await createTicket(server, fx.tokens.mail.token, 'Wifi down on floor 2');
		const source = await createTicket(server, fx.tokens.mail.token, 'No internet upstairs');
		const { page } = await browser.person(server.url, fx.users.root.email, PASSWORD);
		page.setDefaultTimeout(15_000);
		await page.getByRole('link', { name: /All open/ }).click();
		await page.locator(`#row-${target.id}`).getByRole('checkbox').click();
		await page.locator(`#row-${source.id}`).getByRole('checkbox').click();
		const bar = page.getByRole('region', { name: 'Bulk actions' });
		await bar.getByLabel('Merge into').selectOption({ label: `#${target.number} Wifi down on floor 2` });
		const confirm = bar.getByRole('alertdialog', { name: 'Confirm the merge' });
		await expect(confirm.innerText()).resolves.toContain(`Merge 1 ticket into #${target.number} Wifi down on floor 2?`);
		// Cancel changes nothing; the keyboard confirms (the Merge button has the focus).
		await confirm.getByRole('button', { name: 'Cancel' }).click();
		expect((await detail(source)).mergedIntoId ?? null).toBeNull();
		await bar.getByLabel('Merge into').selectOption({ label: `#${target.number} Wifi down on floor 2` });
		await page.keyboard.press('Enter');
		await bar.getByRole('status').getByText('2 updated.').waitFor();
		expect(await detail(source)).toMatchObject({ status: 'closed', mergedIntoId: target.id });
		await page.locator(`#row-${source.id}`).waitFor({ state: 'detached' });
	});

	it('offers supervisors no selection', async () => {
		await createTicket(server, fx.tokens.mail.token, 'Watched');
		const { page } = await browser.person(server.url, fx.users.sam.email, PASSWORD);
		page.setDefaultTimeout(15_000);
		await page.locator('tbody tr').first().waitFor();
		await expect(page.getByRole('checkbox').count()).resolves.toBe(0);
	});
});
