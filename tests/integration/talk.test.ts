/**
 * Talk against a real server: the simulator rings a Talk number, agents accept (one wins), hold,
 * resume, transfer and end over the HTTP API, consoles follow on the event stream, and each call
 * leaves exactly one `call` entry in its ticket, also across a restart in the middle of a call.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/storage/database';
import { TalkNumbers } from '../../server/talk/numbers';
import { runCli } from '../helpers/cli';
import { countRows, withStore } from '../helpers/db';
import { sendPage } from '../helpers/pages';
import { prepare, withServices, type Fixture } from '../helpers/fixtures';
import { openEvents, type EventLog } from '../helpers/sse';
import { api, startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';

/** A call's length as the workspace writes it (src/lib/format.ts): "49 s", "4 min 12 s", "1 h 5 min". */
const DURATION = String.raw`\d+ (s|min|h)( \d+ (s|min))?`;

const SUPPORT = '+15550100';
const BILLING = '+15550200';

let server: RunningServer;
let fx: Fixture;
let dataDir: string;
const streams: EventLog[] = [];

beforeAll(async () => {
	dataDir = tempDataDir();
	fx = await prepare(dataDir, {
		users: {
			ann: { role: 'agent', groups: ['Billing'] },
			ben: { role: 'agent', groups: ['Billing'] },
			cat: { role: 'agent', groups: ['Technical'] },
			root: { role: 'admin' },
			sue: { role: 'supervisor' }
		},
		bots: { sim: ['talk'], mail: ['email'] }
	});
	await withStore(dataDir, async (store) => {
		const numbers = new TalkNumbers(store);
		await numbers.create({ number: SUPPORT, label: 'Support line', groupId: null });
		await numbers.create({ number: BILLING, label: 'Billing line', groupId: fx.groups.Billing! });
	});
	server = await startServer({ dataDir });
});
afterAll(async () => {
	for (const s of streams) s.close();
	await server?.kill();
});

const as = (name: string) => api(server, fx.users[name]?.token ?? fx.tokens[name]!.token);
const ring = (from: string, to?: string, name?: string) => as('sim').request('POST', '/api/v1/talk/simulator/calls', { from, ...(to && { to }), ...(name && { name }) });
const act = (who: string, callId: string, action: string, body?: unknown) => as(who).request('POST', `/api/v1/talk/calls/${callId}/${action}`, body);
/** A transfer rings only agents online with Talk on (tests/integration/talk-transfer.test.ts): `who` goes online, or back offline. */
const setStatus = async (who: string, status: 'online' | 'offline') => expect((await as(who).request('PUT', '/api/v1/me/status', { status })).status).toBe(200);
const callOf = async (who: string, callId: string) => (await as(who).request('GET', `/api/v1/talk/calls/${callId}`)).body;
const ringing = async (who: string) => ((await as(who).request('GET', '/api/v1/talk/calls')).body.calls as any[]).filter((c) => c.ringsMe).map((c) => c.id);
const callEntries = async (ticketId: string) => ((await as('root').request('GET', `/api/v1/tickets/${ticketId}`)).body.entries as any[]).filter((e) => e.kind === 'call');
const stream = async (who: string) => {
	const log = await openEvents(`${server.url}/api/v1/talk/stream`, fx.users[who]!.token);
	streams.push(log);
	return log;
};
/** The last state of `callId` an open console was told of. */
const lastSeen = (log: EventLog, callId: string) => log.events.filter((e) => e.name === 'call' && e.data.id === callId).at(-1)?.data;

