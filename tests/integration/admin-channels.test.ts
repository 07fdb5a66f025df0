/**
 * The admin page's Channels section through the real server: creating a messaging channel shows
 * its signing secret once and that secret signs webhooks; editing changes the outbound URL;
 * rotating the secret retires the old one; invalid input is refused naming the field; agents
 * cannot use the actions.
 *
 * Form posts are page posts (urlencoded, the server's own Origin, Accept: text/html) with the
 * admin's session cookie, as in sessions.test.ts.
 */
import { sql } from 'drizzle-orm';
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countRows } from '../helpers/db';
import { sendPage } from '../helpers/pages';
import { prepare, type Fixture } from '../helpers/fixtures';
import { startServer, tempDataDir, type RunningServer } from '../helpers/server';

const hmac = (secret: string, timestamp: string, body: string) => createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
const occurrences = (text: string, part: string) => text.split(part).length - 1;

describe('admin page: channels', () => {
	let server: RunningServer;
	let fx: Fixture;
	let dataDir: string;

	const send = (method: 'GET' | 'POST', route: string, cookie: string, form?: Record<string, string>) => sendPage(server, method, route, cookie, form);
	const admin = (action: string, form: Record<string, string>) => send('POST', `/admin?/${action}`, fx.users.root.token, form);
	const adminPage = () => send('GET', '/admin', fx.users.root.token);

	let eventNo = 0;
	async function deliver(channelId: string, secret: string) {
		const body = JSON.stringify({ eventId: `evt-${++eventNo}`, from: { id: 'visitor-7', name: 'Robin' }, text: `Message ${eventNo}` });
		const timestamp = String(Math.floor(Date.now() / 1000));
		const response = await fetch(`${server.url}/api/v1/channels/${channelId}/webhook`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', 'x-tandem-timestamp': timestamp, 'x-tandem-signature': `sha256=${hmac(secret, timestamp, body)}` },
			body
		});
		return response.status;
	}

	/** The one secret a page shows: rendered once in the secret panel (and, for hydration, in the page's form data). */
	const secretIn = (html: string) => {
		const found = new Set(html.match(/whsec_[A-Za-z0-9_-]{20,}/g) ?? []);
		expect(found.size).toBe(1);
		const [secret] = found;
		expect(html.match(new RegExp(`<code[^>]*>${secret}</code>`, 'g'))).toHaveLength(1);
		return secret!;
	};
	const channelRow = (name: string) => countRows(dataDir, sql`SELECT count(*) AS n FROM channels WHERE name = ${name}`);
	const channelId = (html: string) => {
		const match = /\/api\/v1\/channels\/([0-9A-Z]{26})\/webhook/.exec(html);
		expect(match).not.toBeNull();
		return match![1]!;
	};

	beforeAll(async () => {
		dataDir = tempDataDir();
		fx = await prepare(dataDir, { users: { root: { role: 'admin', groups: ['Billing'] }, ann: { role: 'agent' } } });
		server = await startServer({ dataDir, env: { SUPPORT_ADDRESS: 'help@example.test' } });
	});
	afterAll(async () => {
		expect(await server?.stop()).toBe(0);
	});

	let id: string;
	let secret: string;

	it('shows the support address read-only and no channels yet', async () => {
		const page = await adminPage();
		expect(page.status).toBe(200);
		expect(page.text).toContain('help@example.test');
		expect(page.text).toContain('SUPPORT_ADDRESS');
		expect(page.text).toContain('No channels yet.');
	});

	it('creates a channel and shows its secret once; the secret signs webhooks', async () => {
		const created = await admin('createChannel', { kind: 'messaging', name: 'web-widget', outboundUrl: 'https://bridge.test/outbound' });
		expect(created.status, created.text).toBe(200);
		secret = secretIn(created.text);
		id = channelId(created.text);
		expect(created.text).toContain(`${server.url}/api/v1/channels/${id}/webhook`);
		expect(await channelRow('web-widget')).toBe(1);
		expect(await deliver(id, secret)).toBe(200);

		const page = await adminPage();
		expect(page.text).not.toContain(secret);
		expect(page.text).not.toMatch(/whsec_/);
		expect(page.text).toContain('web-widget');
		expect(page.text).toContain('https://bridge.test/outbound');
		expect(page.text).toContain(`${server.url}/api/v1/channels/${id}/webhook`);
	});

	it('edits the name and outbound URL', async () => {
		const saved = await admin('updateChannel', { channelId: id, name: 'widget', outboundUrl: 'http://relay.example:8080/hook' });
		expect(saved.status, saved.text).toBe(200);
		expect(saved.text).toContain('Channel “widget” saved.');
		const page = await adminPage();
		expect(page.text).toContain('http://relay.example:8080/hook');
		expect(page.text).not.toContain('https://bridge.test/outbound');
		expect(await channelRow('widget')).toBe(1);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM events WHERE type = 'channel.updated'`)).toBe(1);
		// Emptied, the outbound URL is removed.
		expect((await admin('updateChannel', { channelId: id, name: 'widget', outboundUrl: '' })).status).toBe(200);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM channels WHERE id = ${id} AND outbound_url IS NULL`)).toBe(1);
	});

	it('rotates the secret: the old one is refused, the new one accepted', async () => {
		const rotated = await admin('rotateChannelSecret', { channelId: id });
		expect(rotated.status, rotated.text).toBe(200);
		const fresh = secretIn(rotated.text);
		expect(fresh).not.toBe(secret);
		expect(await deliver(id, secret)).toBe(401);
		expect(await deliver(id, fresh)).toBe(200);
		expect((await adminPage()).text).not.toContain(fresh);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM events WHERE type IN ('channel.created', 'channel.secret_rotated')`)).toBe(2);
		expect((await admin('rotateChannelSecret', { channelId: 'nope' })).status).toBe(404);
	});

	it('refuses invalid input with a 400 naming the field, and stores nothing', async () => {
		for (const outboundUrl of ['not a url', 'ftp://files.example/x', 'javascript:alert(1)']) {
			const refused = await admin('createChannel', { kind: 'social', name: 'bad', outboundUrl });
			expect(refused.status, outboundUrl).toBe(400);
			expect(refused.text).toContain('outboundUrl:');
			expect(refused.text).not.toMatch(/whsec_/);
		}
		const badEdit = await admin('updateChannel', { channelId: id, name: 'widget', outboundUrl: 'nope' });
		expect(badEdit.status).toBe(400);
		expect(badEdit.text).toContain('outboundUrl:');
		const badKind = await admin('createChannel', { kind: 'email', name: 'bad' });
		expect(badKind.status).toBe(400);
		expect(badKind.text).toContain('kind:');
		const taken = await admin('createChannel', { kind: 'social', name: 'widget' });
		expect(taken.status).toBe(400);
		expect(taken.text).toContain('name:');
		expect(await channelRow('bad')).toBe(0);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM channels`)).toBe(1);
	});

	it('refuses the actions to an agent (403)', async () => {
		const created = await send('POST', '/admin?/createChannel', fx.users.ann.token, { kind: 'messaging', name: 'sneaky' });
		expect(created.status).toBe(403);
		const rotated = await send('POST', '/admin?/rotateChannelSecret', fx.users.ann.token, { channelId: id });
		expect(rotated.status).toBe(403);
		expect(rotated.text).not.toMatch(/whsec_/);
		expect(await channelRow('sneaky')).toBe(0);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM events WHERE type = 'channel.secret_rotated'`)).toBe(1);
	});

	it('adds, edits and removes support addresses; refuses a duplicate, a bad address or group', async () => {
		const groupId = fx.groups.Billing!;
		const added = await admin('addSupportAddress', { address: 'billing@tandem.local', name: 'Billing', groupId });
		expect(added.status).toBe(200);
		expect(added.text).toContain('Mail to billing@tandem.local now reaches Tandem.');
		const row = () => countRows(dataDir, sql`SELECT count(*) AS n FROM support_addresses WHERE address = ${'billing@tandem.local'} AND group_id IS NOT DISTINCT FROM ${groupId}`);
		expect(await row()).toBe(1);
		expect((await adminPage()).text).toContain('billing@tandem.local');
		for (const [form, field] of [
			[{ address: 'billing@tandem.local', name: 'Again' }, 'is a support address already'],
			[{ address: 'help@example.test', name: 'Again' }, 'is a support address already'],
			[{ address: 'not an address', name: 'x' }, 'address:'],
			[{ address: 'help+x@tandem.local', name: 'x' }, 'plus part'],
			[{ address: 'help@tandem.local', name: 'x', groupId: 'no-such-group' }, 'groupId:']
		] as const) {
			const refused = await admin('addSupportAddress', form);
			expect(refused.status, JSON.stringify(form)).toBeGreaterThanOrEqual(400);
			expect(refused.text).toContain(field);
		}
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM support_addresses`)).toBe(1);
		expect((await admin('updateSupportAddress', { address: 'billing@tandem.local', name: 'Invoices', groupId: '' })).status).toBe(200);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM support_addresses WHERE name = 'Invoices' AND group_id IS NULL`)).toBe(1);
		expect((await send('POST', '/admin?/removeSupportAddress', fx.users.ann.token, { address: 'billing@tandem.local' })).status).toBe(403);
		expect((await admin('removeSupportAddress', { address: 'billing@tandem.local' })).status).toBe(200);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM support_addresses`)).toBe(0);
		expect((await admin('removeSupportAddress', { address: 'billing@tandem.local' })).status).toBe(404);
	});
});
