/**
 * Saved views in real Chromium: a search saved as a view with its own columns, its count live in
 * the nav, linkable by its address, changed and deleted; a view an admin shares shows for an
 * agent, who may not change it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type BrowserSession } from '../helpers/browser';
import { PASSWORD, prepare, type Fixture } from '../helpers/fixtures';
import { startServer, tempDataDir, type RunningServer } from '../helpers/server';
import { createTicket } from '../helpers/tickets';

let server: RunningServer;
let fx: Fixture;
let browser: BrowserSession;

beforeAll(async () => {
	const dataDir = tempDataDir();
	fx = await prepare(dataDir, { users: { root: { role: 'admin' }, ann: { role: 'agent', groups: ['Support'] } }, bots: { mail: ['email'] } });
	server = await startServer({ dataDir });
	browser = await launchBrowser();
});

afterAll(async () => {
	await browser?.close();
	await server?.stop();
});

describe('saved views in the workspace', () => {
	it('saves a search as a view with its columns, counts it live, links to it, changes it and deletes it', async () => {
		const tent = await createTicket(server, fx.tokens.mail.token, 'Refund for the tent');
		await createTicket(server, fx.tokens.mail.token, 'Stove broken');
		const { page } = await browser.person(server.url, fx.users.root.email, PASSWORD);
		page.setDefaultTimeout(15_000);

		await page.keyboard.press('/');
		await page.keyboard.type('refund');
		await page.keyboard.press('Enter');
		await page.locator(`#row-${tent.id}`).waitFor();
		await page.getByRole('button', { name: 'Save as view' }).click();
		const dialog = page.getByRole('dialog', { name: 'Save as a view' });
		await dialog.getByLabel('Name').fill('Refunds');
		await dialog.getByLabel('SLA').uncheck();
		await dialog.getByLabel('Requester').check();
		await dialog.getByRole('button', { name: 'Save view' }).click();

		await page.getByRole('heading', { name: 'Refunds' }).waitFor();
		expect(new URL(page.url()).searchParams.get('saved')).toBeTruthy();
		const headers = await page.locator('thead th').allInnerTexts();
		expect(headers.map((h) => h.trim().toLowerCase())).toEqual(['', 'subject', 'channel', 'status', 'priority', 'assignee', 'requester', 'updated']);
		await expect.poll(() => page.locator(`#row-${tent.id} td.requester`).innerText()).toBe('Maria Lopez');
		const navLink = page.getByRole('link', { name: /^Refunds/ });
		await expect(navLink.locator('.count').innerText()).resolves.toBe('1');

		// A new matching ticket: counted and listed live.
		const second = await createTicket(server, fx.tokens.mail.token, 'Another refund please');
		await page.locator(`#row-${second.id}`).waitFor();
		await expect.poll(() => navLink.locator('.count').innerText(), { timeout: 10_000 }).toBe('2');
		await screenshot(page, 'saved-view');

		// Its address opens it on a page of its own.
		const address = page.url();
		const other = await browser.person(server.url, fx.users.root.email, PASSWORD);
		await other.page.goto(address);
		await other.page.getByRole('heading', { name: 'Refunds' }).waitFor();
		await other.page.locator(`#row-${second.id}`).waitFor();

		await page.getByRole('button', { name: 'Edit view' }).click();
		const edit = page.getByRole('dialog', { name: 'Change the view' });
		await edit.getByLabel('Name').fill('Refund requests');
		await edit.getByRole('button', { name: 'Save view' }).click();
		await page.getByRole('heading', { name: 'Refund requests' }).waitFor();
		await page.getByRole('link', { name: /^Refund requests/ }).waitFor();

		await page.getByRole('button', { name: 'Delete view' }).click();
		await page.getByRole('group', { name: 'Delete the view?' }).getByRole('button', { name: 'Delete' }).click();
		await page.getByRole('link', { name: /^Refund requests/ }).waitFor({ state: 'detached' });
		expect(new URL(page.url()).searchParams.get('view')).toBe('mine');
	});

	it("shows an admin's shared view to an agent, with no way to change it", async () => {
		await createTicket(server, fx.tokens.mail.token, 'Printer jammed');
		const { page } = await browser.person(server.url, fx.users.root.email, PASSWORD);
		page.setDefaultTimeout(15_000);
		await page.goto('/?q=printer');
		await page.getByRole('button', { name: 'Save as view' }).click();
		const dialog = page.getByRole('dialog', { name: 'Save as a view' });
		await dialog.getByLabel('Name').fill('Printers');
		await dialog.getByLabel('Shared with everyone').check();
		await dialog.getByRole('button', { name: 'Save view' }).click();
		await page.getByRole('heading', { name: 'Printers' }).waitFor();

		const agent = await browser.person(server.url, fx.users.ann.email, PASSWORD);
		agent.page.setDefaultTimeout(15_000);
		const link = agent.page.getByRole('link', { name: /^Printers/ });
		await link.click();
		await agent.page.getByRole('heading', { name: 'Printers' }).waitFor();
		await expect(agent.page.locator('#list-description').innerText()).resolves.toContain('Shared view');
		await expect(agent.page.getByRole('button', { name: 'Edit view' }).count()).resolves.toBe(0);
		await expect(agent.page.locator('tbody tr').count()).resolves.toBe(1);
	});
});
