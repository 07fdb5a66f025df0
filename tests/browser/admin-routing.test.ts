/**
 * The admin routing page in a real browser, on the demo data, by keyboard: an agent's row saved
 * with Enter, a refused SLA cell reported in its own section, a custom status added and deleted.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type BrowserSession } from '../helpers/browser';
import { startServer, tempDataDir, type RunningServer } from '../helpers/server';

let server: RunningServer;
let browser: BrowserSession;
let admin: Page;

beforeAll(async () => {
	server = await startServer({ dataDir: tempDataDir(), env: { SEED: '1' } });
	browser = await launchBrowser();
	admin = (await browser.person(server.url, 'admin@tandem.local', 'tandem-demo')).page;
	admin.setDefaultTimeout(15_000);
	await admin.goto('/admin/routing', { waitUntil: 'networkidle' });
});

afterAll(async () => {
	await browser?.close();
	await server?.stop();
});

const section = (heading: string) => admin.getByRole('region', { name: heading });

describe('admin routing page', () => {
	it("saves an agent's row with Enter", async () => {
		await admin.getByLabel('Chat capacity of Alex Agent').fill('4');
		await admin.getByLabel('Skills of Alex Agent').fill('billing, refunds');
		await admin.getByLabel('Skills of Alex Agent').press('Enter');
		await expect.poll(() => section('Agents').getByRole('status').textContent()).toContain('Alex Agent’s capacities and skills saved.');
		const stored = await (await admin.request.get('/api/v1/users/' + (await alexId()) + '/routing')).json();
		expect(stored).toEqual({ capacities: { chat: 4 }, skills: ['billing', 'refunds'] });
		// The row keeps showing what was saved.
		expect(await admin.getByLabel('Chat capacity of Alex Agent').inputValue()).toBe('4');
	});

	it('reports a refused SLA cell in its section and keeps what was typed', async () => {
		const cell = admin.getByLabel('First reply, urgent, Chat (minutes)');
		// The browser's own check would stop 0 before the server sees it: the server's check is the one tested.
		await cell.evaluate((input: HTMLInputElement) => input.removeAttribute('min'));
		await cell.fill('0');
		await section('SLA policies').getByRole('button', { name: 'Save SLA policies' }).click();
		await expect.poll(() => section('SLA policies').getByRole('alert').textContent()).toContain('urgent.chat.firstReplyMinutes:');
		expect(await cell.inputValue()).toBe('0');
		await screenshot(admin, 'admin-routing');
	});

	it('adds and deletes a custom status', async () => {
		const statuses = section('Custom statuses');
		await statuses.getByLabel('Name').fill('In a meeting');
		await statuses.getByLabel('Name').press('Enter');
		await expect.poll(() => statuses.getByRole('status').textContent()).toContain('Status “In a meeting” added.');
		await statuses.getByRole('button', { name: 'Delete status In a meeting' }).click();
		await expect.poll(() => statuses.getByText('No custom statuses yet.').count()).toBe(1);
	});
});

async function alexId() {
	const { users } = await (await admin.request.get('/api/v1/users')).json();
	return users.find((u: { email: string }) => u.email === 'alex@tandem.local').id;
}
