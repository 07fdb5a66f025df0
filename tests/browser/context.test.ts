/**
 * The context panel in a real browser, on the demo data: the requester's profile and history,
 * help-centre search with a link and a quote inserted at the draft's cursor, the records of the
 * ticket, and apps in sandboxed iframes — the example order lookup reading the context and
 * inserting into the draft, and an app refused an action outside its scopes.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FrameLocator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTicketId, launchBrowser, screenshot, type BrowserSession } from '../helpers/browser';
import { startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';

const DEMO_PASSWORD = 'tandem-demo';
let server: RunningServer;
let browser: BrowserSession;
let alex: Page;
let admin: Page;
let appServer: { url: string; close(): Promise<void> };
let maggieTicket: string;

/** An app served from another origin that tries a tag (granted) and a note (not granted). */
function startTestApp(tandemUrl: string): Promise<{ url: string; close(): Promise<void> }> {
	const html = `<!doctype html><meta charset="utf-8"><title>Overreach</title>
<p id="subject">…</p><p id="result" role="status"></p>
<button id="tag">Add tag</button> <button id="note">Add note</button>
<script src="${tandemUrl}/apps/sdk.js"></script>
<script>
	const result = document.getElementById('result');
	const report = (p) => p.then(() => (result.textContent = 'done'), (e) => (result.textContent = 'refused: ' + e.message));
	Tandem.ready().then((c) => (document.getElementById('subject').textContent = 'Ticket: ' + c.ticket.subject));
	document.getElementById('tag').onclick = () => report(Tandem.addTag('from-app'));
	document.getElementById('note').onclick = () => report(Tandem.addNote('A note the app may not write'));
</script>`;
	const server = http.createServer((_, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html));
	return new Promise((resolve) =>
		server.listen(0, '127.0.0.1', () =>
			resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => new Promise<void>((done) => server.close(() => done())) })
		)
	);
}

beforeAll(async () => {
	server = await startServer({ dataDir: tempDataDir(), env: { SEED: '1' } });
	appServer = await startTestApp(server.url);
	browser = await launchBrowser();
	admin = (await browser.person(server.url, 'admin@tandem.local', DEMO_PASSWORD)).page;
	admin.setDefaultTimeout(15_000);
	const installed = await admin.request.post('/api/v1/apps', { data: { name: 'overreach', url: appServer.url, scopes: ['ticket.tags'] } });
	expect(installed.status()).toBe(201);
	alex = (await browser.person(server.url, 'alex@tandem.local', DEMO_PASSWORD)).page;
	alex.setDefaultTimeout(15_000);
	maggieTicket = await findTicketId(alex, '48213', 'Charged twice for order #48213');
});

afterAll(async () => {
	await browser?.close();
	await appServer?.close();
	await server?.stop();
});

const panel = (page: Page) => page.getByRole('complementary', { name: 'Context' });
const section = (page: Page, name: string) => panel(page).getByRole('region', { name });
const editor = (page: Page) => page.getByRole('region', { name: 'Reply composer' }).locator('.cm-content');
const draftOf = (page: Page) => editor(page).evaluate((root) => [...root.querySelectorAll('.cm-line')].map((line) => line.textContent).join('\n'));
const app = (page: Page, name: string): FrameLocator => page.frameLocator(`iframe[title="App ${name}"]`);

