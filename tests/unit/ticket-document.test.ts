/**
 * The ticket document module (DESIGN.md, "Ticket document contract"): entry schema, document
 * names, display order, appends, the incremental entry index, the server-side append encoder and
 * the typed accessors. No server, no sockets: plain Y.Docs synced by hand.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { ZodError } from 'zod';
import { findDraftText, mergeDraft, sendDraft, setDraftOptions } from '../../src/lib/ticket';
import {
	addDraftAuthor,
	addTag,
	appendEntries,
	appendEntry,
	appendSideEntry,
	checkUpdate,
	compareEntries,
	deleteDraft,
	draftText,
	DuplicateEntryError,
	encodeAppend,
	entriesArray,
	entryIndex,
	entrySchema,
	getEntry,
	initTicket,
	MAX_BODY_BYTES,
	openSide,
	parseTicketDocumentName,
	readDrafts,
	readEntries,
	readFields,
	readSides,
	removeTag,
	setField,
	setSideStatus,
	ticketDocumentName,
	type Entry,
	type TicketFields
} from '../../src/lib/ticket';
import { replicaOf, ticketDoc } from '../helpers/docs';
import { entrySequence } from '../helpers/entries';

const NOW = Date.UTC(2030, 0, 15, 12);

/** A valid entry; ids sort in creation order unless given. */
const entry = entrySequence({ createdAt: NOW });

const FIELDS: TicketFields = {
	subject: 'Printer on fire',
	status: 'open',
	priority: 'high',
	assigneeId: 'agent-1',
	groupId: 'group-1',
	requesterId: 'cust-1',
	channel: 'email',
	createdAt: NOW - 1000,
	tags: ['hardware', 'urgent']
};

const newDoc = (clientID: number, fields: TicketFields = FIELDS) => ticketDoc(clientID, fields);

/** Sends each doc what the other lacks, in both directions. */
function syncBoth(a: Y.Doc, b: Y.Doc) {
	const toB = Y.encodeStateAsUpdate(a, Y.encodeStateVector(b));
	const toA = Y.encodeStateAsUpdate(b, Y.encodeStateVector(a));
	Y.applyUpdate(b, toB);
	Y.applyUpdate(a, toA);
}

/** The last struct of the conversation array, found by walking it (what the index must match). */
function walkToLastItem(doc: Y.Doc): Y.Item | null {
	let item = entriesArray(doc)._start;
	while (item !== null && item.right !== null) item = item.right;
	return item;
}

/** The index's lastItem must be the end of the array: same last id, same last entry. */
function expectLastItemAtEnd(doc: Y.Doc) {
	const last = walkToLastItem(doc);
	const indexed = entryIndex(doc).lastItem;
	if (last === null) return expect(indexed).toBeNull();
	expect(indexed).not.toBeNull();
	expect(indexed!.lastId).toEqual(last.lastId);
	const content = indexed!.content.getContent() as Entry[];
	expect(content[content.length - 1]).toEqual(entriesArray(doc).get(entriesArray(doc).length - 1));
}

const ids = (entries: readonly Entry[]) => entries.map((e) => e.id);

// ---------------------------------------------------------------------------------------------

