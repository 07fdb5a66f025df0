/**
 * Attack suite, class 2 of issue #12: revoked access ends at once, on every open socket and
 * stream. A principal holds a ticket open on /collab (Hocuspocus provider) and on /yws
 * (y-websocket) while its access is taken away — signed out, disabled, password reset, token
 * revoked, removed from the ticket's group, the ticket moved to another group or unassigned from
 * it — in this process (the admin page) or from another one (the CLI, another database handle).
 * Each case checks that within a second both sockets are closed with `access-revoked`, that a
 * write sent after the change is neither acknowledged nor stored, that the principal cannot come
 * back, and that the honest colleague on the same ticket keeps working. The API streams end when
 * their principal's access changes, so a lost group's tickets are no longer delivered.
 */
import { sql } from 'drizzle-orm';
import * as Y from 'yjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { appendEntry, newId, readEntries, setField, ticketDocumentName, type Entry } from '../../src/lib/ticket';
import { REFUSE, YWS_CLOSE } from '../../server/close-reasons';
import { openDatabase, type Db } from '../../server/storage/database';
import { runCli } from '../helpers/cli';
import { countRows, withStore } from '../helpers/db';
import { noteBy, replyBy } from '../helpers/entries';
import { prepare, revokeToken, type Fixture } from '../helpers/fixtures';
import { sendPage } from '../helpers/pages';
import { api, connectPeer, startServer, tempDataDir, waitFor, type Peer, type RunningServer } from '../helpers/server';
import { openEvents, type EventLog } from '../helpers/sse';
import { connectYws, type YwsClient } from '../helpers/yws';

/** "Within a second" (DESIGN.md, Trust model). */
const WITHIN = 1_000;

let server: RunningServer;
let fx: Fixture;

beforeAll(async () => {
	const dataDir = tempDataDir('tandem-revocation-');
	fx = await prepare(dataDir, {
		users: {
			ann: { role: 'agent', groups: ['Support', 'Billing'] }, // the honest colleague, who keeps the ticket throughout
			root: { role: 'admin' },
			leaver: { role: 'agent', groups: ['Support'] }, // signs out
			disabled: { role: 'agent', groups: ['Support'] },
			reset: { role: 'agent', groups: ['Support'] },
			regrouped: { role: 'agent', groups: ['Support'] },
			moved: { role: 'agent', groups: ['Support'] },
			moved2: { role: 'agent', groups: ['Support'] },
			assignee: { role: 'agent', groups: ['Billing'] }, // reaches a Support ticket only by assignment
			demoted: { role: 'agent', groups: ['Support'] },
			watcher: { role: 'agent', groups: ['Support'] }, // the workspace stream
			console: { role: 'agent', groups: ['Support'] } // every stream of a signed-in user
		},
		bots: { mailer: ['email'], revoked: ['email'], revokedElsewhere: ['email'], revokedByCli: ['email'] }
	});
	server = await startServer({ dataDir });
});

afterAll(async () => {
	await server?.stop();
});

const peers: Peer[] = [];
const clients: YwsClient[] = [];
const streams: EventLog[] = [];
afterEach(() => {
	for (const peer of peers.splice(0)) peer.destroy();
	for (const client of clients.splice(0)) client.provider.destroy();
	for (const stream of streams.splice(0)) stream.close();
});

// ---------------------------------------------------------------------------------------------
// Principals and tickets

const user = (name: string) => fx.users[name];
const bot = (name: string) => fx.tokens[name];

async function createTicket(): Promise<string> {
	const res = await api(server, bot('mailer').token).request('POST', '/api/v1/tickets', {
		subject: 'Refund for order 1142',
		requester: { email: `pat+${newId().toLowerCase()}@example.com`, name: 'Pat' },
		channel: 'email',
		body: 'I was charged twice.'
	});
	expect(res.status).toBe(201);
	return res.body.id;
}

