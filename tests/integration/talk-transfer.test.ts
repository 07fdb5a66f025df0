/**
 * A Talk transfer rings only agents who take calls now (#13, defect 7): one offline, away or with
 * Talk off is refused with a clear 422 `agent_unavailable`, and the call stays with the agent who
 * has it; a group transfer rings only its available members.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TalkNumbers } from '../../server/talk/numbers';
import { withStore } from '../helpers/db';
import { prepare, type Fixture } from '../helpers/fixtures';
import { api, startServer, tempDataDir, type RunningServer } from '../helpers/server';

const SUPPORT = '+15550100';

let server: RunningServer;
let fx: Fixture;
let callId: string;

beforeAll(async () => {
	const dataDir = tempDataDir();
	fx = await prepare(dataDir, {
		users: { ann: { role: 'agent', groups: ['Billing'] }, ben: { role: 'agent', groups: ['Billing'] }, cat: { role: 'agent', groups: ['Billing'] } },
		bots: { sim: ['talk'] }
	});
	await withStore(dataDir, async (store) => {
		await new TalkNumbers(store).create({ number: SUPPORT, label: 'Support line', groupId: null });
	});
	server = await startServer({ dataDir });
	// Nobody is online: the call rings everyone, unrouted; Ann takes it.
	const rung = await as('sim').request('POST', '/api/v1/talk/simulator/calls', { from: '+15550107777' });
	expect(rung.status).toBe(201);
	callId = rung.body.id;
	expect((await act('ann', 'accept')).status).toBe(200);
});
afterAll(async () => {
	await server?.stop();
});

const as = (name: string) => api(server, fx.users[name]?.token ?? fx.tokens[name]!.token);
const act = (who: string, action: string, body?: unknown) => as(who).request('POST', `/api/v1/talk/calls/${callId}/${action}`, body);
const setStatus = async (who: string, change: { status?: string; channels?: { talk: boolean } }) =>
	expect((await as(who).request('PUT', '/api/v1/me/status', change)).status).toBe(200);
const ringsFor = async (who: string) => ((await as(who).request('GET', '/api/v1/talk/calls')).body.calls as { id: string; ringsMe: boolean }[]).some((c) => c.id === callId && c.ringsMe);

/** The call is still Ann's, connected, and rings nobody. */
async function stillAnns() {
	expect(await (await as('ann').request('GET', `/api/v1/talk/calls/${callId}`)).body).toMatchObject({ state: 'active', agentId: fx.users.ann!.id });
	for (const who of ['ben', 'cat']) expect(await ringsFor(who), who).toBe(false);
}

describe('transferring a call', () => {
	it.each([
		{ why: 'offline (never signed in)', change: null, says: 'ben is offline' },
		{ why: 'away', change: { status: 'away' }, says: 'ben is away' },
		{ why: 'online with Talk off', change: { status: 'online', channels: { talk: false } }, says: 'ben is not taking calls' }
	])('refuses an agent who is $why, saying so, and keeps the call', async ({ change, says }) => {
		if (change) await setStatus('ben', change);
		const refused = await act('ann', 'transfer', { toUserId: fx.users.ben!.id });
		expect(refused.status).toBe(422);
		expect(refused.body.error).toMatchObject({ code: 'agent_unavailable', field: 'toUserId' });
		expect(refused.body.error.message).toBe(`${says}: a call is transferred only to agents who are online with Talk on`);
		await stillAnns();
	});

	it('refuses a group with nobody available, and keeps the call', async () => {
		const refused = await act('ann', 'transfer', { toGroupId: fx.groups.Billing });
		expect([refused.status, refused.body.error.code, refused.body.error.field]).toEqual([422, 'agent_unavailable', 'toGroupId']);
		expect(refused.body.error.message).toContain('nobody else in that group is online with Talk on');
		await stillAnns();
	});

	it('rings only the available members of a group', async () => {
		await setStatus('ben', { status: 'online', channels: { talk: true } });
		const moved = await act('ann', 'transfer', { toGroupId: fx.groups.Billing });
		expect(moved.status).toBe(200);
		expect(moved.body.ringTo).toEqual([fx.users.ben!.id]);
		expect(await ringsFor('ben')).toBe(true);
		expect(await ringsFor('cat')).toBe(false);
		expect((await act('ben', 'accept')).status).toBe(200);
	});

	it('transfers to an available agent; a caller not on the call still cannot', async () => {
		await setStatus('ann', { status: 'online' });
		expect((await act('cat', 'transfer', { toUserId: fx.users.ann!.id })).status).toBe(403);
		const moved = await act('ben', 'transfer', { toUserId: fx.users.ann!.id });
		expect(moved.body).toMatchObject({ state: 'ringing', ringTo: [fx.users.ann!.id] });
		expect((await act('ann', 'accept')).status).toBe(200);
		// An unknown id is not a person, whatever their presence.
		expect((await act('ann', 'transfer', { toUserId: 'nobody' })).body.error.code).toBe('invalid_target');
	});
});
