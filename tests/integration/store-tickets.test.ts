/**
 * Tickets, the ticket index and attachments on both engines: creating and recording tickets,
 * their numbers under concurrent creation, exactly-once appends and child tickets, the list's
 * search, filters, sorts and counts, the projection of a document into its row, and the
 * attachment quota under concurrent uploads. The ticket log and the documents are stand-ins
 * (in memory): what is tested here is what these services decide in the store.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { appendEntries, initTicket, newId, readEntries, readSides, setField, type Entry, type TicketFields } from '../../src/lib/ticket';
import { Attachments } from '../../server/attachments';
import { fileStoreOf } from '../../server/files';
import { SYSTEM, type BotPrincipal, type UserPrincipal } from '../../server/auth/principal';
import type { NewEvent } from '../../server/events';
import { reindexTicket } from '../../server/reindex';
import type { Store } from '../../server/storage/store';
import { TicketIndex } from '../../server/ticket-index';
import { Tickets, type DocumentAccess } from '../../server/tickets';
import { ENGINES, openTestStore } from '../helpers/store';

const agent = (id: string, groupIds: string[] = []): UserPrincipal => ({ kind: 'user', id, role: 'agent', name: id, email: `${id}@tandem.test`, groupIds });
const ADMIN: UserPrincipal = { kind: 'user', id: 'admin', role: 'admin', name: 'Admin', email: 'admin@tandem.test', groupIds: [] };
const MAIL_BOT: BotPrincipal = { kind: 'bot', id: 'bot', name: 'Mail bot', channels: ['email'] };

const LIMITS = { maxBytes: 1000, perEntry: 5, perTicketBytes: 100 };

/** Ticket documents in memory, each write "stored" a turn later and then applied, as the real log does. */
function memoryDocuments(): DocumentAccess & { docs: Map<string, Y.Doc>; commits: string[] } {
	const docs = new Map<string, Y.Doc>();
	const commits: string[] = [];
	const docOf = (ticketId: string) => {
		let doc = docs.get(ticketId);
		if (!doc) docs.set(ticketId, (doc = new Y.Doc()));
		return doc;
	};
	return {
		docs,
		commits,
		withDocument: async (ticketId, use) => use(docOf(ticketId)),
		async hold() {
			throw new Error('not in these tests');
		},
		loaded: () => null,
		async commit(ticketId, doc, update) {
			await new Promise((resolve) => setImmediate(resolve));
			commits.push(ticketId);
			Y.applyUpdate(doc, update);
		}
	};
}

/** The services under test on `store`, with stand-ins for the ticket log, customers, accounts and events. */
function ticketsOn(store: Store, dataDir: string) {
	const events: NewEvent[] = [];
	const index = new TicketIndex(store, { recordMany: async (list: NewEvent[]) => void events.push(...list) });
	const documents = memoryDocuments();
	const logged: string[] = [];
	const log = {
		// The recorded ticket's first state becomes its document, as loading it from the log would.
		append: async (ticketId: string, update: Uint8Array) => {
			logged.push(ticketId);
			if (!documents.docs.has(ticketId)) {
				const doc = new Y.Doc();
				Y.applyUpdate(doc, update);
				documents.docs.set(ticketId, doc);
			}
			return logged.length;
		},
		claimClients: async () => {},
		loadInto: async (ticketId: string, doc: Y.Doc) => Y.applyUpdate(doc, Y.encodeStateAsUpdate(documents.docs.get(ticketId) ?? new Y.Doc()))
	};
	const customers = {
		findOrCreate: async (_kind: string, email: string) => ({ id: `C-${email.replace(/[^a-z]/g, '')}` }),
		get: async (id: string) => ({ id, name: id }),
		visibleTo: async (id: string) => ({ id, name: id })
	};
	const accounts = { get: async (id: string) => ({ id, name: id }), canHoldTickets: () => true, groupExists: () => true, principal: () => null };
	const eventLog = { record: async (event: NewEvent) => void events.push(event), recordMany: async (list: NewEvent[]) => void events.push(...list), forTicket: async () => [] };
	const attachments = new Attachments(store, fileStoreOf(store, dataDir), LIMITS);
	const tickets = new Tickets(store, log as never, index, customers as never, accounts as never, eventLog as never, documents, attachments);
	return { tickets, index, attachments, documents, log, logged, events };
}