async function connect(ticketId: string, token: string) {
	const peer = await connectPeer(server, ticketId, token);
	peers.push(peer);
	return peer;
}

/** An admin's edit of the ticket's fields, acknowledged. */
async function adminEdit(ticketId: string, edit: (doc: Y.Doc) => void) {
	const admin = await connect(ticketId, user('root').token);
	edit(admin.doc);
	await admin.acknowledged();
	admin.destroy();
	peers.splice(peers.indexOf(admin), 1);
}

/** Waits until `token`'s holder may (or may not) open the ticket over HTTP: the index follows the document. */
async function untilOpenable(ticketId: string, token: string, openable = true) {
	await waitFor(async () => ((await api(server, token).request('GET', `/api/v1/tickets/${ticketId}`)).status === 200) === openable, 'access to follow');
}

/** An admin form action on /admin, as the browser posts it. */
async function adminAction(action: string, form: Record<string, string>) {
	const res = await sendPage(server, 'POST', `/admin?/${action}`, user('root').token, form);
	expect(res.status, res.text.slice(0, 300)).toBeLessThan(400);
}

/** A y-websocket client of the ticket on /yws, with `token` in the query string (closed after each case). */
function yws(ticketId: string, token: string): YwsClient {
	const client = connectYws(server, ticketDocumentName(ticketId), token);
	clients.push(client);
	return client;
}

/** Update log rows written for the ticket by `actor` (`user:<id>` or `bot:<token id>`). */
const rowsBy = (ticketId: string, actor: string) =>
	countRows(server.dataDir, sql`SELECT count(*) AS n FROM ticket_updates WHERE ticket_id = ${ticketId} AND actor = ${actor}`);

/** The entries of the ticket as a freshly connected peer (an admin) sees them. */
async function freshEntries(ticketId: string): Promise<Entry[]> {
	const peer = await connect(ticketId, user('root').token);
	const entries = readEntries(peer.doc);
	peer.destroy();
	peers.splice(peers.indexOf(peer), 1);
	return entries;
}

// ---------------------------------------------------------------------------------------------
// Each way of losing a ticket, against a principal with both kinds of socket open

interface Principal {
	token: string;
	actor: string;
	/** An entry this principal may write while it has access. */
	entry: () => Entry;
}

const agent = (name: string): Principal => ({ token: user(name).token, actor: `user:${user(name).id}`, entry: () => noteBy(user(name).id, `Note by ${name}`) });
const botPrincipal = (name: string): Principal => ({
	token: bot(name).token,
	actor: `bot:${bot(name).id}`,
	entry: () => replyBy(bot(name).id, `Relayed by ${name}`, { channel: 'email', authorType: 'bot' })
});

interface Revocation {
	name: string;
	who: () => Principal;
	/** Gives the principal its access to the ticket first (default: a ticket of no group, open to all agents). */
	setup?: (ticketId: string) => Promise<void>;
	revoke: (ticketId: string) => Promise<void>;
	/** Why a reconnection is refused afterwards. */
	comeback: string;
}

const inSupport = (ticketId: string) => adminEdit(ticketId, (doc) => setField(doc, 'groupId', fx.groups.Support));

