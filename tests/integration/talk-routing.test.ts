/**
 * Calls routed as offers, against a real server: an incoming call rings only the available agent
 * the router offers it to; accepting it in the Talk console takes the offer (the agent's talk load
 * on the supervisor dashboard) and ending the call frees it; declining moves the offer on, and a
 * call nobody else is available for rings as an unrouted call; the offers API answers the call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TalkNumbers } from '../../server/talk/numbers';
import { withStore } from '../helpers/db';
import { prepare, type Fixture } from '../helpers/fixtures';
import { api, startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';

const SUPPORT = '+15550100';

let server: RunningServer;
let fx: Fixture;

beforeAll(async () => {
	const dataDir = tempDataDir();
	fx = await prepare(dataDir, {
		users: { ann: { role: 'agent' }, ben: { role: 'agent' }, cat: { role: 'agent' }, sue: { role: 'supervisor' } },
		bots: { sim: ['talk'] }
	});
	await withStore(dataDir, async (store) => {
		await new TalkNumbers(store).create({ number: SUPPORT, label: 'Support line', groupId: null });
	});
	server = await startServer({ dataDir });
}, 60_000);
afterAll(async () => {
	await server?.kill();
});

const as = (name: string) => api(server, fx.users[name]?.token ?? fx.tokens[name]!.token);
const ring = (from: string) => as('sim').request('POST', '/api/v1/talk/simulator/calls', { from });
const act = (who: string, callId: string, action: string) => as(who).request('POST', `/api/v1/talk/calls/${callId}/${action}`);
const ringsMe = async (who: string, callId: string) =>
	((await as(who).request('GET', '/api/v1/talk/calls')).body.calls as { id: string; ringsMe: boolean }[]).some((c) => c.id === callId && c.ringsMe);
/** Who of ann, ben and cat the call rings for. */
const ringingFor = async (callId: string) => {
	const who: string[] = [];
	for (const name of ['ann', 'ben', 'cat']) if (await ringsMe(name, callId)) who.push(name);
	return who;
};
const talkLoad = async (name: string) => {
	const { body } = await as('sue').request('GET', '/api/v1/supervisor/dashboard');
	return body.agents.find((a: { id: string }) => a.id === fx.users[name]!.id).load.talk;
};

describe('calls routed as offers', () => {
	it('rings only the available agent; accepting takes the offer, ending frees it', async () => {
		expect((await as('ann').request('PUT', '/api/v1/me/status', { status: 'online', channels: { talk: true } })).status).toBe(200);
		await as('ben').request('PUT', '/api/v1/me/status', { status: 'offline' });
		const call = await ring('+15550107777');
		expect(call.status).toBe(201);
		const callId = call.body.id as string;
		await waitFor(async () => (await ringsMe('ann', callId)) || null, 'the call to ring for ann');
		expect(await ringingFor(callId)).toEqual(['ann']);
		const offers = (await as('ann').request('GET', '/api/v1/offers')).body.offers;
		expect(offers).toMatchObject([{ kind: 'call', ref: callId, channel: 'talk', ticketId: call.body.ticketId }]);

		expect(await act('ann', callId, 'accept')).toMatchObject({ status: 200, body: { state: 'active', agentId: fx.users.ann!.id } });
		expect((await as('ann').request('GET', '/api/v1/offers')).body.offers).toEqual([]);
		expect(await talkLoad('ann')).toMatchObject({ assigned: 1, offered: 0 });

		expect(await act('ann', callId, 'end')).toMatchObject({ status: 200, body: { state: 'ended', outcome: 'answered' } });
		expect(await talkLoad('ann')).toMatchObject({ assigned: 0, offered: 0 });
	});

	it('moves a declined call on to the next available agent, and rings everyone when nobody else is', async () => {
		// Cat, never given work, is idle longest: offered first.
		await as('cat').request('PUT', '/api/v1/me/status', { status: 'online' });
		const callId = (await ring('+15550108888')).body.id as string;
		expect(await ringingFor(callId)).toEqual(['cat']);
		expect(await act('cat', callId, 'decline')).toMatchObject({ status: 200, body: { state: 'ringing', ringsMe: false } });
		expect(await ringingFor(callId)).toEqual(['ann']);
		expect(await talkLoad('ann')).toMatchObject({ offered: 1 });

		// Ann declines too: nobody else is available, so it rings as an unrouted call (Cat and Ben again).
		expect((await act('ann', callId, 'decline')).status).toBe(200);
		expect(await ringingFor(callId)).toEqual(['ann', 'ben', 'cat']);
		expect(await talkLoad('ann')).toMatchObject({ offered: 0 });
		expect(await act('ben', callId, 'accept')).toMatchObject({ status: 200, body: { state: 'active' } });
		expect(await talkLoad('ben')).toMatchObject({ assigned: 0 });
		expect((await as('sim').request('POST', `/api/v1/talk/simulator/calls/${callId}/hangup`)).status).toBe(200);
	});

	it('answers the call when its offer is accepted in the offers bar (the offers API)', async () => {
		const callId = (await ring('+15550109999')).body.id as string;
		const [who] = await ringingFor(callId);
		const offer = (await as(who!).request('GET', '/api/v1/offers')).body.offers.find((o: { ref: string }) => o.ref === callId);
		expect(await as(who!).request('POST', `/api/v1/offers/${offer.id}/accept`)).toMatchObject({ status: 200, body: { kind: 'call', ref: callId } });
		expect((await as(who!).request('GET', `/api/v1/talk/calls/${callId}`)).body).toMatchObject({ state: 'active', agentId: fx.users[who!]!.id });
		expect(await talkLoad(who!)).toMatchObject({ assigned: 1 });
		expect((await act(who!, callId, 'end')).status).toBe(200);
	});
});
