/**
 * Real Chromium for browser tests: Debian's /usr/bin/chromium driven by playwright-core, with a
 * fresh profile per browser. A missing browser fails the run; browser tests are never skipped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = path.resolve('test-results/screenshots');

const FLAGS = [
	'--headless',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync'
];

export interface BrowserSession {
	browser: Browser;
	/** A new browser context (its own cookies): one signed-in person. */
	person(baseUrl: string, email: string, password: string): Promise<{ context: BrowserContext; page: Page }>;
	close(): Promise<void>;
}

export async function launchBrowser(): Promise<BrowserSession> {
	if (!fs.existsSync(CHROMIUM)) {
		throw new Error(`Chromium is required for the browser tests and was not found at ${CHROMIUM} (apt-get install -y chromium)`);
	}
	// playwright-core's launch() gives each browser a fresh, temporary --user-data-dir of its own.
	const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
	return {
		browser,
		async person(baseUrl, email, password) {
			const context = await browser.newContext({ baseURL: baseUrl, viewport: { width: 1440, height: 900 } });
			const page = await context.newPage();
			await signIn(page, email, password);
			return { context, page };
		},
		async close() {
			await browser.close();
		}
	};
}

export async function signIn(page: Page, email: string, password: string) {
	// Once the scripts are in, the form is enhanced: the sign-in is one client-side navigation.
	await page.goto('/login', { waitUntil: 'networkidle' });
	await page.getByLabel('Email').fill(email);
	await page.getByLabel('Password').fill(password);
	await page.getByRole('button', { name: 'Sign in' }).click();
	// Polls the address rather than waiting for a navigation event: the redirect is a client-side
	// navigation once the page is hydrated, and a full page load before.
	const outcome = await Promise.race([
		page
			.waitForFunction(() => !location.pathname.startsWith('/login'), null, { polling: 50 })
			.then(() => null)
			.catch(async (error) => `${(error as Error).message}; the page at ${page.url()} says: ${(await page.locator('body').innerText().catch(() => '?')).slice(0, 300)}`),
		page
			.getByRole('alert')
			.waitFor()
			.then(() => page.getByRole('alert').innerText())
			.catch(() => null)
	]);
	if (outcome !== null) throw new Error(`sign-in as ${email} failed: ${outcome}`);
}

export async function screenshot(page: Page, name: string) {
	fs.mkdirSync(SCREENSHOTS, { recursive: true });
	await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}

/** The id of the ticket titled `subject`, found as a person would: by searching for `query`. */
export async function findTicketId(page: Page, query: string, subject: string): Promise<string> {
	const list = await (await page.request.get(`/api/v1/tickets?q=${encodeURIComponent(query)}&limit=5`)).json();
	const found = list.tickets.find((t: { subject: string }) => t.subject === subject);
	if (!found) throw new Error(`no ticket "${subject}" among the results for ${query}`);
	return found.id;
}
