/**
 * The workspace's search in real Chromium: `/` focuses the box, a word said earlier in a
 * conversation finds its ticket with the passage and the word marked (as text: markup in a
 * message stays text), a query the language cannot take is named under the box, and the result
 * opens from the keyboard.
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

describe('search in the workspace', () => {
	it('finds a ticket by a word said earlier in its conversation, shows the passage marked, and opens it with Enter', async () => {
		const ticket = await createTicket(server, fx.tokens.mail.token, 'Broken stove', { email: 'maggie@example.com', name: 'Maggie Smith' }, 'The stove stopped working.');
		await createTicket(server, fx.tokens.mail.token, 'Another matter', { email: 'pat@example.com' }, 'Nothing to see.');
		const said = await api(server, fx.tokens.mail.token).request('POST', `/api/v1/tickets/${ticket.id}/entries`, {
			kind: 'message',
			channel: 'email',
			visibility: 'public',
			authorType: 'customer',
			body: 'The serial <b>number</b> is QX-4471, printed under the burner.'
		});
		expect(said.status).toBe(201);
		await api(server, fx.tokens.mail.token).request('POST', `/api/v1/tickets/${ticket.id}/entries`, { kind: 'message', channel: 'email', visibility: 'public', authorType: 'customer', body: 'Any news?' });
		await waitFor(async () => (await api(server, fx.users.root.token).request('GET', '/api/v1/search?q=burner')).body.results?.length === 1, 'the entry to be indexed');

		const { page } = await browser.person(server.url, fx.users.root.email, PASSWORD);
		page.setDefaultTimeout(15_000);
		const box = page.getByRole('searchbox', { name: 'Search tickets' });
		await page.getByRole('heading', { level: 1 }).waitFor();

		// `/` focuses the box; a term the language cannot take is named under it.
		await page.keyboard.press('/');
		await expect(box.evaluate((el) => el === document.activeElement)).resolves.toBe(true);
		await page.keyboard.type('stove status:done');
		await page.keyboard.press('Enter');
		await expect(page.getByRole('alert').innerText()).resolves.toMatch(/status:done: expected new, open, pending, hold, solved, closed/);
		await screenshot(page, 'search-error');

		await box.fill('burner');
		await page.keyboard.press('Enter');
		await page.getByRole('heading', { name: 'Search: burner' }).waitFor();
		const row = page.locator(`#row-${ticket.id}`);
		const passage = row.getByTestId('search-passage');
		await expect(passage.locator('mark').innerText()).resolves.toBe('burner');
		// The message's markup is text in the passage, never elements.
		await expect(passage.innerText()).resolves.toContain('The serial <b>number</b> is QX-4471');
		await expect(passage.locator('b').count()).resolves.toBe(0);
		await expect(page.locator('tbody tr').count()).resolves.toBe(1);
		await expect(page.getByRole('alert').count()).resolves.toBe(0);
		await screenshot(page, 'search-results');

		// Two words said in different messages, and the requester's name: the same ticket.
		await page.keyboard.press('/');
		await box.fill('maggie qx-4471 news');
		await page.keyboard.press('Enter');
		await page.getByRole('heading', { name: 'Search: maggie qx-4471 news' }).waitFor();
		await row.waitFor();
		await expect(page.locator('tbody tr').count()).resolves.toBe(1);

		// Down from the box to the results, Enter opens the ticket.
		await page.keyboard.press('ArrowDown');
		await page.keyboard.press('Enter');
		await page.waitForURL(new RegExp(`/tickets/${ticket.id}(#.*)?$`));
		await waitFor(async () => (await page.title()) === `#${ticket.number} Broken stove · Tandem`, 'the ticket to open');
		await screenshot(page, 'search-opened');

		// A result opens at the message that matched. Back in the list first: a navigation still under
		// way would put the last search back into the box after it was filled.
		await page.keyboard.press('Escape');
		await page.waitForURL((url) => !url.pathname.startsWith('/tickets/'));
		await page.getByRole('heading', { name: 'Search: maggie qx-4471 news' }).waitFor();
		await page.keyboard.press('/');
		await box.fill('burner');
		await page.keyboard.press('Enter');
		// The results of this search, not the last one's still shown.
		await row.getByTestId('search-passage').locator('mark', { hasText: 'burner' }).waitFor();
		await row.getByRole('link', { name: 'Broken stove' }).click();
		await waitFor(() => page.url().endsWith(`/tickets/${ticket.id}#entry-${said.body.id}`), 'the ticket opened at the entry');
		await page.locator('.row.highlighted').filter({ hasText: 'QX-4471' }).waitFor();
	});
});
