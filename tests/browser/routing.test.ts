/**
 * Omnichannel routing in a real browser: an agent sets one status and the channels they take work
 * on, a visitor's chat is offered to them, they accept it and answer; a supervisor watches the
 * agent's load on the dashboard.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type BrowserSession } from '../helpers/browser';
import { openEvents } from '../helpers/sse';
import { api, startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';

const DEMO_PASSWORD = 'tandem-demo';
let server: RunningServer;
let browser: BrowserSession;

beforeAll(async () => {
	server = await startServer({ dataDir: tempDataDir(), env: { SEED: '1' } });
	browser = await launchBrowser();
});

afterAll(async () => {
	await browser?.close();
	await server?.stop();
});

describe('routing in the workspace', () => {
	it('offers a chat to the available agent, who accepts and answers; the supervisor sees it on the dashboard', async () => {
		const alex = (await browser.person(server.url, 'alex@tandem.local', DEMO_PASSWORD)).page;
		alex.setDefaultTimeout(15_000);
		await alex.goto('/');
		// One menu: chat only, then online.
		const menuButton = alex.getByRole('button', { name: /^Status: / });
		await menuButton.click();
		const menu = alex.getByRole('group', { name: 'Status and channels' });
		for (const channel of ['Email & messaging', 'Talk']) {
			const box = menu.getByLabel(channel);
			await box.uncheck();
			await expect.poll(() => box.isChecked()).toBe(false);
		}
		await menu.getByLabel('Online').check();
		await alex.getByRole('button', { name: 'Status: Online' }).waitFor();
		await menuButton.press('Escape');

		// A visitor starts a chat on the website.
		const visitor = await api(server).request('POST', '/api/v1/visitor');
		const token = visitor.body.token as string;
		const chat = await api(server).request('POST', '/api/v1/visitor/chat', { name: 'Robin Park', email: 'robin@example.com', message: 'Is the tent waterproof?' }, { headers: { 'x-visitor-token': token } });
		expect(chat.status).toBe(201);
		const stream = await openEvents(`${server.url}/api/v1/visitor/chat/stream?token=${encodeURIComponent(token)}`);

		// The offer reaches Alex, with a countdown; accepting opens the ticket, served and assigned.
		const offer = alex.getByRole('alert', { name: /Offer: Is the tent waterproof\?/ });
		await offer.waitFor();
		await expect(offer.innerText()).resolves.toMatch(/\d+ s/);
		await screenshot(alex, 'routing-offer');
		await offer.getByRole('button', { name: 'Accept' }).click();
		await alex.waitForURL(`**/tickets/${chat.body.ticketId}`);
		await alex.getByRole('region', { name: 'Live chat' }).getByText('Served by Alex').waitFor();
		await waitFor(() => stream.events.some((e) => e.name === 'chat' && e.data.status === 'active' && e.data.agentName === 'Alex'), 'the visitor told Alex joined');
		await expect(alex.getByLabel('Assignee').inputValue()).resolves.not.toBe('');

		const editor = alex.getByRole('region', { name: 'Reply composer' }).locator('.cm-content');
		await editor.click();
		await alex.keyboard.type('Yes: it is rated for heavy rain.');
		await alex.getByRole('button', { name: 'Send', exact: true }).click();
		await waitFor(() => stream.events.some((e) => e.name === 'message' && e.data.message.body === 'Yes: it is rated for heavy rain.'), 'the answer at the visitor');

		// The supervisor's dashboard: Alex online, one chat of three.
		const sam = (await browser.person(server.url, 'supervisor@tandem.local', DEMO_PASSWORD)).page;
		sam.setDefaultTimeout(15_000);
		await sam.goto('/supervisor');
		const row = sam.locator('tr[data-agent="Alex Agent"]');
		await row.getByText('Online').waitFor();
		await row.getByText('1/3').waitFor();
		await screenshot(sam, 'routing-dashboard');
		stream.close();
	});
});
