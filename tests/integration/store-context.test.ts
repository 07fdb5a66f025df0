/**
 * The context panel's services on both engines (tests/helpers/store.ts): customers (one per
 * address under concurrent creation), custom objects, apps, macros and the help centre, whose
 * full-text search is FTS5 on SQLite and a tsvector on PostgreSQL and must find the same articles
 * first. Other partitions' services (event log, ticket index) are stand-ins: what the context
 * services ask of them is all these tests need.
 */
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TicketScope } from '../../server/auth/policy';
import { SYSTEM, type UserPrincipal } from '../../server/auth/principal';
import { Apps } from '../../server/apps';
import { CustomObjects } from '../../server/custom-objects';
import { Customers } from '../../server/customers';
import type { Events } from '../../server/events';
import { HelpCentre } from '../../server/help-centre';
import { Macros } from '../../server/macros';
import { DEMO_ARTICLES } from '../../server/seed-context';
import type { Engine, Store } from '../../server/storage/store';
import type { TicketIndex } from '../../server/ticket-index';
import { ENGINES, openTestStore } from '../helpers/store';

const admin: UserPrincipal = { kind: 'user', id: 'u-admin', role: 'admin', name: 'Ada', email: 'ada@example.com', groupIds: [] };
const agent: UserPrincipal = { kind: 'user', id: 'u-agent', role: 'agent', name: 'Alex', email: 'alex@example.com', groupIds: ['g1'] };

/** The services over one store, with an event log that remembers and a ticket index of `tickets`. */
function context(store: Store) {
	const recorded: { type: string; data?: unknown }[] = [];
	const events = { record: async (event: { type: string; data?: unknown }) => void recorded.push(event) } as unknown as Events;
	const tickets = new Map<string, TicketScope & { id: string; requesterId: string }>();
	const index = {
		get: async (id: string) => tickets.get(id) ?? null,
		requesterScopes: async (customerId: string) => [...tickets.values()].filter((t) => t.requesterId === customerId),
		ofRequester: async () => []
	} as unknown as TicketIndex;
	const customers = new Customers(store, index, events);
	return {
		recorded,
		tickets,
		customers,
		objects: new CustomObjects(store, customers, index, events),
		apps: new Apps(store, events),
		macros: new Macros(store, events),
		help: new HelpCentre(store, events)
	};
}

/** Outcomes of concurrent attempts: resolved values, and rejections by HTTP status. */
async function settle<T>(attempts: Promise<T>[]) {
	const results = await Promise.allSettled(attempts);
	return {
		won: results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<T>).value),
		refused: results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason?.status ?? r.reason)
	};
}

