/**
 * Words and boxes a new user reads in the workspace (issue #13, "Defects a new user hit"), on the
 * demo data in a real browser: SLA badges in words, money in the records panel as apps show it,
 * no stale "Draft by", the chat bar naming the customer, no raw visitor id, and profile fields
 * that stay inside the context panel.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTicketId, launchBrowser, type BrowserSession } from '../helpers/browser';
import { api, startServer, tempDataDir, type RunningServer } from '../helpers/server';

const DEMO_PASSWORD = 'tandem-demo';
let server: RunningServer;
let browser: BrowserSession;
let alex: Page;
let maggieTicket: string;

beforeAll(async () => {
	server = await startServer({ dataDir: tempDataDir(), env: { SEED: '1' } });
	browser = await launchBrowser();
	alex = (await browser.person(server.url, 'alex@tandem.local', DEMO_PASSWORD)).page;
	alex.setDefaultTimeout(15_000);
	maggieTicket = await findTicketId(alex, '48213', 'Charged twice for order #48213');
});

afterAll(async () => {
	await browser?.close();
	await server?.stop();
});

const panel = (page: Page) => page.getByRole('complementary', { name: 'Context' });
const section = (page: Page, name: string | RegExp) => panel(page).getByRole('region', { name });
const composer = (page: Page) => page.getByRole('region', { name: 'Reply composer' });

async function openTicket(page: Page, id: string) {
	await page.goto(`/tickets/${id}`);
	await composer(page).waitFor();
	await page.getByText('Loading ticket…').waitFor({ state: 'detached' });
}

/** What a screen reader and a reader of the screen get: the accessible text and the rendered one. */
const badgeWords = (page: Page, badge: ReturnType<Page['locator']>) =>
	badge.evaluate((el) => ({ text: (el.textContent ?? '').replace(/\s+/g, ' ').trim(), shown: (el as HTMLElement).innerText.replace(/\s+/g, ' ').trim() }));

describe('readable workspace', () => {
	it('writes SLA badges in separate, capitalised words, in the list and in the ticket header', async () => {
		await alex.goto('/');
		const breached = alex.locator('[data-testid="sla"].breached').first();
		await breached.waitFor();
		const inList = await badgeWords(alex, breached);
		expect(inList.text).toMatch(/^Overdue \d+ (min|h|d)( \d+ min)?$/);
		expect(inList.shown).toBe(inList.text);

		// The same ticket's header names the target: "Resolution overdue 7 d".
		await alex.locator('tr', { has: breached }).getByRole('link').first().click();
		const header = alex.locator('header.ticket-header [data-testid="sla"]');
		await composer(alex).waitFor();
		const inHeader = await badgeWords(alex, header);
		expect(inHeader.text).toMatch(/^(First reply|Next reply|Resolution) overdue \d+ (min|h|d)( \d+ min)?$/);
		expect(inHeader.shown).toBe(inHeader.text);
	});

	it('shows record totals as money, as the order-lookup app does', async () => {
		await openTicket(alex, maggieTicket);
		const records = section(alex, /^Records/);
		await records.getByText('Order #47102').waitFor();
		await records.getByText('$129.50', { exact: true }).waitFor();
		await records.getByText('$84.00', { exact: true }).waitFor();
		expect(await records.getByText('129.5', { exact: true }).count()).toBe(0);
	});

	it('drops "Draft by" once the draft is emptied', async () => {
		await openTicket(alex, maggieTicket);
		const authors = composer(alex).getByText(/^Draft by /);
		await composer(alex).locator('.cm-content').click();
		await alex.keyboard.type('Checking the refund now.');
		await authors.waitFor();
		expect(await authors.innerText()).toBe('Draft by Alex Agent');
		await alex.keyboard.press('ControlOrMeta+A');
		await alex.keyboard.press('Backspace');
		await authors.waitFor({ state: 'detached' });
		// Writing again names the author again.
		await alex.keyboard.type('Hi');
		await authors.waitFor();
		await alex.keyboard.press('ControlOrMeta+A');
		await alex.keyboard.press('Backspace');
		await authors.waitFor({ state: 'detached' });
	});

	it("names the chat's customer in the chat bar after the visitor left, not \"The visitor\"", async () => {
		await openTicket(alex, maggieTicket);
		const bar = alex.getByRole('region', { name: 'Live chat' });
		await bar.getByTestId('visitor-presence').waitFor();
		// The name comes with the customer's record, read once the ticket shows.
		await expect.poll(() => bar.locator('strong').first().innerText()).toBe('Maggie Chen');
		expect(await bar.innerText()).not.toContain('The visitor');
	});

	it("never shows a new visitor's raw id as their chat address", async () => {
		const visitor = await api(server).request('POST', '/api/v1/visitor');
		expect(visitor.status).toBe(201);
		const visitorId: string = visitor.body.visitorId;
		const headers = { 'x-visitor-token': visitor.body.token as string };
		const chat = await api(server).request('POST', '/api/v1/visitor/chat', { name: 'Ola Nordmann', message: 'Can I change my plan?' }, { headers });
		expect(chat.status).toBe(201);

		await openTicket(alex, chat.body.ticketId);
		await alex.getByRole('region', { name: 'Live chat' }).getByText('Ola Nordmann').waitFor();
		const addresses = section(alex, 'Requester').getByRole('list', { name: 'Addresses' });
		await addresses.getByText(`Visitor ${visitorId.slice(-6)}`).waitFor();
		expect(await panel(alex).innerText()).not.toContain(visitorId);

		await section(alex, 'Requester').getByRole('button', { name: 'Edit customer' }).click();
		const form = alex.getByRole('form', { name: 'Edit customer' });
		await form.getByText(`Visitor ${visitorId.slice(-6)}`).waitFor();
		expect(await form.innerText()).not.toContain(visitorId);
		await form.getByRole('button', { name: 'Cancel' }).click();
	});

	it('keeps every profile edit field inside the context panel', async () => {
		await openTicket(alex, maggieTicket);
		await section(alex, 'Requester').getByRole('button', { name: 'Edit customer' }).click();
		const form = alex.getByRole('form', { name: 'Edit customer' });
		await form.waitFor();
		// The panel's inside: its box without border and scrollbar.
		const box = await panel(alex).evaluate((el) => {
			const rect = el.getBoundingClientRect();
			return { x: rect.left + el.clientLeft, width: el.clientWidth };
		});
		const fields = form.locator('input, textarea, select');
		expect(await fields.count()).toBeGreaterThanOrEqual(6);
		for (const field of await fields.all()) {
			const at = (await field.boundingBox())!;
			const name = (await field.getAttribute('aria-label')) ?? (await field.evaluate((el) => el.closest('label')?.textContent?.trim() ?? el.tagName));
			expect(at.x, `${name} starts inside the panel`).toBeGreaterThanOrEqual(box.x);
			expect(at.x + at.width, `${name} ends inside the panel`).toBeLessThanOrEqual(box.x + box.width);
		}
		// Nothing in the panel scrolls sideways.
		expect(await panel(alex).evaluate((el) => el.scrollWidth - el.clientWidth)).toBe(0);
		await form.getByRole('button', { name: 'Cancel' }).click();
	});
});
