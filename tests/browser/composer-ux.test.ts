/**
 * Reading and replying in a real browser (issue #13, "An agent's reply is a real email"): links in
 * entries open a new page that cannot reach back, long messages fold with "Show more", the composer
 * folds to one line (remembered in the tab), a macro's field changes wait with the draft until it is
 * sent, and "Send and set Solved" sends and solves in one action.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type BrowserSession } from '../helpers/browser';
import { prepare, type Fixture } from '../helpers/fixtures';
import { startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';
import { createTicket } from '../helpers/tickets';

const DEMO_PASSWORD = 'tandem-demo';
let server: RunningServer;
let fx: Fixture;
let browser: BrowserSession;
type Person = Awaited<ReturnType<BrowserSession['person']>>;
let alex: Person;

beforeAll(async () => {
	const dataDir = tempDataDir();
	fx = await prepare(dataDir, { bots: { mail: ['email'] } });
	server = await startServer({ dataDir, env: { SEED: '1' } });
	browser = await launchBrowser();
	alex = await browser.person(server.url, 'alex@tandem.local', DEMO_PASSWORD);
	alex.page.setDefaultTimeout(15_000);
});

afterAll(async () => {
	await browser?.close();
	await server?.stop();
});

const composer = (page: Page) => page.getByRole('region', { name: 'Reply composer' });
const editor = (page: Page) => composer(page).locator('.cm-content');
const conversation = (page: Page) => page.getByRole('log', { name: 'Conversation' });
const statusSelect = (page: Page) => page.getByRole('combobox', { name: 'Status' });

async function newTicket(subject: string, body: string): Promise<string> {
	return (await createTicket(server, fx.tokens.mail.token, subject, { email: 'maria@example.com', name: 'Maria Lopez' }, body)).id;
}

async function openTicket(page: Page, id: string, firstWords: string) {
	await page.goto(`/tickets/${id}`);
	await conversation(page).getByText(firstWords).first().waitFor();
	await composer(page).waitFor();
	await page.getByText('Loading ticket…').waitFor({ state: 'detached' });
}

async function typeReply(page: Page, text: string) {
	await editor(page).click();
	await page.keyboard.type(text);
}

async function applyMacro(page: Page, title: string) {
	await composer(page).getByRole('button', { name: 'Macros' }).click();
	await page.getByRole('menuitem', { name: title }).click();
}

describe('composer and entry display', () => {
	it('a link in an entry opens a new page with no way back to the workspace; markup stays text', async () => {
		const page = alex.page;
		const target = `${server.url}/healthz?from=ticket`;
		const id = await newTicket('Link check', `Hello, my order page is ${target}. <b>not bold</b> javascript:alert(1)`);
		await openTicket(page, id, 'Hello, my order page is');
		const link = conversation(page).getByRole('link', { name: target });
		expect(await link.getAttribute('href')).toBe(target);
		expect(await link.getAttribute('target')).toBe('_blank');
		expect((await link.getAttribute('rel'))?.split(' ').sort()).toEqual(['nofollow', 'noopener', 'noreferrer']);
		// Only the URL is a link; the sentence's full stop and the markup are text.
		const body = conversation(page).locator('[data-entry-id]', { hasText: 'my order page' });
		expect(await body.getByRole('link').count()).toBe(1);
		expect(await body.locator('b').count()).toBe(0);
		await body.getByText('<b>not bold</b> javascript:alert(1)').waitFor();

		const [opened] = await Promise.all([page.context().waitForEvent('page'), link.click()]);
		await opened.waitForLoadState();
		expect(opened.url()).toBe(target);
		expect(await opened.evaluate(() => ({ opener: window.opener, referrer: document.referrer }))).toEqual({ opener: null, referrer: '' });
		await opened.close();
	});

	it('a link in a side conversation message is a safe link too', async () => {
		const page = alex.page;
		const id = await newTicket('Side link', 'Hello, where is my parcel?');
		await openTicket(page, id, 'Hello, where is my parcel?');
		await page.getByRole('button', { name: 'Start side conversation' }).first().click();
		const form = page.getByRole('form', { name: 'Start side conversation' });
		await form.getByLabel('Subject').fill('Ask the warehouse');
		await form.getByLabel('Channel').selectOption('internal');
		await form.getByRole('checkbox', { name: /Blake/ }).check();
		await form.getByLabel(/message/i).fill('Trace it at https://carrier.example/track?id=4471, please.');
		await form.getByRole('button', { name: 'Start side conversation' }).click();
		const context = page.getByRole('complementary', { name: 'Context' });
		const side = context.getByRole('button', { name: /Ask the warehouse/ });
		await side.waitFor();
		if ((await side.getAttribute('aria-expanded')) !== 'true') await side.click();
		const link = context.getByRole('link', { name: 'https://carrier.example/track?id=4471' });
		await link.waitFor();
		expect(await link.getAttribute('href')).toBe('https://carrier.example/track?id=4471');
		expect(await link.getAttribute('target')).toBe('_blank');
		expect(await link.getAttribute('rel')).toBe('noopener noreferrer nofollow');
	});

	it('a long message folds with "Show more", unfolds by keyboard, and the conversation still ends at the newest entry', async () => {
		const page = alex.page;
		const lines = Array.from({ length: 40 }, (_, i) => `Line ${i + 1} of the customer's long story.`);
		const id = await newTicket('Long story', lines.join('\n'));
		await openTicket(page, id, 'Line 1 of the customer');
		const entry = conversation(page).locator('[data-entry-id]', { hasText: 'Line 1 of the customer' });
		const more = entry.getByRole('button', { name: 'Show more' });
		await more.waitFor();
		expect(await more.getAttribute('aria-expanded')).toBe('false');
		const text = entry.locator('.entry-text');
		const folded = await text.evaluate((el) => ({ shown: el.clientHeight, full: el.scrollHeight }));
		expect(folded.shown).toBeLessThan(folded.full / 2);
		// The newest (and only) entry ends at the bottom of the conversation, its button in view.
		const scroller = conversation(page);
		await waitFor(() => scroller.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 2), 'the conversation scrolled to its end');
		expect(await more.isVisible()).toBe(true);

		await more.focus();
		await page.keyboard.press('Enter');
		const less = entry.getByRole('button', { name: 'Show less' });
		await less.waitFor();
		expect(await less.getAttribute('aria-expanded')).toBe('true');
		const unfolded = await text.evaluate((el) => ({ shown: el.clientHeight, full: el.scrollHeight }));
		expect(unfolded.shown).toBe(unfolded.full);
		await page.keyboard.press('Enter');
		await entry.getByRole('button', { name: 'Show more' }).waitFor();
	});

	it('the composer folds to one line (button and Alt+R), gives the conversation the height, and stays folded on reload', async () => {
		const page = alex.page;
		const lines = Array.from({ length: 60 }, (_, i) => `Part ${i + 1} of what happened to my order.`);
		const id = await newTicket('Fold the composer', lines.join('\n'));
		await openTicket(page, id, 'Part 1 of what happened');
		// A conversation taller than its view, read at its newest line.
		await conversation(page).getByRole('button', { name: 'Show more' }).click();
		await conversation(page).evaluate((el) => (el.scrollTop = el.scrollHeight));
		await typeReply(page, 'Still looking into it');
		const tall = await conversation(page).evaluate((el) => el.clientHeight);

		await composer(page).getByRole('button', { name: 'Collapse composer' }).click();
		const expand = composer(page).getByRole('button', { name: /Expand composer/ });
		await expand.waitFor();
		expect(await editor(page).isVisible()).toBe(false);
		expect(await composer(page).getByTestId('draft-indicator').innerText()).toContain('Reply draft');
		const folded = await conversation(page).evaluate((el) => el.clientHeight);
		expect(folded).toBeGreaterThan(tall + 80);
		expect(await composer(page).evaluate((el) => el.getBoundingClientRect().height)).toBeLessThan(70);

		await page.keyboard.press('Alt+KeyR');
		await editor(page).waitFor();
		await waitFor(() => editor(page).evaluate((el) => el.textContent?.includes('Still looking into it')), 'the draft back in the editor');
		// Unfolded, the composer takes height from the conversation, which still ends at its newest line.
		await waitFor(() => conversation(page).evaluate((el) => el.scrollHeight > el.clientHeight && el.scrollHeight - el.scrollTop - el.clientHeight < 2), 'the conversation at its end');

		await page.keyboard.press('Alt+KeyR');
		await expand.waitFor();
		await page.reload();
		await expand.waitFor();
		expect(await editor(page).isVisible()).toBe(false);
		await expand.click();
		await editor(page).waitFor();
	});

	it('a macro stages its field changes as chips: the ticket is unchanged until Send; a removed chip is not applied', async () => {
		const page = alex.page;
		const id = await newTicket('Refund please', 'Hello, I was charged twice.');
		await openTicket(page, id, 'Hello, I was charged twice.');
		const statusBefore = await statusSelect(page).inputValue();
		expect(statusBefore).not.toBe('pending');

		await applyMacro(page, 'Refund issued');
		const staged = composer(page).getByRole('group', { name: 'Changes applied when sent' });
		await staged.getByText('Status: pending').waitFor();
		await staged.getByText('Tag: refund').waitFor();
		await waitFor(() => editor(page).evaluate((el) => el.textContent?.includes("I've issued your refund")), 'the macro text in the draft');
		// Its placeholders filled in: the customer's and the agent's first names, the ticket's number.
		const text = await editor(page).evaluate((el) => el.textContent ?? '');
		expect(text).toMatch(/^Hi Maria, I've issued your refund\..*I'll keep ticket #\d+ open until you confirm it arrived\.\s*Alex$/s);
		expect(text).not.toContain('{{');
		expect(await statusSelect(page).inputValue()).toBe(statusBefore);

		// A chip taken back is not applied.
		await staged.getByRole('button', { name: 'Remove Tag: refund' }).click();
		await staged.getByText('Tag: refund').waitFor({ state: 'detached' });
		expect(await statusSelect(page).inputValue()).toBe(statusBefore);

		await composer(page).getByRole('button', { name: 'Send', exact: true }).click();
		await conversation(page).locator('[data-entry-id]', { hasText: "I've issued your refund" }).waitFor();
		await waitFor(async () => (await statusSelect(page).inputValue()) === 'pending', 'status pending after the send');
		expect(await page.locator('header.ticket-header').getByText('refund', { exact: true }).count()).toBe(0);
		expect(await staged.count()).toBe(0);
	});

	it('"Apply now" applies the staged changes without sending', async () => {
		const page = alex.page;
		const id = await newTicket('Escalate now', 'Hello, nothing works.');
		await openTicket(page, id, 'Hello, nothing works.');
		await applyMacro(page, 'Solved — thanks');
		const staged = composer(page).getByRole('group', { name: 'Changes applied when sent' });
		await staged.getByText('Status: solved').waitFor();
		await staged.getByRole('button', { name: 'Apply now' }).click();
		await waitFor(async () => (await statusSelect(page).inputValue()) === 'solved', 'status solved at once');
		await staged.waitFor({ state: 'detached' });
		expect(await conversation(page).locator('[data-entry-id]', { hasText: 'Glad we could sort this out' }).count()).toBe(0);
	});

	it('"Send and set Solved" from the send menu, and Ctrl+Shift+Enter, send and solve in one action', async () => {
		const page = alex.page;
		const id = await newTicket('Send and solve', 'Hello, it works now, thanks.');
		await openTicket(page, id, 'Hello, it works now, thanks.');
		await typeReply(page, 'Great to hear, closing this.');
		await composer(page).getByRole('button', { name: 'More send options' }).click();
		await composer(page).getByRole('button', { name: 'Send and set Solved' }).click();
		await conversation(page).locator('[data-entry-id]', { hasText: 'Great to hear, closing this.' }).waitFor();
		await waitFor(async () => (await statusSelect(page).inputValue()) === 'solved', 'status solved with the send');

		await statusSelect(page).selectOption('open');
		await typeReply(page, 'One more thing: your refund is on its way.');
		await page.keyboard.press('Control+Shift+Enter');
		await conversation(page).locator('[data-entry-id]', { hasText: 'One more thing' }).waitFor();
		await waitFor(async () => (await statusSelect(page).inputValue()) === 'solved', 'status solved with Ctrl+Shift+Enter');
	});
});
