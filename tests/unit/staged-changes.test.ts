/**
 * Ticket changes staged with a draft (src/lib/ticket/document.ts): a macro's status, priority and
 * tags wait in the draft's map, where co-writers see them, and reach the ticket only with the
 * send (in its transaction) or on "Apply now". The update checker takes honest staging and
 * unstaging and refuses malformed staged values.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import {
	applyStagedNow,
	checkUpdate,
	draftText,
	LIMITS,
	MAX_TAGS,
	mergeDraft,
	readDrafts,
	readEntries,
	readFields,
	REJECT,
	sendDraft,
	stageChanges,
	unstageChange,
	type CheckResult,
	type RejectReason,
	type WritePolicy
} from '../../src/lib/ticket';
import { chatTicketFields, replicaOf, ticketDoc } from '../helpers/docs';

const NOW = Date.UTC(2030, 0, 15, 12);
const agent: WritePolicy = { actor: 'user:agent-1', writerId: 'agent-1', rootAllowed: () => null, entryAllowed: () => null, fieldAllowed: () => null, participantAllowed: () => null };
const AUTHOR = { type: 'agent', id: 'agent-1' } as const;

beforeAll(() => {
	vi.useFakeTimers({ toFake: ['Date'], now: NOW });
});
afterAll(() => {
	vi.useRealTimers();
});

/** A ticket with one public draft "D1" holding text, and an agent's replica of it. */
function ticketWithDraft() {
	const server = ticketDoc(1, chatTicketFields(NOW, ['login']));
	draftText(server, 'D1', { channel: 'chat', visibility: 'public' }).insert(0, 'We refunded you.');
	return { server, client: replicaOf(server, 500) };
}

/** The updates `edit` makes on `doc`, one per transaction. */
function updatesOf(doc: Y.Doc, edit: () => void): Uint8Array[] {
	const updates: Uint8Array[] = [];
	const listener = (update: Uint8Array) => updates.push(update);
	doc.on('update', listener);
	try {
		edit();
	} finally {
		doc.off('update', listener);
	}
	return updates;
}

/** Who owns each Yjs client id of a server doc: the agent, once its first update passed. */
const owners = new WeakMap<Y.Doc, Map<number, string>>();

/** Checks `update` as the server would and applies it when it passes. */
function deliver(server: Y.Doc, update: Uint8Array): CheckResult {
	if (!owners.has(server)) owners.set(server, new Map());
	const result = checkUpdate(server, update, agent, { owners: owners.get(server)!, seen: new Map() }, NOW);
	if (!result.ok) return result;
	for (const client of result.claims) owners.get(server)!.set(client, agent.actor);
	Y.applyUpdate(server, update);
	return result;
}

/** Stages on the client and hands the server that update, as the agent's provider would. */
function staged(server: Y.Doc, client: Y.Doc, changes: Parameters<typeof stageChanges>[2]) {
	for (const update of updatesOf(client, () => stageChanges(client, 'D1', changes))) expect(deliver(server, update)).toMatchObject({ ok: true });
}

const draftMap = (doc: Y.Doc) => doc.getMap<Y.Map<unknown>>('drafts').get('D1')!;

