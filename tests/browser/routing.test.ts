/**
 * Omnichannel routing in a real browser: an agent sets one status and the channels they take work
 * on, a visitor's chat is offered to them, they accept it and answer; a supervisor watches the
 * agent's load on the dashboard.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepare, type Fixture } from '../helpers/fixtures';
import { launchBrowser, screenshot, type BrowserSession } from '../helpers/browser';
import { openEvents } from '../helpers/sse';
import { api, startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';

const DEMO_PASSWORD = 'tandem-demo';
let server: RunningServer;
let browser: BrowserSession;
let fx: Fixture;

beforeAll(async () => {
	const dataDir = tempDataDir();
	// A bot only: demo data is seeded into a database without users.
	fx = await prepare(dataDir, { bots: { mail: ['email'] } });
	server = await startServer({ dataDir, env: { SEED: '1' } });
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
		// Colleagues' statuses show where work is handed on: the assignee picker.
		await expect.poll(() => alex.getByLabel('Assignee').locator('option', { hasText: 'Alex Agent · Online' }).count()).toBe(1);

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

	it('tells an agent of a customer message in one of their tickets that is not in front of them, and marks it unread until opened', async () => {
		const blake = (await browser.person(server.url, 'blake@tandem.local', DEMO_PASSWORD)).page;
		blake.setDefaultTimeout(15_000);
		// The demo supervisor's session, as a bearer token.
		const supervisor = await browser.person(server.url, 'supervisor@tandem.local', DEMO_PASSWORD);
		const session = (await supervisor.context.cookies()).find((c) => c.name === 'tandem_session')!.value;
		const sue = api(server, session);
		const blakeId = (await sue.request('GET', '/api/v1/users')).body.users.find((u: { email: string }) => u.email === 'blake@tandem.local').id;
		const mail = api(server, fx.tokens.mail.token);
		const created = await mail.request('POST', '/api/v1/tickets', { subject: 'Invoice address', requester: { email: 'noor@example.com', name: 'Noor Haddad' }, channel: 'email', body: 'Please change the address.' });
		await blake.goto('/');
		// Assigned to Blake by the supervisor: the row arrives in "My open tickets" live.
		expect((await sue.request('POST', `/api/v1/tickets/${created.body.id}/reassign`, { assigneeId: blakeId })).status).toBe(200);
		await blake.getByRole('row', { name: /Invoice address/ }).waitFor();

		// The customer writes again while Blake looks at the list.
		expect((await mail.request('POST', `/api/v1/tickets/${created.body.id}/entries`, { channel: 'email', authorType: 'customer', body: 'It is 12 Rue Cler, Paris.' })).status).toBe(201);
		const notice = blake.getByRole('status').filter({ hasText: `New message · #${created.body.number} Invoice address` });
		await notice.waitFor();
		const row = blake.getByRole('row', { name: /Invoice address/ });
		await row.getByLabel('Unread').waitFor();
		await screenshot(blake, 'routing-notice');
		await notice.getByRole('button', { name: /Invoice address/ }).click();
		await blake.waitForURL(`**/tickets/${created.body.id}`);
		await blake.getByRole('log', { name: 'Conversation' }).getByText('It is 12 Rue Cler, Paris.').waitFor();
		await blake.getByRole('tab', { name: 'Tickets' }).click();
		await blake.getByRole('row', { name: /Invoice address/ }).waitFor();
		await expect(blake.getByRole('row', { name: /Invoice address/ }).getByLabel('Unread').count()).resolves.toBe(0);
	});
});
