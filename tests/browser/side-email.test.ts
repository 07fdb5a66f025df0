/**
 * An email side conversation where a person sees it, in real Chromium: an agent starts one with a
 * vendor, sees the message sent (a stand-in SMTP relay takes it), sees the vendor's emailed reply
 * arrive in it, adds a recipient, and closes and reopens it.
 */
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type BrowserSession } from '../helpers/browser';
import { PASSWORD, prepare, type Fixture } from '../helpers/fixtures';
import { startRelay, type Relay } from '../helpers/relay';
import { smtpPort, startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';
import { createTicket } from '../helpers/tickets';

const VENDOR = 'parts@vendor.example';
let server: RunningServer;
let relay: Relay;
let fx: Fixture;
let browser: BrowserSession;

beforeAll(async () => {
	relay = await startRelay();
	const dataDir = tempDataDir();
	fx = await prepare(dataDir, { users: { ann: { role: 'agent' } }, bots: { mail: ['email'] } });
	server = await startServer({ dataDir, env: { SMTP_RELAY_URL: `smtp://127.0.0.1:${relay.port}` } });
	browser = await launchBrowser();
});

afterAll(async () => {
	await browser?.close();
	await server?.stop();
	await relay?.close();
});

describe('email side conversations in the workspace', () => {
	it('starts one, shows it sent, and shows the outside reply arriving in it', async () => {
		const ticket = await createTicket(server, fx.tokens.mail.token, 'Tent pole snapped');
		const { page } = await browser.person(server.url, fx.users.ann.email, PASSWORD);
		page.setDefaultTimeout(15_000);
		await page.goto(`/tickets/${ticket.id}`);
		await page.getByRole('region', { name: 'Reply composer' }).waitFor();
		await page.getByText('Loading ticket…').waitFor({ state: 'detached' });

		await page.getByRole('button', { name: 'Start side conversation' }).first().click();
		const form = page.getByRole('form', { name: 'Start side conversation' });
		await form.getByLabel('Subject').fill('Replacement pole');
		await form.getByLabel('Channel').selectOption('email');
		// A typo is told in words, before anything is sent.
		await form.getByLabel(/Participants/).fill('parts at vendor');
		await form.getByLabel(/message/i).fill('Can you send a new pole for order 7?');
		await form.getByRole('button', { name: 'Start side conversation' }).click();
		await expect(form.getByRole('alert').innerText()).resolves.toContain('“parts at vendor” is not an email address.');
		await form.getByLabel(/Participants/).fill(VENDOR);
		await form.getByRole('button', { name: 'Start side conversation' }).click();

		const side = page.locator('li.side', { hasText: 'Replacement pole' });
		await side.locator('[data-delivery="sent"]').waitFor();
		const sent = relay.accepted.find((m) => m.mail.subject === `Replacement pole [#${ticket.number}]`)!;
		expect(sent.rcptTo).toEqual([VENDOR]);
		await side.scrollIntoViewIfNeeded();
		await screenshot(page, 'side-email-sent');

		// The vendor answers by email.
		const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort(server), secure: false, ignoreTLS: true });
		try {
			await transport.sendMail({
				from: `Parts Desk <${VENDOR}>`,
				to: 'support@tandem.local',
				subject: `Re: ${sent.mail.subject}`,
				text: 'A new pole ships tomorrow.',
				inReplyTo: sent.mail.messageId
			});
		} finally {
			transport.close();
		}
		await side.getByText('A new pole ships tomorrow.').waitFor();
		await side.getByText(`Parts Desk <${VENDOR}>`).waitFor();
		// Not in the conversation with the customer.
		await expect(page.getByRole('log', { name: 'Conversation' }).getByText('A new pole ships tomorrow.').count()).resolves.toBe(0);
		await side.getByText('A new pole ships tomorrow.').scrollIntoViewIfNeeded();
		await screenshot(page, 'side-email-reply');

		// A recipient added later: a bad one is refused in words, a good one is listed.
		const add = side.getByLabel('Add recipients', { exact: true });
		await add.fill('billing at vendor');
		await side.getByRole('button', { name: 'Add', exact: true }).click();
		await expect(side.getByRole('alert').innerText()).resolves.toContain('is not an email address');
		await add.fill('billing@vendor.example');
		await side.getByRole('button', { name: 'Add', exact: true }).click();
		await side.locator('.meta', { hasText: 'billing@vendor.example' }).waitFor();

		await side.getByRole('button', { name: 'Close', exact: true }).click();
		await side.locator('.badge', { hasText: 'closed' }).waitFor();
		await side.getByRole('button', { name: 'Reopen' }).click();
		await side.locator('.badge', { hasText: 'open' }).waitFor();
		await waitFor(() => relay.accepted.length === 1, 'nothing more sent');
	});
});