describe('staging with a draft', () => {
	it('keeps the ticket unchanged while staged, and shows the staged changes with the draft', () => {
		const { server, client } = ticketWithDraft();
		const [update] = updatesOf(client, () => stageChanges(client, 'D1', { status: 'pending', priority: 'high', tags: ['refund', 'vip'] }));
		expect(deliver(server, update)).toMatchObject({ ok: true });
		expect(readFields(server)).toMatchObject({ status: 'open', priority: 'normal', tags: ['login'] });
		expect(readDrafts(server)[0].staged).toEqual({ status: 'pending', priority: 'high', tags: ['refund', 'vip'] });
	});

	it('replaces a staged status, joins tags without repeats, and unstages one change at a time', () => {
		const { server, client } = ticketWithDraft();
		staged(server, client, { status: 'pending', tags: ['refund'] });
		staged(server, client, { status: 'solved', tags: ['refund', 'vip'] });
		expect(readDrafts(client)[0].staged).toEqual({ status: 'solved', tags: ['refund', 'vip'] });
		for (const change of [{ field: 'tag', tag: 'refund' }, { field: 'status' }, { field: 'tag', tag: 'vip' }] as const) {
			for (const update of updatesOf(client, () => unstageChange(client, 'D1', change))) expect(deliver(server, update)).toMatchObject({ ok: true });
		}
		expect(readDrafts(client)[0].staged).toEqual({});
		expect(readDrafts(server)[0].staged).toEqual({});
	});

	it('applies the staged changes in the same update as the sent entry, and removes the draft', () => {
		const { server, client } = ticketWithDraft();
		staged(server, client, { status: 'pending', priority: 'urgent', tags: ['refund'] });
		const updates = updatesOf(client, () => sendDraft(client, 'D1', AUTHOR, NOW));
		expect(updates).toHaveLength(1);
		// A peer that receives the one update sees the reply and the ticket's new fields together.
		const peer = replicaOf(server, 900);
		expect(deliver(server, updates[0])).toMatchObject({ ok: true, entries: [expect.objectContaining({ id: 'D1', body: 'We refunded you.' })] });
		Y.applyUpdate(peer, updates[0]);
		for (const doc of [server, peer]) {
			expect(readEntries(doc).map((e) => e.id)).toEqual(['D1']);
			expect(readFields(doc)).toMatchObject({ status: 'pending', priority: 'urgent', tags: ['login', 'refund'] });
			expect(readDrafts(doc)).toEqual([]);
		}
	});

	it('"Send and set" wins over a staged status; a draft already sent changes nothing', () => {
		const { server, client } = ticketWithDraft();
		staged(server, client, { status: 'pending' });
		const [update] = updatesOf(client, () => sendDraft(client, 'D1', AUTHOR, NOW, { alsoSet: { status: 'solved' } }));
		expect(deliver(server, update)).toMatchObject({ ok: true });
		expect(readFields(server).status).toBe('solved');
		expect(sendDraft(client, 'D1', AUTHOR, NOW, { alsoSet: { status: 'open' } })).toBeNull();
		expect(readFields(client).status).toBe('solved');
	});

	it('"Apply now" changes the ticket and clears what was staged, keeping the draft', () => {
		const { server, client } = ticketWithDraft();
		staged(server, client, { priority: 'high', tags: ['vip'] });
		const [update] = updatesOf(client, () => applyStagedNow(client, 'D1'));
		expect(deliver(server, update)).toMatchObject({ ok: true });
		expect(readFields(server)).toMatchObject({ priority: 'high', tags: ['login', 'vip'] });
		expect(readDrafts(server)).toEqual([expect.objectContaining({ id: 'D1', text: 'We refunded you.', staged: {} })]);
	});

	it("two drafts folded into one keep what both staged; the kept draft's status wins", () => {
		const { server, client } = ticketWithDraft();
		draftText(client, 'D2', { channel: 'chat', visibility: 'public' }).insert(0, 'Started at once.');
		stageChanges(client, 'D1', { status: 'pending', priority: 'high', tags: ['refund'] });
		stageChanges(client, 'D2', { status: 'solved', tags: ['vip'] });
		for (const update of [Y.encodeStateAsUpdate(client, Y.encodeStateVector(server)), ...updatesOf(client, () => mergeDraft(client, 'D1', 'D2'))]) {
			expect(deliver(server, update)).toMatchObject({ ok: true });
		}
		expect(readDrafts(server)).toEqual([expect.objectContaining({ id: 'D2', staged: { status: 'solved', priority: 'high', tags: ['vip', 'refund'] } })]);
	});

	it('a ticket at its tag cap still takes the reply: staged tags past the cap are left out', () => {
		const full = Array.from({ length: LIMITS.tagsPerTicket }, (_, i) => `tag-${i}`);
		const server = ticketDoc(1, chatTicketFields(NOW, full));
		draftText(server, 'D1', { channel: 'chat', visibility: 'public' }).insert(0, 'Done.');
		const client = replicaOf(server, 500);
		staged(server, client, { tags: ['one-more'], status: 'solved' });
		const [update] = updatesOf(client, () => sendDraft(client, 'D1', AUTHOR, NOW));
		expect(deliver(server, update)).toMatchObject({ ok: true });
		expect(readFields(server).tags).toHaveLength(MAX_TAGS);
		expect(readFields(server).status).toBe('solved');
	});
});

describe('a hostile peer stages', () => {
	const hostileEdits: [string, (draft: Y.Map<unknown>) => void, RejectReason][] = [
		['an unknown status', (d) => d.set('stagedStatus', 'deleted'), REJECT.invalidField],
		['a priority that is not a word', (d) => d.set('stagedPriority', { $gt: '' }), REJECT.invalidField],
		['tags that are not a list', (d) => d.set('stagedTags', 'refund'), REJECT.invalidField],
		['a tag with spaces around it', (d) => d.set('stagedTags', [' refund ']), REJECT.invalidField],
		['an empty tag list', (d) => d.set('stagedTags', []), REJECT.invalidField],
		['more tags than a ticket holds', (d) => d.set('stagedTags', Array.from({ length: MAX_TAGS + 1 }, (_, i) => `t${i}`)), REJECT.invalidField],
		['a staged field as a nested type', (d) => d.set('stagedTags', Y.Array.from(['refund'])), REJECT.invalidShape],
		['a staged field the contract does not name', (d) => d.set('stagedAssigneeId', 'agent-2'), REJECT.invalidField]
	];
	it.each(hostileEdits)('%s: refused, the draft unchanged', (_, edit, reason) => {
		const { server, client } = ticketWithDraft();
		const before = Y.encodeStateAsUpdate(server);
		const [update] = updatesOf(client, () => edit(draftMap(client)));
		expect(deliver(server, update)).toMatchObject({ ok: false, reason });
		expect(Y.encodeStateAsUpdate(server)).toEqual(before);
	});

	it('cannot delete other fields of a draft the way staged changes are removed', () => {
		const { server, client } = ticketWithDraft();
		const [update] = updatesOf(client, () => draftMap(client).delete('visibility'));
		expect(deliver(server, update)).toMatchObject({ ok: false, reason: REJECT.invalidShape });
	});
});
