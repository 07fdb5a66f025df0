/**
 * CC and BCC in the composer, in real Chromium: an email reply offers the CCs of the customer's
 * mail, the agent adds one (a co-writer sees the same recipients), a bad BCC is told in words and
 * holds Send back, the mail the relay receives carries the CCs (BCC in the envelope only) and the
 * sent entry shows them.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type BrowserSession } from '../helpers/browser';
import { PASSWORD, prepare, type Fixture } from '../helpers/fixtures';
import { api, startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';
import { mailTo, startRelay, type Relay } from '../helpers/relay';

const SUPPORT = 'support@tandem.local';

let relay: Relay;
let server: RunningServer;
let fx: Fixture;
let browser: BrowserSession;
let ticketId: string;

beforeAll(async () => {
	relay = await startRelay();
	const dataDir = tempDataDir();
	fx = await prepare(dataDir, { users: { alex: { role: 'agent' }, sam: { role: 'agent' } }, bots: { mail: ['email'] } });
	server = await startServer({ dataDir, env: { SMTP_RELAY_URL: `smtp://127.0.0.1:${relay.port}`, SUPPORT_ADDRESS: SUPPORT } });
	await mailTo(server, { from: 'Val Jones <val@example.com>', to: SUPPORT, cc: 'Kim Lee <kim@example.com>', subject: 'Tent pole snapped', text: 'The pole snapped on day one.' });
	const list = await api(server, fx.tokens.mail.token).request('GET', '/api/v1/tickets?limit=5');
	ticketId = list.body.tickets.find((t: { subject: string }) => t.subject === 'Tent pole snapped').id;
	browser = await launchBrowser();
});

afterAll(async () => {
	await browser?.close();
	await server?.stop();
	await relay?.close();
});

const composer = (page: Page) => page.getByRole('region', { name: 'Reply composer' });

describe('CC and BCC in the composer', () => {
	it('offers the mail’s CC, shares an added one with a co-writer, refuses a bad BCC in words, and sends the copies', async () => {
		const { page: alex } = await browser.person(server.url, fx.users.alex.email, PASSWORD);
		const { page: sam } = await browser.person(server.url, fx.users.sam.email, PASSWORD);
		alex.setDefaultTimeout(15_000);
		sam.setDefaultTimeout(15_000);
		await alex.goto(`/tickets/${ticketId}`);
		await sam.goto(`/tickets/${ticketId}`);

		const cc = composer(alex).getByLabel('CC', { exact: true });
		const bcc = composer(alex).getByLabel('BCC', { exact: true });
		await waitFor(async () => (await cc.inputValue()) === 'kim@example.com', 'the CC offered from the mail');
		await cc.fill('kim@example.com, lee@example.com');
		// The co-writer sees the same recipients (the draft holds them).
		await waitFor(async () => (await composer(sam).getByLabel('CC', { exact: true }).inputValue()) === 'kim@example.com, lee@example.com', 'the CC at Sam');

		await composer(alex).locator('.cm-content').click();
		await alex.keyboard.type('A new pole is on its way to you both.');
		await bcc.fill('boss@example.com, not-an-address');
		await composer(alex).getByRole('alert').getByText('BCC: “not-an-address” is not an email address').waitFor();
		await expect(composer(alex).getByRole('button', { name: 'Send', exact: true }).isDisabled()).resolves.toBe(true);
		await screenshot(alex, 'mail-composition-bad-bcc');

		await bcc.fill('boss@example.com');
		await composer(alex).getByRole('alert').waitFor({ state: 'detached' });
		await composer(alex).getByRole('button', { name: 'Send', exact: true }).click();

		const sent = await waitFor(() => relay.accepted.find((m) => m.mail.text?.includes('A new pole is on its way')), 'the mail at the relay', 30_000);
		expect(sent.mail.cc && !Array.isArray(sent.mail.cc) ? sent.mail.cc.value.map((a) => a.address) : null).toEqual(['kim@example.com', 'lee@example.com']);
		expect(sent.rcptTo.sort()).toEqual(['boss@example.com', 'kim@example.com', 'lee@example.com', 'val@example.com']);
		expect(sent.raw.toString()).not.toContain('boss@example.com');
		// The sent entry shows its copies to agents.
		const recipients = alex.locator('article.entry.outbound .recipients');
		await recipients.getByText('kim@example.com, lee@example.com').waitFor();
		await recipients.getByText('boss@example.com').waitFor();
		await screenshot(alex, 'mail-composition-sent');
	}, 120_000);
});
