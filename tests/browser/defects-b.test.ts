/**
 * Defects a new user hit (#13), seen in a real browser on the demo data: designed error pages with
 * a way back (11); views that are addresses, with one meaning of "open" stated (12); a warning
 * before linking another customer's record, which the order-lookup app then keeps apart (6); one
 * Accept for a ringing call, a Talk console that can be hidden, and a transfer picker that shows who
 * is available (7).
 */
import { sql } from 'drizzle-orm';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTicketId, launchBrowser, screenshot, type BrowserSession } from '../helpers/browser';
import { withStore } from '../helpers/db';
import { prepare, type Fixture } from '../helpers/fixtures';
import { api, startServer, tempDataDir, type RunningServer } from '../helpers/server';

let server: RunningServer;
let fx: Fixture;
let browser: BrowserSession;
let supervisor: Page;
let alex: Page;
let blake: Page;

beforeAll(async () => {
	const dataDir = tempDataDir();
	fx = await prepare(dataDir, { bots: { phone: ['talk'] } });
	server = await startServer({ dataDir, env: { SEED: '1' } });
	browser = await launchBrowser();
	supervisor = (await browser.person(server.url, 'supervisor@tandem.local', 'tandem-demo')).page;
	alex = (await browser.person(server.url, 'alex@tandem.local', 'tandem-demo')).page;
	blake = (await browser.person(server.url, 'blake@tandem.local', 'tandem-demo')).page;
	for (const page of [supervisor, alex, blake]) page.setDefaultTimeout(15_000);
});

afterAll(async () => {
	await browser?.close();
	await server?.stop();
});

/** The error page as a person sees it: its heading, and whether the styles and a way back are there. */
async function errorPage(page: Page) {
	const heading = page.getByRole('heading', { level: 1 });
	await heading.waitFor();
	return {
		heading: await heading.innerText(),
		text: await page.locator('main').innerText(),
		font: await page.locator('body').evaluate((body) => getComputedStyle(body).fontFamily),
		back: page.getByRole('link', { name: 'Back to the workspace' })
	};
}

describe('error pages (11)', () => {
	it('shows a supervisor opening /admin a designed 403 page with a way back to the workspace', async () => {
		const response = await supervisor.goto('/admin', { waitUntil: 'networkidle' });
		expect(response?.status()).toBe(403);
		const shown = await errorPage(supervisor);
		expect(shown.heading).toBe('You can’t open this page');
		expect(shown.text).toContain('This page is for admins.');
		expect(shown.font).not.toMatch(/^monospace/);
		// The admin page's own data (its user list) is not in the refusal.
		expect(await supervisor.content()).not.toContain('dana@tandem.local');
		expect(await (await supervisor.request.get('/admin')).text()).not.toContain('dana@tandem.local');
		await screenshot(supervisor, 'defects-b-403');
		await shown.back.click();
		await supervisor.waitForURL((url) => url.pathname === '/');
		await supervisor.getByRole('navigation', { name: 'Views' }).waitFor();
	});

	it('refuses an admin form action to a supervisor before it runs, and a data request for the page', async () => {
		const action = await supervisor.request.post('/admin?/createGroup', { form: { name: 'Sneaky' }, headers: { origin: server.url } });
		expect(action.status()).toBe(403);
		const data = await supervisor.request.get('/admin/__data.json?x-sveltekit-invalidated=01');
		expect(data.status()).toBe(403);
		const groups = await (await supervisor.request.get('/api/v1/groups')).json();
		expect(JSON.stringify(groups)).not.toContain('Sneaky');
	});

	it('shows an unknown address a designed 404 page', async () => {
		const response = await alex.goto('/no-such-page', { waitUntil: 'networkidle' });
		expect(response?.status()).toBe(404);
		const shown = await errorPage(alex);
		expect(shown.heading).toBe('Page not found');
		expect(await shown.back.getAttribute('href')).toBe('/');
	});

	it('shows a server fault as a designed 500 page that does not leak the cause', async () => {
		// A real fault: the help centre's table is gone from under the running server (until put back).
		await withStore(server.dataDir, (store) => store.run(sql`ALTER TABLE help_articles RENAME TO help_articles_away`));
		try {
			const response = await alex.goto('/help', { waitUntil: 'networkidle' });
			expect(response?.status()).toBe(500);
			const shown = await errorPage(alex);
			expect(shown.heading).toBe('Something went wrong on our side');
			expect(shown.text).not.toMatch(/help_articles|SqliteError/);
			await screenshot(alex, 'defects-b-500');
		} finally {
			await withStore(server.dataDir, (store) => store.run(sql`ALTER TABLE help_articles_away RENAME TO help_articles`));
		}
	});
});

