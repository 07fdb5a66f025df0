/**
 * The update checker (`checkUpdate`): every incoming update is checked against the server's copy
 * of the ticket before it is applied (DESIGN.md, "Ticket document contract" and "Trust model").
 * Honest edits made through the typed accessors and plain Yjs calls must pass; anything that
 * breaks the contract must be refused with its reason, without touching the server's doc.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import {
	addDraftAuthor,
	addTag,
	appendEntries,
	appendSideEntry,
	checkUpdate,
	deleteDraft,
	draftText,
	ENTRY_TIME_WINDOW,
	entriesArray,
	entryIndex,
	openSide,
	readDrafts,
	readEntries,
	readFields,
	readSides,
	REJECT,
	removeTag,
	setField,
	setSideStatus,
	type CheckResult,
	type Entry,
	type RejectReason,
	type UpdateSender,
	type WritePolicy
} from '../../src/lib/ticket';
import { chatTicketFields, replicaOf as clientOf, encodeStruct, ticketDoc } from '../helpers/docs';
import { entrySequence } from '../helpers/entries';

const NOW = Date.UTC(2030, 0, 15, 12);
/** A writer the policy lets do anything, who may name anyone as creator or author. */
const allow: WritePolicy = { actor: 'user:agent-1', writerId: null, rootAllowed: () => null, entryAllowed: () => null, fieldAllowed: () => null, participantAllowed: () => null };
const SERVER = 1;

// Drafts are stamped with the clock when they are started: the clock reads NOW, as the checker's.
beforeAll(() => {
	vi.useFakeTimers({ toFake: ['Date'], now: NOW });
});
afterAll(() => {
	vi.useRealTimers();
});

/**
 * Who owns the client ids of each server doc, as the server keeps it: accepted updates claim
 * theirs; ids the server doc wrote itself have no recorded owner, so no peer may write them.
 */
const ownersByServer = new WeakMap<Y.Doc, Map<number, string>>();
function ownersOf(server: Y.Doc): Map<number, string> {
	let owners = ownersByServer.get(server);
	if (!owners) ownersByServer.set(server, (owners = new Map()));
	return owners;
}

/** The sender of an update to `server`, having provably seen `seen` (a state vector). */
const senderTo = (server: Y.Doc, seen: ReadonlyMap<number, number> = new Map()): UpdateSender => ({ owners: ownersOf(server), seen });

const entry = entrySequence({ channel: 'chat', createdAt: NOW - 1000 }, 'message');

/** The server's copy of a ticket with a few entries, written as the server would. */
function makeServer(entries = 3): Y.Doc {
	const doc = ticketDoc(SERVER, chatTicketFields(NOW, ['login']));
	if (entries > 0) appendEntries(doc, Array.from({ length: entries }, () => entry()));
	return doc;
}

let nextClient = 1000;
/** A new client of `server` (after a refused update, a client's next updates all have a gap). */
const fresh = (server: Y.Doc) => clientOf(server, nextClient++);

/** The one update `edit` produces on `doc` (one transaction). */
function capture(doc: Y.Doc, edit: () => void): Uint8Array {
	const updates: Uint8Array[] = [];
	const listener = (update: Uint8Array) => updates.push(update);
	doc.on('update', listener);
	try {
		edit();
	} finally {
		doc.off('update', listener);
	}
	if (updates.length !== 1) throw new Error(`expected one update, got ${updates.length}`);
	return updates[0];
}

/** Everything the client has that the server lacks: what a provider sends after offline work. */
const offlineBatch = (client: Y.Doc, server: Y.Doc) => Y.encodeStateAsUpdate(client, Y.encodeStateVector(server));

/** Checks, asserts acceptance without mutation, then applies. */
function accept(server: Y.Doc, update: Uint8Array, policy: WritePolicy = allow, now = NOW, sender = senderTo(server)): Extract<CheckResult, { ok: true }> {
	const before = Y.encodeStateAsUpdate(server);
	const result = checkUpdate(server, update, policy, sender, now);
	expect(result).toMatchObject({ ok: true });
	for (const client of (result as Extract<CheckResult, { ok: true }>).claims) ownersOf(server).set(client, policy.actor);
	expect(Y.encodeStateAsUpdate(server)).toEqual(before);
	Y.applyUpdate(server, update);
	expect(server.store.pendingStructs).toBeNull();
	expect(server.store.pendingDs).toBeNull();
	return result as Extract<CheckResult, { ok: true }>;
}

/** Checks, asserts the refusal and its reason, and that the server's doc is untouched. */
function refuse(server: Y.Doc, update: Uint8Array, reason: RejectReason, policy: WritePolicy = allow, now = NOW, sender = senderTo(server)) {
	const before = Y.encodeStateAsUpdate(server);
	const beforeCount = entryIndex(server).count;
	const result = checkUpdate(server, update, policy, sender, now);
	expect(result).toMatchObject({ ok: false, reason });
	expect((result as { message: string }).message).toBeTruthy();
	expect(Y.encodeStateAsUpdate(server)).toEqual(before);
	expect(entryIndex(server).count).toBe(beforeCount);
	return result;
}

/** The server and the client read the same ticket and the server holds all the client has. */
function expectConverged(server: Y.Doc, client: Y.Doc) {
	expect(Y.encodeStateVector(server)).toEqual(Y.encodeStateVector(client));
	expect(readEntries(server)).toEqual(readEntries(client));
	expect(readFields(server)).toEqual(readFields(client));
	expect(readSides(server)).toEqual(readSides(client));
	expect(readDrafts(server)).toEqual(readDrafts(client));
}

const sides = (doc: Y.Doc) => doc.getMap<Y.Map<unknown>>('sides');
const ticket = (doc: Y.Doc) => doc.getMap<unknown>('ticket');

function withSide(server: Y.Doc, sideId = 'S1'): Entry {
	openSide(server, { id: sideId, subject: 'ask the vendor', channel: 'email', createdBy: 'agent-1', createdAt: NOW - 5000, participants: ['vendor@x.test'] });
	const first = entry({ visibility: 'internal', channel: 'email', direction: 'out', authorType: 'agent', authorId: 'agent-1' });
	appendSideEntry(server, sideId, first);
	return first;
}


// ---------------------------------------------------------------------------------------------