const REVOCATIONS: Revocation[] = [
	{
		name: 'signing out',
		who: () => agent('leaver'),
		revoke: async () => {
			const res = await sendPage(server, 'POST', '/logout', user('leaver').token, {});
			expect(res.status).toBe(303);
		},
		comeback: REFUSE.unauthorized
	},
	{
		name: 'the user disabled',
		who: () => agent('disabled'),
		revoke: () => adminAction('setDisabled', { userId: user('disabled').id, disabled: 'true' }),
		comeback: REFUSE.unauthorized
	},
	{
		name: 'a password reset',
		who: () => agent('reset'),
		revoke: () => adminAction('resetPassword', { userId: user('reset').id, password: 'a brand new passphrase' }),
		comeback: REFUSE.unauthorized
	},
	{
		name: 'the API token revoked',
		who: () => botPrincipal('revoked'),
		revoke: () => adminAction('revokeToken', { tokenId: bot('revoked').id }),
		comeback: REFUSE.unauthorized
	},
	{
		name: "the user removed from the ticket's group",
		who: () => agent('regrouped'),
		setup: inSupport,
		revoke: () => adminAction('setGroups', { userId: user('regrouped').id, groups: 'Billing' }),
		comeback: REFUSE.forbidden
	},
	{
		name: 'the ticket moved to a group the user is not in',
		who: () => agent('moved'),
		setup: inSupport,
		revoke: (ticketId) => adminEdit(ticketId, (doc) => setField(doc, 'groupId', fx.groups.Billing)),
		comeback: REFUSE.forbidden
	},
	{
		name: 'the ticket unassigned from the user it was their only access to',
		who: () => agent('assignee'),
		setup: async (ticketId) => {
			await adminEdit(ticketId, (doc) => {
				setField(doc, 'groupId', fx.groups.Support);
				setField(doc, 'assigneeId', user('assignee').id);
			});
			await untilOpenable(ticketId, user('assignee').token);
		},
		revoke: (ticketId) => adminEdit(ticketId, (doc) => setField(doc, 'assigneeId', null)),
		comeback: REFUSE.forbidden
	}
];

/** The victim's /collab peer and /yws client on the ticket, and the honest colleague, all synced. */
async function openTicket(ticketId: string, victim: Principal) {
	const honest = await connect(ticketId, user('ann').token);
	const collab = await connect(ticketId, victim.token);
	const plain = yws(ticketId, victim.token);
	await waitFor(() => plain.provider.synced, 'the /yws client to sync');
	// Both work before the change: one write each, stored.
	appendEntry(collab.doc, victim.entry());
	await collab.acknowledged();
	const viaYws = victim.entry();
	appendEntry(plain.doc, viaYws);
	await waitFor(() => readEntries(honest.doc).some((e) => e.id === viaYws.id), 'the /yws write at the colleague');
	return { honest, collab, plain };
}

/** Both of the victim's sockets closed with `access-revoked` within a second of `since`. */
async function expectClosedWithin(since: number, collab: Peer, plain: YwsClient, ms = WITHIN) {
	const left = () => Math.max(1, since + ms - Date.now());
	await waitFor(() => collab.closeReason(), '/collab to close', left());
	await waitFor(() => plain.closed(), '/yws to close', left());
	expect(collab.closeReason()).toBe(REFUSE.accessRevoked);
	expect(plain.closed()).toEqual({ code: YWS_CLOSE.refused, reason: REFUSE.accessRevoked });
}

/** The principal cannot open the ticket again, on either endpoint. */
async function expectNoComeback(ticketId: string, victim: Principal, reason: string) {
	await expect(connectPeer(server, ticketId, victim.token)).rejects.toThrow(`refused: ${reason}`);
	const again = yws(ticketId, victim.token);
	const closed = await waitFor(() => again.closed(), 'the /yws reconnection to be refused');
	expect(closed.code).toBe(reason === REFUSE.unauthorized ? YWS_CLOSE.unauthorized : YWS_CLOSE.refused);
	expect(again.provider.synced).toBe(false);
}

/** The honest colleague was never closed and still writes, acknowledged and stored. */
async function expectColleagueUndisturbed(ticketId: string, honest: Peer) {
	expect(honest.closeReason()).toBeNull();
	const note = noteBy(user('ann').id, 'Still here');
	appendEntry(honest.doc, note);
	await honest.acknowledged();
	expect((await freshEntries(ticketId)).filter((e) => e.id === note.id)).toHaveLength(1);
}