describe('views are addresses with stated definitions (12)', () => {
	const views = () => alex.getByRole('navigation', { name: 'Views' });
	const listHeading = () => alex.getByRole('heading', { level: 1 });
	/** A pending ticket of Alex's in the demo data. */
	const PENDING_SUBJECT = 'Charged twice for order #48213';

	it('links each view to its own address, and Back returns to the view before', async () => {
		await alex.goto('/', { waitUntil: 'networkidle' });
		expect(await views().getByRole('link', { name: /Solved/ }).getAttribute('href')).toBe('/?view=solved');
		await views().getByRole('link', { name: /Pending/ }).click();
		await alex.waitForURL((url) => url.search === '?view=pending');
		await expect.poll(() => listHeading().innerText()).toBe('Pending');
		await views().getByRole('link', { name: /All open/ }).click();
		await alex.waitForURL((url) => url.search === '?view=open');
		await expect.poll(() => listHeading().innerText()).toBe('All open');
		await alex.goBack();
		await alex.waitForURL((url) => url.search === '?view=pending');
		await expect.poll(() => listHeading().innerText()).toBe('Pending');
		expect(await views().getByRole('link', { name: /Pending/ }).getAttribute('aria-current')).toBe('page');
	});

	it('opens a shared view address in a new tab on that view', async () => {
		const tab = await alex.context().newPage();
		tab.setDefaultTimeout(15_000);
		await tab.goto('/?view=solved', { waitUntil: 'networkidle' });
		await expect.poll(() => tab.getByRole('heading', { level: 1 }).innerText()).toBe('Solved');
		expect(await tab.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: /Solved/ }).getAttribute('aria-current')).toBe('page');
		await tab.close();
	});

	it('means the same by "open" in "My open tickets" and "All open", and says what each view holds', async () => {
		for (const view of ['mine', 'open']) {
			await alex.goto(`/?view=${view}`, { waitUntil: 'networkidle' });
			await alex.locator('section.list').getByRole('link', { name: PENDING_SUBJECT }).waitFor();
		}
		const allOpen = views().getByRole('link', { name: /All open/ });
		expect(await allOpen.getAttribute('title')).toBe('Every ticket you may see that is not solved or closed: new, open, pending and on hold; snoozed ones return when their time comes.');
		expect(await alex.locator('#list-description').innerText()).toContain('not solved or closed');
		expect(await views().getByRole('link', { name: /My open tickets/ }).getAttribute('title')).toContain('not solved or closed');
		await screenshot(alex, 'defects-b-views');
	});
});

describe("linking another customer's record (6)", () => {
	const context = () => alex.getByRole('complementary', { name: 'Context' });
	const records = () => context().getByRole('region', { name: /^Records/ });
	const linkedToTicket = async (ticketId: string) =>
		((await (await alex.request.get(`/api/v1/tickets/${ticketId}/objects`)).json()).records as { externalId: string; linkedTo: string[] }[])
			.filter((r) => r.linkedTo.includes('ticket'))
			.map((r) => r.externalId);
	let maggieTicket: string;

	it("shows whose each record found is, and asks before linking Ben's order to Maggie's ticket", async () => {
		maggieTicket = await findTicketId(alex, '48213', 'Charged twice for order #48213');
		await alex.goto(`/tickets/${maggieTicket}`);
		await context().getByRole('region', { name: 'Records (2)' }).waitFor();
		await records().getByRole('button', { name: 'Link a record' }).click();
		await records().getByLabel('Record type').selectOption({ label: 'Order' });
		await records().getByLabel('Find a record to link').fill('48377');
		const found = records().getByRole('listitem').filter({ hasText: 'Order #48377' });
		await expect.poll(() => found.innerText()).toContain('Ben Okafor’s');
		await found.getByRole('button', { name: 'Link Order #48377' }).click();
		const confirm = records().getByRole('alertdialog', { name: 'Link another customer’s record?' });
		await expect.poll(() => confirm.innerText()).toContain('Order #48377 is Ben Okafor’s, not Maggie Chen’s');
		await screenshot(alex, 'defects-b-record-owner');
		await confirm.getByRole('button', { name: 'Cancel' }).click();
		await confirm.waitFor({ state: 'detached' });
		expect(await linkedToTicket(maggieTicket)).toEqual([]);
	});

	it('links it once confirmed, and the order-lookup app does not list it as Maggie’s or offer it for the reply', async () => {
		await records().getByRole('button', { name: 'Link Order #48377' }).click();
		await records().getByRole('alertdialog').getByRole('button', { name: 'Link anyway' }).click();
		await context().getByRole('region', { name: 'Records (3)' }).getByText('Order #48377').waitFor();
		expect(await linkedToTicket(maggieTicket)).toEqual(['48377']);
		const lookup = alex.frameLocator('iframe[title="App order-lookup"]');
		await lookup.getByRole('list', { name: 'Linked to this ticket, another customer’s' }).getByText('#48377').waitFor();
		const maggies = lookup.getByRole('list', { name: 'Orders' });
		await maggies.getByText('#48213').waitFor();
		expect(await maggies.getByText('#48377').count()).toBe(0);
		expect(await lookup.getByRole('button', { name: 'Insert summary of order #48377' }).count()).toBe(0);
		await screenshot(alex, 'defects-b-record-app');
	});
});

