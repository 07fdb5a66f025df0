/**
 * The agent workspace in a real browser: two agents and a supervisor in separate browser
 * contexts working the same ticket live.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { prepare, type Fixture } from '../helpers/fixtures';
import { launchBrowser, screenshot, signIn, type BrowserSession } from '../helpers/browser';
import { api, startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';
import { createTicket } from '../helpers/tickets';

const DEMO_PASSWORD = 'tandem-demo';
let server: RunningServer;
let fx: Fixture;
let browser: BrowserSession;
type Person = Awaited<ReturnType<BrowserSession['person']>>;
let alex: Person;
let blake: Person;

beforeAll(async () => {
	const dataDir = tempDataDir();
	fx = await prepare(dataDir, { bots: { mail: ['email', 'chat'] } });
	server = await startServer({ dataDir, env: { SEED: '1' } });
	browser = await launchBrowser();
	alex = await browser.person(server.url, 'alex@tandem.local', DEMO_PASSWORD);
	blake = await browser.person(server.url, 'blake@tandem.local', DEMO_PASSWORD);
	for (const p of [alex.page, blake.page]) p.setDefaultTimeout(15_000);
});

afterAll(async () => {
	await browser?.close();
	await server?.stop();
});

async function newTicket(subject: string): Promise<string> {
	return (await createTicket(server, fx.tokens.mail.token, subject)).id;
}

async function openTicket(page: Page, id: string) {
	await page.goto(`/tickets/${id}`);
	await page.getByRole('log', { name: 'Conversation' }).getByText('Hello, my order has not arrived.').waitFor();
	// The first HTML shows the conversation already: wait for the live, synced view.
	await page.getByRole('region', { name: 'Reply composer' }).waitFor();
	await page.getByText('Loading ticket…').waitFor({ state: 'detached' });
}

const editor = (page: Page) => page.getByRole('region', { name: 'Reply composer' }).locator('.cm-content');
/** The draft's text as the editor shows it, without colleagues' caret labels. */
const draftOf = (page: Page) =>
	editor(page).evaluate((root) => {
		const copy = root.cloneNode(true) as HTMLElement;
		for (const caret of copy.querySelectorAll('.cm-ySelectionCaret')) caret.remove();
		return [...copy.querySelectorAll('.cm-line')].map((line) => line.textContent).join('\n');
	});
const entriesWith = (page: Page, text: string) => page.locator('[data-entry-id]', { hasText: text });

async function typeInComposer(page: Page, text: string) {
	await editor(page).click();
	await page.keyboard.type(text);
}

