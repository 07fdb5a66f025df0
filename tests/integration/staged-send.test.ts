/**
 * Macro changes staged with a draft (issue #13, "An agent's reply is a real email"): what a macro
 * stages waits in the shared draft, where a co-writer sees it, and reaches the ticket exactly with
 * the send, in the same update as the entry; a hostile peer's malformed staged fields are refused
 * and leave the ticket as it was. One real server, real providers and sockets.
 */
import { sql } from 'drizzle-orm';
import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { draftText, newId, readDrafts, readEntries, readFields, sendDraft, stageChanges, type Entry } from '../../src/lib/ticket';
import { countRows } from '../helpers/db';
import { prepare, type Fixture } from '../helpers/fixtures';
import { emailTicket, servers, tempDataDir, waitFor, type Peer, type RunningServer } from '../helpers/server';

let fx: Fixture;
let server: RunningServer;
const running = servers();

beforeAll(async () => {
	const dataDir = tempDataDir('tandem-staged-send-');
	fx = await prepare(dataDir, {
		users: {
			ann: { role: 'agent', groups: ['Support'] },
			ben: { role: 'agent', groups: ['Support'] },
			mallory: { role: 'agent', groups: ['Support'] }
		},
		bots: { mailer: ['email'] }
	});
	server = await running.boot(dataDir);
});

afterAll(() => running.cleanup());

type Actor = 'ann' | 'ben' | 'mallory';
const connect = (ticketId: string, actor: Actor) => running.connect(server, ticketId, fx.users[actor].token);
const logRows = (ticketId: string) => countRows(server.dataDir, sql`SELECT count(*) AS n FROM ticket_updates WHERE ticket_id = ${ticketId}`);

/** The ticket as a freshly connected peer sees it. */
async function freshView(ticketId: string) {
	const peer = await connect(ticketId, 'ben');
	const view = { entries: readEntries(peer.doc), fields: readFields(peer.doc), drafts: readDrafts(peer.doc) };
	running.disconnect(peer);
	return view;
}

/** Records, for every remote update `peer` applies, the ticket as it stood right after it. */
function watchUpdates(peer: Peer) {
	const seen: { entryIds: string[]; status: string; tags: string[] }[] = [];
	peer.doc.on('afterTransaction', (tr: Y.Transaction) => {
		if (tr.local) return;
		seen.push({ entryIds: readEntries(peer.doc).map((e) => e.id), status: readFields(peer.doc).status, tags: readFields(peer.doc).tags });
	});
	return seen;
}

/** A public draft `ann` writes in the ticket, acknowledged by the server. */
async function annDrafts(ticketId: string, text: string) {
	const ann = await connect(ticketId, 'ann');
	const draftId = newId();
	draftText(ann.doc, draftId, { channel: 'email', visibility: 'public' }).insert(0, text);
	await ann.acknowledged();
	return { ann, draftId };
}

describe('changes staged with a draft', () => {
	it('wait in the draft (a co-writer sees them), leave the ticket unchanged, and apply with the send in one update', async () => {
		const ticket = await emailTicket(server, fx.tokens.mailer.token);
		const { ann, draftId } = await annDrafts(ticket.id, 'We have refunded the second charge.');
		const ben = await connect(ticket.id, 'ben');
		const watched = watchUpdates(ben);

		stageChanges(ann.doc, draftId, { status: 'pending', priority: 'high', tags: ['refund'] });
		await ann.acknowledged();
		await waitFor(() => readDrafts(ben.doc).find((d) => d.id === draftId)?.staged.status, 'the staged change at the co-writer');
		expect(readDrafts(ben.doc).find((d) => d.id === draftId)!.staged).toEqual({ status: 'pending', priority: 'high', tags: ['refund'] });
		const before = await freshView(ticket.id);
		expect(before.fields).toMatchObject({ priority: 'normal', tags: [] });
		expect(before.fields.status).not.toBe('pending');

		const rowsBefore = await logRows(ticket.id);
		const sent = sendDraft(ann.doc, draftId, { type: 'agent', id: fx.users.ann.id }) as Entry;
		await ann.acknowledged();
		expect(ann.closeReason()).toBeNull();
		expect(await logRows(ticket.id)).toBe(rowsBefore + 1); // one update: the entry and its changes

		// The co-writer never saw the entry without its changes, nor the changes without the entry.
		await waitFor(() => readEntries(ben.doc).some((e) => e.id === sent.id), 'the sent entry at the co-writer');
		const withEntry = watched.filter((s) => s.entryIds.includes(sent.id));
		expect(withEntry[0]).toMatchObject({ status: 'pending', tags: ['refund'] });
		expect(watched.filter((s) => !s.entryIds.includes(sent.id)).every((s) => s.status !== 'pending' && !s.tags.length)).toBe(true);

		const after = await freshView(ticket.id);
		expect(after.entries.map((e) => e.id)).toEqual([...ticket.entries.map((e) => e.id), sent.id]);
		expect(after.fields).toMatchObject({ status: 'pending', priority: 'high', tags: ['refund'] });
		expect(after.drafts).toEqual([]);
	});

	it('"Send and set Solved" sets the status in the same update as the entry', async () => {
		const ticket = await emailTicket(server, fx.tokens.mailer.token);
		const { ann, draftId } = await annDrafts(ticket.id, 'Glad it works now.');
		const rowsBefore = await logRows(ticket.id);
		const sent = sendDraft(ann.doc, draftId, { type: 'agent', id: fx.users.ann.id }, Date.now(), { alsoSet: { status: 'solved' } }) as Entry;
		await ann.acknowledged();
		expect(await logRows(ticket.id)).toBe(rowsBefore + 1);
		const after = await freshView(ticket.id);
		expect(after.entries.at(-1)?.id).toBe(sent.id);
		expect(after.fields.status).toBe('solved');
	});

	it.each([
		['an unknown status', (draft: Y.Map<unknown>) => draft.set('stagedStatus', 'deleted')],
		['tags that are not a list of tags', (draft: Y.Map<unknown>) => draft.set('stagedTags', [{ tag: 'x' }])],
		['more tags than a ticket holds', (draft: Y.Map<unknown>) => draft.set('stagedTags', Array.from({ length: 101 }, (_, i) => `t${i}`))],
		['a staged field the contract does not name', (draft: Y.Map<unknown>) => draft.set('stagedAssigneeId', fx.users.mallory.id)]
	])("a hostile peer's %s is refused; the draft and ticket stay as they were", async (_, edit) => {
		const ticket = await emailTicket(server, fx.tokens.mailer.token);
		const { draftId } = await annDrafts(ticket.id, 'Draft in progress');
		const before = await freshView(ticket.id);
		const rowsBefore = await logRows(ticket.id);

		const mallory = await connect(ticket.id, 'mallory');
		edit(mallory.doc.getMap<Y.Map<unknown>>('drafts').get(draftId)!);
		expect(await waitFor(() => mallory.closeReason(), 'the refusal')).toBe('invalid-field');
		expect(await logRows(ticket.id)).toBe(rowsBefore);

		const after = await freshView(ticket.id);
		expect(after).toEqual(before);
		expect(after.drafts[0].staged).toEqual({});
	});
});
