/**
 * The chat widget in a real browser: a customer on another site (a page served here on its own
 * port, embedding /widget.js) chats with an agent in the workspace, both ways live, with typing,
 * the visitor path, serving and ending the chat.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type BrowserSession } from '../helpers/browser';
import { ROOT, startServer, tempDataDir, type RunningServer } from '../helpers/server';

const DEMO_PASSWORD = 'tandem-demo';

/** The demo shop pages (static/demo), served from another origin with the widget pointing at Tandem. */
function startShop(tandemUrl: string): Promise<{ url: string; close(): Promise<void> }> {
	const server = http.createServer((req, res) => {
		const name = (req.url ?? '/').split('?')[0] === '/orders.html' ? 'orders.html' : 'index.html';
		const html = fs
			.readFileSync(path.join(ROOT, 'static/demo', name), 'utf8')
			.replace('src="/widget.js"', `src="${tandemUrl}/widget.js"`)
			.replaceAll('/demo/', '/');
		res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
	});
	return new Promise((resolve) =>
		server.listen(0, '127.0.0.1', () =>
			resolve({
				url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
				close: () => new Promise<void>((done) => server.close(() => done()))
			})
		)
	);
}

let server: RunningServer;
let shop: Awaited<ReturnType<typeof startShop>>;
let browser: BrowserSession;
let agent: Page;
let visitor: Page;

beforeAll(async () => {
	server = await startServer({ dataDir: tempDataDir(), env: { SEED: '1' } });
	shop = await startShop(server.url);
	browser = await launchBrowser();
	agent = (await browser.person(server.url, 'alex@tandem.local', DEMO_PASSWORD)).page;
	visitor = await (await browser.browser.newContext({ viewport: { width: 1100, height: 800 } })).newPage();
	for (const p of [agent, visitor]) p.setDefaultTimeout(15_000);
});

afterAll(async () => {
	await browser?.close();
	await shop?.close();
	await server?.stop();
});

const chatFrame = (page: Page): FrameLocator => page.frameLocator('iframe[title="Chat"]');
const chatBar = (page: Page) => page.getByRole('region', { name: 'Live chat' });
const editor = (page: Page) => page.getByRole('region', { name: 'Reply composer' }).locator('.cm-content');