describe('context panel', () => {
	it("shows Maggie's profile, her orders and her history across tickets", async () => {
		await alex.goto(`/tickets/${maggieTicket}`);
		const requester = section(alex, 'Requester');
		await requester.getByText('Chen Design Studio').waitFor();
		await requester.getByText('vip').waitFor();
		const records = section(alex, 'Records (2)');
		await records.getByText('Order #48213').waitFor();
		await records.getByText('refunded').waitFor();
		const history = section(alex, 'Interaction history');
		// Her other ticket's messages are there too, with a link to it.
		await history.getByRole('link', { name: 'Company name and VAT number on invoice #47102' }).first().waitFor();
		await history.getByText('Call to the customer').waitFor();

		// Live: a message on her other ticket shows up without a reload.
		const other = (await (await alex.request.get('/api/v1/tickets?q=47102&limit=5')).json()).tickets[0];
		const posted = await alex.request.post(`/api/v1/tickets/${other.id}/entries`, {
			data: { kind: 'message', channel: 'email', visibility: 'public', body: 'One more thing about that invoice: it went out today.' }
		});
		expect(posted.status()).toBe(201);
		await history.getByText('One more thing about that invoice: it went out today.').waitFor();
	});

	it('edits the profile in place from the keyboard', async () => {
		const requester = section(alex, 'Requester');
		await requester.getByRole('button', { name: 'Edit customer' }).click();
		await waitFor(() => alex.evaluate(() => (document.activeElement as HTMLInputElement).value === 'Maggie Chen'), 'focus on the name');
		await requester.getByLabel('Organisation').fill('Chen Design Studio Ltd');
		await requester.getByLabel('New address', { exact: true }).fill('@maggie.designs');
		await requester.getByLabel('New address channel').selectOption('social');
		await requester.getByLabel('New address', { exact: true }).press('Enter');
		await requester.getByLabel('Notes').press('Control+Enter');
		await requester.getByText('Chen Design Studio Ltd').waitFor();
		await requester.getByText('@maggie.designs').waitFor();
		await expect(requester.getByRole('button', { name: 'Edit customer' }).evaluate((el) => el === document.activeElement)).resolves.toBe(true);
	});

	it('suggests articles from the subject, searches with highlights, and inserts a link and a quote at the cursor', async () => {
		const knowledge = section(alex, 'Knowledge');
		await knowledge.getByText('Suggested for this ticket').waitFor();
		await expect(knowledge.getByRole('listitem').first().getAttribute('aria-label')).resolves.toBe('How refunds work');

		// The agent writes a reply and puts the cursor between greeting and sign-off.
		await editor(alex).click();
		await alex.keyboard.type('Best, Alex');
		await alex.keyboard.press('Home');
		await alex.keyboard.type('Hi Maggie, see ');

		await knowledge.getByLabel('Search the help centre').fill('password');
		const first = knowledge.getByRole('listitem').first();
		await waitFor(async () => (await first.getAttribute('aria-label')) === 'Reset your password', 'the password article first');
		await expect(first.locator('a.title mark').innerText()).resolves.toBe('password');
		await screenshot(alex, 'context-knowledge-search');
		await first.getByRole('button', { name: 'Insert link to Reset your password' }).click();
		const link = `Reset your password: ${server.url}/help/reset-your-password`;
		await waitFor(async () => (await draftOf(alex)) === `Hi Maggie, see ${link}\n\nBest, Alex`, 'the link at the cursor');

		// Quoting follows the link (the cursor moved past it).
		await first.getByRole('button', { name: 'Quote Reset your password' }).click();
		const draft = await waitFor(async () => ((await draftOf(alex)).includes('> ') ? draftOf(alex) : null), 'the quote');
		expect(draft).toMatch(new RegExp(`^Hi Maggie, see ${link.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\n\n> .*password.*\n\n\\(Reset your password: .*\\)\n\nBest, Alex$`));

		// The linked article is public.
		const article = await alex.context().request.get(`${server.url}/help/reset-your-password`);
		expect(article.status()).toBe(200);
	});

	it("runs the order lookup app: it reads Maggie's orders and inserts a summary into the draft", async () => {
		const lookup = app(alex, 'order-lookup');
		await lookup.getByText("Maggie Chen's orders").waitFor();
		await lookup.getByText('#48213').waitFor();
		await lookup.getByText('#47102').waitFor();
		await section(alex, 'Apps').scrollIntoViewIfNeeded();
		await screenshot(alex, 'context-apps');
		await lookup.getByRole('button', { name: 'Insert summary of order #48213' }).click();
		await lookup.getByText('Inserted into the draft.').waitFor();
		await waitFor(async () => (await draftOf(alex)).includes('Order #48213 (placed 2026-11-10): refunded, Trail tent 2P, footprint, total $84.00, shipped with UPS.'), 'the order summary in the draft');
	});

	it('refuses an app an action outside its scopes, and changes nothing', async () => {
		const overreach = app(alex, 'overreach');
		await overreach.getByText('Ticket: Charged twice for order #48213').waitFor();
		const entriesBefore = (await (await alex.request.get(`/api/v1/tickets/${maggieTicket}`)).json()).entries.length;

		await overreach.getByRole('button', { name: 'Add note' }).click();
		await overreach.getByText('refused: overreach may not add internal notes: the scope ticket.notes was not granted').waitFor();
		await section(alex, 'Apps').getByText('Refused: overreach may not add internal notes').waitFor();

		// Granted: the tag goes through the agent's session like any edit of theirs.
		await overreach.getByRole('button', { name: 'Add tag' }).click();
		await overreach.getByText('done').waitFor();
		await waitFor(async () => (await (await alex.request.get(`/api/v1/tickets/${maggieTicket}`)).json()).tags.includes('from-app'), 'the tag stored');
		const after = (await (await alex.request.get(`/api/v1/tickets/${maggieTicket}`)).json()).entries;
		expect(after.length).toBe(entriesBefore);
		expect(after.some((e: { body: string }) => e.body.includes('A note the app may not write'))).toBe(false);
		// The sandbox: the app's frame has an opaque origin and cannot reach the workspace.
		const reach = await alex.frames().find((f) => f.url().startsWith(appServer.url))!.evaluate(() => {
			try {
				return String(window.parent.document.title);
			} catch (error) {
				return `blocked: ${(error as Error).name}`;
			}
		});
		expect(reach).toBe('blocked: SecurityError');
		await screenshot(alex, 'context-app-refused');
	});

	it('links and unlinks a record to the ticket', async () => {
		const records = panel(alex).getByRole('region', { name: /^Records/ });
		await records.getByRole('button', { name: 'Link a record' }).click();
		await records.getByLabel('Record type').selectOption({ label: 'Order' });
		// Ben's order: Alex may see it (Ben has a Billing ticket). Records of customers he may not
		// see are hidden from him (tests/integration/attacks-scope.test.ts).
		await records.getByLabel('Find a record to link').fill('48377');
		await records.getByRole('button', { name: 'Link Order #48377' }).click();
		// Ben's order on Maggie's ticket: linked once the agent confirms (tests/browser/defects-b.test.ts).
		await records.getByRole('button', { name: 'Link anyway' }).click();
		await section(alex, 'Records (3)').getByText('Order #48377').waitFor();
		await records.getByRole('button', { name: 'Unlink Order #48377' }).click();
		await section(alex, 'Records (2)').waitFor();
	});

	it('admins write and publish articles, add records and grant app scopes on /admin/context', async () => {
		await admin.goto('/admin/context');
		const newArticle = admin.getByRole('form', { name: 'New article' });
		await newArticle.getByLabel('Title').fill('Gift cards');
		await newArticle.getByLabel('Section').fill('Orders and shipping');
		await newArticle.getByLabel('Text (Markdown)').fill('Gift cards never expire. Redeem them at **checkout**.');
		await newArticle.getByLabel('Status').selectOption('published');
		await newArticle.getByRole('button', { name: 'Save article' }).click();
		await admin.getByRole('status').getByText('“Gift cards” is published.').waitFor();
		const page = await admin.context().request.get(`${server.url}/help/gift-cards`);
		expect(await page.text()).toContain('<strong>checkout</strong>');

		const order = admin.getByRole('form', { name: 'New Order' });
		await admin.getByText('Order', { exact: true }).click(); // opens the type's details
		await order.getByLabel('External id').fill('50001');
		await order.getByLabel('Customer email').fill('maggie.chen@example.com');
		await order.getByLabel('Placed *').fill('2026-11-20');
		await order.getByLabel('Total (USD) *').fill('19.99');
		await order.getByRole('button', { name: 'Add Order' }).click();
		await admin.getByRole('status').getByText('Order saved.').waitFor();
		const records = await (await admin.request.get('/api/v1/objects?q=50001')).json();
		expect(records.records[0]).toMatchObject({ externalId: '50001', values: { placed: '2026-11-20', status: 'processing', total: 19.99 } });

		const lookup = admin.getByRole('form', { name: 'App order-lookup' });
		await lookup.getByLabel('ticket.tags').check();
		await lookup.getByRole('button', { name: 'Save' }).click();
		// The app's own notice: "Order saved." from the step before also says "saved".
		await admin.getByRole('status').getByText('App “order-lookup” saved.').waitFor();
		const apps = await (await admin.request.get('/api/v1/apps')).json();
		expect(apps.apps.find((a: { name: string }) => a.name === 'order-lookup').scopes).toEqual(['draft.insert', 'ticket.tags']);
		await screenshot(admin, 'admin-context');
	});

	it('lets customers browse and search the help centre without signing in', async () => {
		const customer = await (await browser.browser.newContext({ baseURL: server.url, viewport: { width: 1100, height: 800 } })).newPage();
		await customer.goto('/help');
		await customer.getByRole('region', { name: 'Account and security' }).getByRole('link', { name: 'Two-factor authentication' }).waitFor();
		await expect(customer.getByText('Holiday shipping deadlines').count()).resolves.toBe(0); // a draft
		await screenshot(customer, 'help-index');
		await customer.getByLabel('Search the help centre').fill('refund');
		await customer.getByLabel('Search the help centre').press('Enter');
		await customer.getByRole('region', { name: 'Search results' }).getByRole('link', { name: 'How refunds work' }).click();
		await customer.getByRole('heading', { name: 'How refunds work', level: 1 }).waitFor();
		await customer.getByRole('heading', { name: 'Charged twice?' }).waitFor();
		await screenshot(customer, 'help-article');
		await customer.context().close();
	});

	it('shows a supervisor the context read-only', async () => {
		const sam = (await browser.person(server.url, 'supervisor@tandem.local', DEMO_PASSWORD)).page;
		sam.setDefaultTimeout(15_000);
		await sam.goto(`/tickets/${maggieTicket}`);
		await section(sam, 'Knowledge').getByText('Suggested for this ticket').waitFor();
		await panel(sam).getByRole('region', { name: /^Records/ }).getByText('Order #48213').waitFor();
		await app(sam, 'order-lookup').getByText('#48213').waitFor();
		await expect(panel(sam).getByRole('button', { name: /Edit customer|Insert link|Quote|Link a record|Unlink/ }).count()).resolves.toBe(0);
		await sam.context().close();
	});
});
