/**
 * The update checker's rules for email side conversations: participants are email addresses,
 * only ever added (bounded), the channel is fixed once opened, an outgoing email goes only into an
 * email side conversation, and the result says which entries went into side conversations (the
 * outbox sends those of email side conversations to the participants).
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
	addSideParticipants,
	appendSideEntry,
	checkUpdate,
	LIMITS,
	openSide,
	REJECT,
	type Entry,
	type SideConversation,
	type WritePolicy
} from '../../src/lib/ticket';
import { chatTicketFields, replicaOf, ticketDoc } from '../helpers/docs';

const allow: WritePolicy = { actor: 'user:agent-1', writerId: null, rootAllowed: () => null, entryAllowed: () => null, fieldAllowed: () => null, participantAllowed: () => null };
const sides = (doc: Y.Doc) => doc.getMap<Y.Map<unknown>>('sides');
let nextClient = 1000;

function server(): Y.Doc {
	return ticketDoc(1, chatTicketFields(Date.now()));
}

/** The one update `edit` makes on a fresh replica of `doc`, and what the checker says of it. */
function check(doc: Y.Doc, edit: (replica: Y.Doc) => void) {
	const replica = replicaOf(doc, nextClient++);
	const updates: Uint8Array[] = [];
	replica.on('update', (update: Uint8Array) => updates.push(update));
	replica.transact(() => edit(replica));
	expect(updates).toHaveLength(1);
	return { result: checkUpdate(doc, updates[0]!, allow, { owners: new Map(), seen: new Map() }), update: updates[0]! };
}

function accepted(doc: Y.Doc, edit: (replica: Y.Doc) => void) {
	const { result, update } = check(doc, edit);
	expect(result).toMatchObject({ ok: true });
	Y.applyUpdate(doc, update);
	return result as Extract<typeof result, { ok: true }>;
}

const side = (channel: SideConversation['channel'], participants: string[], id = 'S1') => ({
	id,
	subject: 'Ask the vendor',
	channel,
	createdBy: 'agent-1',
	createdAt: Date.now(),
	participants
});

const sideEmail = (): Entry => ({
	id: `E${nextClient++}`,
	kind: 'message',
	channel: 'email',
	direction: 'out',
	visibility: 'internal',
	authorType: 'agent',
	authorId: 'agent-1',
	body: 'Is the part in stock?',
	createdAt: Date.now()
});

describe('email side conversations in the update checker', () => {
	it('accepts an email side conversation to addresses, and reports its message as a side entry', () => {
		const doc = server();
		const message = sideEmail();
		const result = accepted(doc, (d) => {
			openSide(d, side('email', ['vendor@example.com', 'Billing@Example.org']));
			appendSideEntry(d, 'S1', message);
		});
		expect(result.entries.map((e) => e.id)).toEqual([message.id]);
		expect([...result.sideEntryIds]).toEqual([message.id]);
	});

	it('refuses participants of an email side conversation that are not email addresses, opened or added', () => {
		const doc = server();
		for (const bad of ['not an address', 'vendor@', '<script>@x', 'a@b c.com']) {
			expect(check(doc, (d) => openSide(d, side('email', ['ok@example.com', bad]))).result).toMatchObject({ ok: false, reason: REJECT.invalidField });
		}
		accepted(doc, (d) => openSide(d, side('email', ['vendor@example.com'])));
		expect(check(doc, (d) => addSideParticipants(d, 'S1', ['someone else'])).result).toMatchObject({ ok: false, reason: REJECT.invalidField });
		accepted(doc, (d) => addSideParticipants(d, 'S1', ['second@example.com']));
		// Internal side conversations name colleagues by id, as before.
		accepted(doc, (d) => openSide(d, side('internal', ['agent-2'], 'S2')));
	});

	it('bounds the participants of a side conversation, added later included', () => {
		const doc = server();
		accepted(doc, (d) => openSide(d, side('email', ['a@example.com'])));
		const many = Array.from({ length: LIMITS.participantsPerSide }, (_, i) => `p${i}@example.com`);
		expect(check(doc, (d) => addSideParticipants(d, 'S1', many)).result).toMatchObject({ ok: false, reason: REJECT.limitExceeded });
		accepted(doc, (d) => addSideParticipants(d, 'S1', many.slice(1)));
	});

	it('refuses removing a participant: earlier messages went to them', () => {
		const doc = server();
		accepted(doc, (d) => openSide(d, side('email', ['a@example.com', 'b@example.com'])));
		const { result } = check(doc, (d) => (sides(d).get('S1')!.get('participants') as Y.Array<string>).delete(0, 1));
		expect(result).toMatchObject({ ok: false, reason: REJECT.notAppendOnly });
	});

	it("refuses changing a side conversation's channel once it is opened", () => {
		const doc = server();
		accepted(doc, (d) => openSide(d, side('internal', ['agent-2'])));
		expect(check(doc, (d) => sides(d).get('S1')!.set('channel', 'email')).result).toMatchObject({ ok: false, reason: REJECT.readOnlyField });
	});

	it('refuses opening a side conversation without a channel', () => {
		const doc = server();
		const { result } = check(doc, (d) => {
			const map = new Y.Map<unknown>();
			sides(d).set('S1', map);
			map.set('id', 'S1');
			map.set('createdBy', 'agent-1');
			map.set('createdAt', Date.now());
			map.set('status', 'open');
		});
		expect(result).toMatchObject({ ok: false, reason: REJECT.invalidField });
	});

	it('refuses an outgoing email in a side conversation that is not by email', () => {
		const doc = server();
		accepted(doc, (d) => openSide(d, side('internal', ['agent-2'])));
		expect(check(doc, (d) => appendSideEntry(d, 'S1', sideEmail())).result).toMatchObject({ ok: false, reason: REJECT.invalidEntry });
		// Opened and written to in one update: the channel it is opened with decides.
		expect(
			check(doc, (d) => {
				openSide(d, side('child', [], 'S2'));
				appendSideEntry(d, 'S2', sideEmail());
			}).result
		).toMatchObject({ ok: false, reason: REJECT.invalidEntry });
	});
});
