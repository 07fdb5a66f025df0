/**
 * The Talk console in a real browser: the simulator rings the demo Talk number as Maggie; two
 * agents' consoles ring; one accepts (her ticket opens), holds, resumes and transfers the call
 * to the other, who accepts and ends it; the call entry shows in the ticket for both. Then the
 * dialler in the ticket header calls her back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { prepare, type Fixture } from '../helpers/fixtures';
import { launchBrowser, screenshot, type BrowserSession } from '../helpers/browser';
import { api, startServer, tempDataDir, type RunningServer } from '../helpers/server';

const DEMO_PASSWORD = 'tandem-demo';
const MAGGIE = '+1 555 0142';
let server: RunningServer;
let fx: Fixture;
let browser: BrowserSession;
type Person = Awaited<ReturnType<BrowserSession['person']>>;
let alex: Person;
let blake: Person;

beforeAll(async () => {
	const dataDir = tempDataDir();
	fx = await prepare(dataDir, { bots: { phone: ['talk'], reader: undefined } });
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

const console_ = (page: Page) => page.getByRole('region', { name: 'Talk console' });
const incoming = (page: Page) => page.getByRole('alertdialog', { name: 'Incoming call from Maggie Chen' });
const currentCall = (page: Page) => page.getByRole('region', { name: 'Current call' });
const phoneButton = (page: Page) => page.getByRole('button', { name: /^(Talk|Incoming call|On call|On hold|Calling)/ });

describe('Talk console', () => {
	it('rings, is accepted, held, resumed, transferred, accepted again and ended; the call entry shows for both', async () => {
		await alex.page.goto('/');
		await blake.page.goto('/');
		await phoneButton(alex.page).waitFor();
		const rang = await api(server, fx.tokens.phone.token).request('POST', '/api/v1/talk/simulator/calls', { from: MAGGIE });
		expect(rang.status).toBe(201);
		const ticketId: string = rang.body.ticketId;

		await incoming(alex.page).waitFor();
		await incoming(blake.page).waitFor();
		await expect(incoming(alex.page).innerText()).resolves.toContain('Support line');
		await screenshot(alex.page, 'talk-incoming');

		await incoming(alex.page).getByRole('button', { name: 'Accept' }).click();
		await alex.page.waitForURL(`**/tickets/${ticketId}`);
		await alex.page.getByRole('tablist', { name: 'Open tickets' }).getByRole('tab', { name: /Charged twice/ }).waitFor();
		// Blake's console stops ringing.
		await incoming(blake.page).waitFor({ state: 'detached' });

		const call = currentCall(alex.page);
		await call.getByText('Maggie Chen').waitFor();
		await call.getByRole('button', { name: 'Hold' }).click();
		await call.getByText('On hold').waitFor();
		await phoneButton(alex.page).filter({ hasText: 'On hold' }).waitFor();
		await screenshot(alex.page, 'talk-on-hold');
		await call.getByRole('button', { name: 'Resume' }).click();
		await call.getByText('Connected').waitFor();

		// A transfer rings only agents online with Talk on (tests/browser/defects-b.test.ts): Blake comes online.
		expect((await blake.page.request.put('/api/v1/me/status', { data: { status: 'online' } })).status()).toBe(200);
		await call.getByRole('button', { name: 'Transfer' }).click();
		const form = alex.page.getByRole('form', { name: 'Transfer the call' });
		await form.getByRole('option', { name: 'Blake Agent (available)' }).waitFor({ state: 'attached' });
		await form.getByLabel('Transfer to').selectOption({ label: 'Blake Agent (available)' });
		await form.getByRole('button', { name: 'Transfer' }).click();
		await currentCall(alex.page).waitFor({ state: 'detached' });

		await incoming(blake.page).getByText('Transferred by Alex Agent').waitFor();
		await screenshot(blake.page, 'talk-transferred');
		await incoming(blake.page).getByRole('button', { name: 'Accept' }).click();
		await blake.page.waitForURL(`**/tickets/${ticketId}`);
		await currentCall(blake.page).getByRole('button', { name: 'End' }).click();
		await currentCall(blake.page).waitFor({ state: 'detached' });

		for (const page of [alex.page, blake.page]) {
			const entry = page.locator(`[data-entry-id="${rang.body.id}"]`);
			await entry.waitFor();
			const text = await entry.innerText();
			expect(text).toContain('answered by Alex Agent, transferred to Blake Agent');
			expect(text).toMatch(/Call · answered/);
			expect(text).toContain('1 transfer');
		}
		await screenshot(blake.page, 'talk-call-entry');
		const stored = (await api(server, fx.tokens.reader.token).request('GET', `/api/v1/tickets/${ticketId}`)).body.entries;
		expect(stored.filter((e: { id: string }) => e.id === rang.body.id)).toHaveLength(1);
	});

	it('calls the requester from the ticket header', async () => {
		const header = alex.page.locator('.ticket-header');
		await header.getByRole('button', { name: 'Call' }).click();
		const call = currentCall(alex.page);
		await call.getByText('Connected').waitFor();
		await expect(call.innerText()).resolves.toContain('+15550142');
		await screenshot(alex.page, 'talk-outbound');
		await call.getByRole('button', { name: 'End' }).click();
		await alex.page.locator('[data-entry-id]', { hasText: 'Outbound call, ' }).last().waitFor();
		// The call's end reaches the header by its own way (the call's state), maybe after the entry.
		await expect.poll(() => header.getByRole('button', { name: 'Call' }).isEnabled()).toBe(true);
	});

	it('lets an admin add a Talk number on the admin page', async () => {
		const ada = await browser.person(server.url, 'admin@tandem.local', DEMO_PASSWORD);
		ada.page.setDefaultTimeout(15_000);
		await ada.page.goto('/admin');
		const form = ada.page.getByRole('form', { name: 'Add a Talk number' });
		await form.getByLabel('Number').fill('+44 20 7946 0000');
		await form.getByLabel('Label').fill('London desk');
		await form.getByLabel('Group').selectOption({ label: 'Technical' });
		await form.getByRole('button', { name: 'Add Talk number' }).click();
		await ada.page.getByRole('status').filter({ hasText: 'Talk number +442079460000' }).waitFor();
		await expect(ada.page.getByLabel('Group of London desk').inputValue()).resolves.not.toBe('');
		await ada.page.getByRole('heading', { name: 'Talk numbers' }).scrollIntoViewIfNeeded();
		await screenshot(ada.page, 'talk-admin-numbers');
		await ada.context.close();
	});
});
