/**
 * Ticket search (`GET /api/v1/search`, server/search/): every operator, phrases and exclusion,
 * what each caller may find (groups, internal notes), requester fields and their changes, a new
 * entry found within a second, a rebuild by reindex, paging and ranking, and hostile queries.
 */
import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSearchQuery } from '../../src/lib/search-query';
import { appendSideEntry, newId, openSide } from '../../src/lib/ticket';
import { SYSTEM } from '../../server/auth/principal';
import { reindexAll } from '../../server/reindex';
import { SearchIndex, tsMatch } from '../../server/search/search-index';
import { runCli } from '../helpers/cli';
import { withStore } from '../helpers/db';
import { prepare, withServices, type Fixture } from '../helpers/fixtures';
import { api, connectPeer, startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';
import { sql } from 'drizzle-orm';

type Result = { id: string; number: number; subject: string; passage: { in: string; entryId: string | null; sideId: string | null; text: string; highlights: [number, number][] } | null };

describe('ticket search', () => {
	let server: RunningServer;
	let fx: Fixture;
	/** Tickets by the name the tests give them. */
	const t: Record<string, { id: string; number: number; requesterId: string }> = {};
	const name = (id: string) => Object.entries(t).find(([, ticket]) => ticket.id === id)?.[0] ?? id;

	const search = (token: string, q: string, extra = '') => api(server, token).request('GET', `/api/v1/search?q=${encodeURIComponent(q)}${extra}`);
	/** The names of the tickets `q` finds for `who`, in the order given. */
	const found = async (q: string, who = 'root'): Promise<string[]> => {
		const res = await search(fx.users[who]!.token, q, '&limit=100');
		expect(res.status, JSON.stringify(res.body)).toBe(200);
		return (res.body.results as Result[]).map((r) => name(r.id));
	};
	const sorted = async (q: string, who = 'root') => (await found(q, who)).sort();
	const create = async (key: string, subject: string, body: string, requester: { email: string; name?: string }, token = fx.tokens.mail.token, channel = 'email') => {
		const res = await api(server, token).request('POST', '/api/v1/tickets', { subject, requester, channel, body });
		expect(res.status).toBe(201);
		t[key] = res.body;
	};
	const patch = async (key: string, fields: Record<string, unknown>) => {
		const res = await api(server, fx.users.root.token).request('PATCH', `/api/v1/tickets/${t[key]!.id}`, fields);
		expect(res.status, JSON.stringify(res.body)).toBe(200);
	};
	const append = async (key: string, entry: Record<string, unknown>, token = fx.users.root.token) => {
		const res = await api(server, token).request('POST', `/api/v1/tickets/${t[key]!.id}/entries`, entry);
		expect(res.status, JSON.stringify(res.body)).toBe(201);
		return res.body;
	};

	beforeAll(async () => {
		const dataDir = tempDataDir();
		fx = await prepare(dataDir, {
			users: { ann: { role: 'agent', groups: ['Billing'] }, ben: { role: 'agent', groups: ['Technical'] }, root: { role: 'admin' }, sue: { role: 'supervisor' } },
			bots: { mail: ['email'], chat: ['chat'] }
		});
		server = await startServer({ dataDir });
		await create('tent', 'Tent pole snapped', 'My order 58120 arrived with a broken pole.', { email: 'maggie@example.com', name: 'Maggie Smith' });
		await create('invoice', 'Invoice question', 'Can you resend the invoice for order 77001?', { email: 'pat@example.com', name: 'Pat Jones' });
		await create('lamp', 'Lamp flickers', 'The lamp flickers at night. Crème brûlée on the side.', { email: 'lou@example.com', name: 'Lou Reed' });
		await create('chat', 'Chat about kayaks', 'Hello, do you rent kayaks?', { email: 'kim@example.com', name: 'Kim Lee' }, fx.tokens.chat.token, 'chat');
		await patch('tent', { groupId: fx.groups.Billing, assigneeId: fx.users.ann.id, tags: ['vip', 'outdoor'], priority: 'high', status: 'open' });
		await patch('invoice', { groupId: fx.groups.Technical, status: 'pending' });
		await patch('chat', { priority: 'low' });
		await append('lamp', { kind: 'note', channel: 'internal', body: 'This customer is a known refund abuser.' });
		await append('invoice', { kind: 'message', channel: 'email', visibility: 'public', body: 'Resent it just now.' });
		await waitFor(async () => (await sorted('abuser')).includes('lamp') && (await sorted('resent')).includes('invoice'), 'the search index to follow the tickets');
	});
	afterAll(async () => {
		await server?.stop();
	});

	it('finds words anywhere in a ticket, each where it matched best, with the passage as text and ranges', async () => {
		const res = await search(fx.users.root.token, '58120');
		expect(res.status).toBe(200);
		const [hit] = res.body.results as Result[];
		expect(name(hit!.id)).toBe('tent');
		expect(hit!.passage!.in).toBe('entry');
		expect(hit!.passage!.entryId).toBeTruthy();
		const [start, end] = hit!.passage!.highlights[0]!;
		expect(hit!.passage!.text.slice(start, end)).toBe('58120');
		expect(hit!.passage!.text).toContain('My order 58120 arrived');
		expect(res.body.results[0]).toMatchObject({ subject: 'Tent pole snapped', status: 'open', sla: expect.any(Object) });

		const subject = (await search(fx.users.root.token, 'snapped')).body.results[0] as Result;
		expect(subject.passage).toMatchObject({ in: 'subject', text: 'Tent pole snapped', highlights: [[10, 17]] });
		// Stems: "flickering" finds "flickers"; accents folded: "creme brulee" finds "Crème brûlée".
		expect(await found('flickering')).toEqual(['lamp']);
		expect(await found('creme brulee')).toEqual(['lamp']);
		// Every word must match, in any row of the ticket: a requester's name and an order number said in the conversation.
		expect(await found('maggie 58120')).toEqual(['tent']);
		expect(await found('maggie 77001')).toEqual([]);
	});

	it('finds quoted phrases only as phrases, and leaves out what is excluded', async () => {
		expect(await found('"broken pole"')).toEqual(['tent']);
		expect(await found('"pole broken"')).toEqual([]);
		expect(await sorted('order')).toEqual(['invoice', 'tent']);
		expect(await found('order -invoice')).toEqual(['tent']);
		expect(await found('order -"broken pole"')).toEqual(['invoice']);
		expect(await found('order -status:open')).toEqual(['invoice']);
		expect(await found('order -tag:vip')).toEqual(['invoice']);
		// Excluding the unassigned leaves the assigned: a term on an empty column counts as not met.
		expect(await sorted('-assignee:none')).toEqual(['tent']);
		expect(await sorted('-assignee:ann')).toEqual(['chat', 'invoice', 'lamp']);
	});

	it('filters by every operator, most recently updated first when there are no words', async () => {
		expect(await sorted('status:open')).toEqual(['tent']);
		expect(await sorted('status:open,pending')).toEqual(['invoice', 'tent']);
		expect(await sorted('priority:high')).toEqual(['tent']);
		expect(await sorted('priority:low,high')).toEqual(['chat', 'tent']);
		expect(await sorted('channel:chat')).toEqual(['chat']);
		expect(await sorted('assignee:none')).toEqual(['chat', 'invoice', 'lamp']);
		expect(await sorted('assignee:ann')).toEqual(['tent']);
		expect(await sorted('assignee:ann@test.local')).toEqual(['tent']);
		expect(await sorted('assignee:me', 'ann')).toEqual(['tent']);
		expect(await sorted('assignee:me', 'root')).toEqual([]);
		expect(await sorted('group:billing')).toEqual(['tent']);
		expect(await sorted('group:Technical')).toEqual(['invoice']);
		expect(await sorted('tag:VIP')).toEqual(['tent']);
		expect(await sorted('requester:maggie')).toEqual(['tent']);
		expect(await sorted('requester:pat@example.com')).toEqual(['invoice']);
		expect(await sorted('created>1d')).toEqual(['chat', 'invoice', 'lamp', 'tent']);
		expect(await sorted('created<2000-01-01')).toEqual([]);
		expect(await sorted('created>2000-01-01 updated>1h')).toEqual(['chat', 'invoice', 'lamp', 'tent']);
		expect(await sorted('updated<1h')).toEqual([]);
		expect(await found(`#${t.invoice!.number}`)).toEqual(['invoice']);
		// A number alone is also a word: the ticket's number is in its fields.
		expect(await found(String(t.lamp!.number))).toContain('lamp');
		// is:unread: the customer wrote last on a ticket assigned to me.
		expect(await sorted('is:unread', 'ann')).toEqual(['tent']);
		expect(await sorted('-is:unread', 'ann')).toEqual(['chat', 'lamp']);
		// Filters list newest first.
		const all = await found('created>2000-01-01');
		const rows = (await search(fx.users.root.token, 'created>2000-01-01', '&limit=100')).body.results as { updatedAt: number }[];
		expect(rows.map((r) => r.updatedAt)).toEqual([...rows.map((r) => r.updatedAt)].sort((a, b) => b - a));
		expect(all).toHaveLength(4);
	});

	it('finds tickets with attachments', async () => {
		const upload = await fetch(`${server.url}/api/v1/tickets/${t.lamp!.id}/attachments?name=wiring-diagram.pdf&type=application/pdf`, {
			method: 'POST',
			headers: { authorization: `Bearer ${fx.users.root.token}`, 'content-type': 'application/octet-stream' },
			body: Buffer.from('%PDF-1.4 a diagram')
		});
		expect(upload.status).toBe(201);
		const file = await upload.json();
		await append('lamp', { kind: 'message', channel: 'email', visibility: 'public', body: 'Here is the diagram.', meta: { attachments: [file] } });
		await waitFor(async () => (await sorted('has:attachment')).includes('lamp'), 'the attachment to be indexed');
		expect(await sorted('has:attachment')).toEqual(['lamp']);
		expect(await sorted('-has:attachment')).toEqual(['chat', 'invoice', 'tent']);
		// Its name is searchable too.
		expect(await found('wiring diagram')).toEqual(['lamp']);
	});

	it('finds only the tickets the caller may see', async () => {
		expect(await sorted('order', 'ann')).toEqual(['tent']);
		expect(await sorted('order', 'ben')).toEqual(['invoice']);
		expect(await sorted('order', 'sue')).toEqual(['invoice', 'tent']);
		expect(await found('maggie', 'ben')).toEqual([]);
		expect(await found('#' + t.tent!.number, 'ben')).toEqual([]);
		const chatBot = await search(fx.tokens.chat.token, 'order');
		expect(chatBot.status).toBe(200);
		expect(chatBot.body.results).toEqual([]);
		expect((await search(fx.tokens.chat.token, 'kayaks')).body.results.map((r: Result) => name(r.id))).toEqual(['chat']);
		// Moved out of a group: no longer found by its former members.
		await patch('tent', { groupId: fx.groups.Technical, assigneeId: null });
		expect(await found('maggie', 'ann')).toEqual([]);
		expect(await found('maggie', 'ben')).toEqual(['tent']);
		await patch('tent', { groupId: fx.groups.Billing, assigneeId: fx.users.ann.id });
		expect((await search('', 'order')).status).toBe(401);
	});

	it('finds internal notes and side conversations for those who read them, and for nobody else', async () => {
		const note = (await search(fx.users.root.token, 'abuser')).body.results[0] as Result;
		expect(name(note.id)).toBe('lamp');
		expect(note.passage).toMatchObject({ in: 'entry' });
		expect(note.passage!.text).toContain('refund abuser');

		const peer = await connectPeer(server, t.invoice!.id, fx.users.root.token);
		const sideId = newId();
		try {
			peer.doc.transact(() => {
				openSide(peer.doc, { id: sideId, subject: 'Ask finance', channel: 'internal', participants: [], createdBy: fx.users.root.id, createdAt: Date.now() });
				appendSideEntry(peer.doc, sideId, { id: newId(), kind: 'message', channel: 'internal', visibility: 'internal', authorType: 'agent', authorId: fx.users.root.id, body: 'Finance says the ledger shows a chargeback.', createdAt: Date.now() });
			});
			await peer.acknowledged();
		} finally {
			peer.destroy();
		}
		const side = await waitFor(async () => (await search(fx.users.root.token, 'chargeback')).body.results[0] as Result | undefined, 'the side conversation to be indexed');
		expect(name(side.id)).toBe('invoice');
		expect(side.passage).toMatchObject({ in: 'side', sideId });

		// Someone who may not read internal entries finds neither (the policy says who: today everyone who may open a ticket).
		await withServices(fx.dataDir, async (services) => {
			const hidden = { viewer: SYSTEM, internal: false, limit: 10 };
			expect((await services.search.index.search(parseSearchQuery('abuser'), hidden)).hits).toEqual([]);
			expect((await services.search.index.search(parseSearchQuery('chargeback'), hidden)).hits).toEqual([]);
			expect((await services.search.index.search(parseSearchQuery('lamp'), hidden)).hits.map((h) => h.ticket.id)).toEqual([t.lamp!.id]);
			expect((await services.search.index.search(parseSearchQuery('abuser'), { ...hidden, internal: true })).hits.map((h) => h.ticket.id)).toEqual([t.lamp!.id]);
		});
	});

	it('finds a new entry within a second', async () => {
		const word = `zebra${Date.now().toString(36)}`;
		const sent = Date.now();
		await append('chat', { kind: 'message', channel: 'chat', visibility: 'public', body: `The ${word} order number is 31337.` }, fx.tokens.chat.token);
		await waitFor(async () => (await found(word)).includes('chat'), 'the new entry to be found', 1000);
		expect(Date.now() - sent).toBeLessThan(1000);
	});

	it('finds a ticket the command line created while the server runs', async () => {
		const created = await runCli(fx.dataDir, 'ticket', 'create', '--subject', 'Imported kettle', '--email', 'imp@example.com', '--name', 'Ida Import', '--channel', 'email', '--body', 'The whistle broke.', '--json');
		expect(created.code, created.stderr).toBe(0);
		expect(created.stderr).toBe('');
		t.imported = JSON.parse(created.stdout);
		expect(await found('whistle')).toEqual(['imported']);
		expect(await found('ida kettle')).toEqual(['imported']);
	});

	it('follows the requester: a customer changed is found by what they are now', async () => {
		const res = await api(server, fx.users.root.token).request('PATCH', `/api/v1/customers/${t.lamp!.requesterId}`, {
			name: 'Louisa Reed',
			organisation: 'Acme Lighting',
			addAddresses: [{ channel: 'talk', address: '+44 20 7946 0958' }]
		});
		expect(res.status, JSON.stringify(res.body)).toBe(200);
		await waitFor(async () => (await found('louisa')).includes('lamp'), 'the customer change to be indexed');
		expect(await found('acme')).toEqual(['lamp']);
		expect(await found('442079460958')).toEqual(['lamp']);
		expect(await found('lou@example.com')).toEqual(['lamp']);
		expect(await found('requester:louisa')).toEqual(['lamp']);
		const hit = (await search(fx.users.root.token, 'acme')).body.results[0] as Result;
		expect(hit.passage!.in).toBe('fields');
		expect(hit.passage!.text.slice(...hit.passage!.highlights[0]!)).toBe('Acme');
	});

	it('is rebuilt by reindex', async () => {
		await withStore(fx.dataDir, (store) => store.run(sql`DELETE FROM ticket_search`));
		expect(await found('maggie')).toEqual([]);
		await withServices(fx.dataDir, async (services) => {
			const { failed } = await reindexAll(services);
			expect(failed).toEqual([]);
		});
		expect(await found('maggie 58120')).toEqual(['tent']);
		expect(await found('abuser')).toEqual(['lamp']);
		expect(await found('chargeback')).toEqual(['invoice']);
		expect(await found('louisa')).toEqual(['lamp']);
	});

	it('pages with a cursor, ranked, and counts what a saved view would show', async () => {
		for (let i = 0; i < 5; i++) await create(`page${i}`, `Paddle ${i}`, i % 2 ? 'paddle paddle broken' : 'nothing here', { email: `p${i}@example.com` });
		await waitFor(async () => (await found('paddle')).length === 5, 'the new tickets to be indexed');
		const seen: string[] = [];
		let next: string | null = null;
		do {
			const res: { status: number; body: { results: Result[]; next: string | null } } = await search(fx.users.root.token, 'paddle', `&limit=2${next ? `&cursor=${next}` : ''}`);
			expect(res.status).toBe(200);
			expect(res.body.results.length).toBeLessThanOrEqual(2);
			seen.push(...res.body.results.map((r) => r.id));
			next = res.body.next;
		} while (next);
		expect(seen).toEqual((await search(fx.users.root.token, 'paddle', '&limit=100')).body.results.map((r: Result) => r.id));
		expect(new Set(seen).size).toBe(5);
		// The same for a filter.
		const filtered: string[] = [];
		next = null;
		do {
			const res: { body: { results: Result[]; next: string | null } } = await search(fx.users.root.token, 'created>1d', `&limit=3${next ? `&cursor=${next}` : ''}`);
			filtered.push(...res.body.results.map((r) => r.id));
			next = res.body.next;
		} while (next);
		expect(new Set(filtered).size).toBe(10); // 4 + the imported one + 5 paddles
		await withServices(fx.dataDir, async (services) => {
			const ann = (await services.accounts.currentPrincipal(fx.users.ann.id))!;
			expect(await services.search.count(parseSearchQuery('paddle'), SYSTEM)).toBe(5);
			// Tent (Billing) and the chat (no group, where the new entry said "order"); not the Technical invoice.
			expect(await services.search.count(parseSearchQuery('order'), ann)).toBe(2);
			expect(await services.search.count(parseSearchQuery('status:open,pending'), SYSTEM)).toBe(2);
		});
	});

	it('ranks the same way on both engines: a subject above the fields, the fields above a message', async () => {
		await create('rankSubject', 'Canoe repair', 'Please help.', { email: 'r1@example.com' });
		await create('rankBody', 'Question', 'My canoe has a crack.', { email: 'r2@example.com' });
		await create('rankField', 'Another question', 'Hello there.', { email: 'r3@example.com', name: 'Canoe Club' });
		await create('rankBoth', 'Canoe crack', 'The canoe crack got worse.', { email: 'r4@example.com' });
		await waitFor(async () => (await found('canoe')).length === 4, 'the new tickets to be indexed');
		const canoe = await found('canoe');
		expect(canoe.slice(0, 2).sort()).toEqual(['rankBoth', 'rankSubject']);
		expect(canoe.slice(2)).toEqual(['rankField', 'rankBody']);
		expect(await found('canoe crack')).toEqual(['rankBoth', 'rankBody']);
	});

	it('finds a phrase by its words as indexed (stems, accents, repeats, three words) and only side by side', async () => {
		await create('pairs', 'Account access', 'We keep resetting the passwords of Zoë Brûlé: reset, reset, password again.', { email: 'pairs@example.com' });
		await create('apart', 'Password help', 'The password did not reset.', { email: 'apart@example.com' });
		await waitFor(async () => (await found('zoe')).includes('pairs') && (await found('did')).includes('apart'), 'the new tickets to be indexed');
		expect(await found('"reset the password"')).toEqual(['pairs']);
		expect(await found('"the passwords of"')).toEqual(['pairs']);
		expect(await found('"zoe brule"')).toEqual(['pairs']);
		expect(await found('"reset reset password"')).toEqual(['pairs']);
		expect(await found('"password password"')).toEqual([]);
		expect(await found('"password reset"')).toEqual([]);
		expect(await found('"password did not reset"')).toEqual(['apart']);
		expect(await sorted('password reset')).toEqual(['apart', 'pairs']);
		expect(await found('"reset password" -brule')).toEqual([]);
		// On PostgreSQL a phrase is looked up by its pairs of words (pg migration 0013): the query's
		// condition must be one that index serves, or a phrase of common words reads every row having them.
		await withStore(fx.dataDir, async (store) => {
			if (store.engine !== 'postgres') return;
			const plan = await store.transaction(async () => {
				await store.run(sql`SET LOCAL enable_seqscan = off`);
				return store.all<{ 'QUERY PLAN': string }>(sql`EXPLAIN SELECT 1 FROM ticket_search s WHERE ${tsMatch({ kind: 'text', words: ['reset', 'the', 'password'], phrase: true, negated: false })}`);
			});
			expect(plan.map((row) => row['QUERY PLAN']).join('\n')).toContain('ticket_search_pairs');
		});
	});

	it('narrows by words too common to rank, listing most recently updated first, with their passages', async () => {
		await withServices(fx.dataDir, async (services) => {
			const everyWordCommon = new SearchIndex(services.store, 1);
			const root = (await services.accounts.currentPrincipal(fx.users.root.id))!;
			const ids = async (q: string, index = everyWordCommon) => (await index.search(parseSearchQuery(q), { viewer: root, internal: true, limit: 100 })).hits.map((h) => name(h.ticket.id));
			const order = await everyWordCommon.search(parseSearchQuery('order'), { viewer: root, internal: true, limit: 100 });
			expect(order.hits.map((h) => h.ticket.updatedAt)).toEqual(order.hits.map((h) => h.ticket.updatedAt).sort((a, b) => b - a));
			expect(order.hits.map((h) => name(h.ticket.id)).sort()).toEqual((await ids('order', services.search.index)).sort());
			const tent = order.hits.find((h) => h.ticket.id === t.tent!.id)!;
			expect(tent.passage!.text.slice(...tent.passage!.highlights[0]!)).toBe('order');
			expect(await ids('maggie 58120')).toEqual(['tent']);
			// A rare word ranks, the common one narrows its results.
			expect(await ids('maggie order')).toEqual(['tent']);
			expect(await ids('abuser lamp')).toEqual(['lamp']);
			expect(await ids('abuser order')).toEqual([]);
			expect(await ids('"broken pole"')).toEqual(['tent']);
			expect(await ids('"pole broken"')).toEqual([]);
			expect(await ids('order -invoice status:open')).toEqual(['tent']);
			// Paged as a filter.
			const first = await everyWordCommon.search(parseSearchQuery('paddle'), { viewer: root, internal: true, limit: 2 });
			const rest = await everyWordCommon.search(parseSearchQuery('paddle'), { viewer: root, internal: true, limit: 10, cursor: first.next! });
			expect(new Set([...first.hits, ...rest.hits].map((h) => h.ticket.id)).size).toBe(5);
			// Internal entries stay with those who read them.
			const hidden = await everyWordCommon.search(parseSearchQuery('abuser'), { viewer: root, internal: false, limit: 10 });
			expect(hidden.hits).toEqual([]);
		});
	});

	it('refuses what it cannot take with a 400 naming the term', async () => {
		const refused = async (q: string, match: RegExp) => {
			const res = await search(fx.users.root.token, q);
			expect(res.status, q).toBe(400);
			expect(res.body.error.field).toBe('q');
			expect(res.body.error.message).toMatch(match);
		};
		await refused('order subject:pole', /subject:pole: unknown operator/);
		await refused('col:x', /col:x: unknown operator/);
		await refused('status:done', /status:done: expected new, open/);
		await refused('assignee:nobody', /assignee:nobody: no colleague is called nobody/);
		await refused('group:Nowhere', /group:Nowhere: there is no group/);
		await refused('created>soon', /created>soon: expected a date/);
		await refused('x'.repeat(501), /500 characters/);
		await refused(Array.from({ length: 30 }, (_, i) => `w${i}`).join(' '), /at most 24 terms/);
		const bot = await search(fx.tokens.chat.token, 'is:unread');
		expect(bot.status).toBe(400);
		expect(bot.body.error.message).toMatch(/is:unread is for signed-in colleagues/);
		for (const [extra, field] of [
			['&limit=0', 'limit'],
			['&limit=101', 'limit'],
			['&cursor=nonsense', 'cursor'],
			['&sort=rank', 'sort']
		]) {
			const res = await search(fx.users.root.token, 'order', extra);
			expect(res.status, extra).toBe(400);
			expect(res.body.error.message).toMatch(field);
		}
		// A cursor of a filter is not one of a ranked search.
		const filterCursor = (await search(fx.users.root.token, 'created>1d', '&limit=1')).body.next;
		expect((await search(fx.users.root.token, 'order', `&cursor=${filterCursor}`)).status).toBe(400);
	});

	it('takes hostile queries as plain words: engine syntax, SQL, quotes and unicode', async () => {
		for (const q of ['"', '""""""""""""""""', '"'.repeat(499), '*', 'pole*', 'NEAR(pole broken)', 'pole OR invoice', 'pole AND NOT x', '^pole', 'pole:', '{subject}: pole', "'; DROP TABLE tickets; --", "pole' OR '1'='1", '\\', '%', '_', '🎉🎉', 'پل', '\u0000pole\u0002', '- -- ---', '(((((((((())))))))))', 'NEAR', 'OR', '-']) {
			const res = await search(fx.users.root.token, q);
			expect([200, 400], `${q} → ${JSON.stringify(res.body)}`).toContain(res.status);
			if (res.status === 400) expect(res.body.error.message).toMatch(/: /);
		}
		// Syntax is words: OR is a word every result must have, a star is punctuation.
		expect(await found('pole OR invoice')).toEqual([]);
		expect(await found('pole*')).toEqual(['tent']);
		expect(await found('(pole) broken*')).toEqual(['tent']);
		expect(await found('NEAR(pole broken)')).toEqual([]); // "near" is a word like any other
		expect(await found("pole' OR '1'='1")).toEqual([]);
		expect(await found('%')).toHaveLength(await found('created>2000-01-01').then((all) => all.length));
		// Nothing was dropped.
		expect(await found('maggie')).toEqual(['tent']);
	});
});
