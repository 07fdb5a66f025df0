/** The icon browsers ask for on their own (`/favicon.ico`) and the one the pages link to. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server';

describe('favicon', () => {
	let server: RunningServer;
	beforeAll(async () => {
		server = await startServer();
	});
	afterAll(() => server?.kill());

	it('/favicon.ico is a 16×16 Windows icon', async () => {
		const response = await fetch(`${server.url}/favicon.ico`);
		expect(response.status).toBe(200);
		expect(response.headers.get('content-type')).toMatch(/^image\//);
		const bytes = Buffer.from(await response.arrayBuffer());
		// ICONDIR: reserved 0, type 1 (icon), one image of 16×16.
		expect([bytes.readUInt16LE(0), bytes.readUInt16LE(2), bytes.readUInt16LE(4), bytes[6], bytes[7]]).toEqual([0, 1, 1, 16, 16]);
	});

	it('the sign-in page links both icons, and each link answers with an image', async () => {
		const page = await (await fetch(`${server.url}/login`)).text();
		const links = [...page.matchAll(/<link rel="icon" href="([^"]+)"/g)].map((m) => m[1]);
		expect(links.map((href) => href.replace(/^.*\//, ''))).toEqual(['favicon.ico', 'favicon.svg']);
		for (const href of links) {
			const response = await fetch(new URL(href, `${server.url}/login`));
			expect(response.status, href).toBe(200);
			expect(response.headers.get('content-type'), href).toMatch(/^image\//);
		}
	});
});
