/**
 * The update checker's caps (src/lib/ticket/limits.ts): what an update adds is counted net of
 * what it deletes, so edits at a cap that keep a ticket level pass, growth past it is refused as
 * `limit-exceeded`, and a ticket already over a cap can still shrink.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { addTag, checkUpdate, deleteDraft, draftText, LIMITS, openSide, REJECT, removeTag, type WritePolicy } from '../../src/lib/ticket';
import { chatTicketFields, replicaOf, ticketDoc } from '../helpers/docs';

// Now, not a fixed date: drafts are dated by the clock when they are created, and the checker
// holds their `createdAt` to its time window.
const NOW = Date.now();
/** A writer the policy lets do anything; each replica below writes under a client id of its own. */
const allow: WritePolicy = { actor: 'user:agent-1', writerId: null, rootAllowed: () => null, entryAllowed: () => null, fieldAllowed: () => null, participantAllowed: () => null };
/** The sender owns every client id it writes (ownership is tested in update-check.test.ts). */
const sender = { owners: new Map<number, string>(), seen: new Map<number, number>() };
const OPTIONS = { channel: 'email', visibility: 'public' } as const;

function makeServer(): Y.Doc {
	return ticketDoc(1, chatTicketFields(NOW));
}

let nextClient = 1000;

/** Checks the one update `edit` makes on a fresh replica of `server`; applies it when accepted. */
function check(server: Y.Doc, edit: (doc: Y.Doc) => void) {
	const client = replicaOf(server, nextClient++);
	const before = Y.encodeStateVector(client);
	client.transact(() => edit(client));
	const update = Y.encodeStateAsUpdate(client, before);
	const result = checkUpdate(server, update, allow, sender, NOW);
	if (result.ok) Y.applyUpdate(server, update);
	return result;
}

const refusedBy = (name: string) => ({ ok: false, reason: REJECT.limitExceeded, message: expect.stringContaining(`limit ${name} exceeded`) });

describe('caps', () => {
	it('tags: at the cap, removing one and adding one passes; one more is refused', () => {
		const server = makeServer();
		expect(check(server, (doc) => Array.from({ length: LIMITS.tagsPerTicket }, (_, i) => addTag(doc, `t${i}`)))).toMatchObject({ ok: true });
		expect(check(server, (doc) => (removeTag(doc, 't0'), addTag(doc, 'swapped')))).toMatchObject({ ok: true });
		expect(check(server, (doc) => addTag(doc, 'one-more'))).toEqual(refusedBy('tagsPerTicket'));
	});

	it('drafts: at the cap, sending one and starting another passes; one more is refused', () => {
		const server = makeServer();
		expect(check(server, (doc) => Array.from({ length: LIMITS.draftsPerTicket }, (_, i) => draftText(doc, `d${i}`, OPTIONS)))).toMatchObject({ ok: true });
		expect(check(server, (doc) => (deleteDraft(doc, 'd0'), draftText(doc, 'fresh', OPTIONS)))).toMatchObject({ ok: true });
		expect(check(server, (doc) => draftText(doc, 'one-more', OPTIONS))).toEqual(refusedBy('draftsPerTicket'));
	});

	it('draft text over the cap from before: deleting passes, inserting is refused', () => {
		const server = makeServer();
		// Written before the caps: straight into the server's document.
		draftText(server, 'big', OPTIONS).insert(0, 'x'.repeat(LIMITS.draftTextLength + 100));
		expect(check(server, (doc) => draftText(doc, 'big', OPTIONS).insert(0, 'y'))).toEqual(refusedBy('draftTextLength'));
		expect(check(server, (doc) => draftText(doc, 'big', OPTIONS).delete(0, 50))).toMatchObject({ ok: true });
		expect(check(server, (doc) => draftText(doc, 'big', OPTIONS).delete(0, 60))).toMatchObject({ ok: true });
		expect(check(server, (doc) => draftText(doc, 'big', OPTIONS).insert(0, 'y'.repeat(10)))).toMatchObject({ ok: true });
		expect(check(server, (doc) => draftText(doc, 'big', OPTIONS).insert(0, 'y'))).toEqual(refusedBy('draftTextLength'));
	});

	it('side conversations and their participants', () => {
		const server = makeServer();
		const side = (id: string, participants: string[] = []) => ({ id, subject: 'Ask', channel: 'internal' as const, createdBy: 'agent-1', createdAt: NOW, participants });
		const many = Array.from({ length: LIMITS.participantsPerSide + 1 }, (_, i) => `p${i}`);
		expect(check(server, (doc) => openSide(doc, side('crowded', many)))).toEqual(refusedBy('participantsPerSide'));
		expect(check(server, (doc) => openSide(doc, side('s0', many.slice(1))))).toMatchObject({ ok: true });
		expect(check(server, (doc) => Array.from({ length: LIMITS.sidesPerTicket - 1 }, (_, i) => openSide(doc, side(`s${i + 1}`))))).toMatchObject({ ok: true });
		expect(check(server, (doc) => openSide(doc, side('one-more')))).toEqual(refusedBy('sidesPerTicket'));
	});

	it('an update that adds only conversation entries or deletions says so', () => {
		const server = makeServer();
		expect(check(server, (doc) => addTag(doc, 'a'))).toMatchObject({ ok: true, appendsOnly: false });
		expect(check(server, (doc) => removeTag(doc, 'a'))).toMatchObject({ ok: true, appendsOnly: true });
	});
});