describe('revoked in this process: sockets close at once and nothing written after is stored', () => {
	it.each(REVOCATIONS)('$name', async (revocation) => {
		const ticketId = await createTicket();
		await revocation.setup?.(ticketId);
		const victim = revocation.who();
		const { honest, collab, plain } = await openTicket(ticketId, victim);
		const rowsBefore = await rowsBy(ticketId, victim.actor);

		await revocation.revoke(ticketId);
		const changed = Date.now();
		// Written after the change, on both sockets (if the /yws one is still open to send on).
		const late = [victim.entry(), victim.entry()];
		appendEntry(collab.doc, late[0]);
		appendEntry(plain.doc, late[1]);

		await expectClosedWithin(changed, collab, plain);
		expect(collab.provider.unsyncedChanges, 'the late /collab write is not acknowledged').toBeGreaterThan(0);
		expect(await rowsBy(ticketId, victim.actor), 'update log rows of the victim').toBe(rowsBefore);
		const stored = await freshEntries(ticketId);
		expect(stored.filter((e) => late.some((l) => l.id === e.id))).toEqual([]);
		await expectNoComeback(ticketId, victim, revocation.comeback);
		await expectColleagueUndisturbed(ticketId, honest);
	});
});

describe('the write path checks access before it stores', () => {
	it('an agent who moves the ticket out of their own reach cannot write in the very next update', async () => {
		const ticketId = await createTicket();
		await inSupport(ticketId);
		const honest = await connect(ticketId, user('ann').token);
		const mover = await connect(ticketId, user('moved2').token);
		const late = noteBy(user('moved2').id, 'Written right after the move');
		// Two updates back to back on one socket: the second is checked against the moved ticket.
		setField(mover.doc, 'groupId', fx.groups.Billing);
		appendEntry(mover.doc, late);
		expect(await waitFor(() => mover.closeReason(), 'the refusal')).toBe(REFUSE.accessRevoked);
		await waitFor(() => honest.doc.getMap('ticket').get('groupId') === fx.groups.Billing, 'the move at the colleague');
		const stored = await freshEntries(ticketId);
		expect(stored.some((e) => e.id === late.id)).toBe(false);
		expect(readEntries(honest.doc).some((e) => e.id === late.id)).toBe(false);
		await expectColleagueUndisturbed(ticketId, honest);
	});
});

describe('revoked from another process: within a second too', () => {
	it('a token revoked through another database handle', async () => {
		const ticketId = await createTicket();
		const victim = botPrincipal('revokedElsewhere');
		const { honest, collab, plain } = await openTicket(ticketId, victim);
		expect(await revokeToken(server.dataDir, bot('revokedElsewhere').id)).toBe(true);
		const changed = Date.now();
		await expectClosedWithin(changed, collab, plain);
		const rowsBefore = await rowsBy(ticketId, victim.actor);
		appendEntry(collab.doc, victim.entry());
		await expectNoComeback(ticketId, victim, REFUSE.unauthorized);
		expect(await rowsBy(ticketId, victim.actor)).toBe(rowsBefore);
		await expectColleagueUndisturbed(ticketId, honest);
	});

	it('a token revoked with the CLI (`token revoke`)', async () => {
		const ticketId = await createTicket();
		const victim = botPrincipal('revokedByCli');
		const { honest, collab, plain } = await openTicket(ticketId, victim);
		const cli = await runCli(server.dataDir, 'token', 'revoke', bot('revokedByCli').id);
		expect(cli.code, cli.stderr).toBe(0);
		await expectClosedWithin(Date.now(), collab, plain);
		await expectNoComeback(ticketId, victim, REFUSE.unauthorized);
		await expectColleagueUndisturbed(ticketId, honest);
	});

	it('an agent made supervisor is read-only from then on: a write is refused and not stored', async () => {
		const ticketId = await createTicket();
		const victim = agent('demoted');
		const { honest, collab } = await openTicket(ticketId, victim);
		await withStore(server.dataDir, (store) => store.run(sql`UPDATE users SET role = 'supervisor' WHERE id = ${user('demoted').id}`));
		const changed = Date.now();
		// The server labels presence from the connection: it shows the new role once re-checked.
		await waitFor(
			() => {
				collab.provider.awareness!.setLocalStateField('probe', Math.random());
				const state = honest.provider.awareness!.getStates().get(collab.doc.clientID);
				return state?.user?.role === 'supervisor' && state.user.readOnly === true;
			},
			'the demotion to reach the open connection',
			WITHIN
		);
		expect(Date.now() - changed).toBeLessThan(WITHIN);
		const rowsBefore = await rowsBy(ticketId, victim.actor);
		const late = victim.entry();
		appendEntry(collab.doc, late);
		expect(await waitFor(() => collab.closeReason(), 'the write to be refused')).toBe(REFUSE.readOnly);
		expect(await rowsBy(ticketId, victim.actor)).toBe(rowsBefore);
		expect((await freshEntries(ticketId)).some((e) => e.id === late.id)).toBe(false);
		await expectColleagueUndisturbed(ticketId, honest);
	});
});