describe('checkUpdate accepts honest edits', () => {
	it('one append', () => {
		const server = makeServer();
		const client = clientOf(server, 100);
		const added = entry();
		const update = capture(client, () => appendEntries(client, [added]));
		const result = accept(server, update);
		expect(result.entries).toEqual([added]);
		expect(result.changes).toBeGreaterThan(0);
		expectConverged(server, client);
		expect(entryIndex(server).count).toBe(4);
		expect(entryIndex(server).byId.get(added.id)).toEqual(added);
	});

	it('an append to an empty conversation', () => {
		const server = makeServer(0);
		const client = clientOf(server, 100);
		const first = entry();
		accept(server, capture(client, () => appendEntries(client, [first])));
		expect(readEntries(server)).toEqual([first]);
	});

	it('a batch of 50 offline appends made in separate transactions, sent as one update', () => {
		const server = makeServer();
		const client = clientOf(server, 100);
		const added: Entry[] = [];
		for (let i = 0; i < 50; i++) {
			const e = entry({ createdAt: NOW - 3_600_000 + i * 1000 });
			added.push(e);
			appendEntries(client, [e]);
		}
		const result = accept(server, offlineBatch(client, server));
		expect(result.entries).toEqual(added);
		expectConverged(server, client);
		expect(entryIndex(server).count).toBe(53);
	});

	it('two clients appending concurrently, checked and applied in either order', () => {
		const finals: Entry[][] = [];
		for (const order of [['a', 'b'], ['b', 'a']] as const) {
			const server = makeServer();
			const clients = { a: clientOf(server, 100), b: clientOf(server, 200) };
			const updates = {
				a: capture(clients.a, () => appendEntries(clients.a, [entry({ id: `A-${order[0]}` })])),
				b: capture(clients.b, () => appendEntries(clients.b, [entry({ id: `B-${order[0]}` }), entry({ id: `B2-${order[0]}` })]))
			};
			// Both pass against the server as it was, and each still passes after the other is applied.
			expect(checkUpdate(server, updates.a, allow, senderTo(server), NOW).ok).toBe(true);
			expect(checkUpdate(server, updates.b, allow, senderTo(server), NOW).ok).toBe(true);
			accept(server, updates[order[0]]);
			accept(server, updates[order[1]]);
			expect(entryIndex(server).count).toBe(6);
			for (const client of Object.values(clients)) {
				Y.applyUpdate(client, offlineBatch(server, client));
				expectConverged(server, client);
			}
			finals.push(readEntries(server));
		}
		expect(finals[0].map((e) => e.id.slice(0, 2))).toEqual(finals[1].map((e) => e.id.slice(0, 2)));
	});

	it('an append from a client that has not seen the latest entries (origin is an older entry)', () => {
		const server = makeServer();
		const stale = clientOf(server, 100);
		const other = clientOf(server, 50);
		accept(server, capture(other, () => appendEntries(other, [entry()])));
		accept(server, capture(stale, () => appendEntries(stale, [entry()])));
		expect(entryIndex(server).count).toBe(5);
	});

	it.each([
		['status', 'solved'],
		['priority', 'urgent'],
		['subject', 'Cannot log in since Monday'],
		['assigneeId', 'agent-7'],
		['groupId', null]
	] as const)('setting %s', (name, value) => {
		const server = makeServer();
		const client = clientOf(server, 100);
		const update = capture(client, () => setField(client, name, value as never));
		const result = accept(server, update);
		expect(result.entries).toEqual([]);
		expect(readFields(server)[name]).toBe(value);
		expectConverged(server, client);
	});

	it('setting every editable field in one transaction, and again offline (values overwritten within the batch)', () => {
		const server = makeServer();
		const client = clientOf(server, 100);
		accept(
			server,
			capture(client, () =>
				client.transact(() => {
					setField(client, 'status', 'pending');
					setField(client, 'priority', 'high');
					setField(client, 'subject', 'New subject');
					setField(client, 'assigneeId', 'agent-2');
					setField(client, 'groupId', 'group-2');
				})
			)
		);
		expectConverged(server, client);

		// Offline: the same field set several times; the batch carries the overwritten values as deleted content.
		setField(client, 'status', 'hold');
		setField(client, 'status', 'solved');
		setField(client, 'priority', 'low');
		setField(client, 'priority', 'urgent');
		accept(server, offlineBatch(client, server));
		expect(readFields(server)).toMatchObject({ status: 'solved', priority: 'urgent' });
		expectConverged(server, client);
	});

	it('adding and removing tags', () => {
		const server = makeServer();
		const client = clientOf(server, 100);
		accept(server, capture(client, () => addTag(client, 'vip')));
		accept(server, capture(client, () => removeTag(client, 'login')));
		expect(readFields(server).tags).toEqual(['vip']);
		addTag(client, 'offline');
		addTag(client, 'gone');
		removeTag(client, 'gone');
		accept(server, offlineBatch(client, server));
		expect(readFields(server).tags).toEqual(['vip', 'offline']);
		expectConverged(server, client);
	});

	it('creating a draft, typing and deleting in its text, adding an author', () => {
		const server = makeServer();
		const client = clientOf(server, 100);
		const init = { channel: 'chat', visibility: 'public' } as const;
		accept(server, capture(client, () => draftText(client, 'D1', init)));
		const text = draftText(client, 'D1', init);
		accept(server, capture(client, () => text.insert(0, 'Hello there')));
		accept(server, capture(client, () => text.insert(5, ',')));
		accept(server, capture(client, () => text.delete(6, 6)));
		accept(server, capture(client, () => addDraftAuthor(client, 'D1', 'agent-1')));
		expect(readDrafts(server)).toEqual([{ id: 'D1', text: 'Hello,', channel: 'chat', visibility: 'public', authors: ['agent-1'], createdAt: expect.any(Number), staged: {} }]);
		expectConverged(server, client);

		// A second peer types concurrently into the same draft.
		const other = clientOf(server, 200);
		draftText(other, 'D1', init).insert(0, '>> ');
		text.insert(6, ' friend');
		accept(server, offlineBatch(client, server));
		accept(server, offlineBatch(other, server));
		expect(readDrafts(server)[0].text).toBe('>> Hello, friend');
	});

	it('deleting a draft', () => {
		const server = makeServer();
		const client = clientOf(server, 100);
		draftText(client, 'D1', { channel: 'email', visibility: 'internal' }).insert(0, 'note to self');
		accept(server, offlineBatch(client, server));
		accept(server, capture(client, () => deleteDraft(client, 'D1')));
		expect(readDrafts(server)).toEqual([]);
		expectConverged(server, client);
	});

	it('typing into a draft a colleague removed meanwhile: accepted, and Yjs discards the typing', () => {
		const server = makeServer();
		const sender = clientOf(server, 100);
		draftText(sender, 'D1', { channel: 'email', visibility: 'public' }).insert(0, 'Let me check that');
		accept(server, offlineBatch(sender, server));
		const typist = clientOf(server, 101);
		// The sender removes the draft (as sending does) and the server collects its text…
		accept(server, capture(sender, () => deleteDraft(sender, 'D1')));
		// …while the typist, who has not seen that yet, types at the end and in the middle of it.
		const text = draftText(typist, 'D1', { channel: 'email', visibility: 'public' });
		accept(server, capture(typist, () => text.insert(text.length, ' for you.')));
		accept(server, capture(typist, () => text.insert(4, 'X')));
		expect(readDrafts(server)).toEqual([]);
	});

	it('a draft created, typed into and deleted while offline', () => {
		const server = makeServer();
		const client = clientOf(server, 100);
		draftText(client, 'D1', { channel: 'email', visibility: 'public' }).insert(0, 'never sent');
		deleteDraft(client, 'D1');
		accept(server, offlineBatch(client, server));
		expectConverged(server, client);
	});

	it('opening a side conversation, appending to it, closing it', () => {
		const server = makeServer();
		const client = clientOf(server, 100);
		accept(server, capture(client, () => openSide(client, { id: 'S1', subject: 'vendor', channel: 'email', createdBy: 'agent-1', createdAt: NOW, participants: ['v@x.test'] })));
		const first = entry({ visibility: 'internal', channel: 'email', direction: 'out', authorType: 'agent' });
		const result = accept(server, capture(client, () => appendSideEntry(client, 'S1', first)));
		expect(result.entries).toEqual([first]);
		const reply = entry({ visibility: 'internal', channel: 'email', direction: 'in' });
		appendSideEntry(client, 'S1', reply);
		accept(server, offlineBatch(client, server));
		accept(server, capture(client, () => setSideStatus(client, 'S1', 'closed')));
		expect(readSides(server)[0]).toMatchObject({ status: 'closed', entries: [first, reply] });
		expect(entryIndex(server).count).toBe(3);
		expect(entryIndex(server).byId.has(reply.id)).toBe(true);
		expectConverged(server, client);
	});

	it('a side conversation opened, written to and closed while offline', () => {
		const server = makeServer();
		const client = clientOf(server, 100);
		openSide(client, { id: 'S1', subject: 'vendor', channel: 'internal', createdBy: 'agent-1', createdAt: NOW, participants: [] });
		appendSideEntry(client, 'S1', entry({ kind: 'note', visibility: 'internal' }));
		setSideStatus(client, 'S1', 'closed');
		accept(server, offlineBatch(client, server));
		expectConverged(server, client);
	});

	it('a no-op update (changes === 0)', () => {
		const server = makeServer();
		const client = clientOf(server, 100);
		const update = capture(client, () => appendEntries(client, [entry()]));
		setField(client, 'status', 'pending');
		accept(server, offlineBatch(client, server));
		// The same update again, the server's own state, and an empty diff change nothing.
		for (const noop of [update, Y.encodeStateAsUpdate(server), offlineBatch(client, server)]) {
			expect(checkUpdate(server, noop, allow, senderTo(server), NOW)).toEqual({ ok: true, changes: 0, entries: [], appendsOnly: true, claims: [], sideEntryIds: new Set() });
		}
	});

	it('an update that repeats part of what the server has (two updates merged)', () => {
		const server = makeServer();
		const client = clientOf(server, 100);
		const first = capture(client, () => appendEntries(client, [entry()]));
		const second = capture(client, () => appendEntries(client, [entry()]));
		accept(server, first);
		const merged = Y.mergeUpdates([first, second]);
		expect(Y.decodeUpdate(merged).structs[0].id.clock).toBe(0); // overlaps what the server has
		const result = accept(server, merged);
		expect(result.entries).toHaveLength(1);
		expectConverged(server, client);
	});

	it('entries dated at the edges of the time window', () => {
		const server = makeServer();
		const client = clientOf(server, 100);
		appendEntries(client, [entry({ createdAt: NOW - ENTRY_TIME_WINDOW.pastMs }), entry({ createdAt: NOW + ENTRY_TIME_WINDOW.futureMs })]);
		accept(server, offlineBatch(client, server));
	});

	it('passes each entry and field to the policy', () => {
		const server = makeServer();
		withSide(server);
		const client = clientOf(server, 100);
		const entryAllowed = vi.fn<WritePolicy['entryAllowed']>(() => null);
		const fieldAllowed = vi.fn<WritePolicy['fieldAllowed']>(() => null);
		const main = entry();
		const side = entry({ visibility: 'internal' });
		appendEntries(client, [main]);
		appendSideEntry(client, 'S1', side);
		setField(client, 'priority', 'urgent');
		accept(server, offlineBatch(client, server), { ...allow, entryAllowed, fieldAllowed });
		expect(entryAllowed.mock.calls).toEqual([
			[main, 'conversation'],
			[side, 'side']
		]);
		expect(fieldAllowed.mock.calls).toEqual([['priority', 'urgent']]);
	});
});