describe('entrySchema', () => {
	it('accepts a complete entry, with and without optional keys', () => {
		const full = entry({ meta: { headers: { 'message-id': '<a@b>' }, attachments: [] } });
		expect(entrySchema.parse(full)).toEqual(full);
		const { direction: _d, meta: _m, ...minimal } = entry({ kind: 'note', visibility: 'internal', authorType: 'agent' });
		expect(entrySchema.safeParse(minimal).success).toBe(true);
	});

	it('refuses an unknown key', () => {
		expect(entrySchema.safeParse({ ...entry(), extra: 1 }).success).toBe(false);
	});

	it.each([
		['kind', 'sms'],
		['channel', 'fax'],
		['visibility', 'secret'],
		['authorType', 'robot'],
		['direction', 'sideways']
	])('refuses an unknown %s (%s)', (key, value) => {
		const result = entrySchema.safeParse({ ...entry(), [key]: value });
		expect(result.success).toBe(false);
		expect(result.error!.issues[0].path).toEqual([key]);
	});

	it('refuses missing required keys and malformed ids and dates', () => {
		const { body: _b, ...noBody } = entry();
		expect(entrySchema.safeParse(noBody).success).toBe(false);
		expect(entrySchema.safeParse(entry({ id: 'has space' })).success).toBe(false);
		expect(entrySchema.safeParse(entry({ id: '' })).success).toBe(false);
		expect(entrySchema.safeParse(entry({ createdAt: -1 })).success).toBe(false);
		expect(entrySchema.safeParse(entry({ createdAt: 1.5 })).success).toBe(false);
	});

	it('limits the body to 64 KiB in UTF-8 bytes, not in characters', () => {
		const euros = '€'.repeat(22_000); // 22,000 characters, 66,000 bytes
		expect(euros.length).toBeLessThan(MAX_BODY_BYTES);
		const result = entrySchema.safeParse(entry({ body: euros }));
		expect(result.success).toBe(false);
		expect(result.error!.issues[0].path).toEqual(['body']);
		expect(entrySchema.safeParse(entry({ body: 'a'.repeat(MAX_BODY_BYTES) })).success).toBe(true);
		expect(entrySchema.safeParse(entry({ body: 'a'.repeat(MAX_BODY_BYTES + 1) })).success).toBe(false);
	});

	it('refuses a public note and accepts an internal one', () => {
		const result = entrySchema.safeParse(entry({ kind: 'note', visibility: 'public' }));
		expect(result.success).toBe(false);
		expect(result.error!.issues[0].path).toEqual(['visibility']);
		expect(entrySchema.safeParse(entry({ kind: 'note', visibility: 'internal' })).success).toBe(true);
	});
});

describe('ticket document names', () => {
	it('builds and parses ticket:<id>', () => {
		expect(ticketDocumentName('01HZX3T9Q8')).toBe('ticket:01HZX3T9Q8');
		expect(parseTicketDocumentName(ticketDocumentName('01HZX3T9Q8'))).toBe('01HZX3T9Q8');
		expect(parseTicketDocumentName('ticket:a_b.c:d-e')).toBe('a_b.c:d-e');
	});

	it.each(['other:01HZX3T9Q8', 'Ticket:01HZX3T9Q8', 'tickets:1', '01HZX3T9Q8', ''])('rejects the name %j (other prefix)', (name) => {
		expect(parseTicketDocumentName(name)).toBeNull();
	});

	it.each(['ticket:', 'ticket:has space', 'ticket:a/b', 'ticket:ü', `ticket:${'x'.repeat(65)}`])('rejects the name %j (bad id)', (name) => {
		expect(parseTicketDocumentName(name)).toBeNull();
	});
});

describe('readEntries: display order', () => {
	it('orders by createdAt then id, whatever the array order after concurrent appends', () => {
		const base = newDoc(50);
		appendEntries(base, [entry({ id: 'M', createdAt: NOW - 500 })]);
		const a = replicaOf(base, 1);
		const b = replicaOf(base, 2);
		// a (lower client id: its concurrent append lands first in the array) writes newer entries.
		appendEntries(a, [entry({ id: 'A2', createdAt: NOW + 20 }), entry({ id: 'A1', createdAt: NOW + 10 })]);
		appendEntries(b, [entry({ id: 'B1', createdAt: NOW + 10 }), entry({ id: 'B0', createdAt: NOW - 1000 })]);
		syncBoth(a, b);

		const expected = ['B0', 'M', 'A1', 'B1', 'A2'];
		expect(ids(readEntries(a))).toEqual(expected);
		expect(ids(readEntries(b))).toEqual(expected);
		// The array itself is in another order: the sort is what makes the display order.
		expect(ids(entriesArray(a).toArray())).toEqual(ids(entriesArray(b).toArray()));
		expect(ids(entriesArray(a).toArray())).not.toEqual(expected);
	});

	it('compareEntries breaks a createdAt tie by id', () => {
		expect(compareEntries(entry({ id: 'a', createdAt: 5 }), entry({ id: 'b', createdAt: 5 }))).toBeLessThan(0);
		expect(compareEntries(entry({ id: 'b', createdAt: 5 }), entry({ id: 'a', createdAt: 5 }))).toBeGreaterThan(0);
		expect(compareEntries(entry({ id: 'z', createdAt: 4 }), entry({ id: 'a', createdAt: 5 }))).toBeLessThan(0);
		expect(compareEntries(entry({ id: 'a', createdAt: 5 }), entry({ id: 'a', createdAt: 5 }))).toBe(0);
	});
});

