/**
 * Merging and splitting where a person does it, in real Chromium: merging from the ticket's action
 * menu through the picker and its confirmation, the merged entries arriving live for a colleague
 * on the target, the banner appearing on the source's open tab; then splitting two entries off.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchBrowser, screenshot, type BrowserSession } from '../helpers/browser';
import { PASSWORD, prepare, type Fixture } from '../helpers/fixtures';
import { startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';
import { createTicket } from '../helpers/tickets';

let server: RunningServer;
let fx: Fixture;
let browser: BrowserSession;

beforeAll(async () => {
	const dataDir = tempDataDir();
	fx = await prepare(dataDir, {
		users: { ann: { role: 'agent', groups: ['Support'] }, ben: { role: 'agent', groups: ['Support'] }, cy: { role: 'agent', groups: ['Support'] } },
		bots: { mail: ['email'] }
	});
	server = await startServer({ dataDir });
	browser = await launchBrowser();
});

afterAll(async () => {
	await browser?.close();
	await server?.stop();
});

async function signIn(who: 'ann' | 'ben' | 'cy'): Promise<Page> {
	const page = (await browser.person(server.url, fx.users[who].email, PASSWORD)).page;
	page.setDefaultTimeout(15_000);
	return page;
}

async function openTicket(page: Page, id: string) {
	await page.goto(`/tickets/${id}`);
	await page.getByRole('region', { name: 'Reply composer' }).waitFor();
	await page.getByText('Loading ticket…').waitFor({ state: 'detached' });
}

const conversation = (page: Page) => page.getByRole('log', { name: 'Conversation' });

describe('merge and split in the workspace', () => {
	it('merges from the menu (the colleague on the target sees the entries arrive, the source tab shows the banner), then splits two entries off', async () => {
		const source = await createTicket(server, fx.tokens.mail.token, 'Printer jams on page two', { email: 'lee@example.com', name: 'Lee Park' }, 'The printer jams on every second page.');
		const target = await createTicket(server, fx.tokens.mail.token, 'Printer problems', { email: 'kim@example.com', name: 'Kim Ray' }, 'Our office printer is acting up.');
		const [ann, ben, cy] = [await signIn('ann'), await signIn('ben'), await signIn('cy')];
		await openTicket(ann, source.id);
		await openTicket(ben, target.id);
		await openTicket(cy, source.id);

		// Ann merges the source into the target, finding it by number, from the keyboard.
		await ann.getByRole('button', { name: 'More actions' }).click();
		await ann.getByRole('menuitem', { name: 'Merge into another ticket…' }).press('Enter');
		const dialog = ann.getByRole('dialog');
		await dialog.getByRole('combobox', { name: 'Find the ticket by number or subject' }).fill(`#${target.number}`);
		await dialog.getByRole('option', { name: /Printer problems/ }).waitFor();
		await dialog.getByRole('combobox').press('Enter');
		await expect(dialog.getByRole('heading').innerText()).resolves.toBe(`Merge into #${target.number}?`);
		await expect(dialog.innerText()).resolves.toContain(`#${source.number} Printer jams on page two will be closed and point to #${target.number} Printer problems`);
		await screenshot(ann, 'merge-confirm');
		await dialog.getByRole('button', { name: `Merge into #${target.number}` }).click();
		await dialog.waitFor({ state: 'detached' });

		// Ben, on the target, sees the source's message and the note arrive; Ann is taken there.
		await conversation(ben).getByText('The printer jams on every second page.').waitFor();
		await conversation(ben).getByText(`Merged from #${source.number} by ann.`).waitFor();
		await ann.waitForURL(`**/tickets/${target.id}`);
		// The source's customer is offered as a CC of the target's replies.
		await waitFor(async () => (await ben.getByLabel('CC', { exact: true }).inputValue()) === 'lee@example.com', "the source's customer as CC");
		await screenshot(ben, 'merge-target');

		// Cy's tab on the source shows where it went, and follows the link.
		const banner = cy.getByRole('note').filter({ hasText: 'This ticket was merged into' });
		await banner.waitFor();
		await expect(banner.getByRole('link').innerText()).resolves.toBe(`#${target.number}`);
		await expect(cy.getByRole('button', { name: 'More actions' }).count()).resolves.toBe(0);
		await screenshot(cy, 'merge-banner');
		await banner.getByRole('link').click();
		await cy.waitForURL(`**/tickets/${target.id}`);

		// Ann splits the two customers' first messages off into a new ticket.
		await conversation(ann).getByText('The printer jams on every second page.').waitFor();
		await ann.getByRole('button', { name: 'More actions' }).click();
		await ann.getByRole('menuitem', { name: 'Split…' }).click();
		const bar = ann.getByRole('region', { name: 'Split' });
		await expect(bar.getByRole('button', { name: 'Split into new ticket' }).isDisabled()).resolves.toBe(true);
		await ann.getByRole('checkbox', { name: 'Split off the message from Lee Park' }).check();
		await ann.getByRole('checkbox', { name: 'Split off the message from Kim Ray' }).check();
		await expect(bar.innerText()).resolves.toContain('2 entries selected');
		await screenshot(ann, 'split-mode');
		await bar.getByRole('button', { name: 'Split into new ticket' }).click();
		await ann.waitForURL((url) => !url.pathname.endsWith(target.id) && url.pathname.startsWith('/tickets/'));
		await ann.getByText('Loading ticket…').waitFor({ state: 'detached' });
		const created = conversation(ann);
		await created.getByText('Our office printer is acting up.').waitFor();
		await created.getByText('The printer jams on every second page.').waitFor();
		await created.getByText(`Split from #${target.number} by ann.`).waitFor();
		await conversation(ben).getByText(/^Split into #\d+ by ann\.$/).waitFor();
	});
});