describe('checkUpdate refuses', () => {
	it('deleting an entry', () => {
		const server = makeServer();
		for (const [index, count] of [[0, 1], [1, 1], [2, 1], [0, 3]]) {
			const client = fresh(server);
			refuse(server, capture(client, () => entriesArray(client).delete(index, count)), REJECT.notAppendOnly);
		}
	});

	it('deleting an entry along with an honest append', () => {
		const server = makeServer();
		const client = clientOf(server, 100);
		appendEntries(client, [entry()]);
		entriesArray(client).delete(0, 1);
		refuse(server, offlineBatch(client, server), REJECT.notAppendOnly);
	});

	it('inserting an entry at the start or in the middle', () => {
		const server = makeServer();
		const client = clientOf(server, 100);
		refuse(server, capture(client, () => entriesArray(client).insert(0, [entry()])), REJECT.notAppendOnly);
		const other = clientOf(server, 101);
		refuse(server, capture(other, () => entriesArray(other).insert(1, [entry()])), REJECT.notAppendOnly);
	});

	it('an append from a peer that has never seen the conversation, once the conversation has entries', () => {
		// DESIGN.md: no origin is an append only "when the array is empty".
		const server = makeServer();
		const stranger = new Y.Doc();
		stranger.clientID = 100;
		const update = capture(stranger, () => stranger.getArray<Entry>('entries').push([entry()]));
		refuse(server, update, REJECT.notAppendOnly);
	});

	it.each([
		['a bad kind', { kind: 'sms' }],
		['an unknown key', { priority: 'high' }],
		['a body over 64 KiB in UTF-8 bytes', { body: '€'.repeat(22_000) }],
		['a public note', { kind: 'note', visibility: 'public' }],
		['a bad id', { id: 'no spaces allowed' }]
	])('an invalid entry: %s', (_, change) => {
		const server = makeServer();
		const client = clientOf(server, 100);
		const bad = { ...entry(), ...change } as unknown as Entry;
		refuse(server, capture(client, () => entriesArray(client).push([bad])), REJECT.invalidEntry);
	});

	it('an invalid entry hidden in an offline batch of valid ones', () => {
		const server = makeServer();
		const client = clientOf(server, 100);
		appendEntries(client, [entry(), entry()]);
		entriesArray(client).push([{ ...entry(), authorType: 'god' } as unknown as Entry]);
		appendEntries(client, [entry()]);
		refuse(server, offlineBatch(client, server), REJECT.invalidEntry);
	});

	it('an entry that is not a plain object (a nested type, a string)', () => {
		const server = makeServer();
		const client = clientOf(server, 100);
		refuse(server, capture(client, () => (entriesArray(client) as unknown as Y.Array<unknown>).push([new Y.Map()])), REJECT.invalidEntry);
		const other = clientOf(server, 101);
		refuse(server, capture(other, () => (entriesArray(other) as unknown as Y.Array<unknown>).push(['just text'])), REJECT.invalidEntry);
	});

	it('a duplicate id: one the ticket has, one twice within the update, one used in a side conversation', () => {
		const server = makeServer();
		const sideEntry = withSide(server);
		const existing = entriesArray(server).get(1);
		const a = clientOf(server, 100);
		refuse(server, capture(a, () => entriesArray(a).push([{ ...entry(), id: existing.id }])), REJECT.duplicateEntry);
		const b = clientOf(server, 101);
		const twice = entry();
		refuse(server, capture(b, () => entriesArray(b).push([twice, { ...twice, body: 'again' }])), REJECT.duplicateEntry);
		const c = clientOf(server, 102);
		entriesArray(c).push([twice]);
		entriesArray(c).push([{ ...twice }]);
		refuse(server, offlineBatch(c, server), REJECT.duplicateEntry);
		const d = clientOf(server, 103);
		refuse(server, capture(d, () => entriesArray(d).push([{ ...entry(), id: sideEntry.id }])), REJECT.duplicateEntry);
		const e = clientOf(server, 104);
		const sideList = sides(e).get('S1')!.get('entries') as Y.Array<Entry>;
		refuse(server, capture(e, () => sideList.push([{ ...entry(), visibility: 'internal', id: existing.id }])), REJECT.duplicateEntry);
	});

	it('createdAt more than 24 h in the past or more than 1 min in the future', () => {
		const server = makeServer();
		const client = clientOf(server, 100);
		refuse(server, capture(client, () => appendEntries(client, [entry({ createdAt: NOW - ENTRY_TIME_WINDOW.pastMs - 1 })])), REJECT.staleEntry);
		const other = clientOf(server, 101);
		refuse(server, capture(other, () => appendEntries(other, [entry({ createdAt: NOW + ENTRY_TIME_WINDOW.futureMs + 1 })])), REJECT.staleEntry);
		// The window follows `now`: the same entry is fine a day later and stale a day earlier.
		const dated = entry({ createdAt: NOW + 3_600_000 });
		const late = clientOf(server, 102);
		const update = capture(late, () => appendEntries(late, [dated]));
		refuse(server, update, REJECT.staleEntry);
		expect(checkUpdate(server, update, allow, senderTo(server), NOW + 3_600_000).ok).toBe(true);
		// Side conversations follow the same window.
		withSide(server);
		const side = clientOf(server, 103);
		refuse(server, capture(side, () => appendSideEntry(side, 'S1', entry({ createdAt: NOW - 2 * ENTRY_TIME_WINDOW.pastMs }))), REJECT.staleEntry);
	});

	it('an unknown root', () => {
		const server = makeServer();
		const client = fresh(server);
		refuse(server, capture(client, () => client.getMap('evil').set('x', 1)), REJECT.unknownRoot);
		const other = fresh(server);
		refuse(server, capture(other, () => other.getText('notes').insert(0, 'hidden')), REJECT.unknownRoot);
		// Alongside an honest append.
		const third = fresh(server);
		appendEntries(third, [entry()]);
		third.getArray('extra').push([1]);
		refuse(server, offlineBatch(third, server), REJECT.unknownRoot);
	});

	it('using entries as a map', () => {
		const server = makeServer();
		const stranger = new Y.Doc();
		stranger.clientID = 100;
		refuse(server, capture(stranger, () => stranger.getMap<unknown>('entries').set('x', entry())), REJECT.invalidShape);
	});

	it.each([
		['requesterId', 'cust-2'],
		['channel', 'email'],
		['createdAt', NOW],
		// The server's record of the customer's answer: what rules and the dashboard rely on.
		['satisfaction', 'good'],
		['satisfactionComment', 'Great service!']
	] as const)('setting the read-only field %s', (name, value) => {
		const server = makeServer();
		const client = clientOf(server, 100);
		refuse(server, capture(client, () => setField(client, name, value as never)), REJECT.readOnlyField);
	});

	it('an invalid status value, an unknown field, a non-value field', () => {
		const server = makeServer();
		const cases: [string, unknown, RejectReason][] = [
			['status', 'deleted', REJECT.invalidField],
			['priority', 3, REJECT.invalidField],
			['subject', 'x'.repeat(501), REJECT.invalidField],
			['assigneeId', 'not an id', REJECT.invalidField],
			['colour', 'red', REJECT.invalidField],
			['status', new Y.Text('open'), REJECT.invalidShape]
		];
		for (const [name, value, reason] of cases) {
			const client = fresh(server);
			refuse(server, capture(client, () => ticket(client).set(name, value)), reason);
		}
	});

	it('deleting a ticket field, directly or as a value written and deleted within the update', () => {
		const server = makeServer();
		const client = clientOf(server, 100);
		refuse(server, capture(client, () => ticket(client).delete('status')), REJECT.invalidShape);
		const other = clientOf(server, 101);
		const update = capture(other, () =>
			other.transact(() => {
				ticket(other).set('status', 'solved');
				ticket(other).delete('status');
			})
		);
		refuse(server, update, REJECT.invalidShape);
		const third = clientOf(server, 102);
		setField(third, 'requesterId', 'cust-9');
		ticket(third).delete('requesterId');
		refuse(server, offlineBatch(third, server), REJECT.readOnlyField);
		// A value of an editable field deleted again within an offline batch, with nothing written after it.
		const fourth = clientOf(server, 103);
		setField(fourth, 'priority', 'low');
		ticket(fourth).delete('priority');
		refuse(server, offlineBatch(fourth, server), REJECT.invalidShape);
	});

	it('a non-string tag, and a blank one', () => {
		const server = makeServer();
		const tagsOf = (doc: Y.Doc) => ticket(doc).get('tags') as Y.Array<unknown>;
		const a = fresh(server);
		refuse(server, capture(a, () => tagsOf(a).push([42])), REJECT.invalidField);
		const b = fresh(server);
		refuse(server, capture(b, () => tagsOf(b).push(['   '])), REJECT.invalidField);
		const c = fresh(server);
		refuse(server, capture(c, () => tagsOf(c).push([{ tag: 'x' }])), REJECT.invalidField);
		const d = fresh(server);
		refuse(server, capture(d, () => ticket(d).set('tags', 'a,b')), REJECT.invalidShape);
	});

	it('replacing a side conversation', () => {
		const server = makeServer();
		withSide(server);
		const client = fresh(server);
		refuse(server, capture(client, () => sides(client).set('S1', new Y.Map())), REJECT.notAppendOnly);
		const other = fresh(server);
		refuse(server, capture(other, () => sides(other).delete('S1')), REJECT.notAppendOnly);
	});

	it('replacing a side conversation from a peer that never saw it (no origin, higher client id)', () => {
		const server = makeServer();
		withSide(server);
		const stranger = new Y.Doc();
		stranger.clientID = 0xfffffff0; // orders after the creator: Yjs would make it the value
		refuse(server, capture(stranger, () => sides(stranger).set('S1', new Y.Map())), REJECT.notAppendOnly);
		// The same write for a new id is an ordinary creation.
		const fresh = new Y.Doc();
		fresh.clientID = 0xfffffff1;
		const created = capture(fresh, () =>
			fresh.transact(() => {
				const side = new Y.Map<unknown>();
				sides(fresh).set('S2', side);
				side.set('id', 'S2');
				side.set('channel', 'internal');
				side.set('createdBy', 'agent-9');
				side.set('createdAt', NOW);
				side.set('status', 'open');
				side.set('entries', new Y.Array());
			})
		);
		accept(server, created);
		expect(readSides(server).find((s) => s.id === 'S1')!.entries).toHaveLength(1);
	});

	it("replacing a side conversation's entries list, with or without an origin", () => {
		const server = makeServer();
		withSide(server);
		const client = clientOf(server, 0xfffffff0);
		const side = sides(client).get('S1')!;
		refuse(server, capture(client, () => side.set('entries', new Y.Array())), REJECT.notAppendOnly);
		// Hand-made writes to the same keys that name no origin (the key is hidden from the sender's map),
		// from a client id that Yjs orders after the creator's: applied, they would replace the list.
		for (const key of ['entries', 'participants']) {
			const forger = clientOf(server, 0xfffffff1 + key.length);
			const forged = sides(forger).get('S1')!;
			(forged as unknown as { _map: Map<string, Y.Item> })._map.delete(key);
			const update = capture(forger, () => forged.set(key, new Y.Array()));
			expect(Y.decodeUpdate(update).structs[0]).toMatchObject({ origin: null, rightOrigin: null });
			refuse(server, update, REJECT.notAppendOnly);
		}
		expect(readSides(server)[0]).toMatchObject({ participants: ['vendor@x.test'], entries: [expect.anything()] });
	});

	it("deleting a side conversation's entry, or inserting one before it", () => {
		const server = makeServer();
		withSide(server);
		const sideList = (doc: Y.Doc) => sides(doc).get('S1')!.get('entries') as Y.Array<Entry>;
		const a = fresh(server);
		refuse(server, capture(a, () => sideList(a).delete(0, 1)), REJECT.notAppendOnly);
		const b = fresh(server);
		refuse(server, capture(b, () => sideList(b).insert(0, [entry({ visibility: 'internal' })])), REJECT.notAppendOnly);
	});

	it('an invalid side conversation or draft value', () => {
		const server = makeServer();
		withSide(server);
		const writer = clientOf(server, 100);
		draftText(writer, 'D2', { channel: 'chat', visibility: 'public' });
		accept(server, offlineBatch(writer, server));
		const drafts = (doc: Y.Doc) => doc.getMap<Y.Map<unknown>>('drafts');
		const edits: [(doc: Y.Doc) => void, RejectReason][] = [
			[(doc) => setSideStatus(doc, 'S1', 'archived' as 'closed'), REJECT.invalidField],
			[(doc) => sides(doc).get('S1')!.set('colour', 'red'), REJECT.invalidField],
			[(doc) => sides(doc).set('S9', 'not a map' as never), REJECT.invalidShape],
			[(doc) => sides(doc).set('bad id', new Y.Map()), REJECT.invalidShape],
			[(doc) => (sides(doc).get('S1')!.get('participants') as Y.Array<unknown>).push(['']), REJECT.invalidField],
			[(doc) => drafts(doc).set('D1', 'text' as never), REJECT.invalidShape],
			[(doc) => drafts(doc).get('D2')!.set('visibility', 'everyone'), REJECT.invalidField],
			[(doc) => (drafts(doc).get('D2')!.get('text') as Y.Text).insertEmbed(0, { image: 'x' }), REJECT.invalidShape],
			[(doc) => drafts(doc).get('D2')!.set('text', new Y.Text('replaced')), REJECT.notAppendOnly]
		];
		for (const [edit, reason] of edits) {
			const client = fresh(server);
			refuse(server, capture(client, () => edit(client)), reason);
		}
	});

	it('an update with a gap: the second of two updates, without the first', () => {
		const server = makeServer();
		const client = clientOf(server, 100);
		capture(client, () => appendEntries(client, [entry()])); // never sent
		const second = capture(client, () => setField(client, 'status', 'pending'));
		refuse(server, second, REJECT.missingDependencies);
		const third = capture(client, () => appendEntries(client, [entry()]));
		refuse(server, third, REJECT.missingDependencies);
	});

	it('an update that builds on another client the server has not seen', () => {
		const server = makeServer();
		const a = clientOf(server, 100);
		const fromA = capture(a, () => appendEntries(a, [entry()]));
		const b = clientOf(server, 200);
		Y.applyUpdate(b, fromA);
		refuse(server, capture(b, () => appendEntries(b, [entry()])), REJECT.missingDependencies);
		refuse(server, capture(b, () => entriesArray(b).delete(3, 1)), REJECT.missingDependencies);
	});

	it('a delete set naming clocks the server has never seen', () => {
		const server = makeServer();
		// A client whose insertions the server never got, sending only their deletion.
		const client = clientOf(server, 100);
		const text = draftText(client, 'D1', { channel: 'chat', visibility: 'public' });
		capture(client, () => text.insert(0, 'abc'));
		const deletion = capture(client, () => text.delete(0, 3));
		expect(Y.decodeUpdate(deletion).structs).toHaveLength(0);
		refuse(server, deletion, REJECT.missingDependencies);
		// A delete range that starts in what the server has and runs beyond it.
		const known = clientOf(server, 300);
		const d3 = draftText(known, 'D3', { channel: 'chat', visibility: 'public' });
		d3.insert(0, 'ab');
		accept(server, offlineBatch(known, server));
		capture(known, () => d3.insert(2, 'cd')); // never sent
		const beyond = capture(known, () => d3.delete(0, 4));
		refuse(server, beyond, REJECT.missingDependencies);
	});

	it('a delete set naming a client the server has never seen', () => {
		const server = makeServer();
		const stranger = new Y.Doc();
		stranger.clientID = 4242;
		capture(stranger, () => stranger.getText('x').insert(0, 'abc'));
		const deletion = capture(stranger, () => stranger.getText('x').delete(0, 3));
		refuse(server, deletion, REJECT.missingDependencies);
	});

	it('policy refusals', () => {
		const server = makeServer();
		withSide(server);
		const noCustomers: WritePolicy = {
			...allow,
			entryAllowed: (e, place) => (e.authorType === 'customer' ? `customers cannot write in the ${place}` : null),
			fieldAllowed: (name) => (name === 'assigneeId' ? 'bots cannot assign' : null)
		};
		const client = clientOf(server, 100);
		const result = refuse(server, capture(client, () => appendEntries(client, [entry({ authorType: 'customer' })])), REJECT.forbidden, noCustomers);
		expect(result).toMatchObject({ message: 'customers cannot write in the conversation' });
		const side = clientOf(server, 101);
		expect(refuse(server, capture(side, () => appendSideEntry(side, 'S1', entry({ visibility: 'internal' }))), REJECT.forbidden, noCustomers)).toMatchObject({
			message: 'customers cannot write in the side'
		});
		const assign = clientOf(server, 102);
		expect(refuse(server, capture(assign, () => setField(assign, 'assigneeId', 'agent-1')), REJECT.forbidden, noCustomers)).toMatchObject({
			message: 'bots cannot assign'
		});
		// The same policy lets the rest through.
		const agent = clientOf(server, 103);
		accept(server, capture(agent, () => appendEntries(agent, [entry({ authorType: 'agent', direction: 'out' })])), noCustomers);
		accept(server, capture(agent, () => setField(agent, 'status', 'pending')), noCustomers);
	});

	it('a writer refused a root changes nothing under it, and still appends entries', () => {
		const server = makeServer();
		withSide(server);
		const entriesOnly: WritePolicy = { ...allow, rootAllowed: (root) => `no \`${root}\`` };
		const writes: [string, (doc: Y.Doc) => void][] = [
			['ticket', (doc) => setField(doc, 'status', 'pending')],
			['ticket', (doc) => (doc.getMap('ticket').get('tags') as Y.Array<string>).push(['vip'])],
			['drafts', (doc) => doc.getMap('drafts').set('D1', new Y.Map())],
			['sides', (doc) => appendSideEntry(doc, 'S1', entry({ visibility: 'internal' }))],
			['sides', (doc) => openSide(doc, { id: 'S2', subject: 'More', channel: 'internal', createdBy: 'agent-1', createdAt: NOW, participants: [] })]
		];
		writes.forEach(([root, write], i) => {
			const client = clientOf(server, 200 + i);
			expect(refuse(server, capture(client, () => write(client)), REJECT.forbidden, entriesOnly)).toMatchObject({ message: `no \`${root}\`` });
		});
		// Deleting under a refused root is refused as well: a draft written by a colleague.
		const colleague = clientOf(server, 300);
		accept(server, capture(colleague, () => colleague.getMap('drafts').set('D9', new Y.Map())));
		const eraser = clientOf(server, 301);
		expect(refuse(server, capture(eraser, () => eraser.getMap('drafts').delete('D9')), REJECT.forbidden, entriesOnly)).toMatchObject({ message: 'no `drafts`' });
		const bot = clientOf(server, 302);
		accept(server, capture(bot, () => appendEntries(bot, [entry()])), entriesOnly);
	});

	it('an item that continues content the server holds under another parent', () => {
		// A struct overlapping the sender's previous item: Yjs keeps only its new part, linked after
		// the server's item at the previous clock (an entry) but in the parent named by the origin
		// sent (the tags): a string would end up among the entries.
		const server = makeServer();
		const client = clientOf(server, 100);
		accept(server, capture(client, () => appendEntries(client, [entry()])));
		const clock = Y.getState(server.store, 100);
		const tagItem = (ticket(server).get('tags') as Y.Array<string>)._start!;
		const forged = new Y.Item(Y.createID(100, clock - 1), null, tagItem.lastId, null, null, null, null, new Y.ContentAny(['x', 'smuggled']));
		refuse(server, encodeStruct(forged), REJECT.invalidShape);
	});
});