describe('appendEntries', () => {
	it('appends valid entries at the end and finds them by id', () => {
		const doc = newDoc(1);
		const first = entry();
		appendEntry(doc, first);
		const more = [entry(), entry()];
		appendEntries(doc, more);
		expect(entriesArray(doc).toArray()).toEqual([first, ...more]);
		expect(getEntry(doc, more[1].id)).toEqual(more[1]);
		expect(getEntry(doc, 'nope')).toBeUndefined();
	});

	it('refuses an id the ticket already has, and appends nothing of the batch', () => {
		const doc = newDoc(1);
		const existing = entry();
		appendEntries(doc, [existing]);
		const before = Y.encodeStateAsUpdate(doc);
		const fresh = entry();
		let thrown: unknown;
		try {
			appendEntries(doc, [fresh, { ...entry(), id: existing.id }]);
		} catch (error) {
			thrown = error;
		}
		expect(thrown).toBeInstanceOf(DuplicateEntryError);
		expect((thrown as DuplicateEntryError).entryId).toBe(existing.id);
		expect(Y.encodeStateAsUpdate(doc)).toEqual(before);
		expect(ids(readEntries(doc))).toEqual([existing.id]);
		expect(getEntry(doc, fresh.id)).toBeUndefined();
	});

	it('refuses the same id twice in one batch', () => {
		const doc = newDoc(1);
		const twice = entry();
		expect(() => appendEntries(doc, [twice, { ...twice }])).toThrow(DuplicateEntryError);
		expect(entriesArray(doc).length).toBe(0);
		expect(entryIndex(doc).count).toBe(0);
	});

	it('refuses an id used in a side conversation', () => {
		const doc = newDoc(1);
		openSide(doc, { id: 'S1', subject: 'ask vendor', channel: 'email', createdBy: 'agent-1', createdAt: NOW, participants: [] });
		const side = entry({ visibility: 'internal' });
		appendSideEntry(doc, 'S1', side);
		expect(() => appendEntries(doc, [{ ...entry(), id: side.id }])).toThrow(DuplicateEntryError);
		expect(entriesArray(doc).length).toBe(0);
	});

	it('refuses an invalid entry and appends nothing of the batch', () => {
		const doc = newDoc(1);
		const bad = { ...entry(), kind: 'sms' } as unknown as Entry;
		expect(() => appendEntries(doc, [entry(), bad])).toThrow(ZodError);
		expect(entriesArray(doc).length).toBe(0);
	});
});

