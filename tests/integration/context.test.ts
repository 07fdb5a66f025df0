/**
 * The context panel's API on a real server: the customer profile and interaction history, the
 * help centre (FTS5 ranking, snippets, drafts kept from customers), custom objects (type
 * definitions, records checked against them, linking to tickets) and apps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepare, type Fixture } from '../helpers/fixtures';
import { setField } from '../../src/lib/ticket';
import { api, connectPeer, startServer, tempDataDir, waitFor, type Api, type RunningServer } from '../helpers/server';

let server: RunningServer;
let fx: Fixture;
let admin: Api, agent: Api, supervisor: Api, bot: Api, anonymous: Api;
let ticket: { id: string; requesterId: string };

beforeAll(async () => {
	const dataDir = tempDataDir();
	fx = await prepare(dataDir, {
		users: {
			ada: { role: 'admin', groups: ['Billing'] },
			alex: { role: 'agent', groups: ['Billing'] },
			casey: { role: 'agent', groups: ['Technical'] },
			sam: { role: 'supervisor' }
		},
		bots: { shop: ['email', 'chat'] }
	});
	server = await startServer({ dataDir });
	admin = api(server, fx.users.ada.token);
	agent = api(server, fx.users.alex.token);
	supervisor = api(server, fx.users.sam.token);
	bot = api(server, fx.tokens.shop.token);
	anonymous = api(server);
	const created = await bot.request('POST', '/api/v1/tickets', {
		subject: 'Where is my refund for order 1001?',
		requester: { email: 'maggie@example.com', name: 'Maggie Chen' },
		channel: 'email',
		body: 'Hello, I returned the tent two weeks ago.'
	});
	expect(created.status).toBe(201);
	ticket = created.body;
});

afterAll(async () => {
	await server?.stop();
});

describe('customer profile', () => {
	it('agents edit the profile and addresses; the answer and GET show them', async () => {
		const res = await agent.request('PATCH', `/api/v1/customers/${ticket.requesterId}`, {
			organisation: 'Chen Design Studio',
			notes: 'Prefers email.',
			tags: ['vip'],
			addAddresses: [{ channel: 'talk', address: '+1 555 0142' }]
		});
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({ name: 'Maggie Chen', organisation: 'Chen Design Studio', notes: 'Prefers email.', tags: ['vip'] });
		expect(res.body.addresses).toEqual(expect.arrayContaining([{ channel: 'talk', address: '+15550142' }, { channel: 'email', address: 'maggie@example.com' }]));
		const removed = await agent.request('PATCH', `/api/v1/customers/${ticket.requesterId}`, { removeAddresses: [{ channel: 'talk', address: '+1 555 0142' }] });
		expect(removed.body.addresses).toEqual([{ channel: 'email', address: 'maggie@example.com' }]);
		const read = await bot.request('GET', `/api/v1/customers/${ticket.requesterId}`);
		expect(read.body.organisation).toBe('Chen Design Studio');
	});

	it('validates at the boundary, naming the field; supervisors and tokens may not edit', async () => {
		const bad = await agent.request('PATCH', `/api/v1/customers/${ticket.requesterId}`, { tags: ['ok', ''] });
		expect(bad.status).toBe(400);
		expect(bad.body.error.field).toBe('tags.1');
		const unknown = await agent.request('PATCH', `/api/v1/customers/${ticket.requesterId}`, { email: 'x@y.z' });
		expect(unknown.status).toBe(400);
		const badChannel = await agent.request('PATCH', `/api/v1/customers/${ticket.requesterId}`, { addAddresses: [{ channel: 'internal', address: 'x' }] });
		expect(badChannel.body.error.field).toBe('addAddresses.0.channel');
		expect((await supervisor.request('PATCH', `/api/v1/customers/${ticket.requesterId}`, { notes: 'x' })).status).toBe(403);
		expect((await bot.request('PATCH', `/api/v1/customers/${ticket.requesterId}`, { notes: 'x' })).status).toBe(403);
		expect((await agent.request('PATCH', '/api/v1/customers/nobody', { notes: 'x' })).status).toBe(404);
	});

	it("refuses another customer's address", async () => {
		const other = await bot.request('POST', '/api/v1/tickets', { subject: 'Hi', requester: { email: 'other@example.com' }, channel: 'email', body: 'Hi' });
		const res = await agent.request('PATCH', `/api/v1/customers/${ticket.requesterId}`, { addAddresses: [{ channel: 'email', address: 'Other@Example.com' }] });
		expect(res.status).toBe(400);
		expect(res.body.error.field).toBe('addAddresses.0.address');
		expect(other.status).toBe(201);
	});

	it('the interaction history spans the customer\'s tickets, newest first, without internal notes', async () => {
		const second = await bot.request('POST', '/api/v1/tickets', {
			subject: 'Second question',
			requester: { email: 'maggie@example.com' },
			channel: 'chat',
			body: 'Also, do you ship to Canada?'
		});
		await agent.request('POST', `/api/v1/tickets/${ticket.id}/entries`, { kind: 'note', channel: 'internal', visibility: 'internal', body: 'secret note' });
		await agent.request('POST', `/api/v1/tickets/${ticket.id}/entries`, { kind: 'message', channel: 'email', visibility: 'public', body: 'Your refund is on its way.' });
		const res = await agent.request('GET', `/api/v1/customers/${ticket.requesterId}/history`);
		expect(res.status).toBe(200);
		const items = res.body.interactions as { kind: string; ticketId: string; preview: string; createdAt: number; direction: string | null }[];
		expect(items.map((i) => i.preview)).not.toContain('secret note');
		expect(items.filter((i) => i.kind === 'opened').map((i) => i.ticketId).sort()).toEqual([ticket.id, second.body.id].sort());
		expect(items.find((i) => i.preview === 'Your refund is on its way.')).toMatchObject({ kind: 'message', direction: 'out', ticketId: ticket.id });
		expect(items.find((i) => i.preview === 'Also, do you ship to Canada?')).toMatchObject({ direction: 'in', ticketId: second.body.id });
		const times = items.map((i) => i.createdAt);
		expect(times).toEqual([...times].sort((a, b) => b - a));
		expect((await anonymous.request('GET', `/api/v1/customers/${ticket.requesterId}/history`)).status).toBe(401);

		// The second ticket moves to a group Alex is not in: it leaves his history, not the supervisor's.
		const peer = await connectPeer(server, second.body.id, fx.users.ada.token);
		setField(peer.doc, 'groupId', fx.groups.Technical!);
		await peer.acknowledged();
		peer.destroy();
		await waitFor(async () => {
			const { body } = await agent.request('GET', `/api/v1/customers/${ticket.requesterId}/history`);
			return !body.interactions.some((i: { ticketId: string }) => i.ticketId === second.body.id);
		}, 'the hidden ticket to leave the history');
		const forSupervisor = (await supervisor.request('GET', `/api/v1/customers/${ticket.requesterId}/history`)).body.interactions;
		expect(forSupervisor.length).toBe(items.length);
	});
});

describe('help centre', () => {
	const ids: Record<string, string> = {};

	beforeAll(async () => {
		const articles = [
			{ key: 'password', title: 'Reset your password', section: 'Account', tags: ['login'], body: 'Choose **Forgot password** on the sign-in page.', status: 'published' },
			{ key: 'shipping', title: 'Shipping times', section: 'Orders', tags: ['delivery'], body: 'Parcels leave in a day. If you also changed your password, sign in again to see tracking.', status: 'published' },
			{ key: 'draft', title: 'Password policy (draft)', section: 'Account', tags: [], body: 'Not ready.', status: 'draft' },
			{ key: 'xss', title: 'Unsafe <script>alert(1)</script> title', section: 'Misc', tags: [], body: '<img src=x onerror=alert(1)> [click](javascript:alert(1)) and [ok](https://example.com)', status: 'published' }
		];
		for (const { key, ...article } of articles) {
			const res = await admin.request('POST', '/api/v1/help/articles', article);
			expect(res.status).toBe(201);
			ids[key] = res.body.id;
		}
	});

	it('ranks a title match above a body match and highlights the matches in snippets', async () => {
		const res = await agent.request('GET', '/api/v1/help/articles?q=password');
		expect(res.status).toBe(200);
		const hits = res.body.articles as { id: string; titleHtml: string; snippet: string; snippetHtml: string }[];
		expect(hits.map((h) => h.id)).toEqual([ids.password, ids.shipping]);
		expect(hits[0]!.titleHtml).toBe('Reset your <mark>password</mark>');
		expect(hits[1]!.snippetHtml).toContain('<mark>password</mark>');
		expect(hits[1]!.snippet).not.toContain('<mark>');
	});

	it('matches word prefixes, falls back to any word, and leaves drafts to admins', async () => {
		expect((await agent.request('GET', '/api/v1/help/articles?q=passw')).body.articles[0].id).toBe(ids.password);
		// A ticket subject: not every word is in an article, some are.
		const subject = await agent.request('GET', `/api/v1/help/articles?q=${encodeURIComponent('Password reset email never arrives')}`);
		expect(subject.body.articles[0].id).toBe(ids.password);
		expect((await agent.request('GET', '/api/v1/help/articles?q=policy')).body.articles).toEqual([]);
		expect((await admin.request('GET', '/api/v1/help/articles?q=policy')).body.articles.map((a: { id: string }) => a.id)).toEqual([ids.draft]);
		expect((await agent.request('GET', `/api/v1/help/articles/${ids.draft}`)).status).toBe(404);
		expect((await bot.request('GET', '/api/v1/help/articles?q=password')).status).toBe(403);
	});

	it('escapes what it highlights', async () => {
		const res = await agent.request('GET', '/api/v1/help/articles?q=unsafe');
		expect(res.body.articles[0].titleHtml).toBe('<mark>Unsafe</mark> &lt;script&gt;alert(1)&lt;/script&gt; title');
	});

	it('publishes on /help for everyone, keeps drafts off it, and renders Markdown safely', async () => {
		const index = await (await fetch(`${server.url}/help`)).text();
		expect(index).toContain('Reset your password');
		expect(index).not.toContain('Password policy');
		const page = await fetch(`${server.url}/help/reset-your-password`);
		expect(page.status).toBe(200);
		expect(await page.text()).toContain('<strong>Forgot password</strong>');
		expect((await fetch(`${server.url}/help/password-policy-draft`)).status).toBe(404);
		const unsafe = await (await fetch(`${server.url}/help/unsafe-script-alert-1-script-title`)).text();
		const body = unsafe.slice(unsafe.indexOf('<article'), unsafe.indexOf('</article>'));
		// Raw HTML stays text, the javascript: link is dropped, the https one kept.
		expect(body).toContain('&lt;img src=x onerror=alert(1)&gt;');
		expect(body).not.toMatch(/<img|<script|href="javascript:/);
		expect(body).toContain('<a href="https://example.com" rel="noopener">ok</a>');
		const search = await (await fetch(`${server.url}/help?q=password`)).text();
		expect(search).toContain('<mark>password</mark>');
	});

	it('admins edit, unpublish and delete; others may not write', async () => {
		const put = await admin.request('PUT', `/api/v1/help/articles/${ids.shipping}`, { title: 'Shipping times', section: 'Orders', body: 'Parcels leave in a day.', status: 'draft' });
		expect(put.status).toBe(200);
		expect(put.body).toMatchObject({ slug: 'shipping-times', status: 'draft', publishedAt: null });
		expect((await fetch(`${server.url}/help/shipping-times`)).status).toBe(404);
		expect((await agent.request('GET', '/api/v1/help/articles?q=password')).body.articles.map((a: { id: string }) => a.id)).toEqual([ids.password]);
		expect((await agent.request('POST', '/api/v1/help/articles', { title: 'x', section: 'y', body: '' })).status).toBe(403);
		const clash = await admin.request('POST', '/api/v1/help/articles', { title: 'Again', slug: 'reset-your-password', section: 'A', body: '' });
		expect(clash.status).toBe(400);
		expect(clash.body.error.field).toBe('slug');
		expect((await admin.request('DELETE', `/api/v1/help/articles/${ids.xss}`)).status).toBe(204);
		expect((await agent.request('GET', '/api/v1/help/articles?q=unsafe')).body.articles).toEqual([]);
	});
});

describe('custom objects', () => {
	let orderType: { id: string };
	let record: { id: string };

	it('admins define types; definitions are checked', async () => {
		const res = await admin.request('POST', '/api/v1/object-types', {
			name: 'Order',
			fields: [
				{ key: 'placed', label: 'Placed', type: 'date', required: true },
				{ key: 'status', label: 'Status', type: 'enum', required: true, options: ['open', 'shipped'] },
				{ key: 'total', label: 'Total', type: 'number', required: true },
				{ key: 'gift', label: 'Gift', type: 'boolean' },
				{ key: 'tracking', label: 'Tracking', type: 'url' }
			]
		});
		expect(res.status).toBe(201);
		orderType = res.body;
		const noOptions = await admin.request('POST', '/api/v1/object-types', { name: 'Device', fields: [{ key: 'kind', label: 'Kind', type: 'enum' }] });
		expect(noOptions.status).toBe(400);
		expect(noOptions.body.error.field).toBe('fields.0.options');
		const badType = await admin.request('POST', '/api/v1/object-types', { name: 'Device', fields: [{ key: 'x', label: 'X', type: 'colour' }] });
		expect(badType.body.error.field).toBe('fields.0.type');
		const twice = await admin.request('POST', '/api/v1/object-types', { name: 'order', fields: [{ key: 'x', label: 'X', type: 'text' }] });
		expect(twice.body.error.field).toBe('name');
		expect((await agent.request('POST', '/api/v1/object-types', { name: 'Device', fields: [{ key: 'x', label: 'X', type: 'text' }] })).status).toBe(403);
		expect((await agent.request('GET', '/api/v1/object-types')).body.types.map((t: { name: string }) => t.name)).toEqual(['Order']);
	});

	it('checks records against their type, naming the field', async () => {
		const base = { typeId: orderType.id, customerIds: [ticket.requesterId] };
		const cases: [Record<string, unknown>, string][] = [
			[{ placed: '2026-11-01', status: 'open', total: '84' }, 'values.total'],
			[{ placed: 'yesterday', status: 'open', total: 84 }, 'values.placed'],
			[{ placed: '2026-11-01', status: 'lost', total: 84 }, 'values.status'],
			[{ placed: '2026-11-01', total: 84 }, 'values.status'],
			[{ placed: '2026-11-01', status: 'open', total: 84, gift: 'yes' }, 'values.gift'],
			[{ placed: '2026-11-01', status: 'open', total: 84, tracking: 'javascript:alert(1)' }, 'values.tracking'],
			[{ placed: '2026-11-01', status: 'open', total: 84, colour: 'red' }, 'values.colour']
		];
		for (const [values, field] of cases) {
			const res = await bot.request('POST', '/api/v1/objects', { ...base, values });
			expect(res.status, JSON.stringify(values)).toBe(400);
			expect(res.body.error.field).toBe(field);
		}
		expect((await bot.request('POST', '/api/v1/objects', { ...base, typeId: 'nope', values: {} })).body.error.field).toBe('typeId');
		expect((await bot.request('POST', '/api/v1/objects', { ...base, customerIds: ['nobody'], values: { placed: '2026-11-01', status: 'open', total: 1 } })).body.error.field).toBe('customerIds.0');
		const ok = await bot.request('POST', '/api/v1/objects', { ...base, externalId: '1001', values: { placed: '2026-11-01', status: 'shipped', total: 84, gift: false } });
		expect(ok.status).toBe(201);
		expect(ok.body).toMatchObject({ typeName: 'Order', externalId: '1001', values: { total: 84, gift: false }, customerIds: [ticket.requesterId] });
		record = ok.body;
		expect((await bot.request('POST', '/api/v1/objects', { ...base, externalId: '1001', values: { placed: '2026-11-01', status: 'open', total: 1 } })).status).toBe(409);
		expect((await agent.request('POST', '/api/v1/objects', { ...base, values: { placed: '2026-11-01', status: 'open', total: 1 } })).status).toBe(403);
		expect((await agent.request('GET', `/api/v1/objects?q=1001`)).body.records.map((r: { id: string }) => r.id)).toEqual([record.id]);
		expect((await agent.request('GET', `/api/v1/objects?customer=${ticket.requesterId}`)).body.records).toHaveLength(1);
	});

	it("shows a ticket the records of its requester, and agents link and unlink others", async () => {
		const loose = await admin.request('POST', '/api/v1/objects', { typeId: orderType.id, externalId: '2002', values: { placed: '2026-11-02', status: 'open', total: 12.5 } });
		expect(loose.status).toBe(201);
		const before = await agent.request('GET', `/api/v1/tickets/${ticket.id}/objects`);
		expect(before.body.records.map((r: { id: string; linkedTo: string[] }) => [r.id, r.linkedTo])).toEqual([[record.id, ['customer']]]);
		const linked = await agent.request('POST', `/api/v1/tickets/${ticket.id}/objects/${loose.body.id}`);
		expect(linked.status).toBe(200);
		expect(linked.body.records.find((r: { id: string }) => r.id === loose.body.id).linkedTo).toEqual(['ticket']);
		expect((await agent.request('POST', `/api/v1/tickets/${ticket.id}/objects/${loose.body.id}`)).status).toBe(200);
		expect((await supervisor.request('POST', `/api/v1/tickets/${ticket.id}/objects/${record.id}`)).status).toBe(403);
		expect((await supervisor.request('GET', `/api/v1/tickets/${ticket.id}/objects`)).body.records).toHaveLength(2);
		expect((await bot.request('POST', `/api/v1/tickets/${ticket.id}/objects/${record.id}`)).status).toBe(403);
		expect((await agent.request('POST', `/api/v1/tickets/${ticket.id}/objects/nope`)).status).toBe(404);
		const unlinked = await agent.request('DELETE', `/api/v1/tickets/${ticket.id}/objects/${loose.body.id}`);
		expect(unlinked.body.records.map((r: { id: string }) => r.id)).toEqual([record.id]);
		expect((await agent.request('DELETE', `/api/v1/tickets/${ticket.id}/objects/${loose.body.id}`)).status).toBe(404);
		const events = (await agent.request('GET', `/api/v1/tickets/${ticket.id}/events`)).body.events.map((e: { type: string }) => e.type);
		expect(events).toEqual(expect.arrayContaining(['object.linked', 'object.unlinked']));
	});
});

describe('apps', () => {
	it('admins install apps with scopes; users list the enabled ones', async () => {
		const res = await admin.request('POST', '/api/v1/apps', { name: 'order-lookup', url: '/apps/order-lookup/index.html', scopes: ['draft.insert'] });
		expect(res.status).toBe(201);
		const off = await admin.request('POST', '/api/v1/apps', { name: 'crm', url: 'https://crm.example.com/panel', scopes: ['ticket.notes', 'ticket.tags'], enabled: false });
		expect(off.status).toBe(201);
		expect((await admin.request('POST', '/api/v1/apps', { name: 'bad', url: 'http://insecure.example.com' })).body.error.field).toBe('url');
		expect((await admin.request('POST', '/api/v1/apps', { name: 'bad', url: '/apps/x/', scopes: ['ticket.delete'] })).body.error.field).toBe('scopes.0');
		expect((await agent.request('POST', '/api/v1/apps', { name: 'mine', url: '/apps/x/' })).status).toBe(403);
		expect((await agent.request('GET', '/api/v1/apps')).body.apps.map((a: { name: string }) => a.name)).toEqual(['order-lookup']);
		expect((await admin.request('GET', '/api/v1/apps')).body.apps).toHaveLength(2);
		const enabled = await admin.request('PUT', `/api/v1/apps/${off.body.id}`, { url: 'https://crm.example.com/panel', scopes: ['ticket.notes'], enabled: true });
		expect(enabled.body).toMatchObject({ name: 'crm', scopes: ['ticket.notes'], enabled: true });
		expect((await agent.request('GET', '/api/v1/apps')).body.apps).toHaveLength(2);
	});
});