describe('malformed updates', () => {
	it.each([
		['empty', new Uint8Array()],
		['three bytes', new Uint8Array([1, 2, 3])],
		['all ones', new Uint8Array(16).fill(0xff)]
	])('garbage bytes: %s', (_, bytes) => {
		refuse(makeServer(), bytes, REJECT.malformed);
	});

	it('a truncated update', () => {
		const server = makeServer();
		const client = clientOf(server, 100);
		const update = capture(client, () => appendEntries(client, [entry()]));
		refuse(server, update.slice(0, update.length - 5), REJECT.malformed);
	});
});

describe('cost', () => {
	/** Counts every read of `right` on the conversation's items: walking the array reads them all. */
	function countWalks(doc: Y.Doc) {
		const counter = { reads: 0 };
		let item = entriesArray(doc)._start;
		while (item !== null) {
			let right = item.right;
			Object.defineProperty(item, 'right', {
				configurable: true,
				get: () => {
					counter.reads++;
					return right;
				},
				set: (value: Y.Item | null) => {
					right = value;
				}
			});
			item = right;
		}
		return counter;
	}

	it('checks an append to a 10,000-entry ticket without walking the array', () => {
		const server = makeServer(0);
		// 10,000 entries in 1,000 items (writers take turns, so Yjs cannot merge them into one).
		for (let i = 0; i < 1000; i++) {
			server.clientID = 10_000 + (i % 7);
			appendEntries(server, Array.from({ length: 10 }, (_, j) => entry({ id: `H${i}-${j}`, createdAt: NOW - 10_000 + i })));
		}
		server.clientID = SERVER;
		const index = entryIndex(server);
		expect(index.count).toBe(10_000);

		const client = clientOf(server, 100);
		const added = entry();
		const append = capture(client, () => appendEntries(client, [added]));
		const dupe = clientOf(server, 101);
		const duplicate = capture(dupe, () => entriesArray(dupe).push([{ ...entry(), id: 'H0-0' }]));
		const middle = clientOf(server, 102);
		const inserted = capture(middle, () => entriesArray(middle).insert(5000, [entry()]));

		const counter = countWalks(server);
		const toArray = vi.spyOn(Y.Array.prototype, 'toArray');
		try {
			expect(checkUpdate(server, append, allow, senderTo(server), NOW)).toEqual({ ok: true, changes: 1, entries: [added], appendsOnly: true, claims: [100], sideEntryIds: new Set() });
			expect(checkUpdate(server, duplicate, allow, senderTo(server), NOW)).toMatchObject({ ok: false, reason: REJECT.duplicateEntry });
			expect(checkUpdate(server, inserted, allow, senderTo(server), NOW)).toMatchObject({ ok: false, reason: REJECT.notAppendOnly });
			// Each append looks at its origin's right neighbour (none: it is at the end), nothing more.
			expect(counter.reads).toBe(2);
			expect(toArray).not.toHaveBeenCalled();
			// The probe itself works: a walk is seen.
			entriesArray(server).toArray();
			expect(counter.reads).toBeGreaterThanOrEqual(1000);
		} finally {
			toArray.mockRestore();
		}

		Y.applyUpdate(server, append);
		expect(index.count).toBe(10_001);
		expect(index.lastItem!.lastId).toEqual(Y.createID(100, 0));
		expect(index.byId.get(added.id)).toEqual(added);
	});
});