describe('agent workspace', () => {
	it('shows a note written by one agent to the other live', async () => {
		const id = await newTicket('Live note');
		await openTicket(alex.page, id);
		await openTicket(blake.page, id);
		await alex.page.getByRole('button', { name: 'Internal note' }).click();
		await typeInComposer(alex.page, 'Checked the carrier: parcel is in Lyon.');
		await alex.page.getByRole('button', { name: 'Send', exact: true }).click();
		await entriesWith(blake.page, 'parcel is in Lyon').waitFor();
		await expect(entriesWith(blake.page, 'parcel is in Lyon').getAttribute('aria-label')).resolves.toContain('Internal note');
		await screenshot(blake.page, 'note-live');
	});

	it('lets two agents write one reply together, each seeing the other and the other’s cursor', async () => {
		const id = await newTicket('Co-written reply');
		await openTicket(alex.page, id);
		await openTicket(blake.page, id);
		await typeInComposer(alex.page, 'Hi Maria, ');
		await editor(blake.page).getByText('Hi Maria,').waitFor();
		await editor(blake.page).click();
		await blake.page.keyboard.press('End');
		await blake.page.keyboard.type('your parcel arrives tomorrow.');
		const combined = 'Hi Maria, your parcel arrives tomorrow.';
		await waitFor(async () => (await draftOf(alex.page)) === combined, 'alex to see the combined draft');
		await waitFor(async () => (await draftOf(blake.page)) === combined, 'blake to see the combined draft');
		// Each sees the other's labelled caret.
		await alex.page.locator('.cm-ySelectionInfo', { hasText: 'Blake Agent' }).waitFor({ state: 'attached' });
		await blake.page.locator('.cm-ySelectionInfo', { hasText: 'Alex Agent' }).waitFor({ state: 'attached' });
		await screenshot(alex.page, 'co-written-draft');
	});

	it('warns before a public reply while a colleague is also writing one, and still lets the agent send', async () => {
		const id = await newTicket('Collision');
		await openTicket(alex.page, id);
		await openTicket(blake.page, id);
		await typeInComposer(blake.page, 'Let me check that');
		await typeInComposer(alex.page, ' for you.');
		await alex.page.getByRole('button', { name: 'Send', exact: true }).click();
		const warning = alex.page.getByRole('alert').filter({ hasText: 'also writing' });
		await warning.waitFor();
		await screenshot(alex.page, 'collision-warning');
		await alex.page.getByRole('button', { name: 'Send anyway' }).click();
		await entriesWith(blake.page, 'for you.').waitFor();
	});

	it('sends a reply clicked twice quickly once', async () => {
		const id = await newTicket('Double send');
		await openTicket(alex.page, id);
		await typeInComposer(alex.page, 'Refund issued today.');
		await alex.page.getByRole('button', { name: 'Send', exact: true }).dblclick();
		await entriesWith(alex.page, 'Refund issued today.').waitFor();
		const check = await api(server, fx.tokens.mail.token).request('GET', `/api/v1/tickets/${id}`);
		await waitFor(async () => {
			const res = await api(server, fx.tokens.mail.token).request('GET', `/api/v1/tickets/${id}`);
			return res.body.entries.some((e: { body: string }) => e.body === 'Refund issued today.');
		}, 'the reply to be stored');
		const stored = (await api(server, fx.tokens.mail.token).request('GET', `/api/v1/tickets/${id}`)).body.entries;
		expect(stored.filter((e: { body: string }) => e.body === 'Refund issued today.')).toHaveLength(1);
		expect(check.status).toBe(200);
		expect(await entriesWith(alex.page, 'Refund issued today.').count()).toBe(1);
	});

	it('keeps an offline agent working; the note merges once on reconnect', async () => {
		const id = await newTicket('Offline note');
		await openTicket(alex.page, id);
		await openTicket(blake.page, id);
		await alex.context.setOffline(true);
		await alex.page.getByRole('status', { name: /Connection: Offline/ }).waitFor();
		await alex.page.getByRole('button', { name: 'Internal note' }).click();
		await typeInComposer(alex.page, 'Written on the train.');
		await alex.page.getByRole('button', { name: 'Send', exact: true }).click();
		await entriesWith(alex.page, 'Written on the train.').waitFor();
		await screenshot(alex.page, 'offline-pending');
		expect(await entriesWith(blake.page, 'Written on the train.').count()).toBe(0);
		await alex.context.setOffline(false);
		await entriesWith(blake.page, 'Written on the train.').waitFor({ timeout: 20_000 });
		await alex.page.getByRole('status', { name: 'Connection: Live' }).waitFor({ timeout: 20_000 });
		expect(await entriesWith(blake.page, 'Written on the train.').count()).toBe(1);
		const stored = (await api(server, fx.tokens.mail.token).request('GET', `/api/v1/tickets/${id}`)).body.entries;
		expect(stored.filter((e: { body: string }) => e.body === 'Written on the train.')).toHaveLength(1);
	});

	it('shows a side conversation opened by one agent at the other', async () => {
		const id = await newTicket('Side conversation');
		await openTicket(alex.page, id);
		await openTicket(blake.page, id);
		await alex.page.getByRole('button', { name: 'Start side conversation' }).first().click();
		const form = alex.page.getByRole('form', { name: 'Start side conversation' });
		await form.getByLabel('Subject').fill('Ask the warehouse');
		await form.getByLabel('Channel').selectOption('internal');
		await form.getByRole('checkbox', { name: /Blake/ }).check();
		await form.getByLabel(/message/i).fill('Can you trace parcel 4471?');
		await form.getByRole('button', { name: 'Start side conversation' }).click();
		await blake.page.getByRole('button', { name: /^Ask the warehouse/ }).waitFor();
		await screenshot(blake.page, 'side-conversation');
	});

	it('updates lists and counts live when tickets arrive and change', async () => {
		await blake.page.goto('/');
		await blake.page.getByRole('link', { name: /All open/ }).click();
		const allOpen = blake.page.getByRole('link', { name: /All open/ });
		const countBefore = Number(await allOpen.locator('.count').innerText());
		const id = await newTicket('Arrived while watching');
		await blake.page.getByRole('link', { name: 'Arrived while watching' }).waitFor();
		await waitFor(async () => Number(await allOpen.locator('.count').innerText()) === countBefore + 1, 'the count to go up');
		// A colleague solves it: it leaves "All open" without a reload.
		await openTicket(alex.page, id);
		await alex.page.getByRole('combobox', { name: 'Status' }).selectOption('solved');
		await blake.page.getByRole('link', { name: 'Arrived while watching' }).waitFor({ state: 'detached' });
		await screenshot(blake.page, 'live-list');
	});

	it('restores open tabs, with their subjects, when the workspace is reopened', async () => {
		const first = await newTicket('Tab one');
		const second = await newTicket('Tab two');
		await openTicket(blake.page, first);
		await openTicket(blake.page, second);
		await blake.page.goto('/');
		const tabs = blake.page.getByRole('tablist', { name: 'Open tickets' });
		await tabs.getByRole('tab', { name: 'Tab one' }).waitFor();
		await tabs.getByRole('tab', { name: 'Tab two' }).waitFor();
		await tabs.getByRole('tab', { name: 'Tab one' }).click();
		await blake.page.waitForURL(`**/tickets/${first}`);
		await screenshot(blake.page, 'tabs-restored');
	});

	it('lets a supervisor watch a draft being typed, and not write', async () => {
		const id = await newTicket('Supervised');
		const sam = await browser.person(server.url, 'supervisor@tandem.local', DEMO_PASSWORD);
		sam.page.setDefaultTimeout(15_000);
		await openTicket(alex.page, id);
		await openTicket(sam.page, id);
		await sam.page.getByText('Read-only').first().waitFor();
		await typeInComposer(alex.page, 'Draft under supervision');
		await waitFor(async () => (await draftOf(sam.page)) === 'Draft under supervision', 'the supervisor to see the draft');
		expect(await editor(sam.page).getAttribute('contenteditable')).toBe('false');
		expect(await sam.page.getByRole('button', { name: 'Send', exact: true }).isDisabled()).toBe(true);
		expect(await sam.page.getByRole('combobox', { name: 'Status' }).isDisabled()).toBe(true);
		await screenshot(sam.page, 'supervisor-watching');
		await sam.context.close();
	});

	it('shows the newest entries in the first HTML, before any script runs', async () => {
		const id = await newTicket('Server-rendered first view');
		const context = await browser.browser.newContext({ baseURL: server.url, javaScriptEnabled: false, viewport: { width: 1440, height: 900 } });
		try {
			const page = await context.newPage();
			await signIn(page, 'alex@tandem.local', DEMO_PASSWORD);
			await page.goto(`/tickets/${id}`);
			await page.getByRole('heading', { name: 'Server-rendered first view' }).waitFor();
			await expect(page.getByRole('log', { name: 'Conversation' }).getByText('Hello, my order has not arrived.').isVisible()).resolves.toBe(true);
		} finally {
			await context.close();
		}
	});
});
