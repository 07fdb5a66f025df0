/**
 * Attachments in a real browser: an agent attaches a file to a reply (its upload progress shown
 * while it goes), sends the reply, the relay stand-in (smtp-server on a free port) receives the
 * file as a MIME part, and the entry in the conversation offers a download of the same bytes.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, prepare, type Fixture } from '../helpers/fixtures';
import { launchBrowser, screenshot, type BrowserSession } from '../helpers/browser';
import { startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';
import { startRelay, type Relay } from '../helpers/relay';
import { createTicket } from '../helpers/tickets';

let server: RunningServer;
let fx: Fixture;
let browser: BrowserSession;
let relay: Relay;

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

describe('attachments in the workspace', () => {
	it('attaches a file with progress, sends it with the reply as a MIME part, and offers the same bytes for download', async () => {
		const { id } = await createTicket(server, fx.tokens.mail.token, 'Please send the contract');
		const { context, page } = await browser.person(server.url, 'ann@test.local', PASSWORD);
		page.setDefaultTimeout(20_000);
		await page.goto(`/tickets/${id}`);
		const composer = page.getByRole('region', { name: 'Reply composer' });
		await composer.waitFor();
		await page.getByText('Loading ticket…').waitFor({ state: 'detached' });

		// A slow uplink, so that the upload takes long enough to be watched.
		const cdp = await context.newCDPSession(page);
		await cdp.send('Network.enable');
		await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 1024 * 1024 });
		// Every progress value shown, recorded in the page as it changes.
		await page.evaluate(() => {
			const seen: number[] = [];
			(window as unknown as { progressSeen: number[] }).progressSeen = seen;
			new MutationObserver(() => {
				for (const bar of document.querySelectorAll('progress')) seen.push(Number(bar.value) / Number(bar.max));
			}).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['value'] });
		});

		const content = Buffer.from(Array.from({ length: 3 * 1024 * 1024 }, (_, i) => (i * 7) % 256));
		// Keyboard only: the button is focused and pressed like any other.
		const attach = composer.getByRole('button', { name: 'Attach files' });
		// The limits are told before anyone hits them.
		await expect.poll(() => composer.textContent()).toContain('Up to 10 files, 25 MB each');
		const [chooser] = await Promise.all([page.waitForEvent('filechooser'), attach.press('Enter')]);
		await chooser.setFiles({ name: 'contract 2026.pdf', mimeType: 'application/pdf', buffer: content });
		const item = composer.getByRole('list', { name: 'Attached files' }).getByRole('listitem');
		await expect.poll(() => item.textContent()).toContain('contract 2026.pdf');
		await composer.getByRole('progressbar', { name: 'Uploading contract 2026.pdf' }).waitFor();
		await composer.getByRole('progressbar').waitFor({ state: 'detached', timeout: 30_000 });
		const seen = await page.evaluate(() => (window as unknown as { progressSeen: number[] }).progressSeen);
		expect(seen.some((fraction) => fraction > 0 && fraction < 1), `progress values: ${seen.slice(0, 20).join(', ')}`).toBe(true);
		await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });

		// A second file, removed again before sending: it does not go out.
		const [again] = await Promise.all([page.waitForEvent('filechooser'), attach.click()]);
		await again.setFiles({ name: 'draft notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not for the customer') });
		await expect.poll(() => item.count()).toBe(2);
		await composer.getByRole('button', { name: 'Remove draft notes.txt' }).click();
		await expect.poll(() => item.count()).toBe(1);

		await composer.locator('.cm-content').click();
		await page.keyboard.type('Here is the signed contract.');
		await composer.getByRole('button', { name: 'Send', exact: true }).click();

		const mail = await waitFor(() => relay.accepted.map((a) => a.mail).find((m) => m.text?.includes('Here is the signed contract.')), 'the reply at the relay', 30_000);
		expect(mail.attachments.map((a) => a.filename)).toEqual(['contract 2026.pdf']);
		expect(mail.attachments[0]!.contentType).toBe('application/pdf');
		expect(Buffer.compare(mail.attachments[0]!.content, content)).toBe(0);

		const entry = page.locator('[data-entry-id]', { hasText: 'Here is the signed contract.' });
		const link = entry.getByRole('link', { name: 'contract 2026.pdf' });
		await link.waitFor();
		expect(await entry.getByRole('list', { name: 'Attachments' }).textContent()).toContain('3.0 MB');
		await screenshot(page, 'attachments-sent');
		const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
		expect(download.suggestedFilename()).toBe('contract 2026.pdf');
		expect(Buffer.compare(fs.readFileSync((await download.path())!), content)).toBe(0);
		// The composer is empty again: the files went with the reply.
		expect(await composer.getByRole('list', { name: 'Attached files' }).count()).toBe(0);
		await context.close();
	});
});