// ---------------------------------------------------------------------------------------------
// Identity inside the document (#12): client ids, positions, creators, authors, types


const stateVector = (doc: Y.Doc) => Y.decodeStateVector(Y.encodeStateVector(doc));
const as = (actor: string, writerId: string | null = null): WritePolicy => ({ ...allow, actor, writerId });

describe('client ids belong to the writer that wrote them first', () => {
	it('an update claims the client ids it writes first; their owner goes on writing under them', () => {
		const server = makeServer();
		const client = clientOf(server, 100);
		expect(accept(server, capture(client, () => appendEntries(client, [entry()])), as('user:ann')).claims).toEqual([100]);
		expect(ownersOf(server).get(100)).toBe('user:ann');
		expect(accept(server, capture(client, () => appendEntries(client, [entry()])), as('user:ann')).claims).toEqual([]);
	});

	it("refuses items and garbage ranges under another writer's client id, and the owner's offline work still passes", () => {
		const server = makeServer();
		const victim = clientOf(server, 100);
		accept(server, capture(victim, () => appendEntries(victim, [entry()])), as('user:ann'));
		// Offline, the victim writes on; the attacker saw its client id (every peer does).
		const offline = [entry(), entry()];
		for (const e of offline) appendEntries(victim, [e]);
		const clock = Y.getState(server.store, 100);
		const huge = new Y.GC(Y.createID(100, clock), 2 ** 40);
		refuse(server, encodeStruct(huge), REJECT.foreignClient, as('user:mallory'));
		const item = new Y.Item(Y.createID(100, clock), null, entryIndex(server).lastItem!.lastId, null, null, null, null, new Y.ContentAny([entry()]));
		refuse(server, encodeStruct(item), REJECT.foreignClient, as('user:mallory'));
		// Nor under the server's own client id, which no writer owns.
		refuse(server, encodeStruct(new Y.GC(Y.createID(SERVER, Y.getState(server.store, SERVER)), 10)), REJECT.foreignClient, as('user:mallory'));
		expect(accept(server, offlineBatch(victim, server), as('user:ann')).entries).toEqual(offline);
		expectConverged(server, victim);
	});

	it('a client that inserted and deleted a draft offline (garbage of its own) is accepted', () => {
		const server = makeServer();
		const client = clientOf(server, 100);
		accept(server, capture(client, () => appendEntries(client, [entry()])), as('user:ann'));
		draftText(client, 'D1', { channel: 'chat', visibility: 'public' }).insert(0, 'typed then thrown away');
		deleteDraft(client, 'D1');
		const batch = offlineBatch(client, server);
		expect(Y.decodeUpdate(batch).structs.some((s) => s instanceof Y.GC && s.id.client === 100)).toBe(true);
		accept(server, batch, as('user:ann'));
		expectConverged(server, client);
	});
});

