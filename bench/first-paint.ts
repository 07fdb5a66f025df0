/**
 * (7) First paint in the browser: a 10,000-entry ticket opened in Chromium, time from the start
 * of the navigation to the newest entry being visible (laid out inside the viewport), taken inside
 * the page at the first animation frame that shows it: a measurement from outside would wait for
 * the page's main thread, busy with the scripts by then. Tandem only (the reference has no UI).
 */
import { launchBrowser } from '../tests/helpers/browser';
import { fillTicket } from './load';
import type { TandemServer } from './servers';

export interface FirstPaintResult {
	/** Per round, ms from navigation start to the newest entry on screen. */
	rounds: number[];
	median: number;
}

export async function firstPaint(server: TandemServer, o: { entries: number; rounds: number }): Promise<FirstPaintResult> {
	const ticket = await server.createTicket();
	await fillTicket(server, ticket, o.entries - 1, 100);
	const ticketId = ticket.docName.slice('ticket:'.length);
	const newest = await server.newestEntryId(ticketId);
	const browser = await launchBrowser();
	const rounds: number[] = [];
	try {
		for (let i = 0; i < o.rounds; i++) {
			// A fresh context each round: no cached app, the ticket loaded from scratch.
			const context = await browser.browser.newContext({ viewport: { width: 1440, height: 900 } });
			await context.addCookies([{ name: 'tandem_session', value: server.agentSessionToken(0), url: server.url }]);
			// As source text: a compiled function could call helpers the page does not have.
			await context.addInitScript(`(() => {
				const check = () => {
					const rect = document.querySelector('[data-entry-id="${newest}"]')?.getBoundingClientRect();
					if (rect && rect.height > 0 && rect.top >= 0 && rect.bottom <= innerHeight) window.newestVisibleAt = performance.now();
					else requestAnimationFrame(check);
				};
				requestAnimationFrame(check);
			})()`);
			const page = await context.newPage();
			await page.goto(`${server.url}/tickets/${ticketId}`, { waitUntil: 'commit' });
			const visibleAt = await page.waitForFunction(() => (window as unknown as { newestVisibleAt?: number }).newestVisibleAt, null, { timeout: 30_000 });
			rounds.push((await visibleAt.jsonValue()) as number);
			await context.close();
		}
	} finally {
		await browser.close();
	}
	const sorted = [...rounds].sort((a, b) => a - b);
	return { rounds, median: sorted[Math.floor(sorted.length / 2)] };
}