describe('incoming calls', () => {
	it('refuses a call to a number that is not a Talk number, storing nothing', async () => {
		const before = await countRows(dataDir, sql`SELECT count(*) AS n FROM customers`);
		const res = await ring('+15550999', '+15550111');
		expect(res.status).toBe(422);
		expect(res.body.error).toMatchObject({ code: 'unknown_number', field: 'to' });
		expect(res.body.error.message).toContain('+15550111 is not a Talk number');
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM calls`)).toBe(0);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM customers`)).toBe(before);
	});

	it('refuses bad bodies and callers that may not use the simulator', async () => {
		expect((await ring('not a number')).body.error).toMatchObject({ code: 'invalid_field', field: 'from' });
		expect((await as('sim').request('POST', '/api/v1/talk/simulator/calls', { from: SUPPORT, extra: 1 })).status).toBe(400);
		expect((await as('sim').request('POST', '/api/v1/talk/simulator/calls', undefined, { raw: '{' })).body.error.code).toBe('bad_json');
		expect((await as('ann').request('POST', '/api/v1/talk/simulator/calls', { from: '+15550123' })).status).toBe(403);
		expect((await as('mail').request('POST', '/api/v1/talk/simulator/calls', { from: '+15550123' })).status).toBe(403);
		expect((await as('ann').request('POST', '/api/v1/talk/calls', {})).body.error).toMatchObject({ code: 'invalid_field', field: 'ticketId' });
		expect((await as('ann').request('POST', '/api/v1/talk/calls/nope/dance')).status).toBe(404);
		expect((await as('sim').request('GET', '/api/v1/talk/calls')).status).toBe(403);
	});

	let ticketId: string;
	let callId: string;

	it('finds or creates the caller and their ticket, and rings every agent who may answer', async () => {
		const catStream = await stream('cat');
		const res = await ring('+1 (555) 010-7777', undefined, 'Robin Caller');
		expect(res.status).toBe(201);
		expect(res.body.state).toBe('ringing');
		({ id: callId, ticketId } = res.body);
		const ticket = (await as('root').request('GET', `/api/v1/tickets/${ticketId}`)).body;
		expect(ticket).toMatchObject({ channel: 'talk', subject: 'Call from Robin Caller', groupId: null });
		const customer = (await as('root').request('GET', `/api/v1/customers/${ticket.requesterId}`)).body;
		expect(customer.addresses).toEqual([{ channel: 'talk', address: '+15550107777' }]);
		for (const who of ['ann', 'ben', 'cat', 'root']) expect(await ringing(who)).toEqual([callId]);
		expect(await ringing('sue')).toEqual([]);
		await waitFor(() => lastSeen(catStream, callId)?.ringsMe === true, 'the call to ring on cat’s console');

		// A second call from the same number joins the same open ticket.
		const again = await ring('+15550107777');
		expect(again.body.ticketId).toBe(ticketId);
		expect((await act('ann', again.body.id, 'decline')).status).toBe(200);
	});

	it('does not hold, resume or end a call that is ringing', async () => {
		for (const action of ['hold', 'resume', 'end']) {
			const res = await act('ann', callId, action);
			expect(res.status, action).toBe(409);
			expect(res.body.error.code).toBe('invalid_transition');
			expect(res.body.error.message).toContain('ringing');
		}
		expect((await act('sue', callId, 'accept')).status).toBe(403);
	});

	it('lets exactly one of two agents accepting at once take the call; the others see it stop ringing', async () => {
		const catStream = await stream('cat');
		const [a, b] = await Promise.all([act('ann', callId, 'accept'), act('ben', callId, 'accept')]);
		expect([a.status, b.status].sort()).toEqual([200, 409]);
		const winner = a.status === 200 ? 'ann' : 'ben';
		const loser = winner === 'ann' ? b : a;
		expect(loser.body.error.message).toMatch(/answered by (ann|ben)/);
		expect((await callOf(winner, callId)).state).toBe('active');
		await waitFor(() => lastSeen(catStream, callId)?.state === 'active' && lastSeen(catStream, callId)?.ringsMe === false, 'the ringing to stop for cat');
		expect(await ringing('cat')).toEqual([]);
		// Make ann the one on the call for the rest of the story.
		if (winner === 'ben') {
			await setStatus('ann', 'online');
			expect((await act('ben', callId, 'transfer', { toUserId: fx.users.ann!.id })).status).toBe(200);
			expect((await act('ann', callId, 'accept')).status).toBe(200);
			await setStatus('ann', 'offline');
		}
	});

	it('holds and resumes; refuses both twice and refuses others', async () => {
		expect((await act('ann', callId, 'hold')).body.state).toBe('held');
		expect((await act('ann', callId, 'hold')).status).toBe(409);
		expect((await act('ben', callId, 'resume')).status).toBe(403);
		const resumed = await act('ann', callId, 'resume');
		expect(resumed.body).toMatchObject({ state: 'active', heldSince: null });
		expect(resumed.body.holdSeconds).toBeGreaterThanOrEqual(0);
		expect((await act('ann', callId, 'resume')).status).toBe(409);
	});

	it('transfers to one agent: only they ring; they accept; ending leaves one call entry', async () => {
		const catStream = await stream('cat');
		expect((await act('ann', callId, 'transfer', {})).status).toBe(400);
		expect((await act('ann', callId, 'transfer', { toUserId: fx.users.ann!.id })).body.error.code).toBe('invalid_target');
		expect((await act('ann', callId, 'transfer', { toUserId: fx.users.sue!.id })).body.error.code).toBe('invalid_target');
		await setStatus('ben', 'online');
		const moved = await act('ann', callId, 'transfer', { toUserId: fx.users.ben!.id });
		expect(moved.body).toMatchObject({ state: 'ringing', agentId: null, ringTo: [fx.users.ben!.id] });
		expect(await ringing('ben')).toEqual([callId]);
		expect(await ringing('cat')).toEqual([]);
		expect(await ringing('root')).toEqual([]);
		await waitFor(() => lastSeen(catStream, callId)?.state === 'ringing', 'cat’s console to hear of the transfer');
		expect(lastSeen(catStream, callId).ringsMe).toBe(false);
		expect((await act('cat', callId, 'accept')).status).toBe(403);
		expect((await act('ben', callId, 'accept')).body).toMatchObject({ state: 'active', agentId: fx.users.ben!.id });
		await setStatus('ben', 'offline');

		const ended = await act('ben', callId, 'end');
		expect(ended.body).toMatchObject({ state: 'ended', outcome: 'answered', endReason: 'completed' });
		const entries = await waitFor(async () => {
			const found = await callEntries(ticketId);
			return found.some((e) => e.id === callId) ? found : null;
		}, 'the call entry');
		const entry = entries.find((e) => e.id === callId);
		expect(entry).toMatchObject({ kind: 'call', channel: 'talk', direction: 'in', visibility: 'public', authorType: 'agent', authorId: fx.users.ben!.id });
		expect(entry.body).toMatch(new RegExp(`^Inbound call, ${DURATION}, answered by (ann|ben), transferred to ben`));
		expect(entry.meta).toMatchObject({ callId, from: '+15550107777', to: SUPPORT, outcome: 'answered', agentId: fx.users.ben!.id });
		expect(entry.meta.durationSeconds).toBeGreaterThanOrEqual(0);
		expect(entry.meta.holdSeconds).toBeGreaterThanOrEqual(0);
		expect(entry.meta.transfers.at(-1)).toMatchObject({ from: fx.users.ann!.id, to: fx.users.ben!.id, toType: 'agent' });

		// Ending twice changes nothing and appends nothing.
		const twice = await act('ben', callId, 'end');
		expect(twice.status).toBe(409);
		expect(twice.body.error.message).toContain('ended');
		expect((await callEntries(ticketId)).filter((e) => e.id === callId)).toHaveLength(1);
	});

	it('rings only the group of a Talk number that has one, and transfers to a group', async () => {
		const res = await ring('+15550108888', BILLING);
		const id = res.body.id;
		expect((await as('root').request('GET', `/api/v1/tickets/${res.body.ticketId}`)).body.groupId).toBe(fx.groups.Billing);
		expect(await ringing('ann')).toEqual([id]);
		expect(await ringing('cat')).toEqual([]);
		expect((await act('ann', id, 'accept')).status).toBe(200);
		await setStatus('ben', 'online');
		const toGroup = await act('ann', id, 'transfer', { toGroupId: fx.groups.Billing });
		expect(toGroup.body.ringTo).toEqual([fx.users.ben!.id]);
		expect((await act('ann', id, 'transfer', { toGroupId: 'nope' })).status).toBe(409);
		expect((await act('ben', id, 'accept')).status).toBe(200);
		await setStatus('ben', 'offline');
		expect((await act('ben', id, 'end')).body.outcome).toBe('answered');
	});

	it('records a declined call and an abandoned one as missed, written by the system', async () => {
		const declined = (await ring('+15550109999')).body;
		expect((await act('ann', declined.id, 'decline')).body).toMatchObject({ state: 'ended', outcome: 'missed', endReason: 'declined' });
		const abandoned = (await ring('+15550109999')).body;
		const hung = await as('sim').request('POST', `/api/v1/talk/simulator/calls/${abandoned.id}/hangup`);
		expect(hung.body).toMatchObject({ id: abandoned.id, state: 'ended' });
		expect((await act('ann', abandoned.id, 'accept')).status).toBe(409);
		const entries = await waitFor(async () => {
			const found = await callEntries(declined.ticketId);
			return found.length === 2 ? found : null;
		}, 'two call entries');
		for (const entry of entries) {
			expect(entry).toMatchObject({ authorType: 'system', authorId: 'system', direction: 'in' });
			expect(entry.meta).toMatchObject({ outcome: 'missed', durationSeconds: 0, agentId: null });
			expect(entry.body).toMatch(/^Missed call from \+15550109999 \(\+15550109999\)/);
		}
		expect(entries.map((e) => e.meta.endReason).sort()).toEqual(['abandoned', 'declined']);
	});
});

