/**
 * Ticket numbers where a person sees them: the list row, the search, the tab and the ticket header
 * show `#N` in real Chromium.
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
	fx = await prepare(dataDir, { users: { root: { role: 'admin' } }, bots: { mail: ['email'] } });
	server = await startServer({ dataDir });
	browser = await launchBrowser();
});

afterAll(async () => {
	await browser?.close();
	await server?.stop();
});

const newTicket = (subject: string) => createTicket(server, fx.tokens.mail.token, subject);

describe('ticket numbers in the workspace', () => {
	it('shows #N in the list, finds the ticket by #N, and shows it on the tab and in the header', async () => {
		const first = await newTicket('Where is my tent?');
		const second = await newTicket('Refund for the stove');
		expect(second.number).toBe(first.number + 1);
		const { page } = await browser.person(server.url, fx.users.root.email, PASSWORD);
		page.setDefaultTimeout(15_000);

		await page.getByRole('link', { name: /All open/ }).click();
		const row = page.locator(`#row-${second.id}`);
		await expect(row.locator('.number').innerText()).resolves.toBe(`#${second.number}`);
		await expect(page.locator(`#row-${first.id} .number`).innerText()).resolves.toBe(`#${first.number}`);

		await page.getByRole('searchbox', { name: 'Search tickets' }).fill(`#${first.number}`);
		await page.keyboard.press('Enter');
		await page.getByRole('heading', { name: `Search: #${first.number}` }).waitFor();
		await page.locator(`#row-${second.id}`).waitFor({ state: 'detached' });
		await expect(page.locator('tbody tr').count()).resolves.toBe(1);
		await screenshot(page, 'ticket-numbers-search');

		await page.locator(`#row-${first.id}`).getByRole('link', { name: 'Where is my tent?' }).click();
		const tab = page.getByRole('tablist', { name: 'Open tickets' }).getByRole('tab', { name: /Where is my tent\?/ });
		await expect(tab.innerText()).resolves.toBe(`#${first.number} Where is my tent?`);
		const header = page.locator('.ticket-header');
		await expect(header.locator('.number').innerText()).resolves.toBe(`#${first.number}`);
		await expect(page.title()).resolves.toBe(`#${first.number} Where is my tent? · Tandem`);
		await screenshot(page, 'ticket-numbers-ticket');

		// A full page load of the ticket (the server-rendered first view, then the live one) too.
		await page.goto(`/tickets/${second.id}`);
		await expect(page.locator('.ticket-header .number').innerText()).resolves.toBe(`#${second.number}`);
	});
});
