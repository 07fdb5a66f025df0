/**
 * Snoozing in real Chromium: from the ticket header the ticket leaves All open and shows in
 * Snoozed with its time; Wake now brings it back; a picked time in the past is refused in words.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type BrowserSession } from '../helpers/browser';
import { PASSWORD, prepare, type Fixture } from '../helpers/fixtures';
import { api, startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';
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

describe('snooze in the workspace', () => {
	it('snoozes from the header, shows the ticket in Snoozed with its time, and wakes it', async () => {
		const ticket = await createTicket(server, fx.tokens.mail.token, 'Back after the holidays');
		const snoozedUntil = async () => (await api(server, fx.users.root.token).request('GET', `/api/v1/tickets/${ticket.id}`)).body.snoozedUntil ?? null;
		const { page } = await browser.person(server.url, fx.users.root.email, PASSWORD);
		page.setDefaultTimeout(15_000);
		await page.goto(`/tickets/${ticket.id}`);
		const menu = page.locator('.ticket-header').getByRole('combobox', { name: 'Snooze' });

		// A time in the past is refused in words, and nothing is snoozed.
		await menu.selectOption({ label: 'Pick a time…' });
		await page.getByLabel('Snooze until').fill('2020-01-01T09:00');
		await page.getByRole('button', { name: 'Snooze', exact: true }).click();
		await page.getByRole('alert').getByText('Pick a time in the future.').waitFor();
		expect(await snoozedUntil()).toBeNull();
		await page.getByRole('button', { name: 'Cancel' }).click();

		const before = Date.now();
		await menu.selectOption({ label: 'In 3 hours' });
		await waitFor(async () => (await snoozedUntil()) !== null, 'the snooze stored');
		const until = await snoozedUntil();
		expect(until).toBeGreaterThanOrEqual(before + 3 * 3_600_000);
		expect(until).toBeLessThan(Date.now() + 3 * 3_600_000 + 1000);
		await expect(menu.locator('option:checked').innerText()).resolves.toMatch(/^Snoozed until /);
		await screenshot(page, 'snooze-header');

		await page.goto('/?view=open');
		await page.getByRole('heading', { name: 'All open' }).waitFor();
		await page.locator(`#row-${ticket.id}`).waitFor({ state: 'detached' });
		await page.getByRole('link', { name: /Snoozed/ }).click();
		const row = page.locator(`#row-${ticket.id}`);
		await expect(row.locator('.snoozed').innerText()).resolves.toMatch(/until /);
		await screenshot(page, 'snooze-view');

		await row.getByRole('link', { name: 'Back after the holidays' }).click();
		await menu.selectOption({ label: 'Wake now' });
		await waitFor(async () => (await snoozedUntil()) === null, 'the ticket woken');
		await page.goto('/?view=open');
		await page.locator(`#row-${ticket.id}`).waitFor();
	});
});