describe.each(ENGINES)('the context services on %s', (engine) => {
	let store: Store;
	let ctx: ReturnType<typeof context>;
	beforeAll(async () => {
		store = await openTestStore(engine);
		ctx = context(store);
	});
	afterAll(async () => {
		await store?.close();
	});

	describe('customers', () => {
		it('find or create one customer per address, email compared in any case', async () => {
			const created = await ctx.customers.findOrCreate('email', ' Maggie.Chen@Example.com ', 'Maggie Chen');
			expect(created).toMatchObject({ name: 'Maggie Chen', unverified: false, claimedEmail: null, tags: [], addresses: [{ channel: 'email', address: 'maggie.chen@example.com' }] });
			expect((await ctx.customers.findOrCreate('email', 'MAGGIE.CHEN@example.com')).id).toBe(created.id);
			expect((await ctx.customers.findByAddress('email', 'maggie.chen@EXAMPLE.com'))?.id).toBe(created.id);
			expect(await ctx.customers.findByAddress('email', 'nobody@example.com')).toBeNull();
			expect((await ctx.customers.findOrCreate('talk', '+1 (555) 0100')).addresses).toEqual([{ channel: 'talk', address: '+15550100' }]);
		});

		it('make one customer of many concurrent first messages from one address', async () => {
			const found = await Promise.all(Array.from({ length: 12 }, (_, i) => ctx.customers.findOrCreate('email', 'rush@example.com', `Rush ${i}`)));
			expect(new Set(found.map((c) => c.id)).size).toBe(1);
			const { customers, customerAddresses } = store.tables;
			expect(await store.db.select({ n: count() }).from(customerAddresses).where(eq(customerAddresses.address, 'rush@example.com'))).toEqual([{ n: 1 }]);
			expect(await store.db.select({ n: count() }).from(customers).where(eq(customers.id, found[0]!.id))).toEqual([{ n: 1 }]);
			// The losers' customers were rolled back: none is left without an address.
			expect((await store.db.select({ id: customers.id }).from(customers)).length).toBe((await store.db.selectDistinct({ id: customerAddresses.customerId }).from(customerAddresses)).length);
		});

		it('keep an unverified contact apart: its claimed email finds nobody, and only it takes a claim', async () => {
			const contact = await ctx.customers.createUnverified('visitor-1', ' Visitor One ', 'One@Example.com');
			expect(contact).toMatchObject({ name: 'Visitor One', unverified: true, claimedEmail: 'one@example.com', addresses: [{ channel: 'chat', address: 'visitor-1' }] });
			expect(await ctx.customers.findByAddress('email', 'one@example.com')).toBeNull();
			await ctx.customers.claimEmail(contact.id, 'Other@Example.com');
			expect((await ctx.customers.get(contact.id))?.claimedEmail).toBe('other@example.com');
			const known = await ctx.customers.findOrCreate('email', 'known@example.com');
			await ctx.customers.claimEmail(known.id, 'x@example.com');
			expect((await ctx.customers.get(known.id))?.claimedEmail).toBeNull();
		});

		it('update the profile and addresses in one go, refusing an address another customer has', async () => {
			const cleo = await ctx.customers.findOrCreate('email', 'cleo@example.com', 'Cleo');
			const updated = await ctx.customers.update(cleo.id, { organisation: 'Cleo & Co', tags: ['vip', 'é'], addAddresses: [{ channel: 'talk', address: '+1 555 0142' }] }, SYSTEM);
			expect(updated).toMatchObject({ organisation: 'Cleo & Co', tags: ['vip', 'é'] });
			expect(updated.addresses).toEqual(expect.arrayContaining([{ channel: 'talk', address: '+15550142' }, { channel: 'email', address: 'cleo@example.com' }]));
			expect(ctx.recorded.at(-1)).toMatchObject({ type: 'customer.updated', data: { customerId: cleo.id, fields: ['organisation', 'tags', 'addresses'] } });
			const removed = await ctx.customers.update(cleo.id, { removeAddresses: [{ channel: 'talk', address: '+15550142' }] }, SYSTEM);
			expect(removed.addresses).toEqual([{ channel: 'email', address: 'cleo@example.com' }]);
			await expect(ctx.customers.update(cleo.id, { notes: 'kept?', addAddresses: [{ channel: 'email', address: 'Rush@example.com' }] }, SYSTEM)).rejects.toMatchObject({ status: 400, field: 'addAddresses.0.address' });
			expect((await ctx.customers.get(cleo.id))?.notes).toBe('');
			await expect(ctx.customers.update('nobody', { notes: 'x' }, SYSTEM)).rejects.toMatchObject({ status: 404 });
			await expect(ctx.customers.update(cleo.id, { notes: 'x' }, agent)).rejects.toMatchObject({ status: 404 });
			ctx.tickets.set('t-cleo', { id: 't-cleo', requesterId: cleo.id, channel: 'email', groupId: 'g1', assigneeId: null });
			expect((await ctx.customers.update(cleo.id, { notes: 'by an agent of her group' }, agent)).notes).toBe('by an agent of her group');
		});

		it('give an address that two customers add at once to exactly one of them', async () => {
			const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) => ctx.customers.findOrCreate('email', `${n}-contest@example.com`)));
			const { won, refused } = await settle([a, b, c].map((customer) => ctx.customers.update(customer!.id, { addAddresses: [{ channel: 'messaging', address: '+4470000' }] }, SYSTEM)));
			expect(won).toHaveLength(1);
			expect(refused).toEqual([400, 400]);
			expect((await ctx.customers.findByAddress('messaging', '+4470000'))?.id).toBe(won[0]!.id);
		});
	});

	describe('custom objects', () => {
		let orderType: string;

		it('list types by name in any case, and refuse a name taken in another case, also at once', async () => {
			for (const name of ['beta', 'Order', 'alpha']) await ctx.objects.createType({ name, fields: typeFields }, admin);
			orderType = (await ctx.objects.listTypes()).find((t) => t.name === 'Order')!.id;
			expect((await ctx.objects.listTypes()).map((t) => t.name)).toEqual(['alpha', 'beta', 'Order']);
			await expect(ctx.objects.createType({ name: 'ORDER', fields: typeFields }, admin)).rejects.toMatchObject({ status: 400, field: 'name' });
			const { won, refused } = await settle(Array.from({ length: 6 }, () => ctx.objects.createType({ name: 'Device', fields: typeFields }, admin)));
			expect(won).toHaveLength(1);
			expect(refused).toEqual([400, 400, 400, 400, 400]);
			// Spellings differing only in case, at once: still one.
			const cases = await settle(['Gadget', 'GADGET', 'gadget', 'GaDgEt'].map((name) => ctx.objects.createType({ name, fields: typeFields }, admin)));
			expect(cases.won).toHaveLength(1);
			expect(cases.refused).toEqual([400, 400, 400]);
			expect((await ctx.objects.getType(orderType))?.fields).toEqual(typeFields);
		});

		it('store records checked against their type, found by external id or values in any case', async () => {
			const maggie = await ctx.customers.findOrCreate('email', 'maggie.chen@example.com');
			const tent = await ctx.objects.createRecord({ typeId: orderType, externalId: '48213', values: { status: 'refunded', total: 84, items: 'Trail Tent 2P' }, customerIds: [maggie.id] }, SYSTEM);
			expect(tent).toMatchObject({ externalId: '48213', typeName: 'Order', values: { status: 'refunded', total: 84, items: 'Trail Tent 2P' }, customerIds: [maggie.id] });
			await ctx.objects.createRecord({ typeId: orderType, externalId: 'A_1%', values: { status: 'shipped', total: 1.5 }, customerIds: [] }, SYSTEM);
			const found = async (q: string) => (await ctx.objects.listRecords({ q, limit: 10 }, SYSTEM)).map((r) => r.externalId);
			expect(await found('trail tent')).toEqual(['48213']);
			expect(await found('REFUNDED')).toEqual(['48213']);
			expect(await found('a_1%')).toEqual(['A_1%']);
			expect(await found('_')).toEqual(['A_1%']);
			expect(await found('nothing like it')).toEqual([]);
			expect((await ctx.objects.listRecords({ customer: maggie.id, limit: 10 }, SYSTEM)).map((r) => r.id)).toEqual([tent.id]);
			await expect(ctx.objects.createRecord({ typeId: orderType, values: { status: 'lost', total: 1 }, customerIds: [] }, SYSTEM)).rejects.toMatchObject({ status: 400, field: 'values.status' });
		});

		it('make one record of concurrent creations with one external id', async () => {
			const { won, refused } = await settle(Array.from({ length: 6 }, () => ctx.objects.createRecord({ typeId: orderType, externalId: '50000', values: { status: 'shipped', total: 2 }, customerIds: [] }, SYSTEM)));
			expect(won).toHaveLength(1);
			expect(refused).toEqual([409, 409, 409, 409, 409]);
		});

		it('link a record to a ticket once, even when linked at once, and unlink it', async () => {
			const [record] = await ctx.objects.listRecords({ q: '48213', limit: 1 }, SYSTEM);
			const requester = await ctx.customers.findOrCreate('email', 'maggie.chen@example.com');
			ctx.tickets.set('t1', { id: 't1', requesterId: requester.id, channel: 'email', groupId: null, assigneeId: null });
			const linked = await Promise.all(Array.from({ length: 4 }, () => ctx.objects.link('t1', record!.id, agent, { confirmOtherOwner: false })));
			expect(linked[0]!.map((r) => [r.id, r.linkedTo])).toEqual([[record!.id, ['ticket', 'customer']]]);
			expect(ctx.recorded.filter((e) => e.type === 'object.linked')).toHaveLength(1);
			expect((await ctx.objects.unlink('t1', record!.id, agent)).map((r) => r.linkedTo)).toEqual([['customer']]);
			await expect(ctx.objects.unlink('t1', record!.id, agent)).rejects.toMatchObject({ status: 404 });
			await ctx.objects.deleteType(orderType, admin);
			expect(await ctx.objects.getRecord(record!.id, SYSTEM)).toBeNull();
		});
	});

	describe('apps and macros', () => {
		it('list apps by name in any case, enabled ones only when asked, and refuse a name installed already', async () => {
			for (const [name, enabled] of [['zeta', true], ['Order-lookup', false], ['billing', true]] as const) {
				await ctx.apps.create({ name, url: `/apps/${name}/`, scopes: ['draft.insert', 'draft.insert'], enabled }, admin);
			}
			expect((await ctx.apps.list()).map((a) => a.name)).toEqual(['billing', 'Order-lookup', 'zeta']);
			expect((await ctx.apps.list({ enabledOnly: true })).map((a) => a.name)).toEqual(['billing', 'zeta']);
			const { won, refused } = await settle(Array.from({ length: 4 }, () => ctx.apps.create({ name: 'rush', url: '/apps/rush/', scopes: [], enabled: true }, admin)));
			expect([won.length, refused]).toEqual([1, [400, 400, 400]]);
			const billing = (await ctx.apps.list()).find((a) => a.name === 'billing')!;
			expect(billing.scopes).toEqual(['draft.insert']);
			expect(await ctx.apps.update(billing.id, { url: '/apps/b/', scopes: ['ticket.tags'], enabled: false }, admin)).toMatchObject({ name: 'billing', url: '/apps/b/', enabled: false });
			await ctx.apps.delete(billing.id, admin);
			expect(await ctx.apps.get(billing.id)).toBeNull();
			await expect(ctx.apps.delete(billing.id, admin)).rejects.toMatchObject({ status: 404 });
		});

		it('list macros by title in any case, and write them with their actions', async () => {
			const created = [];
			for (const title of ['escalate', 'Refund issued', 'ask for order number']) created.push(await ctx.macros.create({ title, body: `${title}.`, actions: { addTags: ['x'] } }, admin));
			expect((await ctx.macros.list()).map((m) => m.title)).toEqual(['ask for order number', 'escalate', 'Refund issued']);
			expect(await ctx.macros.get(created[0]!.id)).toEqual(created[0]);
			expect(await ctx.macros.update(created[0]!.id, { title: 'Escalate', body: 'Up.', actions: { status: 'pending' } }, admin)).toMatchObject({ title: 'Escalate', actions: { status: 'pending' } });
			await ctx.macros.delete(created[1]!.id, admin);
			await expect(ctx.macros.update(created[1]!.id, { title: 'x', body: 'x', actions: {} }, admin)).rejects.toMatchObject({ status: 404 });
			expect(ctx.recorded.filter((e) => e.type.startsWith('macro.')).map((e) => e.type)).toEqual(['macro.created', 'macro.created', 'macro.created', 'macro.updated', 'macro.deleted']);
		});
	});

	describe('help centre', () => {
		it('writes articles with free slugs, keeps the index in step and refuses a taken slug', async () => {
			const { help } = ctx;
			const first = await help.create({ title: 'Café opening hours', section: 'Visits', tags: [], body: 'We open at **nine**.', status: 'draft' }, admin);
			const second = await help.create({ title: 'Café opening hours', section: 'Visits', tags: [], body: 'Also on Sundays.', status: 'draft' }, admin);
			expect([first.slug, second.slug]).toEqual(['cafe-opening-hours', 'cafe-opening-hours-2']);
			expect(await help.search('sundays')).toEqual([]);
			expect((await help.search('sundays', { drafts: true })).map((a) => a.id)).toEqual([second.id]);
			const published = await help.update(second.id, { title: 'Sunday hours', section: 'Visits', tags: ['weekend'], body: 'Closed on Sundays.', status: 'published' }, admin);
			expect(published.publishedAt).not.toBeNull();
			expect(ctx.recorded.at(-1)?.type).toBe('article.published');
			expect(await help.published(published.slug)).toMatchObject({ title: 'Sunday hours' });
			expect(await help.search('also')).toEqual([]);
			expect((await help.search('weekend')).map((a) => a.title)).toEqual(['Sunday hours']);
			await expect(help.update(second.id, { title: 'x', slug: first.slug, section: 'Visits', tags: [], body: '', status: 'draft' }, admin)).rejects.toMatchObject({ status: 400, field: 'slug' });
			const [cafe] = await help.search('CAFÉ', { drafts: true });
			expect([cafe?.slug, cafe?.titleHtml]).toEqual([first.slug, '<mark>Café</mark> opening hours']);
			await help.delete(first.id, admin);
			await help.delete(second.id, admin);
			expect(await help.search('cafe', { drafts: true })).toEqual([]);
			await expect(help.delete(first.id, admin)).rejects.toMatchObject({ status: 404 });
		});

		it('gives articles of one title created at once a slug each', async () => {
			const input = { title: 'Opening hours', section: 'Visits', tags: [], body: 'Nine to five.', status: 'draft' as const };
			const created = await Promise.all(Array.from({ length: 4 }, () => ctx.help.create(input, admin)));
			expect(created.map((a) => a.slug).sort()).toEqual(['opening-hours', 'opening-hours-2', 'opening-hours-3', 'opening-hours-4']);
			for (const article of created) await ctx.help.delete(article.id, admin);
		});

		it('publishes once when two editors publish an article at once', async () => {
			const draft = await ctx.help.create({ title: 'Gift cards', section: 'Billing', tags: [], body: 'Soon.', status: 'draft' }, admin);
			const before = ctx.recorded.length;
			const input = { title: 'Gift cards', section: 'Billing', tags: [], body: 'Now.', status: 'published' as const };
			const results = await Promise.all([ctx.help.update(draft.id, input, admin), ctx.help.update(draft.id, input, admin)]);
			expect(ctx.recorded.slice(before).map((e) => e.type).sort()).toEqual(['article.published', 'article.updated']);
			expect(results[0]!.publishedAt).toBe(results[1]!.publishedAt);
			await ctx.help.delete(draft.id, admin);
		});

		it('searches the demo articles: prefixes, accents, several words, highlights, drafts', async () => {
			for (const article of DEMO_ARTICLES) await ctx.help.create(article, SYSTEM);
			const titles = async (q: string, options = {}) => (await ctx.help.search(q, options)).map((a) => a.title);
			expect((await titles('password'))[0]).toBe('Reset your password');
			expect((await titles('passw'))[0]).toBe('Reset your password');
			expect(await titles('rèfünds')).toContain('How refunds work');
			expect(await titles('VAT invoice')).toEqual(['Invoices with your company name and VAT number']);
			expect(await titles('holidays')).toEqual([]);
			expect(await titles('holidays', { drafts: true })).toEqual(['Holiday shipping deadlines']);
			const [hit] = await ctx.help.search('reset password');
			expect(hit!.titleHtml).toBe('<mark>Reset</mark> your <mark>password</mark>');
			expect(hit!.snippetHtml).toContain('<mark>password</mark>');
			expect(hit!.snippet).not.toMatch(/<mark>|\u0002|\u0003/);
			// A passage of the body around the matches, cut where the body goes on.
			const [shipping] = await ctx.help.search('business days');
			expect(shipping!.snippet).toMatch(/^Orders leave our warehouse within one business day\.\s+Standard: 3–5 business days\s+Express: 1–2 business days\s+You get a tracking link.*…$/);
		});

		it('takes hostile queries as words, never as syntax', async () => {
			const hostile = ['"', "'", '*', 'password"*) OR (', "pass' OR 1=1 --", 'NEAR(a b)', 'a:*|!b', '\\', '(((', 'x'.repeat(5000), `${'word '.repeat(500)}`, '\u0000\u0002', 'ünïcödé ☃ 𝒳'];
			for (const q of hostile) await expect(ctx.help.search(q, { drafts: true })).resolves.toBeInstanceOf(Array);
			expect((await ctx.help.search('"password" AND -')).map((a) => a.title)[0]).toBe('Reset your password');
		});
	});
});