describe('live chat widget', () => {
	it('carries a chat between a visitor on another site and an agent, until the agent ends it', async () => {
		await agent.goto('/');
		await agent.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: /Unassigned in my groups/ }).click();
		await visitor.goto(shop.url + '/');
		await visitor.getByRole('button', { name: 'Chat with us' }).click();
		const frame = chatFrame(visitor);
		await frame.getByLabel('Your name').fill('Maggie Chen');
		await frame.getByLabel('Email').fill('maggie.widget@example.com');
		await frame.getByLabel('How can we help?').fill('My trail tent has not arrived');
		await frame.getByRole('button', { name: 'Start chat' }).click();
		await frame.getByText('Waiting for an agent…').waitFor();

		// The chat ticket appears in the agent's list live; the agent opens it.
		const row = agent.getByRole('row', { name: /My trail tent has not arrived/ });
		await row.waitFor();
		await row.click();
		await agent.getByRole('log', { name: 'Conversation' }).getByText('My trail tent has not arrived').waitFor();
		await expect(chatBar(agent).getByTestId('visitor-presence').innerText()).resolves.toBe('Online');
		await chatBar(agent).getByText('Waiting for an agent').waitFor();
		await agent.getByRole('link', { name: 'Northwind Outfitters' }).waitFor();

		await chatBar(agent).getByRole('button', { name: 'Serve chat' }).click();
		await chatBar(agent).getByText('Served by Alex').waitFor();
		await frame.getByText('Alex is here to help').waitFor();

		// Visitor typing, then writing.
		const box = frame.getByLabel('Message', { exact: true });
		await box.pressSequentially('It is order 1042');
		await chatBar(agent).getByText('Maggie Chen is typing…').waitFor();
		await box.press('Enter');
		await agent.getByRole('log', { name: 'Conversation' }).getByText('It is order 1042').waitFor();

		// Agent typing, then replying on chat.
		await expect(agent.getByLabel('Reply channel').inputValue()).resolves.toBe('chat');
		await editor(agent).click();
		await agent.keyboard.type('Thanks Maggie, let me check the carrier.');
		await frame.getByText('Alex is typing…').waitFor();
		await agent.getByRole('button', { name: 'Send', exact: true }).click();
		await frame.getByText('Thanks Maggie, let me check the carrier.').waitFor();

		// The visitor moves to another page of the shop: the agent sees it live in the visitor path.
		await visitor.getByRole('link', { name: 'My orders' }).click();
		await agent.getByRole('link', { name: 'My orders · Northwind Outfitters' }).waitFor();
		// The chat stays open across the page change, with its history.
		await chatFrame(visitor).getByText('Thanks Maggie, let me check the carrier.').waitFor();
		await screenshot(visitor, 'chat-widget-visitor');
		await screenshot(agent, 'chat-widget-agent');

		await chatBar(agent).getByRole('button', { name: 'End chat' }).click();
		await chatBar(agent).getByText('Chat ended').waitFor();
		await chatFrame(visitor).getByText('This chat has ended').first().waitFor();
		await expect(chatFrame(visitor).getByLabel('Message', { exact: true }).count()).resolves.toBe(0);
		// Follow-ups go by email now.
		await expect.poll(() => agent.getByLabel('Reply channel').inputValue()).toBe('email');
		await agent.getByRole('log', { name: 'Conversation' }).getByText('Chat ended by Alex').waitFor();
		await screenshot(agent, 'chat-ended-agent');
	});

	it("tells Maggie's story in one ticket: a chat, ended, an email follow-up with a reference number, then a call", async () => {
		await agent.goto('/');
		await agent.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: /Unassigned in my groups/ }).click();
		const maggie = await (await browser.browser.newContext({ viewport: { width: 1100, height: 800 } })).newPage();
		maggie.setDefaultTimeout(15_000);
		await maggie.goto(shop.url + '/orders.html');
		await maggie.getByRole('button', { name: 'Chat with us' }).click();
		const frame = chatFrame(maggie);
		// She gives the seeded Maggie's email: only a claim, so the chat starts under an unverified contact.
		await frame.getByLabel('Your name').fill('Maggie Chen');
		await frame.getByLabel('Email').fill('maggie.chen@example.com');
		await frame.getByLabel('How can we help?').fill('My refund for order 48213 still has not arrived');
		await frame.getByRole('button', { name: 'Start chat' }).click();

		const conversation = agent.getByRole('log', { name: 'Conversation' });
		await agent.getByRole('row', { name: /My refund for order 48213/ }).click();
		await conversation.getByText('My refund for order 48213 still has not arrived').waitFor();
		await chatBar(agent).getByText('Unverified · says maggie.chen@example.com').waitFor();
		await chatBar(agent).getByRole('button', { name: 'Serve chat' }).click();
		// The agent knows her: linking files the chat under her customer record (and her phone number).
		await agent.getByRole('button', { name: 'Link to maggie.chen@example.com' }).click();
		await chatBar(agent).getByText('Unverified', { exact: false }).waitFor({ state: 'detached' });
		await editor(agent).click();
		await agent.keyboard.type('Sorry Maggie, I will look into it and email you a reference number.');
		await agent.getByRole('button', { name: 'Send', exact: true }).click();
		await frame.getByText('I will look into it and email you a reference number.').waitFor();
		await chatBar(agent).getByRole('button', { name: 'End chat' }).click();
		await frame.getByText('This chat has ended').first().waitFor();

		// The follow-up goes by email, from the same ticket.
		await expect.poll(() => agent.getByLabel('Reply channel').inputValue()).toBe('email');
		await editor(agent).click();
		await agent.keyboard.type('Hello Maggie, your refund reference is RF-5512-0931.');
		await agent.getByRole('button', { name: 'Send', exact: true }).click();
		const email = agent.locator('[data-entry-id]', { hasText: 'RF-5512-0931' });
		await email.locator('.delivery.sent').waitFor();

		// Then a call to her, from the ticket header.
		await agent.locator('.ticket-header').getByRole('button', { name: 'Call' }).click();
		const call = agent.getByRole('region', { name: 'Current call' });
		await call.getByText('Connected').waitFor();
		await call.getByRole('button', { name: 'End' }).click();
		const callEntry = agent.locator('[data-entry-id]', { hasText: 'Outbound call, ' }).last();
		await callEntry.waitFor();
		await screenshot(agent, 'maggie-story');

		// One ticket holds it all, in order.
		const ids = await conversation.locator('[data-entry-id]').evaluateAll((nodes) => nodes.map((n) => n.textContent ?? ''));
		const at = (text: string) => ids.findIndex((t) => t.includes(text));
		const order = [
			at('My refund for order 48213 still has not arrived'),
			at('email you a reference number'),
			at('Chat ended by Alex'),
			at('RF-5512-0931'),
			at('Outbound call, ')
		];
		expect(order.every((i) => i >= 0)).toBe(true);
		expect([...order].sort((a, b) => a - b)).toEqual(order);
		await maggie.context().close();
	});
});