describe('Talk (7)', () => {
	const talkConsole = (page: Page) => page.getByRole('region', { name: 'Talk console' });
	const currentCall = (page: Page) => page.getByRole('region', { name: 'Current call' });
	const phoneButton = (page: Page) => page.getByRole('button', { name: /^(Talk|Incoming call|On call|On hold|Calling)/ });
	// Talk only: other work offered would bring Accept buttons of its own.
	const setStatus = async (page: Page, status: string) =>
		expect((await page.request.put('/api/v1/me/status', { data: { status, channels: { messaging: false, chat: false, talk: true } } })).status()).toBe(200);
	let callId: string;

	it('shows one Accept for a call offered to the agent', async () => {
		// Blake is the only agent online: the router offers him the call.
		await setStatus(blake, 'online');
		await blake.goto('/', { waitUntil: 'networkidle' });
		const rang = await api(server, fx.tokens.phone.token).request('POST', '/api/v1/talk/simulator/calls', { from: '+15550142' });
		expect(rang.status).toBe(201);
		callId = rang.body.id;
		const incoming = blake.getByRole('alertdialog', { name: /^Incoming call from / });
		await incoming.waitFor();
		const offers = (await (await blake.request.get('/api/v1/offers')).json()).offers as { kind: string }[];
		expect(offers.map((o) => o.kind)).toContain('call');
		expect(await blake.getByRole('button', { name: 'Accept', exact: true }).count()).toBe(1);
		await screenshot(blake, 'defects-b-talk-one-accept');
		await incoming.getByRole('button', { name: 'Accept' }).click();
		await currentCall(blake).waitFor();
		await blake.waitForURL(/\/tickets\//);
	});

	it('hides the console during the call so the ticket header is in view, and brings it back', async () => {
		const header = blake.locator('.ticket-header');
		await header.waitFor();
		await talkConsole(blake).getByRole('button', { name: 'Hide the Talk console' }).click();
		await talkConsole(blake).waitFor({ state: 'detached' });
		// Nothing lies over the header: the topmost element at each of its fields is the field itself.
		for (const field of await header.getByRole('combobox').all()) {
			const box = (await field.boundingBox())!;
			const onTop = await blake.evaluate(([x, y]) => document.elementFromPoint(x, y)?.closest('.ticket-header') !== null, [box.x + box.width / 2, box.y + box.height / 2]);
			expect(onTop).toBe(true);
		}
		await phoneButton(blake).filter({ hasText: 'On call' }).click();
		await currentCall(blake).waitFor();
	});

	it('shows who is available in the transfer picker, live, without cutting the text off', async () => {
		await currentCall(blake).getByRole('button', { name: 'Transfer' }).click();
		const form = blake.getByRole('form', { name: 'Transfer the call' });
		const select = form.getByLabel('Transfer to');
		const alexOption = form.getByRole('option', { name: /^Alex Agent/ });
		await expect.poll(() => alexOption.innerText()).toBe('Alex Agent (offline)');
		expect(await alexOption.isDisabled()).toBe(true);
		await setStatus(alex, 'away');
		await expect.poll(() => alexOption.innerText()).toBe('Alex Agent (away)');
		await setStatus(alex, 'online');
		await expect.poll(() => alexOption.innerText()).toBe('Alex Agent (available)');
		expect(await alexOption.isDisabled()).toBe(false);
		expect(await form.getByRole('option', { name: /^Billing/ }).innerText()).toBe('Billing (1 available)');
		// The widest choice fits the select (its padding and arrow aside).
		const fits = await select.evaluate((element: HTMLSelectElement) => {
			const context = document.createElement('canvas').getContext('2d')!;
			const style = getComputedStyle(element);
			context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
			const widest = Math.max(...[...element.options].map((option) => context.measureText(option.text).width));
			return { widest, room: element.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 24 };
		});
		expect(fits.widest).toBeLessThanOrEqual(fits.room);
		await screenshot(blake, 'defects-b-talk-transfer');
	});

	it('refuses a transfer to an agent who is offline with a clear error, and rings an available one', async () => {
		const dana = (await (await blake.request.get('/api/v1/users')).json()).users.find((u: { name: string }) => u.name === 'Dana Agent');
		const refused = await blake.request.post(`/api/v1/talk/calls/${callId}/transfer`, { data: { toUserId: dana.id } });
		expect(refused.status()).toBe(422);
		expect((await refused.json()).error.message).toBe('Dana Agent is offline: a call is transferred only to agents who are online with Talk on');
		const form = blake.getByRole('form', { name: 'Transfer the call' });
		await form.getByLabel('Transfer to').selectOption({ label: 'Alex Agent (available)' });
		await form.getByRole('button', { name: 'Transfer' }).click();
		await currentCall(blake).waitFor({ state: 'detached' });
		await alex.goto('/', { waitUntil: 'networkidle' });
		await alex.getByRole('alertdialog', { name: /^Incoming call from / }).getByText('Transferred by Blake Agent').waitFor();
		expect(await alex.getByRole('button', { name: 'Accept', exact: true }).count()).toBe(1);
	});
});