describe('entryIndex', () => {
	it('follows local appends: count, byId, lastPublic, lastItem', () => {
		const doc = newDoc(1);
		const index = entryIndex(doc);
		expect(index).toMatchObject({ count: 0, lastPublic: null, lastItem: null });

		const m1 = entry({ createdAt: NOW });
		appendEntries(doc, [m1]);
		expect(index.count).toBe(1);
		expect(index.lastPublic).toEqual(m1);
		expectLastItemAtEnd(doc);

		// A note and an internal message are newer but are not public messages.
		const note = entry({ kind: 'note', visibility: 'internal', createdAt: NOW + 10 });
		const internal = entry({ visibility: 'internal', createdAt: NOW + 20 });
		const call = entry({ kind: 'call', channel: 'talk', createdAt: NOW + 30 });
		appendEntries(doc, [note, internal, call]);
		expect(index.count).toBe(4);
		expect(index.lastPublic).toEqual(m1);
		expectLastItemAtEnd(doc);

		// Newest by display order, not by arrival: an older-dated message appended later does not win.
		const m2 = entry({ createdAt: NOW + 40 });
		const older = entry({ createdAt: NOW - 40 });
		appendEntries(doc, [m2]);
		appendEntries(doc, [older]);
		expect(index.lastPublic).toEqual(m2);
		expect(index.count).toBe(6);
		expectLastItemAtEnd(doc);

		// Same createdAt: the greater id is newer.
		const tieLow = entry({ id: 'ZZ0', createdAt: NOW + 40 });
		const tieHigh = entry({ id: 'ZZ1', createdAt: NOW + 40 });
		appendEntries(doc, [tieHigh]);
		appendEntries(doc, [tieLow]);
		expect(index.lastPublic).toEqual(tieHigh);

		expect([...index.byId.keys()].sort()).toEqual(ids(entriesArray(doc).toArray()).sort());
		for (const e of entriesArray(doc).toArray()) expect(index.byId.get(e.id)).toEqual(e);
	});

	it('follows remote updates, concurrent appends and side conversations', () => {
		const server = newDoc(10);
		appendEntries(server, [entry({ createdAt: NOW - 100 })]);
		const a = replicaOf(server, 1);
		const b = replicaOf(server, 2);
		const index = entryIndex(b); // built from the initial walk, then kept incrementally
		expect(index.count).toBe(1);

		// A remote append.
		const fromA = entry({ createdAt: NOW });
		appendEntries(a, [fromA]);
		Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)));
		expect(index.count).toBe(2);
		expect(index.byId.get(fromA.id)).toEqual(fromA);
		expect(index.lastPublic).toEqual(fromA);
		expectLastItemAtEnd(b);

		// Concurrent appends: b appends locally, then receives a's concurrent batch.
		const fromB = entry({ createdAt: NOW + 5 });
		appendEntries(b, [fromB]);
		const concurrent = [entry({ createdAt: NOW + 10 }), entry({ visibility: 'internal', createdAt: NOW + 20 })];
		appendEntries(a, concurrent);
		Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)));
		expect(index.count).toBe(5);
		expect(index.lastPublic).toEqual(concurrent[0]);
		expectLastItemAtEnd(b);

		// Side conversation entries: indexed by id, not counted, never the public preview.
		openSide(a, { id: 'S1', subject: 'vendor', channel: 'email', createdBy: 'agent-1', createdAt: NOW, participants: ['v@x.test'] });
		const sidePublic = entry({ createdAt: NOW + 1000 });
		appendSideEntry(a, 'S1', sidePublic);
		Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)));
		expect(index.byId.get(sidePublic.id)).toEqual(sidePublic);
		expect(index.count).toBe(5);
		expect(index.lastPublic).toEqual(concurrent[0]);
		expectLastItemAtEnd(b);

		// Local side entry on b too.
		const sideLocal = entry({ kind: 'note', visibility: 'internal' });
		appendSideEntry(b, 'S1', sideLocal);
		expect(index.byId.has(sideLocal.id)).toBe(true);
		expect(index.count).toBe(5);

		// An index built from scratch on a converged replica agrees with the incremental one.
		Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)));
		const fresh = entryIndex(replicaOf(a, 3));
		expect(fresh.count).toBe(index.count);
		expect(fresh.lastPublic).toEqual(index.lastPublic);
		expect([...fresh.byId.keys()].sort()).toEqual([...index.byId.keys()].sort());
		expect(fresh.lastItem!.lastId).toEqual(index.lastItem!.lastId);
	});
});

describe('entryIndex: lastItem when the last item arrives deleted', () => {
	it('still points at the end of the array (origin of the next append)', () => {
		const server = newDoc(10);
		appendEntries(server, [entry(), entry()]);
		const replica = replicaOf(server, 20);
		const index = entryIndex(replica);
		// The server appends an entry and an admin redacts it before the replica hears of either:
		// the replica receives an item that is already deleted, at the end of the array.
		const redacted = entry();
		appendEntries(server, [redacted]);
		entriesArray(server).delete(2, 1);
		Y.applyUpdate(replica, Y.encodeStateAsUpdate(server, Y.encodeStateVector(replica)));
		expect(entriesArray(replica).length).toBe(2);
		expect(index.count).toBe(2);
		expect(index.byId.has(redacted.id)).toBe(false);
		expect(index.lastItem!.lastId).toEqual(walkToLastItem(replica)!.lastId);
		// So an append encoded from the replica lands at the very end, after the redacted item.
		const next = entry();
		Y.applyUpdate(replica, encodeAppend(replica, [next], 555));
		expect(walkToLastItem(replica)!.content.getContent()).toEqual([next]);
	});
});