describe('outbound calls', () => {
	it('calls the ticket’s requester, answered at once by the simulated customer', async () => {
		const { ticketId } = (await ring('+15550106666', undefined, 'Olive Out')).body;
		const ringingCall = ((await as('ann').request('GET', '/api/v1/talk/calls')).body.calls as any[]).find((c) => c.ticketId === ticketId);
		await act('ann', ringingCall.id, 'decline');
		const placed = await as('ann').request('POST', '/api/v1/talk/calls', { ticketId });
		expect(placed.status).toBe(201);
		expect(placed.body).toMatchObject({ direction: 'out', from: SUPPORT, to: '+15550106666', agentId: fx.users.ann!.id });
		expect(['dialing', 'active']).toContain(placed.body.state);
		await waitFor(async () => (await callOf('ann', placed.body.id)).state === 'active', 'the customer to answer');
		expect((await as('ann').request('POST', '/api/v1/talk/calls', { ticketId })).status).toBe(409);
		expect((await act('ann', placed.body.id, 'end')).body.outcome).toBe('answered');
		const entry = (await callEntries(ticketId)).find((e) => e.id === placed.body.id);
		expect(entry).toMatchObject({ direction: 'out', authorType: 'agent', authorId: fx.users.ann!.id });
		expect(entry.body).toMatch(new RegExp(`^Outbound call, ${DURATION}, answered by ann$`));
	});

	it('says so when the requester has no phone number', async () => {
		const created = await as('mail').request('POST', '/api/v1/tickets', { subject: 'No phone', requester: { email: 'nophone@example.com' }, channel: 'email', body: 'Hi' });
		const res = await as('ann').request('POST', '/api/v1/talk/calls', { ticketId: created.body.id });
		expect(res.status).toBe(422);
		expect(res.body.error).toMatchObject({ code: 'no_phone_number', field: 'ticketId' });
		expect(res.body.error.message).toContain('has no phone number');
		expect((await as('sue').request('POST', '/api/v1/talk/calls', { ticketId: created.body.id })).status).toBe(403);
		expect((await as('ann').request('POST', '/api/v1/talk/calls', { ticketId: 'missing' })).status).toBe(404);
	});
});