describe('an append goes at the end of what its sender had', () => {
	it('refuses an entry placed after an older one when the sender had the later ones', () => {
		const server = makeServer();
		const origin = entryIndex(server).lastItem!.lastId;
		const other = clientOf(server, 50);
		accept(server, capture(other, () => appendEntries(other, [entry()])));
		// Hand-encoded: after an older entry, no right origin, as an append's encoding looks.
		const wedged = new Y.Item(Y.createID(100, 0), null, origin, null, null, null, null, new Y.ContentAny([entry()]));
		const update = encodeStruct(wedged);
		refuse(server, update, REJECT.notAppendOnly, allow, NOW, senderTo(server, stateVector(server)));
		// From a sender that did not have the later entries it is an honest stale append.
		accept(server, update, allow, NOW, senderTo(server, new Map()));
	});

	it("refuses an entry placed before the sender's own earlier one, whatever the sender declared", () => {
		const server = makeServer();
		const client = clientOf(server, 100);
		const origin = entryIndex(server).lastItem!.lastId;
		accept(server, capture(client, () => appendEntries(client, [entry()])));
		const clock = Y.getState(server.store, 100);
		const before = new Y.Item(Y.createID(100, clock), null, origin, null, null, null, null, new Y.ContentAny([entry()]));
		refuse(server, encodeStruct(before), REJECT.notAppendOnly);
	});

	it('refuses an entry placed inside entries the server merged into one item', () => {
		const server = makeServer(0);
		appendEntries(server, [entry(), entry(), entry()]); // one item of three entries
		const client = clientOf(server, 100);
		const wedged = new Y.Item(Y.createID(100, 0), null, Y.createID(SERVER, Y.getState(server.store, SERVER) - 2), null, null, null, null, new Y.ContentAny([entry()]));
		refuse(server, encodeStruct(wedged), REJECT.notAppendOnly, allow, NOW, senderTo(server, stateVector(client)));
	});

	it('accepts six writers appending at once, each having declared what it had, in every arrival order', () => {
		for (const order of [[0, 1, 2, 3, 4, 5], [5, 4, 3, 2, 1, 0], [2, 5, 0, 3, 1, 4]]) {
			const server = makeServer();
			const writers = order.map((_, i) => clientOf(server, 100 + i * 7));
			const declared = writers.map((w) => stateVector(w));
			const updates = writers.map((w) => capture(w, () => appendEntries(w, [entry(), entry()])));
			// One more appends offline twice, then comes back after the others.
			const offline = clientOf(server, 50);
			appendEntries(offline, [entry()]);
			appendEntries(offline, [entry()]);
			for (const i of order) accept(server, updates[i], allow, NOW, senderTo(server, declared[i]));
			accept(server, offlineBatch(offline, server));
			expect(entryIndex(server).count).toBe(3 + 12 + 2);
		}
	});
});