const fieldsOf = (over: Partial<TicketFields> = {}): Omit<TicketFields, 'number'> => ({
	subject: 'A subject',
	status: 'new',
	priority: 'normal',
	assigneeId: null,
	groupId: null,
	requesterId: 'C1',
	channel: 'email',
	createdAt: Date.UTC(2026, 0, 1),
	tags: [],
	...over
});

const message = (body: string, createdAt = Date.now()): Entry => ({
	id: newId(),
	kind: 'message',
	channel: 'email',
	direction: 'in',
	visibility: 'public',
	authorType: 'customer',
	authorId: 'C1',
	body,
	createdAt
});

async function* bytes(content: string) {
	yield Buffer.from(content);
}

describe.each(ENGINES)('tickets on the %s store', (engine) => {
	let store: Store;
	let dataDir: string;
	let s: ReturnType<typeof ticketsOn>;

	beforeAll(async () => {
		store = await openTestStore(engine);
		dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-tickets-'));
		s = ticketsOn(store, dataDir);
	});
	afterAll(async () => {
		await store?.close();
		fs.rmSync(dataDir, { recursive: true, force: true });
	});

	it('creates a ticket with the next number, its row, its log and its event', async () => {
		const created = await s.tickets.create({ subject: 'Printer on fire', requester: { email: 'ann@example.com' }, channel: 'email', body: 'Help', tags: ['urgent', 'é'] }, ADMIN);
		expect(created).toMatchObject({ subject: 'Printer on fire', number: 1, status: 'new', tags: ['urgent', 'é'], entryCount: 1 });
		const row = await s.index.get(created.id);
		expect(row).toMatchObject({ id: created.id, number: 1, requesterId: 'C-annexamplecom', tags: ['urgent', 'é'], assigneeId: null, groupId: null, lastPublicPreview: 'Help', parentId: null });
		expect(await s.index.byNumber(1)).toEqual(row);
		expect(await s.index.exists(created.id)).toBe(true);
		expect(await s.index.exists('nobody')).toBe(false);
		expect(s.logged).toContain(created.id);
		expect(s.events).toContainEqual(expect.objectContaining({ ticketId: created.id, type: 'ticket.created' }));
		expect(await s.tickets.read(created.id, ADMIN)).toMatchObject({ id: created.id, number: 1, entries: [expect.objectContaining({ body: 'Help' })] });
	});

	it('gives concurrent creations distinct numbers, without gaps', async () => {
		const before = (await s.index.allIds()).length;
		const created = await Promise.all(Array.from({ length: 12 }, (_, i) => s.tickets.record({ fields: fieldsOf({ subject: `Burst ${i}` }), entries: [message(`burst ${i}`)] }, SYSTEM)));
		const numbers = created.map((t) => t.number!).sort((a, b) => a - b);
		expect(numbers).toEqual(Array.from({ length: 12 }, (_, i) => before + 1 + i));
		for (const ticket of created) expect((await s.index.get(ticket.id))?.number).toBe(ticket.number);
	});

	it('records a ticket once under its id: of concurrent records one wins, the others write nothing', async () => {
		const id = newId();
		const logged = s.logged.length;
		const results = await Promise.allSettled(Array.from({ length: 4 }, () => s.tickets.record({ id, fields: fieldsOf({ subject: 'Imported once' }), entries: [message('imported')] }, SYSTEM)));
		expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
		for (const r of results.filter((r) => r.status === 'rejected')) expect((r as PromiseRejectedResult).reason).toMatchObject({ status: 409, code: 'id_taken' });
		expect(s.logged.length).toBe(logged + 1);
		// The losers' numbers were rolled back: the next ticket continues right after the winner's.
		const winner = (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ number: number }>).value;
		const next = await s.tickets.record({ fields: fieldsOf(), entries: [message('after')] }, SYSTEM);
		expect(next.number).toBe(winner.number + 1);
	});

	it('appends an entry once per id, however many requests carry it at once', async () => {
		const ticket = await s.tickets.record({ fields: fieldsOf({ subject: 'Appends' }), entries: [message('first')] }, SYSTEM);
		const id = newId();
		const results = await Promise.all(
			Array.from({ length: 5 }, () => s.tickets.append(ticket.id, { id, kind: 'note', channel: 'internal', visibility: 'internal', body: 'once only' }, ADMIN))
		);
		expect(results.filter((r) => r.created)).toHaveLength(1);
		expect(new Set(results.map((r) => r.entry.id))).toEqual(new Set([id]));
		expect(readEntries(s.documents.docs.get(ticket.id)!).filter((e) => e.id === id)).toHaveLength(1);
		expect(s.documents.commits.filter((t) => t === ticket.id)).toHaveLength(1);
		// Different entries at once all land, none overwriting another.
		await Promise.all(Array.from({ length: 5 }, (_, i) => s.tickets.append(ticket.id, { kind: 'note', channel: 'internal', visibility: 'internal', body: `note ${i}` }, ADMIN)));
		expect(readEntries(s.documents.docs.get(ticket.id)!).filter((e) => e.body.startsWith('note '))).toHaveLength(5);
	});

	it('creates one child ticket for concurrent requests with one id', async () => {
		const parent = await s.tickets.record({ fields: fieldsOf({ subject: 'Parent' }), entries: [message('parent')] }, SYSTEM);
		const id = newId();
		const results = await Promise.all(Array.from({ length: 4 }, () => s.tickets.createChild(parent.id, { id, subject: 'Child', body: 'Look into this' }, ADMIN)));
		expect(results.filter((r) => r.created)).toHaveLength(1);
		expect(new Set(results.map((r) => r.child.id)).size).toBe(1);
		const children = await s.index.childrenOf(parent.id);
		expect(children.map((c) => c.id)).toEqual([results[0]!.child.id]);
		expect(readSides(s.documents.docs.get(parent.id)!).filter((side) => side.childId)).toEqual([expect.objectContaining({ id, subject: `Child ticket #${children[0]!.number}` })]);
		expect((await s.tickets.family(parent.id, ADMIN)).children).toEqual([expect.objectContaining({ id: children[0]!.id, visible: true, subject: 'Child' })]);
	});

	it('projects a document into its row, field changes recorded once, the newest state last', async () => {
		const ticket = await s.tickets.record({ fields: fieldsOf({ subject: 'Projected' }), entries: [message('projected')] }, SYSTEM);
		const doc = s.documents.docs.get(ticket.id)!;
		const heard: string[] = [];
		const stop = s.index.onChange((row) => row.id === ticket.id && heard.push(row.status));
		const changes = s.events.length;
		// Projections overlapping one another, the document changing between them.
		const projections: Promise<unknown>[] = [];
		for (const status of ['open', 'pending', 'hold', 'solved'] as const) {
			setField(doc, 'status', status);
			projections.push(s.index.project(ticket.id, doc, 'user:admin'));
			// The next change comes while this projection is on its way to the store.
			await new Promise((resolve) => setImmediate(resolve));
		}
		await Promise.all(projections);
		stop();
		expect((await s.index.get(ticket.id))?.status).toBe('solved');
		const statusChanges = s.events.slice(changes).filter((e) => e.type === 'field.changed' && (e.data as { field: string }).field === 'status');
		// One chain from the stored row to the newest state: each change starts where the one before ended.
		expect(statusChanges.at(0)?.data).toMatchObject({ from: 'new' });
		expect(statusChanges.at(-1)?.data).toMatchObject({ to: 'solved' });
		statusChanges.slice(1).forEach((e, i) => expect((e.data as { from: string }).from).toBe((statusChanges[i]!.data as { to: string }).to));
		expect(new Set(statusChanges.map((e) => (e.data as { to: string }).to)).size).toBe(statusChanges.length);
		expect(heard.at(-1)).toBe('solved');
	});

	// Two processes' projections, or two transactions: on PostgreSQL the one that waited for the
	// row's lock writes after a newer one (on SQLite a transaction excludes every other writer).
	it.runIf(engine === 'postgres')('never lets a projection that waited for the row overwrite a newer one', async () => {
		const ticket = await s.tickets.record({ fields: fieldsOf({ subject: 'Overtaken' }), entries: [message('overtaken')] }, SYSTEM);
		const doc = s.documents.docs.get(ticket.id)!;
		let waiting!: () => void;
		const reached = new Promise<void>((resolve) => (waiting = resolve));
		let release!: () => void;
		const gate = new Promise<void>((resolve) => (release = resolve));
		let first = true;
		// The first projection is held just before its transaction, which locks the row first.
		const held: Store = Object.create(store, {
			transaction: {
				value: async (...args: Parameters<Store['transaction']>) => {
					if (first) {
						first = false;
						waiting();
						await gate;
					}
					return store.transaction(...args);
				}
			}
		});
		const index = new TicketIndex(held, { recordMany: async () => {} });
		setField(doc, 'status', 'open');
		const overtaken = index.project(ticket.id, doc);
		await reached;
		setField(doc, 'status', 'pending');
		await index.project(ticket.id, doc);
		release();
		await overtaken;
		expect((await s.index.get(ticket.id))?.status).toBe('pending');
	});

	// The row a caller last saw only saves statements: stale either way, the row read is what counts.
	it('projects from the stored row whatever the last row it was given says', async () => {
		const ticket = await s.tickets.record({ fields: fieldsOf({ subject: 'Hinted' }), entries: [message('hinted')] }, SYSTEM);
		const doc = s.documents.docs.get(ticket.id)!;
		const stored = (await s.index.get(ticket.id))!;
		const statusChanges = () => s.events.filter((e) => e.ticketId === ticket.id && e.type === 'field.changed').length;
		// A last row behind the stored one: nothing to write, no change recorded.
		const behind = { ...stored, status: 'new' as const, subject: 'older' };
		expect(await s.index.project(ticket.id, doc, 'system', Date.now(), [], undefined, behind)).toMatchObject({ subject: 'Hinted', status: stored.status });
		expect(statusChanges()).toBe(0);
		// A last row that already shows the document's change the stored row lacks: the change is still written and recorded once.
		setField(doc, 'priority', 'urgent');
		const ahead = { ...stored, priority: 'urgent' as const };
		const entryEvent: NewEvent = { ticketId: ticket.id, actor: 'system', type: 'entry.added', data: {} };
		expect(await s.index.project(ticket.id, doc, 'system', Date.now(), [entryEvent], undefined, ahead)).toMatchObject({ priority: 'urgent' });
		expect((await s.index.get(ticket.id))?.priority).toBe('urgent');
		const recorded = s.events.filter((e) => e.ticketId === ticket.id && ['field.changed', 'entry.added'].includes(e.type));
		expect(recorded.map((e) => e.type)).toEqual(['entry.added', 'field.changed']);
	});

	it('rebuilds a row from the document, keeping its number and recording no changes', async () => {
		const ticket = await s.tickets.record({ fields: fieldsOf({ subject: 'Rebuilt' }), entries: [message('rebuilt')] }, SYSTEM);
		const { tickets } = store.tables;
		await store.db.update(tickets).set({ subject: 'stale' }).where(eq(tickets.id, ticket.id));
		const changes = s.events.length;
		await reindexTicket({ store, log: s.log as never, index: s.index }, ticket.id);
		expect(await s.index.get(ticket.id)).toMatchObject({ subject: 'Rebuilt', number: ticket.number });
		expect(s.events.length).toBe(changes);
	});

	describe('the list', () => {
		const ids: Record<string, string> = {};
		beforeAll(async () => {
			const { tickets } = store.tables;
			await store.db.delete(tickets);
			const at = Date.UTC(2026, 1, 1);
			const specs = [
				{ key: 'refund', subject: 'REFUND please', priority: 'low', status: 'open', groupId: 'G1', assigneeId: null, updated: 1, channel: 'email', body: 'money back' },
				{ key: 'percent', subject: 'Discount of 100% off_now', priority: 'urgent', status: 'new', groupId: null, assigneeId: 'agent1', updated: 2, channel: 'chat', body: 'big' },
				{ key: 'preview', subject: 'Question', priority: 'high', status: 'pending', groupId: 'G2', assigneeId: 'agent2', updated: 3, channel: 'email', body: 'I want a Refund today' },
				{ key: 'done', subject: 'Solved one', priority: 'normal', status: 'solved', groupId: 'G1', assigneeId: 'agent1', updated: 4, channel: 'email', body: 'thanks' },
				{ key: 'twin', subject: 'Solved one', priority: 'normal', status: 'closed', groupId: 'G2', assigneeId: null, updated: 4, channel: 'web', body: 'bye' }
			];
			for (const spec of specs) {
				const doc = new Y.Doc();
				initTicket(doc, { ...fieldsOf({ subject: spec.subject, priority: spec.priority as never, status: spec.status as never, groupId: spec.groupId, assigneeId: spec.assigneeId, channel: spec.channel as never, tags: [spec.key] }), number: specs.indexOf(spec) + 100 });
				const id = `T-${spec.key}`;
				ids[spec.key] = id;
				appendEntries(doc, [message(spec.body, at)]);
				await s.index.project(id, doc, 'system', at + spec.updated * 1000);
			}
		});

		const listed = async (filters: Partial<Parameters<TicketIndex['list']>[0]> = {}) =>
			(await s.index.list({ viewer: ADMIN, sort: 'updated', limit: 50, ...filters })).tickets.map((t) => t.id);

		it('searches subjects and previews case-insensitively, literally, and by number', async () => {
			expect((await listed({ q: 'refund' })).sort()).toEqual([ids.preview, ids.refund].sort());
			expect((await listed({ q: 'REFUND' })).sort()).toEqual([ids.preview, ids.refund].sort());
			// % and _ are the characters themselves, not patterns.
			expect(await listed({ q: '100%' })).toEqual([ids.percent]);
			expect(await listed({ q: 'f_n' })).toEqual([ids.percent]);
			expect(await listed({ q: '%' })).toEqual([ids.percent]);
			expect(await listed({ q: '#102' })).toEqual([ids.preview]);
			expect(await listed({ q: 'nothing like it' })).toEqual([]);
		});

		it('filters by status, assignee, group, view and visibility', async () => {
			expect(await listed({ status: 'pending' })).toEqual([ids.preview]);
			expect((await listed({ assigneeId: 'agent1' })).sort()).toEqual([ids.done, ids.percent].sort());
			expect((await listed({ groupId: 'G2' })).sort()).toEqual([ids.preview, ids.twin].sort());
			expect((await listed({ view: 'unassigned' }))).toEqual([ids.refund]);
			expect((await listed({ view: 'solved' })).sort()).toEqual([ids.done, ids.twin].sort());
			expect(await listed({ view: 'mine' })).toEqual([]); // the admin holds none
			// An agent sees their own, their groups' and group-less tickets; one of no group only those.
			expect((await listed({ viewer: agent('agent2', ['G1']) })).sort()).toEqual([ids.done, ids.percent, ids.preview, ids.refund].sort());
			expect((await listed({ viewer: agent('agent9') })).sort()).toEqual([ids.percent]);
			expect((await listed({ viewer: MAIL_BOT })).sort()).toEqual([ids.done, ids.preview, ids.refund].sort());
		});

		it('sorts the same on both engines, ties broken by id, and pages by cursor without repeats', async () => {
			expect(await listed()).toEqual([ids.twin, ids.done, ids.preview, ids.percent, ids.refund]);
			expect(await listed({ sort: 'priority' })).toEqual([ids.percent, ids.preview, ids.twin, ids.done, ids.refund]);
			const seen: string[] = [];
			let cursor: string | undefined;
			do {
				const page = await s.index.list({ viewer: ADMIN, sort: 'priority', limit: 2, cursor });
				seen.push(...page.tickets.map((t) => t.id));
				cursor = page.next ?? undefined;
			} while (cursor);
			expect(seen).toEqual([ids.percent, ids.preview, ids.twin, ids.done, ids.refund]);
		});

		it('counts the views in one query, as numbers', async () => {
			const counts = await s.index.countViews(ADMIN);
			expect(counts).toMatchObject({ unassigned: 1, open: 3, pending: 1, solved: 2, mine: 0 });
			expect((await s.index.countViews(MAIL_BOT)).mine).toBe(0);
			expect((await s.index.countViews(agent('agent1', ['G1']))).mine).toBe(1);
		});

		it('reads a requester’s tickets, their scopes and the tags as they were written', async () => {
			expect((await s.index.ofRequester('C1', MAIL_BOT, 2)).map((t) => t.id)).toEqual([ids.done, ids.preview]);
			expect(await s.index.requesterScopes('C1')).toHaveLength(5);
			expect((await s.index.get(ids.percent))?.tags).toEqual(['percent']);
		});
	});

	describe('attachments', () => {
		it('keeps a ticket within its quota under concurrent uploads, a file it has counted once', async () => {
			const ticket = await s.tickets.record({ fields: fieldsOf({ subject: 'Uploads' }), entries: [message('files')] }, SYSTEM);
			// Many at once, so that their decisions overlap: 10 of the 30 fit.
			const files = Array.from({ length: 30 }, (_, i) => `${i}`.padStart(10, '-'));
			const results = await Promise.allSettled(files.map((content, i) => s.tickets.upload(ticket.id, { name: `f${i}.txt`, contentType: 'text/plain', body: bytes(content) }, ADMIN)));
			expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
			for (const r of results.filter((r) => r.status === 'rejected')) expect((r as PromiseRejectedResult).reason).toMatchObject({ status: 413, code: 'ticket_attachments_full' });
			expect((await s.tickets.attachmentUsage(ticket.id, ADMIN)).usedBytes).toBe(100);
			const keptIndex = results.findIndex((r) => r.status === 'fulfilled');
			const kept = (results[keptIndex] as PromiseFulfilledResult<{ sha256: string; size: number; name: string }>).value;
			// The same file again, twice at once: it costs nothing more.
			const again = await Promise.all([0, 1].map(() => s.tickets.upload(ticket.id, { name: 'again.txt', contentType: 'text/plain', body: bytes(files[keptIndex]!) }, ADMIN)));
			expect(again.map((a) => a.sha256)).toEqual([kept.sha256, kept.sha256]);
			expect((await s.attachments.usage(ticket.id)).usedBytes).toBe(100);
			// An entry may list what was uploaded to its ticket, as uploaded.
			const uploads = await s.attachments.uploadsOf(ticket.id);
			expect(uploads.size).toBe(10);
			const listing = (size: number): Entry => ({ ...message('see file'), meta: { attachments: [{ name: kept.name, contentType: 'text/plain', size, sha256: kept.sha256 }] } });
			expect(s.attachments.refused(uploads, listing(10))).toBeNull();
			expect(s.attachments.refused(uploads, listing(11))).toMatch(/size/);
			expect(s.attachments.refused(new Map(), listing(10))).toMatch(/not uploaded/);
			const appended = await s.tickets.append(ticket.id, { kind: 'note', channel: 'internal', visibility: 'internal', body: 'attached', meta: { attachments: [{ name: kept.name, contentType: 'text/plain', size: 10, sha256: kept.sha256 }] } }, ADMIN);
			expect(appended.created).toBe(true);
			expect(await s.tickets.attachment(ticket.id, kept.sha256, ADMIN)).toMatchObject({ sha256: kept.sha256 });
		});
	});
});
