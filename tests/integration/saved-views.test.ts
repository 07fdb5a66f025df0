/**
 * Saved views: a user's own and shared ones (admins write those), each a search query with columns
 * and an order; listed with live counts beside the built-in views; what one holds is always cut
 * to what its viewer may see; every refusal says why and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PERSONAL_VIEWS } from '../../src/lib/api/views';
import { prepare, type Fixture } from '../helpers/fixtures';
import { api, servers, tempDataDir, waitFor, type RunningServer } from '../helpers/server';
import { createTicket, fileInGroup } from '../helpers/tickets';

const pool = servers();
let server: RunningServer;
let fx: Fixture;

beforeAll(async () => {
	const dataDir = tempDataDir();
	fx = await prepare(dataDir, {
		users: {
			ann: { role: 'agent', groups: ['Support'] },
			ben: { role: 'agent', groups: ['Support'] },
			carl: { role: 'agent', groups: ['Billing'] },
			sam: { role: 'supervisor' },
			root: { role: 'admin' }
		},
		bots: { mail: ['email'] }
	});
	server = await pool.boot(dataDir);
}, 60_000);
afterAll(() => pool.cleanup());

type Who = keyof Fixture['users'];
const as = (who: Who) => api(server, fx.users[who]!.token);
const save = (who: Who, view: Record<string, unknown>) => as(who).request('POST', '/api/v1/saved-views', view);
const savedIn = async (who: Who) => (await as(who).request('GET', '/api/v1/views')).body.saved as { id: string; name: string; count: number }[];

describe('saved views', () => {
	it("saves a user's own view, lists it with its count beside the built-in views, and lists what it holds in its order", async () => {
		const refund = await createTicket(server, fx.tokens.mail.token, 'Refund for the tent');
		await createTicket(server, fx.tokens.mail.token, 'Stove broken');
		const created = await save('ann', { name: 'Refunds', query: 'refund status:new', sort: 'created', columns: ['status', 'requester', 'tags'] });
		expect(created.status).toBe(201);
		expect(created.body).toMatchObject({ name: 'Refunds', query: 'refund status:new', sort: 'created', columns: ['status', 'requester', 'tags'], shared: false, editable: true });

		// Found once the new tickets' words are in the search index (within a second).
		await waitFor(async () => (await savedIn('ann'))[0]?.count === 1, 'the view counted');
		expect(await savedIn('ann')).toEqual([expect.objectContaining({ id: created.body.id, name: 'Refunds', count: 1 })]);
		const listed = await as('ann').request('GET', `/api/v1/tickets?saved=${created.body.id}`);
		expect(listed.status).toBe(200);
		expect(listed.body.tickets.map((t: { id: string }) => t.id)).toEqual([refund.id]);

		// Live: a new ticket that matches counts at once.
		const second = await createTicket(server, fx.tokens.mail.token, 'Another refund please');
		await waitFor(async () => (await savedIn('ann')).find((v) => v.id === created.body.id)?.count === 2, 'the count to follow');
		const again = await as('ann').request('GET', `/api/v1/tickets?saved=${created.body.id}`);
		expect(again.body.tickets.map((t: { id: string }) => t.id)).toEqual([second.id, refund.id]);

		// Nobody else sees a personal view.
		expect(await savedIn('ben')).toEqual([]);
		expect((await as('ben').request('GET', `/api/v1/saved-views/${created.body.id}`)).status).toBe(404);
		expect((await as('ben').request('GET', `/api/v1/tickets?saved=${created.body.id}`)).status).toBe(404);
		expect((await as('ben').request('DELETE', `/api/v1/saved-views/${created.body.id}`)).status).toBe(404);
	});

	it('lets admins share a view; each viewer sees only the tickets they may see in it; only admins change it', async () => {
		const support = await createTicket(server, fx.tokens.mail.token, 'Shared view support ticket');
		await fileInGroup(server, support.id, fx.groups.Support!, fx.users.root.token, fx.users.carl.token);
		const billing = await createTicket(server, fx.tokens.mail.token, 'Shared view billing ticket');
		await fileInGroup(server, billing.id, fx.groups.Billing!, fx.users.root.token, fx.users.ann.token);

		expect((await save('ann', { name: 'Everyone', query: 'shared', shared: true })).status).toBe(403);
		const shared = await save('root', { name: 'Shared view tickets', query: '"shared view"', shared: true });
		expect(shared.status).toBe(201);
		expect(shared.body).toMatchObject({ shared: true, editable: true });

		const ids = async (who: Who) => (await as(who).request('GET', `/api/v1/tickets?saved=${shared.body.id}`)).body.tickets.map((t: { id: string }) => t.id);
		await waitFor(async () => (await ids('root')).length === 2, 'both tickets in the search index');
		expect(await ids('ann')).toEqual([support.id]);
		expect(await ids('carl')).toEqual([billing.id]);
		expect((await ids('root')).sort()).toEqual([support.id, billing.id].sort());
		expect((await savedIn('carl')).find((v) => v.id === shared.body.id)).toMatchObject({ count: 1 });
		expect((await as('sam').request('GET', `/api/v1/saved-views/${shared.body.id}`)).body).toMatchObject({ shared: true, editable: false });

		const change = { name: 'Renamed', query: 'shared', shared: true };
		expect((await as('ann').request('PUT', `/api/v1/saved-views/${shared.body.id}`, change)).status).toBe(403);
		expect((await as('ann').request('DELETE', `/api/v1/saved-views/${shared.body.id}`)).status).toBe(403);
		expect((await as('root').request('PUT', `/api/v1/saved-views/${shared.body.id}`, { ...change, shared: false })).status).toBe(400);
		const renamed = await as('root').request('PUT', `/api/v1/saved-views/${shared.body.id}`, change);
		expect(renamed.body).toMatchObject({ name: 'Renamed', query: 'shared' });
		expect((await as('root').request('DELETE', `/api/v1/saved-views/${shared.body.id}`)).status).toBe(204);
		expect((await savedIn('ann')).some((v) => v.id === shared.body.id)).toBe(false);
	});

	it('refuses, in words and changing nothing: a query that does not parse, a name taken, bad columns, bots, too many views', async () => {
		const before = await savedIn('ben');
		const cases: [Record<string, unknown>, number, RegExp][] = [
			[{ name: 'Bad', query: 'colour:red' }, 400, /colour/],
			[{ name: 'Empty', query: '   ' }, 400, /query/],
			[{ name: '', query: 'refund' }, 400, /name/],
			[{ name: 'x'.repeat(81), query: 'refund' }, 400, /name/],
			[{ name: 'Long', query: 'a '.repeat(300) }, 400, /query/],
			[{ name: 'Cols', query: 'refund', columns: ['status', 'status'] }, 400, /each column once/],
			[{ name: 'Cols', query: 'refund', columns: ['password'] }, 400, /columns/],
			[{ name: 'Sort', query: 'refund', sort: 'random' }, 400, /sort/],
			[{ name: 'Extra', query: 'refund', ownerId: fx.users.ann.id }, 400, /ownerId|unrecognized/i]
		];
		for (const [body, status, message] of cases) {
			const res = await save('ben', body);
			expect(res.status, JSON.stringify(body).slice(0, 60)).toBe(status);
			expect(res.body.error.message, JSON.stringify(body).slice(0, 60)).toMatch(message);
		}
		expect((await save('ben', { name: 'Mine', query: 'refund' })).status).toBe(201);
		const taken = await save('ben', { name: 'MINE', query: 'stove' });
		expect(taken.status).toBe(409);
		expect(taken.body.error.message).toMatch(/called MINE/);
		expect((await api(server, fx.tokens.mail.token).request('POST', '/api/v1/saved-views', { name: 'Bot', query: 'refund' })).status).toBe(403);
		expect((await api(server).request('POST', '/api/v1/saved-views', { name: 'Anon', query: 'refund' })).status).toBe(401);
		expect((await savedIn('ben')).length).toBe(before.length + 1);
		const mine = (await savedIn('ben')).find((v) => v.name === 'Mine')!;
		const combined = await as('ben').request('GET', `/api/v1/tickets?saved=${mine.id}&view=open`);
		expect(combined.status).toBe(400);
		expect(combined.body.error.message).toMatch(/saved view is listed on its own/);

		for (let i = (await savedIn('ben')).length; i < MAX_PERSONAL_VIEWS; i++) expect((await save('ben', { name: `View ${i}`, query: 'refund' })).status).toBe(201);
		const tooMany = await save('ben', { name: 'One more', query: 'refund' });
		expect(tooMany.status).toBe(409);
		expect(tooMany.body.error.message).toMatch(new RegExp(`at most ${MAX_PERSONAL_VIEWS}`));
	});
});
