/**
 * CC and BCC in the ticket module: the typed list as a draft holds it, what sending makes of it,
 * the entry schema's rule on every email entry, and two drafts converging without losing either's
 * recipients. No server: plain Y.Docs.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
	draftText,
	entrySchema,
	latestInboundCc,
	mergeDraft,
	parseRecipients,
	readDrafts,
	recipientsProblem,
	sendDraft,
	setDraftRecipientText,
	type Entry
} from '../../src/lib/ticket';

const email = (meta: NonNullable<Entry['meta']>, shape: Partial<Entry> = {}): Entry => ({
	id: 'e1',
	kind: 'message',
	channel: 'email',
	direction: 'out',
	visibility: 'public',
	authorType: 'agent',
	authorId: 'u1',
	body: 'Hi',
	createdAt: 1,
	meta,
	...shape
});

describe('email recipients', () => {
	it('reads a typed list: commas, semicolons or spaces between, repeats once, the first bad address named', () => {
		expect(parseRecipients(' kim@example.com; Lee@example.com  kim@EXAMPLE.com,,')).toEqual({ addresses: ['kim@example.com', 'Lee@example.com'] });
		expect(parseRecipients('')).toEqual({ addresses: [] });
		expect(parseRecipients('kim@example.com, kim')).toEqual({ error: '“kim” is not an email address' });
		expect(parseRecipients(Array.from({ length: 21 }, (_, i) => `p${i}@example.com`).join(','))).toEqual({ error: 'at most 20 addresses' });
		expect(recipientsProblem({ cc: 'kim@example.com', bcc: 'x@y' })).toBe('BCC: “x@y” is not an email address');
		expect(recipientsProblem({ cc: 'kim@example.com' })).toBeNull();
	});

	it('holds every email entry to lists of addresses, whoever writes it; other channels are not its business', () => {
		expect(entrySchema.safeParse(email({ cc: ['kim@example.com'], bcc: ['boss@example.com'] })).success).toBe(true);
		const refused: NonNullable<Entry['meta']>[] = [
			{ cc: ['kim@example.com\r\nBcc: evil@example.net'] },
			{ cc: 'kim@example.com' },
			{ bcc: [42] },
			{ cc: Array.from({ length: 21 }, (_, i) => `p${i}@example.com`) }
		];
		for (const meta of refused) {
			expect(entrySchema.safeParse(email(meta)).success, JSON.stringify(meta)).toBe(false);
		}
		expect(entrySchema.safeParse(email({ cc: 'anything' }, { channel: 'chat' })).success).toBe(true);
	});

	it('turns the draft’s typed CC and BCC into meta of an email reply only, and offers the newest inbound CCs', () => {
		const doc = new Y.Doc();
		draftText(doc, 'd1', { channel: 'email', visibility: 'public' }).insert(0, 'Hello');
		setDraftRecipientText(doc, 'd1', 'cc', 'kim@example.com, lee@example.com');
		setDraftRecipientText(doc, 'd1', 'bcc', '');
		expect(() => setDraftRecipientText(doc, 'd1', 'bcc', 'a@b.example\nBcc: c@d.example')).toThrow();
		expect(sendDraft(doc, 'd1', { type: 'agent', id: 'u1' })?.meta).toEqual({ cc: ['kim@example.com', 'lee@example.com'] });
		// A note keeps no recipients, whatever its draft held.
		draftText(doc, 'd2', { channel: 'internal', visibility: 'internal' }).insert(0, 'Note');
		setDraftRecipientText(doc, 'd2', 'cc', 'kim@example.com');
		expect(sendDraft(doc, 'd2', { type: 'agent', id: 'u1' })?.meta).toBeUndefined();

		const inbound = (id: string, cc: string[] | undefined): Entry => email(cc === undefined ? {} : { cc }, { id, direction: 'in', authorType: 'customer', createdAt: Number(id.slice(1)) });
		expect(latestInboundCc([inbound('i1', ['old@example.com']), inbound('i2', ['new@example.com']), email({}, { id: 'o3', createdAt: 3 })])).toEqual(['new@example.com']);
		expect(latestInboundCc([inbound('i1', ['old@example.com']), inbound('i2', undefined)])).toEqual([]);
	});

	it('keeps the recipients of a folded draft when the one it joins has none', () => {
		const doc = new Y.Doc();
		draftText(doc, 'older', { channel: 'email', visibility: 'public' }).insert(0, 'First');
		setDraftRecipientText(doc, 'older', 'cc', 'kim@example.com');
		setDraftRecipientText(doc, 'older', 'bcc', 'boss@example.com');
		draftText(doc, 'newer', { channel: 'email', visibility: 'public' }).insert(0, 'Second');
		setDraftRecipientText(doc, 'newer', 'cc', 'lee@example.com');
		mergeDraft(doc, 'older', 'newer');
		expect(readDrafts(doc)).toMatchObject([{ id: 'newer', text: 'Second\n\nFirst', cc: 'lee@example.com', bcc: 'boss@example.com' }]);
	});
});