const typeFields = [
	{ key: 'status', label: 'Status', type: 'enum' as const, required: true, options: ['processing', 'shipped', 'refunded'] },
	{ key: 'total', label: 'Total', type: 'number' as const, required: true },
	{ key: 'items', label: 'Items', type: 'text' as const, required: false }
];

/** Queries as agents and customers type them, and as suggestions take them from ticket subjects. */
const QUERIES = [
	'password',
	'passw',
	'refund',
	'rèfünds',
	'refunds card',
	'shipping',
	'tracking parcel',
	'invoice',
	'VAT number',
	'two-factor',
	'2fa',
	'backup codes',
	'lost phone',
	'charged twice',
	'return item',
	'Where is my refund for order 48213?',
	'Password reset email never arrives',
	'business days',
	'northwind',
	'RF-2093-7741',
	'warehouse',
	'security login',
	'zebra',
	'"quoted" (parens) *'
];

describe('help-centre search on both engines', () => {
	const stores = new Map<Engine, Store>();
	const centres = new Map<Engine, HelpCentre>();
	beforeAll(async () => {
		for (const engine of ENGINES) {
			const store = await openTestStore(engine);
			stores.set(engine, store);
			const { help } = context(store);
			for (const article of DEMO_ARTICLES) await help.create(article, SYSTEM);
			centres.set(engine, help);
		}
	});
	afterAll(async () => {
		for (const store of stores.values()) await store.close();
	});

	it.each(QUERIES)('finds the same articles, the same one first, for %j', async (q) => {
		const [sqlite, postgres] = await Promise.all(ENGINES.map(async (engine) => (await centres.get(engine)!.search(q, { drafts: true })).map((a) => a.title)));
		expect(postgres!.slice(0, 3)).toEqual(sqlite!.slice(0, 3));
		expect([...postgres!].sort()).toEqual([...sqlite!].sort());
	});
});