describe('who and when inside side conversations and drafts', () => {
	const agent = as('user:agent-1', 'agent-1');

	it('a side conversation is opened by its writer, now, under its own id', () => {
		const server = makeServer();
		const open = (doc: Y.Doc, over: { id?: string; createdBy?: string; createdAt?: number } = {}) =>
			openSide(doc, { id: 'S1', subject: 'ask', channel: 'internal', createdBy: 'agent-1', createdAt: NOW, participants: [], ...over });
		for (const [over, reason] of [
			[{ createdBy: 'agent-2' }, REJECT.forbidden],
			[{ createdAt: 1 }, REJECT.timeOutOfRange],
			[{ createdAt: NOW + ENTRY_TIME_WINDOW.futureMs + 1 }, REJECT.timeOutOfRange],
		] as const) {
			const client = fresh(server);
			refuse(server, capture(client, () => open(client, over)), reason, agent);
		}
		const renamed = fresh(server);
		refuse(server, capture(renamed, () => renamed.transact(() => (open(renamed), sides(renamed).get('S1')!.set('id', 'S2')))), REJECT.invalidField, agent);
		const client = fresh(server);
		accept(server, capture(client, () => open(client)), agent);
		// Offline, from yesterday: still the writer's own.
		const late = fresh(server);
		accept(server, capture(late, () => openSide(late, { id: 'S3', subject: 'x', channel: 'internal', createdBy: 'agent-1', createdAt: NOW - 3_600_000, participants: [] })), agent);
	});

	it('a draft is dated now and its writer adds only itself to its authors', () => {
		const server = makeServer();
		const client = clientOf(server, 100);
		accept(server, capture(client, () => draftText(client, 'D1', { channel: 'chat', visibility: 'public' })), agent);
		refuse(server, capture(client, () => addDraftAuthor(client, 'D1', 'agent-2')), REJECT.forbidden, agent);
		const own = clientOf(server, 101);
		accept(server, capture(own, () => addDraftAuthor(own, 'D1', 'agent-1')), agent);
		const backdated = clientOf(server, 102);
		const startedLongAgo = capture(backdated, () =>
			backdated.transact(() => {
				draftText(backdated, 'D2', { channel: 'chat', visibility: 'public' });
				backdated.getMap<Y.Map<unknown>>('drafts').get('D2')!.set('createdAt', 1);
			})
		);
		refuse(server, startedLongAgo, REJECT.timeOutOfRange, agent);
	});

	it.each([
		['XML text as a new draft’s text', (doc: Y.Doc) => doc.transact(() => {
			const draft = new Y.Map<unknown>();
			doc.getMap('drafts').set('D2', draft);
			draft.set('text', new Y.XmlText('x'));
		}), REJECT.invalidShape],
		['an XML hook (a Y.Map to instanceof) as a draft', (doc: Y.Doc) => doc.getMap('drafts').set('D3', new Y.XmlHook('draft')), REJECT.invalidShape],
		['an XML element as a side conversation', (doc: Y.Doc) => doc.getMap('sides').set('S5', new Y.XmlElement('side')), REJECT.invalidShape],
		['an XML fragment as tags', (doc: Y.Doc) => doc.getMap('ticket').set('tags', new Y.XmlFragment()), REJECT.invalidShape]
	])('refuses %s: types are checked exactly', (_, edit, reason) => {
		const server = makeServer();
		draftText(server, 'D1', { channel: 'chat', visibility: 'public' });
		const client = fresh(server);
		refuse(server, capture(client, () => edit(client)), reason);
	});
});