describe('encodeAppend', () => {
	const WRITER = 777_001;

	it('encodes an append without touching the source doc; applied, it appends exactly those entries at the end', () => {
		const server = newDoc(10);
		appendEntries(server, [entry(), entry()]);
		const peer = replicaOf(server, 20);
		appendEntries(peer, [entry()]);
		Y.applyUpdate(server, Y.encodeStateAsUpdate(peer, Y.encodeStateVector(server)));

		const before = Y.encodeStateAsUpdate(server);
		const beforeEntries = entriesArray(server).toArray();
		const replica = replicaOf(server, 30);
		const added = [entry({ createdAt: NOW + 1 }), entry({ createdAt: NOW + 2 })];

		const update = encodeAppend(server, added, WRITER);

		// Not applied: the source is unchanged, index included.
		expect(Y.encodeStateAsUpdate(server)).toEqual(before);
		expect(entryIndex(server).count).toBe(3);
		expect(getEntry(server, added[0].id)).toBeUndefined();

		// One struct from the given client, at its next clock.
		const decoded = Y.decodeUpdate(update);
		expect(decoded.structs).toHaveLength(1);
		expect(decoded.structs[0].id).toEqual(Y.createID(WRITER, 0));
		expect(decoded.ds.clients.size).toBe(0);

		// The checker accepts it as an append.
		const system = { actor: 'system', writerId: null, rootAllowed: () => null, entryAllowed: () => null, fieldAllowed: () => null, participantAllowed: () => null };
		expect(checkUpdate(server, update, system, { owners: new Map(), seen: new Map() }, NOW)).toMatchObject({ ok: true, entries: added, claims: [WRITER] });

		Y.applyUpdate(replica, update);
		expect(entriesArray(replica).toArray()).toEqual([...beforeEntries, ...added]);
		Y.applyUpdate(server, update);
		expect(entriesArray(server).toArray()).toEqual([...beforeEntries, ...added]);
		expect(server.store.pendingStructs).toBeNull();
		expect(server.clientID).toBe(10);
		expect(entryIndex(server).count).toBe(5);
		expectLastItemAtEnd(server);

		// The next one continues the writer's clock and still lands at the end.
		const next = entry({ createdAt: NOW + 3 });
		const second = encodeAppend(server, [next], WRITER);
		expect(Y.decodeUpdate(second).structs[0].id).toEqual(Y.createID(WRITER, 2));
		Y.applyUpdate(server, second);
		Y.applyUpdate(replica, second);
		expect(entriesArray(server).toArray()).toEqual([...beforeEntries, ...added, next]);
		expect(entriesArray(replica).toArray()).toEqual(entriesArray(server).toArray());
	});

	it('appends to an empty conversation', () => {
		const server = newDoc(10);
		const first = entry();
		const update = encodeAppend(server, [first], WRITER);
		expect(entriesArray(server).length).toBe(0);
		Y.applyUpdate(server, update);
		expect(entriesArray(server).toArray()).toEqual([first]);
		expect(entryIndex(server).lastPublic).toEqual(first);
		expectLastItemAtEnd(server);
	});

	it('refuses duplicates and invalid entries like appendEntries', () => {
		const server = newDoc(10);
		const existing = entry();
		appendEntries(server, [existing]);
		expect(() => encodeAppend(server, [{ ...entry(), id: existing.id }], WRITER)).toThrow(DuplicateEntryError);
		expect(() => encodeAppend(server, [{ ...entry(), body: '€'.repeat(22_000) }], WRITER)).toThrow(ZodError);
	});
});

