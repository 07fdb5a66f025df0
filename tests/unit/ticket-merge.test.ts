/** The document side of merging tickets (src/lib/ticket/merge.ts): drafts carried over, caps. */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { carryDrafts, draftText, LIMITS, mergeBreach, newId, openSide, readDrafts, setDraftRecipientText, stageChanges } from '../../src/lib/ticket';

function draft(doc: Y.Doc, visibility: 'public' | 'internal', text: string, id = newId()) {
	draftText(doc, id, { channel: 'email', visibility }).insert(0, text);
	return id;
}

describe('carryDrafts', () => {
	it("folds a draft into the target's newest of its kind, copies the others, and leaves empty ones behind", () => {
		const [target, source] = [new Y.Doc(), new Y.Doc()];
		draft(target, 'public', 'older reply');
		const reply = draft(target, 'public', 'Dear Kim,');
		stageChanges(target, reply, { status: 'pending' });
		const incoming = draft(source, 'public', 'the part is on its way.');
		stageChanges(source, incoming, { status: 'solved', priority: 'high', tags: ['parts'] });
		setDraftRecipientText(source, incoming, 'cc', 'lee@example.com');
		const note = draft(source, 'internal', 'Warranty ends in May.');
		draft(source, 'internal', '   ');

		carryDrafts(target, source);
		const drafts = readDrafts(target);
		expect(drafts).toHaveLength(3);
		const folded = drafts.find((d) => d.id === reply)!;
		expect(folded.text).toBe('Dear Kim,\n\nthe part is on its way.');
		// The target's staged status stays; what it does not stage comes along.
		expect(folded.staged).toEqual({ status: 'pending', priority: 'high', tags: ['parts'] });
		expect(folded.cc).toBe('lee@example.com');
		expect(drafts.find((d) => d.id === note)).toMatchObject({ visibility: 'internal', text: 'Warranty ends in May.' });
		expect(drafts.find((d) => d.text === 'older reply')).toBeTruthy();
	});

	it('copies under a new id a draft whose id the target uses for another kind', () => {
		const [target, source] = [new Y.Doc(), new Y.Doc()];
		const id = draft(target, 'public', 'a reply');
		draft(source, 'internal', 'a note', id);
		carryDrafts(target, source);
		const notes = readDrafts(target).filter((d) => d.visibility === 'internal');
		expect(notes.map((d) => d.text)).toEqual(['a note']);
		expect(notes[0]!.id).not.toBe(id);
		expect(readDrafts(target).find((d) => d.id === id)!.text).toBe('a reply');
	});
});

describe('mergeBreach', () => {
	const sides = (doc: Y.Doc, n: number) => {
		for (let i = 0; i < n; i++) openSide(doc, { id: newId(), subject: `side ${i}`, channel: 'internal', createdBy: 'u1', createdAt: 1, participants: [] });
	};

	it('names the cap a merge would take the target past, and only one it grows past', () => {
		const before = new Y.Doc();
		sides(before, LIMITS.sidesPerTicket);
		const after = new Y.Doc();
		Y.applyUpdate(after, Y.encodeStateAsUpdate(before));
		expect(mergeBreach(before, after)).toBeNull();
		sides(after, 1);
		expect(mergeBreach(before, after)).toMatch(/sidesPerTicket/);

		const text = new Y.Doc();
		const grown = new Y.Doc();
		const id = draft(text, 'public', 'x'.repeat(LIMITS.draftTextLength - 1));
		Y.applyUpdate(grown, Y.encodeStateAsUpdate(text));
		draftText(grown, id, { channel: 'email', visibility: 'public' }).insert(0, 'yy');
		expect(mergeBreach(text, grown)).toMatch(/draftTextLength/);
	});
});
