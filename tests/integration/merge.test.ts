/**
 * Merging and splitting tickets (POST /api/v1/tickets/{id}/merge and /split): what the target
 * gets (entries in time order with their authors, side conversations, drafts of both, the other
 * requester as CC), what the source becomes (closed, pointing at the target), mail to the source
 * landing in the target, exactly one winner of concurrent merges, and every refusal changing
 * nothing.
 */
import { createHmac } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { addDraftAuthor, appendSideEntry, draftText, newId, openSide, readDrafts, readFields, readSides, type Entry } from '../../src/lib/ticket';
import { MAX_SPLIT_ENTRIES } from '../../src/lib/api/merge';
import { LIMITS } from '../../src/lib/ticket/limits';
import { runCli } from '../helpers/cli';
import { prepare, type Fixture } from '../helpers/fixtures';
import { openEvents } from '../helpers/sse';
import { api, connectPeer, smtpPort, startServer, tempDataDir, waitFor, type Peer, type RunningServer } from '../helpers/server';

let server: RunningServer;
let fx: Fixture;
let mail: Transporter;
let messaging: { id: string; secret: string };
const SUPPORT = 'support@tandem.local';

beforeAll(async () => {
	const dataDir = tempDataDir('tandem-merge-');
	fx = await prepare(dataDir, {
		users: {
			ann: { role: 'agent', groups: ['Support'] },
			ben: { role: 'agent', groups: ['Support'] },
			carl: { role: 'agent', groups: ['Billing'] },
			sue: { role: 'supervisor' },
			root: { role: 'admin' }
		},
		bots: { mailer: ['email'] }
	});
	const created = await runCli(dataDir, 'channel', 'add', '--kind', 'messaging', '--name', 'app', '--outbound-url', 'http://127.0.0.1:9/', '--json');
	expect(created.code, created.stderr).toBe(0);
	messaging = JSON.parse(created.stdout);
	server = await startServer({ dataDir, env: { SMTP_PORT: '0' } });
	mail = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort(server), secure: false, ignoreTLS: true });
});

afterAll(async () => {
	mail?.close();
	await server?.stop();
});

const peers: Peer[] = [];
afterEach(() => {
	for (const peer of peers.splice(0)) peer.destroy();
});

type Who = 'ann' | 'ben' | 'carl' | 'sue' | 'root';
const as = (who: Who | 'mailer') => api(server, (fx.users[who as Who] ?? fx.tokens[who]).token);

async function connect(ticketId: string, who: Who): Promise<Peer> {
	const peer = await connectPeer(server, ticketId, fx.users[who].token);
	peers.push(peer);
	return peer;
}

interface Ticket {
	id: string;
	number: number;
	requesterId: string;
}

/** A Support ticket a customer (`email`) opened by mail. */
async function supportTicket(subject: string, email = `pat+${newId().toLowerCase()}@example.com`): Promise<Ticket> {
	const res = await as('mailer').request('POST', '/api/v1/tickets', { subject, requester: { email, name: 'Pat' }, channel: 'email', body: `${subject}: first message` });
	expect(res.status).toBe(201);
	expect((await as('root').request('PATCH', `/api/v1/tickets/${res.body.id}`, { groupId: fx.groups.Support })).status).toBe(200);
	return res.body;
}

async function append(ticketId: string, who: Who | 'mailer', entry: Record<string, unknown>): Promise<Entry> {
	const res = await as(who).request('POST', `/api/v1/tickets/${ticketId}/entries`, entry);
	expect(res.status).toBe(201);
	return res.body;
}

const read = async (ticketId: string) => (await as('root').request('GET', `/api/v1/tickets/${ticketId}`)).body;
const merge = (who: Who | 'mailer', targetId: string, body: unknown) => as(who).request('POST', `/api/v1/tickets/${targetId}/merge`, body);
const split = (who: Who | 'mailer', ticketId: string, body: unknown) => as(who).request('POST', `/api/v1/tickets/${ticketId}/split`, body);

/** What a refusal must leave as it was: each ticket's fields and entries, drafts and side conversations. */
async function state(...ticketIds: string[]) {
	return Promise.all(
		ticketIds.map(async (id) => {
			const { updatedAt: _updatedAt, ...detail } = await read(id);
			const peer = await connect(id, 'root');
			return { detail, drafts: readDrafts(peer.doc), sides: readSides(peer.doc), vector: [...Y.decodeStateVector(Y.encodeStateVector(peer.doc))].sort() };
		})
	);
}