describe('fields, tags, side conversations and drafts', () => {
	it('initTicket and readFields round-trip, and replicate', () => {
		const doc = newDoc(1);
		// A new ticket holds an empty map of custom field values, for peers to write into.
		expect(readFields(doc)).toEqual({ ...FIELDS, custom: {} });
		expect(readFields(replicaOf(doc, 2))).toEqual({ ...FIELDS, custom: {} });
	});

	it('setField validates and writes one field', () => {
		const doc = newDoc(1);
		setField(doc, 'status', 'pending');
		setField(doc, 'assigneeId', null);
		setField(doc, 'subject', 'Printer fixed');
		expect(readFields(doc)).toEqual({ ...FIELDS, custom: {}, status: 'pending', assigneeId: null, subject: 'Printer fixed' });
		expect(() => setField(doc, 'status', 'deleted' as TicketFields['status'])).toThrow(ZodError);
		expect(() => setField(doc, 'subject', 'x'.repeat(501))).toThrow(ZodError);
		expect(readFields(doc).status).toBe('pending');
	});

	it('readFields gives defaults on a blank doc', () => {
		expect(readFields(new Y.Doc())).toEqual({
			subject: '',
			status: 'new',
			priority: 'normal',
			assigneeId: null,
			groupId: null,
			requesterId: '',
			channel: 'api',
			createdAt: 0,
			tags: []
		});
	});

	it('adds tags once, trimmed, removes them, and syncs', () => {
		const doc = newDoc(1, { ...FIELDS, tags: [] });
		addTag(doc, 'billing');
		addTag(doc, '  vip ');
		addTag(doc, 'billing');
		expect(readFields(doc).tags).toEqual(['billing', 'vip']);
		expect(() => addTag(doc, '   ')).toThrow(ZodError);
		const replica = replicaOf(doc, 2);
		removeTag(replica, 'billing');
		removeTag(replica, 'absent');
		Y.applyUpdate(doc, Y.encodeStateAsUpdate(replica, Y.encodeStateVector(doc)));
		expect(readFields(doc).tags).toEqual(['vip']);
	});

	it('side conversations: open, append, close, read back in order, and sync', () => {
		const doc = newDoc(1);
		openSide(doc, { id: 'S2', subject: 'later', channel: 'internal', createdBy: 'agent-2', createdAt: NOW + 10, participants: [] });
		openSide(doc, { id: 'S1', subject: 'vendor', channel: 'email', createdBy: 'agent-1', createdAt: NOW, participants: ['v@x.test'] });
		const late = entry({ createdAt: NOW + 5, channel: 'email', direction: 'out', authorType: 'agent', visibility: 'internal' });
		const early = entry({ createdAt: NOW + 1, channel: 'email', direction: 'in', visibility: 'internal' });
		appendSideEntry(doc, 'S1', late);
		appendSideEntry(doc, 'S1', early);
		setSideStatus(doc, 'S1', 'closed');
		expect(() => appendSideEntry(doc, 'S1', { ...entry(), id: late.id })).toThrow(DuplicateEntryError);
		expect(() => appendSideEntry(doc, 'nope', entry())).toThrow(/no side conversation/);

		const expected = [
			{ id: 'S1', subject: 'vendor', channel: 'email', status: 'closed', createdBy: 'agent-1', createdAt: NOW, participants: ['v@x.test'], entries: [early, late] },
			{ id: 'S2', subject: 'later', channel: 'internal', status: 'open', createdBy: 'agent-2', createdAt: NOW + 10, participants: [], entries: [] }
		];
		expect(readSides(doc)).toEqual(expected);
		expect(readSides(replicaOf(doc, 2))).toEqual(expected);
		expect(entriesArray(doc).length).toBe(0);
	});

	it('drafts: create, type, add authors, delete, and sync', () => {
		const doc = newDoc(1);
		const text = draftText(doc, 'D1', { channel: 'email', visibility: 'public' });
		text.insert(0, 'Hello world');
		expect(draftText(doc, 'D1', { channel: 'chat', visibility: 'internal' })).toBe(text);
		addDraftAuthor(doc, 'D1', 'agent-1');
		addDraftAuthor(doc, 'D1', 'agent-1');
		addDraftAuthor(doc, 'D1', 'agent-2');
		addDraftAuthor(doc, 'missing', 'agent-3');

		const replica = replicaOf(doc, 2);
		draftText(replica, 'D1', { channel: 'email', visibility: 'public' }).delete(5, 6);
		Y.applyUpdate(doc, Y.encodeStateAsUpdate(replica, Y.encodeStateVector(doc)));
		expect(readDrafts(doc)).toEqual([{ id: 'D1', text: 'Hello', channel: 'email', visibility: 'public', authors: ['agent-1', 'agent-2'], createdAt: expect.any(Number), staged: {} }]);

		deleteDraft(replica, 'D1');
		Y.applyUpdate(doc, Y.encodeStateAsUpdate(replica, Y.encodeStateVector(doc)));
		expect(readDrafts(doc)).toEqual([]);
	});
});

