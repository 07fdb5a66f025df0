/**
 * Satisfaction surveys in a real browser: a chat visitor rates the chat in the widget once the agent
 * ends it, and the agent sees the rating in the ticket header live; a customer follows the "Good"
 * link of a survey mail (the page records it by itself in a browser), changes it to "Bad" with a
 * comment, and the supervisor dashboard counts it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type BrowserSession } from '../helpers/browser';
import { startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';

const DEMO_PASSWORD = 'tandem-demo';

let server: RunningServer;
let browser: BrowserSession;
let agent: Page;

beforeAll(async () => {
	server = await startServer({ dataDir: tempDataDir(), env: { SEED: '1' } });
	browser = await launchBrowser();
	agent = (await browser.person(server.url, 'alex@tandem.local', DEMO_PASSWORD)).page;
	agent.setDefaultTimeout(15_000);
});

afterAll(async () => {
	await browser?.close();
	await server?.stop();
});

async function customerPage(): Promise<Page> {
	const page = await (await browser.browser.newContext({ baseURL: server.url, viewport: { width: 900, height: 800 } })).newPage();
	page.setDefaultTimeout(15_000);
	return page;
}

describe('satisfaction surveys', () => {
	it('asks the chat visitor in the widget when the chat ends; the agent sees the rating in the header', async () => {
		await agent.goto('/');
		await agent.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: /Unassigned in my groups/ }).click();
		const visitor = await customerPage();
		await visitor.goto('/chat');
		await visitor.getByLabel('Your name').fill('Rita Ortiz');
		await visitor.getByLabel('How can we help?').fill('Where do I change my delivery address?');
		await visitor.getByRole('button', { name: 'Start chat' }).click();
		await visitor.getByText('Waiting for an agent…').waitFor();

		await agent.getByRole('row', { name: /Where do I change my delivery address/ }).click();
		const chatBar = agent.getByRole('region', { name: 'Live chat' });
		await chatBar.getByRole('button', { name: 'Serve chat' }).click();
		await visitor.getByText('Alex is here to help').waitFor();
		await chatBar.getByRole('button', { name: 'End chat' }).click();

		// The widget asks at once, over its stream.
		const survey = visitor.getByRole('region', { name: 'How did we do?' });
		await survey.waitFor();
		await survey.getByLabel('Comment (optional)').fill('Quick and friendly.');
		await survey.getByRole('button', { name: 'Good' }).click();
		await survey.getByText('You rated this chat Good').waitFor();
		await expect(survey.getByRole('button', { name: 'Good' }).getAttribute('aria-pressed')).resolves.toBe('true');
		await screenshot(visitor, 'satisfaction-chat-visitor');

		// The agent's open ticket shows it live: a field the server set in the document.
		const badge = agent.locator('.ticket-header').getByTestId('satisfaction');
		await expect.poll(() => badge.innerText()).toContain('Rated good');
		await expect(badge.innerText()).resolves.toContain('Quick and friendly.');
		await agent.getByRole('log', { name: 'Conversation' }).getByText('Rated the support Good: Quick and friendly.').waitFor();
		await screenshot(agent, 'satisfaction-chat-agent');
	});

	it("records a survey mail's Good link in the browser, lets the customer change it, and the dashboard counts it", async () => {
		// The demo's solved email ticket has its survey mail in the outbox.
		const spool = path.join(server.dataDir, 'mail', 'outbox');
		const file = await waitFor(() => (fs.existsSync(spool) ? fs.readdirSync(spool).find((name) => name.startsWith('survey-')) : undefined), 'the demo survey mail');
		const mail = await simpleParser(fs.readFileSync(path.join(spool, file)));
		const good = /Good: (\S+)/.exec(mail.text ?? '')![1]!;

		const customer = await customerPage();
		await customer.goto(good);
		await customer.getByRole('heading', { name: 'How did we do?' }).waitFor();
		await customer.getByText('Thank you! Your answer: Good.').waitFor();
		await customer.getByLabel('Add or change a comment (optional)').fill('Actually the export was missing half our data.');
		await customer.getByRole('button', { name: 'Bad' }).click();
		await customer.getByText('Thank you! Your answer: Bad, with your comment.').waitFor();
		await customer.getByText(/You can change your answer until/).waitFor();
		await screenshot(customer, 'satisfaction-link-page');

		const supervisor = (await browser.person(server.url, 'supervisor@tandem.local', DEMO_PASSWORD)).page;
		supervisor.setDefaultTimeout(15_000);
		await supervisor.goto('/supervisor');
		await supervisor.getByRole('heading', { name: 'Satisfaction today' }).waitFor();
		// The demo's two answers, the chat's good one and this bad one.
		await expect.poll(() => supervisor.getByTestId('csat-total').innerText()).toContain('2 good, 2 bad');
		await supervisor.getByRole('table', { name: 'Satisfaction today by agent' }).getByRole('row', { name: /Alex Agent/ }).waitFor();
		await screenshot(supervisor, 'satisfaction-dashboard');
	});
});
