/**
 * An internal side conversation reaches the colleague it names, in real Chromium: the picker offers
 * colleagues who may see the ticket, the named colleague gets a notification, and clicking it opens
 * the ticket with that side conversation open.
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
	fx = await prepare(dataDir, {
		users: { ann: { role: 'agent', groups: ['Support'] }, ben: { role: 'agent', groups: ['Support'] }, carl: { role: 'agent', groups: ['Billing'] }, root: { role: 'admin' } },
		bots: { mail: ['email'] }
	});
	server = await startServer({ dataDir });
	browser = await launchBrowser();
});

afterAll(async () => {
	await browser?.close();
	await server?.stop();
});

describe('internal side conversation notifications', () => {
	it('offers only colleagues who may see the ticket, notifies the one named, and the notification opens the side conversation', async () => {
		const ticket = await createTicket(server, fx.tokens.mail.token, 'Stove leaks gas');
		const ann = (await browser.person(server.url, fx.users.ann.email, PASSWORD)).page;
		const ben = (await browser.person(server.url, fx.users.ben.email, PASSWORD)).page;
		for (const page of [ann, ben]) page.setDefaultTimeout(15_000);
		// Notices are not stored: Ben hears of one only once his workspace's stream is open.
		await waitFor(async () => {
			const { body } = await api(server, fx.users.root.token).request('GET', '/api/v1/supervisor/dashboard');
			return body.agents.find((a: { id: string }) => a.id === fx.users.ben.id)?.connected === true;
		}, "Ben's workspace connected");
		await ann.goto(`/tickets/${ticket.id}`);
		await ann.getByText('Loading ticket…').waitFor({ state: 'detached' });
		// Filed in Support: Carl (Billing) may not see it, so he is not offered.
		await ann.getByRole('combobox', { name: 'Group' }).selectOption({ label: 'Support' });

		await ann.getByRole('button', { name: 'Start side conversation' }).first().click();
		const form = ann.getByRole('form', { name: 'Start side conversation' });
		await form.getByLabel('Subject').fill('Is this model recalled?');
		await form.getByLabel('Channel').selectOption('internal');
		await form.getByRole('checkbox', { name: 'ben' }).waitFor();
		await expect(form.getByRole('checkbox', { name: 'carl' }).count()).resolves.toBe(0);
		await form.getByRole('checkbox', { name: 'ben' }).check();
		await form.getByLabel(/message/i).fill('Ben, you handled the last recall: is the Flame 3 on it?');
		await form.getByRole('button', { name: 'Start side conversation' }).click();

		const notice = ben.getByRole('region', { name: 'Offers and notifications' }).getByRole('button', { name: /Side conversation #\d+ · Is this model recalled\?/ });
		await notice.waitFor();
		await screenshot(ben, 'side-notification');
		await notice.click();
		await ben.waitForURL(`**/tickets/${ticket.id}#side-*`);
		await ben.getByText('Ben, you handled the last recall: is the Flame 3 on it?').waitFor();
		await expect(ben.getByRole('button', { name: /Is this model recalled\?/ }).getAttribute('aria-expanded')).resolves.toBe('true');
	});
});