describe('sending a draft', () => {
	it('appends one entry with the draft id, removes the draft, and sends nothing on a repeat', () => {
		const doc = new Y.Doc();
		initTicket(doc, { subject: 's', status: 'open', priority: 'normal', assigneeId: null, groupId: null, requesterId: 'c1', channel: 'email', createdAt: 1, tags: [] });
		draftText(doc, 'D1', { channel: 'email', visibility: 'public' }).insert(0, '  Thanks, all fixed.  ');
		setDraftOptions(doc, 'D1', { channel: 'chat' });
		const sent = sendDraft(doc, 'D1', { type: 'agent', id: 'a1' }, 1000);
		expect(sent).toEqual({ id: 'D1', kind: 'message', channel: 'chat', direction: 'out', visibility: 'public', authorType: 'agent', authorId: 'a1', body: 'Thanks, all fixed.', createdAt: 1000 });
		expect(readDrafts(doc)).toEqual([]);
		expect(sendDraft(doc, 'D1', { type: 'agent', id: 'a1' })).toBeNull();
		expect(readEntries(doc).filter((e) => e.id === 'D1')).toHaveLength(1);
	});

	it('sends an internal draft as a note, and an empty draft not at all', () => {
		const doc = new Y.Doc();
		draftText(doc, 'N1', { channel: 'email', visibility: 'internal' }).insert(0, 'Checked the logs');
		expect(sendDraft(doc, 'N1', { type: 'agent', id: 'a1' }, 5)).toMatchObject({ kind: 'note', channel: 'internal', visibility: 'internal' });
		draftText(doc, 'E1', { channel: 'email', visibility: 'public' }).insert(0, '   ');
		expect(sendDraft(doc, 'E1', { type: 'agent', id: 'a1' })).toBeNull();
		expect(readDrafts(doc).map((d) => d.id)).toEqual(['E1']);
	});
});

describe('finding and merging drafts', () => {
	it('findDraftText finds a draft\'s text and never creates one', () => {
		const doc = new Y.Doc();
		expect(findDraftText(doc, 'D1')).toBeNull();
		expect(readDrafts(doc)).toEqual([]);
		const text = draftText(doc, 'D1', { channel: 'email', visibility: 'public' });
		expect(findDraftText(doc, 'D1')).toBe(text);
	});

	it('folds one draft into another after a blank line, removes it, and syncs', () => {
		const doc = new Y.Doc();
		draftText(doc, 'D1', { channel: 'email', visibility: 'public' }).insert(0, 'Written offline');
		const replica = new Y.Doc();
		draftText(replica, 'D2', { channel: 'email', visibility: 'public' }).insert(0, 'Written online');
		Y.applyUpdate(doc, Y.encodeStateAsUpdate(replica));
		expect(mergeDraft(doc, 'D1', 'D2')).toBe(true);
		Y.applyUpdate(replica, Y.encodeStateAsUpdate(doc, Y.encodeStateVector(replica)));
		for (const d of [doc, replica]) {
			expect(readDrafts(d).map((x) => [x.id, x.text])).toEqual([['D2', 'Written online\n\nWritten offline']]);
		}
		expect(mergeDraft(doc, 'D1', 'D2')).toBe(false);
		expect(mergeDraft(doc, 'D2', 'D2')).toBe(false);
	});

	it('an empty draft folds into another without adding anything', () => {
		const doc = new Y.Doc();
		draftText(doc, 'D1', { channel: 'email', visibility: 'public' });
		draftText(doc, 'D2', { channel: 'email', visibility: 'public' }).insert(0, 'Hi');
		expect(mergeDraft(doc, 'D1', 'D2')).toBe(true);
		expect(readDrafts(doc).map((x) => [x.id, x.text])).toEqual([['D2', 'Hi']]);
	});
});

describe('sideStatuses', () => {
	it('gives each side conversation’s status by id', async () => {
		const { openSide, setSideStatus, sideStatuses } = await import('../../src/lib/ticket');
		const doc = new Y.Doc();
		openSide(doc, { id: 'S1', subject: 'Ask the warehouse', channel: 'internal', participants: [], createdBy: 'a1', createdAt: 1 });
		openSide(doc, { id: 'S2', subject: 'Vendor', channel: 'email', participants: ['v@example.com'], createdBy: 'a1', createdAt: 2 });
		setSideStatus(doc, 'S2', 'closed');
		expect(sideStatuses(doc)).toEqual(new Map([['S1', 'open'], ['S2', 'closed']]));
	});
});