// ---------------------------------------------------------------------------------------------
// Streams

/** Opens an event stream with a bearer token; closed after the test. */
async function stream(route: string, token: string) {
	const log = await openEvents(server.url + route, token);
	expect(log.status).toBe(200);
	streams.push(log);
	return log;
}

const ticketEvents = (log: EventLog, ticketId: string) => log.events.filter((e) => e.name === 'ticket' && e.data.id === ticketId);

describe('streams end when their principal loses access', () => {
	it("the workspace stream stops delivering a group's tickets once the user left the group", async () => {
		const ticketId = await createTicket();
		await inSupport(ticketId);
		const watcher = await stream('/api/v1/stream', user('watcher').token);
		const colleague = await stream('/api/v1/stream', user('ann').token);
		const honest = await connect(ticketId, user('ann').token);
		appendEntry(honest.doc, noteBy(user('ann').id, 'Before'));
		await honest.acknowledged();
		await waitFor(() => ticketEvents(watcher, ticketId).length, 'the change at the watcher');

		await adminAction('setGroups', { userId: user('watcher').id, groups: 'Billing' });
		const changed = Date.now();
		await waitFor(() => watcher.ended, 'the stream to end', WITHIN);
		expect(Date.now() - changed).toBeLessThan(WITHIN);
		const delivered = ticketEvents(watcher, ticketId).length;

		const after = noteBy(user('ann').id, 'After the watcher left Support');
		appendEntry(honest.doc, after);
		await honest.acknowledged();
		// Once the colleague's stream has the change, the watcher's would have had it too.
		await waitFor(() => ticketEvents(colleague, ticketId).some((e) => e.data.entryCount === 3), 'the change at the colleague');
		expect(ticketEvents(watcher, ticketId)).toHaveLength(delivered);
		expect(colleague.ended).toBe(false);
		// Reconnected, the stream serves what the user may see now: nothing of Support.
		const again = await stream('/api/v1/stream', user('watcher').token);
		appendEntry(honest.doc, noteBy(user('ann').id, 'Later still'));
		await honest.acknowledged();
		await waitFor(() => ticketEvents(colleague, ticketId).some((e) => e.data.entryCount === 4), 'the next change at the colleague');
		expect(ticketEvents(again, ticketId)).toEqual([]);
	});

	it("a disabled user's workspace, agent and Talk streams all end within a second", async () => {
		const logs = await Promise.all(['/api/v1/stream', '/api/v1/agent/stream', '/api/v1/talk/stream'].map((route) => stream(route, user('console').token)));
		const colleague = await stream('/api/v1/stream', user('ann').token);
		await adminAction('setDisabled', { userId: user('console').id, disabled: 'true' });
		const changed = Date.now();
		await waitFor(() => logs.every((log) => log.ended), 'every stream to end', WITHIN);
		expect(Date.now() - changed).toBeLessThan(WITHIN);
		expect(colleague.ended).toBe(false);
		const refused = await openEvents(server.url + '/api/v1/stream', user('console').token);
		expect(refused.status).toBe(401);
	});
});