describe('the command line', () => {
	it('makes the phone ring through the running server, and leaves no live token behind', async () => {
		const result = await runCli(dataDir, 'talk', 'call', '--from', '+15550105555', '--url', server.url, '--json');
		expect(result.code, result.stderr).toBe(0);
		const call = JSON.parse(result.stdout);
		expect(call.state).toBe('ringing');
		expect(await ringing('ann')).toContain(call.id);
		const hungUp = await runCli(dataDir, 'talk', 'hangup', call.id, '--url', server.url, '--json');
		expect(hungUp.code, hungUp.stderr).toBe(0);
		expect(JSON.parse(hungUp.stdout)).toEqual({ id: call.id, ticketId: call.ticketId, state: 'ended' });
		expect(await ringing('ann')).not.toContain(call.id);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM api_tokens WHERE name LIKE 'talk simulator %' AND revoked_at IS NULL`)).toBe(0);
		const unknown = await runCli(dataDir, 'talk', 'hangup', 'NOPE', '--url', server.url);
		expect(unknown.code).toBe(1);
		expect(unknown.stderr).toContain('call not found');
		const refused = await runCli(dataDir, 'talk', 'call', '--from', 'abc', '--url', server.url);
		expect(refused.code).toBe(2);
		expect(refused.stderr).toContain('--from');
	});
});

describe('Talk numbers on the admin page', () => {
	const adminForm = (who: string, action: string, form: Record<string, string>) => sendPage(server, 'POST', `/admin?/${action}`, fx.users[who]!.token, form);

	it('adds and edits a number that then rings; refuses duplicates, bad numbers and non-admins', async () => {
		const added = await adminForm('root', 'createTalkNumber', { number: '+1 555 0300', label: 'Sales', groupId: '' });
		expect(added.status).toBe(200);
		expect(added.text).toContain('+15550300');
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM talk_numbers WHERE number = '+15550300' AND label = 'Sales' AND group_id IS NULL`)).toBe(1);
		expect((await ring('+15550102222', '+15550300')).status).toBe(201);
		const duplicate = await adminForm('root', 'createTalkNumber', { number: '+15550300', label: 'Again', groupId: '' });
		expect(duplicate.status).toBe(409);
		expect(duplicate.text).toContain('already a Talk number');
		expect((await adminForm('root', 'createTalkNumber', { number: 'call me', label: 'Bad', groupId: '' })).status).toBe(400);
		expect((await adminForm('ann', 'createTalkNumber', { number: '+15550301', label: 'Sneaky', groupId: '' })).status).toBe(403);

		const page = await fetch(`${server.url}/admin`, { headers: { cookie: `tandem_session=${fx.users.root!.token}` } });
		const html = await page.text();
		expect(html).toContain('Talk numbers');
		// Each number's edit form: its hidden id, then its number.
		const forms = [...html.matchAll(/name="talkNumberId" value="([0-9A-Z]{26})"[^]*?name="number"[^>]*value="([^"]+)"/g)];
		const numberId = forms.find((m) => m[2] === '+15550300')?.[1];
		expect(numberId).toBeTruthy();
		const edited = await adminForm('root', 'updateTalkNumber', { talkNumberId: numberId!, number: '+15550301', label: 'Sales (new)', groupId: fx.groups.Billing! });
		expect(edited.status).toBe(200);
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM talk_numbers WHERE number = '+15550301' AND label = 'Sales (new)' AND group_id = ${fx.groups.Billing}`)).toBe(1);
		expect((await ring('+15550102222', '+15550300')).status).toBe(422);
	});
});

describe('durability', () => {
	it('keeps a call across a restart in the middle of it, and ends it with one entry', async () => {
		const { id, ticketId } = (await ring('+15550104444')).body;
		expect((await act('ann', id, 'accept')).status).toBe(200);
		expect((await act('ann', id, 'hold')).status).toBe(200);
		await server.kill();
		server = await startServer({ dataDir });
		expect(await callOf('ann', id)).toMatchObject({ state: 'held', agentId: fx.users.ann!.id });
		expect((await act('ann', id, 'resume')).status).toBe(200);
		expect((await act('ann', id, 'end')).status).toBe(200);
		expect((await callEntries(ticketId)).filter((e) => e.id === id)).toHaveLength(1);
		expect((await act('ann', id, 'end')).status).toBe(409);
	});

	it('appends at start the entry of a call that ended without one', async () => {
		const { id, ticketId } = (await ring('+15550103333')).body;
		await act('ann', id, 'decline');
		await waitFor(async () => (await callEntries(ticketId)).some((e) => e.id === id), 'the entry');
		await server.kill();
		// As if the process had stopped between ending the call and storing its entry.
		await withStore(dataDir, (store) => store.run(sql`UPDATE calls SET entry_at = NULL WHERE id = ${id}`));
		server = await startServer({ dataDir });
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM calls WHERE id = ${id} AND entry_at IS NOT NULL`)).toBe(1);
		expect((await callEntries(ticketId)).filter((e) => e.id === id)).toHaveLength(1);
	});
});