describe('what a side conversation or draft is, who opened it and when, is set once', () => {
	it('refuses a side conversation opened without its id, creator or date, and changing them later', () => {
		const server = makeServer();
		withSide(server);
		const fields = { id: 'S2', subject: 'x', channel: 'internal', status: 'open', createdBy: 'agent-1', createdAt: NOW };
		for (const missing of ['id', 'createdBy', 'createdAt']) {
			const client = fresh(server);
			const opened = capture(client, () =>
				client.transact(() => {
					const side = new Y.Map<unknown>();
					sides(client).set('S2', side);
					for (const [field, value] of Object.entries(fields)) if (field !== missing) side.set(field, value);
				})
			);
			refuse(server, opened, REJECT.invalidField);
		}
		for (const [field, value] of [['createdBy', 'agent-1'], ['createdAt', NOW], ['id', 'S1']] as const) {
			const client = fresh(server);
			refuse(server, capture(client, () => sides(client).get('S1')!.set(field, value)), REJECT.readOnlyField);
		}
	});

	it("refuses changing a draft's date once it exists", () => {
		const server = makeServer();
		draftText(server, 'D1', { channel: 'chat', visibility: 'public' });
		const client = fresh(server);
		refuse(server, capture(client, () => client.getMap<Y.Map<unknown>>('drafts').get('D1')!.set('createdAt', NOW)), REJECT.readOnlyField);
	});
});