describe('merging a ticket into another', () => {
	it("copies the source's conversation, side conversations and drafts into the target in time order, and closes the source pointing at it", async () => {
		const source = await supportTicket('Printer jams');
		const target = await supportTicket('Printer makes noise');
		// Interleaved in time: the source's reply falls between the target's first message and its note.
		const sourceReply = await append(source.id, 'ann', { kind: 'message', channel: 'email', body: 'Which model is it?' });
		const targetNote = await append(target.id, 'ben', { kind: 'note', channel: 'internal', body: 'Same customer site?' });

		// A side conversation in the source, and drafts: ann's reply in the target, ben's reply and note in the source.
		const sideId = newId();
		const annOnSource = await connect(source.id, 'ann');
		openSide(annOnSource.doc, { id: sideId, subject: 'Ask the technician', channel: 'internal', createdBy: fx.users.ann.id, createdAt: Date.now(), participants: [fx.users.ben.id] });
		appendSideEntry(annOnSource.doc, sideId, { id: newId(), kind: 'note', channel: 'internal', visibility: 'internal', authorType: 'agent', authorId: fx.users.ann.id, body: 'Can you look at it tomorrow?', createdAt: Date.now() });
		await annOnSource.acknowledged();
		const annOnTarget = await connect(target.id, 'ann');
		const annReply = newId();
		draftText(annOnTarget.doc, annReply, { channel: 'email', visibility: 'public' }).insert(0, 'Dear Pat, we are on it.');
		addDraftAuthor(annOnTarget.doc, annReply, fx.users.ann.id);
		await annOnTarget.acknowledged();
		const benOnSource = await connect(source.id, 'ben');
		const benReply = newId();
		draftText(benOnSource.doc, benReply, { channel: 'email', visibility: 'public' }).insert(0, 'Please send the model number.');
		addDraftAuthor(benOnSource.doc, benReply, fx.users.ben.id);
		draftText(benOnSource.doc, newId(), { channel: 'email', visibility: 'internal' }).insert(0, 'Note: warranty ends in May.');
		await benOnSource.acknowledged();

		const res = await merge('ann', target.id, { sourceId: source.id });
		expect(res.status).toBe(200);
		expect(res.body.source).toMatchObject({ id: source.id, status: 'closed', mergedIntoId: target.id });
		expect(res.body.target).toMatchObject({ id: target.id, mergedIntoId: null });

		const merged = await read(target.id);
		const sourceEntries: Entry[] = (await read(source.id)).entries;
		// Every source entry once in the target, same author, time and text, under an id of its own that says where it came from.
		const copies = merged.entries.filter((e: Entry) => e.meta?.mergedFrom);
		expect(copies.map((e: Entry) => (e.meta!.mergedFrom as { entryId: string }).entryId).sort()).toEqual(sourceEntries.filter((e) => e.kind !== 'event').map((e) => e.id).sort());
		for (const copy of copies) {
			const original = sourceEntries.find((e) => e.id === (copy.meta!.mergedFrom as { entryId: string }).entryId)!;
			expect(copy).toMatchObject({ kind: original.kind, authorType: original.authorType, authorId: original.authorId, body: original.body, createdAt: original.createdAt, visibility: original.visibility });
			expect(copy.id).not.toBe(original.id);
			expect(copy.meta!.mergedFrom).toMatchObject({ ticketId: source.id, number: source.number });
		}
		// Time order, though the copies went in after the target's entries: source, target, source, target.
		expect(merged.entries.map((e: Entry) => e.body).slice(0, 4)).toEqual(['Printer jams: first message', 'Printer makes noise: first message', sourceReply.body, targetNote.body]);
		expect(merged.entries.map((e: Entry) => e.createdAt)).toEqual([...merged.entries.map((e: Entry) => e.createdAt)].sort((a, b) => a - b));
		expect(merged.entries.filter((e: Entry) => e.kind === 'event' && e.body.startsWith(`Merged from #${source.number}`))).toHaveLength(1);

		const closed = await read(source.id);
		expect(closed).toMatchObject({ status: 'closed', mergedIntoId: target.id });
		expect(closed.entries.filter((e: Entry) => e.kind === 'event')).toEqual([expect.objectContaining({ authorType: 'system', body: `Merged into #${target.number} by ann.` })]);

		// Peers on the target see it arrive live: the side conversation and both tickets' drafts.
		await waitFor(() => readSides(annOnTarget.doc).some((s) => s.id === sideId), 'the side conversation in the target');
		const side = readSides(annOnTarget.doc).find((s) => s.id === sideId)!;
		expect(side).toMatchObject({ subject: 'Ask the technician', participants: [fx.users.ben.id] });
		expect(side.entries.map((e) => e.body)).toEqual(['Can you look at it tomorrow?']);
		const drafts = readDrafts(annOnTarget.doc);
		const reply = drafts.filter((d) => d.visibility === 'public');
		expect(reply).toHaveLength(1);
		expect(reply[0]!.text).toBe('Dear Pat, we are on it.\n\nPlease send the model number.');
		expect(reply[0]!.id).toBe(annReply);
		expect(reply[0]!.authors).toEqual([fx.users.ann.id, fx.users.ben.id]);
		expect(drafts.filter((d) => d.visibility === 'internal').map((d) => d.text)).toEqual(['Note: warranty ends in May.']);
		// The source keeps its drafts too (ben's tab there loses nothing), and shows the pointer live.
		await waitFor(() => readFields(benOnSource.doc).mergedIntoId === target.id, 'the pointer in the source');
		expect(readDrafts(benOnSource.doc).find((d) => d.id === benReply)?.text).toBe('Please send the model number.');

		// The source's requester is copied on the target's replies; the target's requester stays.
		expect(merged.requesterId).toBe(target.requesterId);
		expect(merged.cc).toEqual([expect.stringMatching(/^pat\+.*@example\.com$/)]);
		const events = (await as('root').request('GET', `/api/v1/tickets/${target.id}/events`)).body;
		expect(events.events.filter((e: { type: string }) => e.type === 'ticket.merged')).toHaveLength(1);
	});

	it('carries a draft typed over the websocket while the merge happens: what the server holds then goes to the target, and nothing is lost', async () => {
		const source = await supportTicket('Typing during a merge');
		const target = await supportTicket('Typing during a merge, target');
		const ben = await connect(source.id, 'ben');
		const annOnTarget = await connect(target.id, 'ann');
		const text = draftText(ben.doc, newId(), { channel: 'email', visibility: 'public' });
		let typing = true;
		/** What the server has acknowledged so far. */
		let stored = '';
		const typed = (async () => {
			for (let word = 0; typing || word < 5; word++) {
				text.insert(text.length, `word${word} `);
				await ben.acknowledged();
				stored = text.toString();
			}
		})();
		await waitFor(() => stored.length > 20, 'some words stored');
		const storedBefore = stored;
		const res = await merge('ann', target.id, { sourceId: source.id });
		typing = false;
		await typed;
		expect(res.status).toBe(200);
		await waitFor(() => readDrafts(annOnTarget.doc).some((d) => d.visibility === 'public'), 'the draft in the target');
		const carried = readDrafts(annOnTarget.doc).find((d) => d.visibility === 'public')!.text;
		// The words stored before the merge are in the target, in order; those after stay in the source's draft.
		expect(carried.startsWith(storedBefore)).toBe(true);
		expect(text.toString().startsWith(carried)).toBe(true);
		const inSource = readDrafts((await connect(source.id, 'root')).doc).find((d) => d.visibility === 'public')!.text;
		expect(inSource).toBe(text.toString());
	});

	it("sends mail replying to the source's thread, or naming its number, into the target", async () => {
		const messageId = `<${newId()}@example.com>`;
		await mail.sendMail({ from: 'Lee <lee@example.com>', to: SUPPORT, subject: 'Invoice wrong', text: 'The invoice lists two lamps.', messageId });
		const source = (await as('root').request('GET', '/api/v1/tickets?q=Invoice%20wrong')).body.tickets[0];
		const target = await supportTicket('Billing question');
		expect((await merge('root', target.id, { sourceId: source.id })).status).toBe(200);
		const sourceCount = (await read(source.id)).entries.length;

		await mail.sendMail({ from: 'lee@example.com', to: SUPPORT, subject: 'Re: Invoice wrong', text: 'Any news on the lamps?', inReplyTo: messageId, references: [messageId] });
		await mail.sendMail({ from: 'lee@example.com', to: SUPPORT, subject: `About [#${source.number}]`, text: 'Also the shipping fee.' });
		const bodies = (await read(target.id)).entries.map((e: Entry) => e.body);
		expect(bodies).toEqual(expect.arrayContaining(['Any news on the lamps?', 'Also the shipping fee.']));
		expect((await read(source.id)).entries).toHaveLength(sourceCount);
	});

	it('sends messaging webhooks of the source\'s customer, and its chat visitor\'s messages, into the target', async () => {
		const webhook = async (from: string, eventId: string, text: string) => {
			const body = JSON.stringify({ eventId, from: { id: from, name: from }, text });
			const timestamp = String(Math.floor(Date.now() / 1000));
			const signature = `sha256=${createHmac('sha256', messaging.secret).update(`${timestamp}.${body}`).digest('hex')}`;
			const response = await fetch(`${server.url}/api/v1/channels/${messaging.id}/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tandem-timestamp': timestamp, 'x-tandem-signature': signature }, body });
			expect(response.status).toBe(200);
			return ((await response.json()) as { ticketId: string }).ticketId;
		};
		const source = await webhook('app-user-1', newId(), 'My app crashes on start.');
		const target = await webhook('app-user-2', newId(), 'The app crashes for my colleague too.');
		expect((await merge('ann', target, { sourceId: source })).status).toBe(200);
		expect(await webhook('app-user-1', newId(), 'Still crashing today.')).toBe(target);
		expect((await read(target)).entries.map((e: Entry) => e.body)).toContain('Still crashing today.');
		// Once the target is done, the customer's next message opens a new ticket, as for any done ticket.
		expect((await as('ann').request('PATCH', `/api/v1/tickets/${target}`, { status: 'solved' })).status).toBe(200);
		expect(await webhook('app-user-1', newId(), 'It is back.')).not.toBe(target);

		const visitor = await api(server).request('POST', '/api/v1/visitor');
		const widget = (method: string, route: string, body?: unknown) => api(server).request(method, `/api/v1/visitor${route}`, body, { headers: { 'x-visitor-token': visitor.body.token } });
		const chat = await widget('POST', '/chat', { name: 'Noor', message: 'Is anyone there?' });
		expect(chat.status).toBe(201);
		const chatTarget = await supportTicket('Chat follow-up');
		expect((await merge('ann', chatTarget.id, { sourceId: chat.body.ticketId })).status).toBe(200);
		expect((await widget('POST', '/chat/messages', { id: 'after-merge', body: 'Hello again' })).status).toBe(201);
		const chatEntries: Entry[] = (await read(chatTarget.id)).entries;
		expect(chatEntries.find((e) => e.body === 'Hello again')).toMatchObject({ authorType: 'customer', channel: 'chat' });
		expect((await read(chat.body.ticketId)).entries.map((e: Entry) => e.body)).not.toContain('Hello again');
	});

	it('keeps a chat visitor in the conversation when their chat is merged: replies there reach their widget, their own messages once, nobody else\'s mail', async () => {
		const visitor = await api(server).request('POST', '/api/v1/visitor');
		const widget = (method: string, route: string, body?: unknown) => api(server).request(method, `/api/v1/visitor${route}`, body, { headers: { 'x-visitor-token': visitor.body.token } });
		const chat = await widget('POST', '/chat', { name: 'Rae', message: 'My parcel never came' });
		expect(chat.status).toBe(201);
		const stream = await openEvents(`${server.url}/api/v1/visitor/chat/stream?token=${encodeURIComponent(visitor.body.token)}`);
		// As the widget keeps them: once per id (the stream tells the merged ticket's conversation when it moves there).
		const messages = () => [...new Map(stream.events.filter((e) => e.name === 'message').map((e) => [e.data.message.id, e.data.message as { id: string; body: string; from: string }])).values()];
		try {
			await waitFor(() => messages().length === 1, 'the first message on the stream');
			// The target is another customer's ticket: their mail is theirs, the replies there are the chat's too.
			const target = await supportTicket('Parcel lost, other customer', 'other.customer@example.com');
			expect((await merge('ann', target.id, { sourceId: chat.body.ticketId })).status).toBe(200);
			const reply = await as('ann').request('POST', `/api/v1/tickets/${target.id}/entries`, { kind: 'message', channel: 'chat', visibility: 'public', body: 'Found it at the depot' });
			expect(reply.status).toBe(201);
			await waitFor(() => messages().some((m) => m.body === 'Found it at the depot'), 'the reply in the merged ticket at the widget');
			expect((await widget('POST', '/chat/messages', { id: 'after', body: 'Thank you!' })).status).toBe(201);
			await waitFor(() => messages().some((m) => m.body === 'Thank you!'), 'the visitor message after the merge');
			const shown = messages();
			expect(shown.filter((m) => m.body === 'My parcel never came')).toHaveLength(1);
			expect((await read(target.id)).entries.map((e: Entry) => e.body)).toContain('Parcel lost, other customer: first message');
			expect(shown.map((m) => m.body)).not.toContain('Parcel lost, other customer: first message');
			// Coming back later (a new stream): the same conversation, from the merged ticket.
			const again = await openEvents(`${server.url}/api/v1/visitor/chat/stream?token=${encodeURIComponent(visitor.body.token)}`);
			try {
				await waitFor(() => again.events.filter((e) => e.name === 'message').length === 3, 'the conversation on a new stream');
				expect(again.events.filter((e) => e.name === 'message').map((e) => e.data.message.body)).toEqual(['My parcel never came', 'Found it at the depot', 'Thank you!']);
				expect(again.events.filter((e) => e.name === 'message')[0]!.data.message.id).toBe(shown[0]!.id);
			} finally {
				again.close();
			}
		} finally {
			stream.close();
		}
	});

	it("brings the source's child tickets along (they report to the target now), and its CCs through a chain of merges", async () => {
		const source = await supportTicket('Desk wobbles', 'ola@example.com');
		const target = await supportTicket('Desk delivery', 'sam@example.com');
		const child = await as('ann').request('POST', `/api/v1/tickets/${source.id}/children`, { id: newId(), subject: 'Send a technician', body: 'Check the desk legs.' });
		expect(child.status).toBe(201);
		expect((await merge('ann', target.id, { sourceId: source.id })).status).toBe(200);
		expect((await read(child.body.id)).parentId).toBe(target.id);
		expect((await as('ann').request('GET', `/api/v1/tickets/${target.id}/children`)).body.children.map((c: { id: string }) => c.id)).toEqual([child.body.id]);
		const onTarget = await connect(target.id, 'ann');
		expect(readSides(onTarget.doc).find((s) => s.childId === child.body.id)).toBeTruthy();
		expect((await as('ann').request('PATCH', `/api/v1/tickets/${child.body.id}`, { status: 'solved' })).status).toBe(200);
		await waitFor(() => readSides(onTarget.doc).find((s) => s.childId === child.body.id)?.entries.some((e) => e.body.endsWith('was solved.')), 'the child reporting to the target');

		const further = await supportTicket('Office furniture', 'uma@example.com');
		expect((await merge('ann', further.id, { sourceId: target.id })).status).toBe(200);
		expect((await read(further.id)).cc).toEqual(['ola@example.com', 'sam@example.com']);
	});

	it('has one winner when two agents merge at once, either the same way or crosswise, and doubles nothing', async () => {
		const source = await supportTicket('Screen flickers');
		const target = await supportTicket('Screen broken');
		const same = await Promise.all([merge('ann', target.id, { sourceId: source.id }), merge('ben', target.id, { sourceId: source.id })]);
		expect(same.map((r) => r.status).sort()).toEqual([200, 409]);
		expect(same.find((r) => r.status === 409)!.body.error.code).toBe('already_merged');
		const entries: Entry[] = (await read(target.id)).entries;
		expect(entries.filter((e) => e.meta?.mergedFrom)).toHaveLength(1);
		expect(entries.filter((e) => e.body.startsWith('Merged from'))).toHaveLength(1);

		const left = await supportTicket('Mouse stuck');
		const right = await supportTicket('Mouse slow');
		const crosswise = await Promise.all([merge('ann', left.id, { sourceId: right.id }), merge('ben', right.id, { sourceId: left.id })]);
		expect(crosswise.map((r) => r.status).sort()).toEqual([200, 409]);
		const [l, r] = [await read(left.id), await read(right.id)];
		expect([l.mergedIntoId, r.mergedIntoId].filter(Boolean)).toHaveLength(1);
		const winner = l.mergedIntoId ? r : l;
		expect(winner.entries.filter((e: Entry) => e.meta?.mergedFrom)).toHaveLength(1);
		expect([...l.entries, ...r.entries].filter((e: Entry) => e.body.startsWith('Merged from'))).toHaveLength(1);
	});

	it('lets no peer write the pointer or the CCs: only a merge does', async () => {
		const ticket = await supportTicket('Peer forging a merge');
		const other = await supportTicket('Peer forging a merge, target');
		for (const [field, value] of [['mergedIntoId', other.id], ['cc', ['mallory@example.com']]] as const) {
			const ann = await connect(ticket.id, 'ann');
			ann.doc.getMap('ticket').set(field, value);
			expect(await waitFor(() => ann.closeReason(), 'the refusal')).toBe('read-only-field');
		}
		const fields = readFields((await connect(ticket.id, 'ben')).doc);
		expect(fields.mergedIntoId).toBeUndefined();
		expect(fields.cc).toBeUndefined();
		expect((await read(ticket.id)).mergedIntoId).toBeUndefined();
	});

	it('refuses, changing neither ticket: itself, merged tickets either side, callers who may not write both, bots, bad bodies, a target past its caps', async () => {
		const a = await supportTicket('Keyboard dead');
		const b = await supportTicket('Keyboard sticky');
		const merged = await supportTicket('Keyboard gone');
		const other = await supportTicket('Keyboard loud');
		expect((await merge('root', other.id, { sourceId: merged.id })).status).toBe(200);
		const before = await state(a.id, b.id);

		const refusals: [string, Promise<{ status: number; body: any }>, number, string][] = [
			['into itself', merge('ann', a.id, { sourceId: a.id }), 400, 'invalid_field'],
			['a merged source', merge('ann', a.id, { sourceId: merged.id }), 409, 'already_merged'],
			['into a merged target', merge('ann', merged.id, { sourceId: a.id }), 409, 'already_merged'],
			['an agent who cannot see them', merge('carl', a.id, { sourceId: b.id }), 404, 'not_found'],
			['a supervisor (read-only)', merge('sue', a.id, { sourceId: b.id }), 403, 'forbidden'],
			['a bot', merge('mailer', a.id, { sourceId: b.id }), 403, 'forbidden'],
			['an unknown source', merge('ann', a.id, { sourceId: newId() }), 404, 'not_found'],
			['a hostile id', merge('ann', a.id, { sourceId: '../../x' }), 400, 'invalid_field'],
			['an unknown key', merge('ann', a.id, { sourceId: b.id, force: true }), 400, 'invalid_field'],
			['no source', merge('ann', a.id, {}), 400, 'invalid_field']
		];
		for (const [what, pending, status, code] of refusals) {
			const res = await pending;
			expect(res.status, what).toBe(status);
			expect(res.body.error.code, what).toBe(code);
		}
		// A target at its cap of drafts (replies), a source with a note draft, which would be one more.
		const annOnA = await connect(a.id, 'ann');
		const annOnB = await connect(b.id, 'ann');
		annOnA.doc.transact(() => {
			for (let i = 0; i < LIMITS.draftsPerTicket; i++) draftText(annOnA.doc, newId(), { channel: 'email', visibility: 'public' }).insert(0, `reply ${i}`);
		});
		draftText(annOnB.doc, newId(), { channel: 'email', visibility: 'internal' }).insert(0, 'a note to keep');
		await Promise.all([annOnA.acknowledged(), annOnB.acknowledged()]);
		const atCap = await state(a.id, b.id);
		const res = await merge('ann', a.id, { sourceId: b.id });
		expect(res.status).toBe(409);
		expect(res.body.error).toMatchObject({ code: 'limit_exceeded', message: expect.stringContaining('draftsPerTicket') });
		expect(await state(a.id, b.id)).toEqual(atCap);
		expect(before[0]!.detail.entries).toEqual((await read(a.id)).entries);
		expect(before[1]!.detail.entries).toEqual((await read(b.id)).entries);
	});
});

describe('splitting a ticket', () => {
	it('starts a new ticket from chosen entries, copied with their authors and times, and notes it both ways', async () => {
		const ticket = await supportTicket('Two problems');
		const second = await append(ticket.id, 'mailer', { kind: 'message', channel: 'email', authorType: 'customer', body: 'Also, my password reset mail never came.' });
		const note = await append(ticket.id, 'ann', { kind: 'note', channel: 'internal', body: 'The reset is a separate issue.' });
		const res = await split('ann', ticket.id, { entryIds: [note.id, second.id] });
		expect(res.status).toBe(201);
		expect(res.body).toMatchObject({ subject: 'Also, my password reset mail never came.', requesterId: ticket.requesterId, channel: 'email', groupId: fx.groups.Support, status: 'open' });
		const created = await read(res.body.id);
		expect(created.entries.map((e: Entry) => e.body)).toEqual([second.body, note.body, `Split from #${ticket.number} by ann.`]);
		expect(created.entries[0]).toMatchObject({ id: second.id, authorType: 'customer', authorId: ticket.requesterId, createdAt: second.createdAt, meta: { splitFrom: { ticketId: ticket.id, number: ticket.number, entryId: second.id } } });
		expect(created.entries[1]).toMatchObject({ authorType: 'agent', authorId: fx.users.ann.id, createdAt: note.createdAt, kind: 'note' });
		const original = await read(ticket.id);
		// Copied, not moved: the entries stay where they were.
		expect(original.entries.map((e: Entry) => e.body)).toEqual(['Two problems: first message', second.body, note.body, `Split into #${res.body.number} by ann.`]);
	});

	it('splits once under a caller-chosen id: a retry answers 200 with the ticket it made; an id another ticket has is refused', async () => {
		const ticket = await supportTicket('Retried split');
		const second = await append(ticket.id, 'mailer', { kind: 'message', channel: 'email', authorType: 'customer', body: 'A second question.' });
		const id = newId();
		const first = await split('ann', ticket.id, { entryIds: [second.id], id });
		expect(first.status).toBe(201);
		expect(first.body.id).toBe(id);
		const again = await split('ann', ticket.id, { entryIds: [second.id], id });
		expect(again.status).toBe(200);
		expect(again.body.id).toBe(id);
		expect((await read(ticket.id)).entries.filter((e: Entry) => e.body.startsWith('Split into'))).toHaveLength(1);
		const taken = await split('ann', ticket.id, { entryIds: [second.id], id: ticket.id });
		expect(taken.status).toBe(409);
		expect((await read(ticket.id)).entries.filter((e: Entry) => e.body.startsWith('Split into'))).toHaveLength(1);
	});

	it('refuses, changing nothing: unknown, repeated or too many entries, events, callers who may not write it, a merged ticket', async () => {
		const ticket = await supportTicket('Refusals of split');
		const first = (await read(ticket.id)).entries[0] as Entry;
		await split('ann', ticket.id, { entryIds: [first.id] });
		const event = (await read(ticket.id)).entries.find((e: Entry) => e.kind === 'event') as Entry;
		const merged = await supportTicket('Merged away');
		expect((await merge('root', ticket.id, { sourceId: merged.id })).status).toBe(200);
		const before = await state(ticket.id, merged.id);
		const tooMany = Array.from({ length: MAX_SPLIT_ENTRIES + 1 }, () => newId());
		const refusals: [string, Promise<{ status: number; body: any }>, number][] = [
			['an unknown entry', split('ann', ticket.id, { entryIds: [newId()] }), 400],
			['an entry twice', split('ann', ticket.id, { entryIds: [first.id, first.id] }), 400],
			['too many', split('ann', ticket.id, { entryIds: tooMany }), 400],
			['none', split('ann', ticket.id, { entryIds: [] }), 400],
			['an event', split('ann', ticket.id, { entryIds: [event.id] }), 400],
			['a merged ticket', split('ann', merged.id, { entryIds: [first.id] }), 409],
			['an agent who cannot see it', split('carl', ticket.id, { entryIds: [first.id] }), 404],
			['a supervisor', split('sue', ticket.id, { entryIds: [first.id] }), 403],
			['a bot', split('mailer', ticket.id, { entryIds: [first.id] }), 403]
		];
		for (const [what, pending, status] of refusals) expect((await pending).status, what).toBe(status);
		expect(await state(ticket.id, merged.id)).toEqual(before);
	});
});
