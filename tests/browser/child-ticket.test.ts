/**
 * Child tickets where a person sees them, in real Chromium: one agent creates a child from the
 * side panel, a colleague watching the parent sees it appear, the child's header links back, and
 * solving the child shows "Solved" in the parent's panel without a reload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchBrowser, screenshot, type BrowserSession } from '../helpers/browser';
import { PASSWORD, prepare, type Fixture } from '../helpers/fixtures';
import { startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';
import { createTicket } from '../helpers/tickets';

let server: RunningServer;
let fx: Fixture;
let browser: BrowserSession;

beforeAll(async () => {
	const dataDir = tempDataDir();
	fx = await prepare(dataDir, { users: { ann: { role: 'agent', groups: ['Support'] }, ben: { role: 'agent', groups: ['Support'] } }, bots: { mail: ['email'] } });
	server = await startServer({ dataDir });
	browser = await launchBrowser();
});

afterAll(async () => {
	await browser?.close();
	await server?.stop();
});

async function openTicket(page: Page, id: string) {
	await page.goto(`/tickets/${id}`);
	await page.getByRole('region', { name: 'Reply composer' }).waitFor();
	await page.getByText('Loading ticket…').waitFor({ state: 'detached' });
}

describe('child tickets in the workspace', () => {
	it('creates a child from the panel, shows it live in the parent, links both ways, and shows Solved when the child is solved', async () => {
		const parent = await createTicket(server, fx.tokens.mail.token, 'Tent arrived with a torn flysheet');
		const ann = (await browser.person(server.url, fx.users.ann.email, PASSWORD)).page;
		const ben = (await browser.person(server.url, fx.users.ben.email, PASSWORD)).page;
		for (const page of [ann, ben]) page.setDefaultTimeout(15_000);
		await openTicket(ann, parent.id);
		await openTicket(ben, parent.id);

		await ann.getByRole('button', { name: 'Create child ticket' }).click();
		const form = ann.getByRole('form', { name: 'Create child ticket' });
		await form.getByLabel('Child ticket subject').fill('Ask the warehouse for a replacement flysheet');
		await form.getByLabel('First note').fill('Customer needs a flysheet for model Trail 2.');
		await form.getByRole('button', { name: 'Create child ticket' }).click();

		// Ben, watching the parent, sees the child appear with its number, subject, status and note.
		const children = ben.getByRole('region', { name: 'Child tickets' });
		const childLink = ben.getByRole('link', { name: /Ask the warehouse for a replacement flysheet/ });
		const child = children.locator('.child', { has: childLink });
		const link = child.getByRole('link');
		await link.waitFor();
		await expect(child.locator('.status').innerText()).resolves.toMatch(/open/i);
		await expect(child.locator('.latest').innerText()).resolves.toContain('Customer needs a flysheet for model Trail 2.');
		const label = await link.innerText();
		expect(label).toMatch(/^#\d+ Ask the warehouse/);
		await screenshot(ben, 'child-ticket-parent');

		// Ann follows the link: the child's header says whose child it is, linking back.
		await ann.getByRole('region', { name: 'Child tickets' }).getByRole('link', { name: /Ask the warehouse/ }).click();
		await ann.waitForURL(/\/tickets\/(?!.*#)/);
		const back = ann.locator('.ticket-header .parent');
		await back.waitFor();
		await expect(back.innerText()).resolves.toBe(`Child of #${parent.number} Tent arrived with a torn flysheet`);
		await ann.getByText('Loading ticket…').waitFor({ state: 'detached' });
		await screenshot(ann, 'child-ticket-header');

		// Ann solves the child; Ben's parent panel shows it without a reload.
		await ann.getByRole('combobox', { name: 'Status' }).selectOption('solved');
		await waitFor(async () => /solved/i.test(await child.locator('.status').innerText()), 'Solved in the parent');
		await expect(child.locator('.status').innerText()).resolves.toBe('Solved');
		await child.locator('.event', { hasText: 'was solved' }).waitFor();
		await screenshot(ben, 'child-ticket-solved');

		await back.getByRole('link').click();
		await ann.waitForURL(`**/tickets/${parent.id}`);
	});
});
