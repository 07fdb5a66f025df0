/**
 * The admin routing page through the real server: routing settings, an agent's capacities and
 * skills, custom statuses and SLA policies are stored (seen through the routing API) and logged;
 * invalid input is refused with a 400 naming the field and stores nothing; agents cannot use the
 * page or its actions.
 *
 * Form posts are page posts (urlencoded, the server's own Origin, Accept: text/html) with the
 * admin's session cookie, as in admin-channels.test.ts.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countRows } from '../helpers/db';
import { sendPage } from '../helpers/pages';
import { prepare, type Fixture } from '../helpers/fixtures';
import { api, startServer, tempDataDir, type Api, type RunningServer } from '../helpers/server';

const PRIORITIES = ['low', 'normal', 'high', 'urgent'];
const CHANNELS = ['messaging', 'chat', 'talk'];
const METRICS = ['firstReplyMinutes', 'nextReplyMinutes', 'resolutionMinutes'];

describe('admin page: routing', () => {
	let server: RunningServer;
	let fx: Fixture;
	let dataDir: string;
	let rootApi: Api;

	const send = (method: 'GET' | 'POST', route: string, cookie: string, form?: Record<string, string>) => sendPage(server, method, route, cookie, form);
	const admin = (action: string, form: Record<string, string>) => send('POST', `/admin/routing?/${action}`, fx.users.root.token, form);
	const get = async (route: string) => (await rootApi.request('GET', `/api/v1${route}`)).body;
	const events = (type: string) => countRows(dataDir, sql`SELECT count(*) AS n FROM events WHERE type = ${type}`);

	/** Expects each form refused with a 400 whose message names the field. */
	async function refused(action: string, cases: [Record<string, string>, string][]) {
		for (const [form, field] of cases) {
			const answer = await admin(action, form);
			expect(answer.status, JSON.stringify(form)).toBe(400);
			expect(answer.text, JSON.stringify(form)).toContain(`${field}:`);
		}
	}

	beforeAll(async () => {
		dataDir = tempDataDir();
		fx = await prepare(dataDir, {
			users: { root: { role: 'admin' }, ann: { role: 'agent', groups: ['Billing'] }, sue: { role: 'supervisor' } }
		});
		server = await startServer({ dataDir });
		rootApi = api(server, fx.users.root.token);
	});
	afterAll(async () => {
		expect(await server?.stop()).toBe(0);
	});

	it('shows the settings, the agents who take work with their groups, statuses and SLA policies', async () => {
		const page = await send('GET', '/admin/routing', fx.users.root.token);
		expect(page.status).toBe(200);
		for (const part of ['Routing settings', 'Custom statuses', 'SLA policies', 'ann@test.local', 'root@test.local', 'Billing', 'name="urgent.chat.firstReplyMinutes"']) {
			expect(page.text).toContain(part);
		}
		expect(page.text).not.toContain('sue@test.local');
		expect((await send('GET', '/admin', fx.users.root.token)).text).toContain('href="/admin/routing"');
	});

	const settingsForm = { offerTimeoutSeconds: '45', 'capacities.messaging': '8', 'capacities.chat': '2', 'capacities.talk': '1' };

	it('saves the routing settings', async () => {
		const saved = await admin('saveSettings', settingsForm);
		expect(saved.status, saved.text).toBe(200);
		expect(saved.text).toContain('Routing settings saved.');
		// The checkbox left unticked: declining is turned off.
		expect(await get('/routing/settings')).toEqual({ offerTimeoutSeconds: 45, capacities: { messaging: 8, chat: 2, talk: 1 }, declineAllowed: false });
		expect((await admin('saveSettings', { ...settingsForm, declineAllowed: 'on' })).status).toBe(200);
		expect((await get('/routing/settings')).declineAllowed).toBe(true);
		expect(await events('routing.settings.changed')).toBe(2);
	});

	it('refuses bad settings naming the field, and stores nothing', async () => {
		await refused('saveSettings', [
			[{ ...settingsForm, offerTimeoutSeconds: '2' }, 'offerTimeoutSeconds'],
			[{ ...settingsForm, offerTimeoutSeconds: 'soon' }, 'offerTimeoutSeconds'],
			[{ ...settingsForm, 'capacities.chat': '' }, 'capacities.chat'],
			[{ ...settingsForm, 'capacities.talk': '1001' }, 'capacities.talk'],
			[{ ...settingsForm, 'capacities.messaging': '-1' }, 'capacities.messaging']
		]);
		expect(await get('/routing/settings')).toEqual({ offerTimeoutSeconds: 45, capacities: { messaging: 8, chat: 2, talk: 1 }, declineAllowed: true });
		expect(await events('routing.settings.changed')).toBe(2);
	});

	const agentForm = () => ({ userId: fx.users.ann.id, 'capacities.messaging': '', 'capacities.chat': '5', 'capacities.talk': '', skills: 'billing, German, billing' });

	it("saves an agent's capacities (empty: the default) and skills", async () => {
		const saved = await admin('saveAgent', agentForm());
		expect(saved.status, saved.text).toBe(200);
		expect(saved.text).toContain('ann’s capacities and skills saved.');
		expect(await get(`/users/${fx.users.ann.id}/routing`)).toEqual({ capacities: { chat: 5 }, skills: ['billing', 'German'] });
		expect((await send('GET', '/admin/routing', fx.users.root.token)).text).toContain('billing, German');
		// Emptied, the capacity follows the default again.
		expect((await admin('saveAgent', { ...agentForm(), 'capacities.chat': '', 'capacities.talk': '2', skills: '' })).status).toBe(200);
		expect(await get(`/users/${fx.users.ann.id}/routing`)).toEqual({ capacities: { talk: 2 }, skills: [] });
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM events WHERE type = 'routing.agent.changed' AND user_id = ${fx.users.ann.id}`)).toBe(2);
	});

	it('refuses a bad agent row naming the field, and stores nothing', async () => {
		await refused('saveAgent', [
			[{ ...agentForm(), 'capacities.chat': '1.5' }, 'capacities.chat'],
			[{ ...agentForm(), 'capacities.talk': '5000' }, 'capacities.talk'],
			[{ ...agentForm(), skills: `billing, ${'x'.repeat(65)}` }, 'skills.1'],
			[{ ...agentForm(), userId: '' }, 'userId']
		]);
		const unknown = await admin('saveAgent', { ...agentForm(), userId: 'no-such-user' });
		expect(unknown.status).toBe(404);
		expect(unknown.text).toContain('userId:');
		expect(await get(`/users/${fx.users.ann.id}/routing`)).toEqual({ capacities: { talk: 2 }, skills: [] });
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM agent_routing`)).toBe(1);
		expect(await events('routing.agent.changed')).toBe(2);
	});

	let statusId: string;

	it('adds and deletes custom statuses; refuses a bad or taken name', async () => {
		const added = await admin('addStatus', { name: 'In a meeting', mapsTo: 'away' });
		expect(added.status, added.text).toBe(200);
		const custom = () => get('/statuses').then((body) => body.statuses.filter((s: { builtIn: boolean }) => !s.builtIn));
		const [status] = await custom();
		expect(status).toMatchObject({ name: 'In a meeting', mapsTo: 'away' });
		statusId = status.id;
		expect((await send('GET', '/admin/routing', fx.users.root.token)).text).toContain('In a meeting');

		await refused('addStatus', [
			[{ name: '', mapsTo: 'away' }, 'name'],
			[{ name: 'x'.repeat(61), mapsTo: 'away' }, 'name'],
			[{ name: 'Lunch', mapsTo: 'busy' }, 'mapsTo']
		]);
		const taken = await admin('addStatus', { name: 'in a MEETING', mapsTo: 'offline' });
		expect(taken.status).toBe(409);
		expect(taken.text).toContain('name:');
		expect(await custom()).toHaveLength(1);

		expect((await admin('deleteStatus', { statusId })).status).toBe(200);
		expect(await custom()).toHaveLength(0);
		expect((await admin('deleteStatus', { statusId })).status).toBe(404);
		expect(await events('status.created')).toBe(1);
		expect(await events('status.deleted')).toBe(1);
	});

	/** The SLA grid as the page sends it, from the stored policies. */
	async function slaForm() {
		const { policies } = await get('/sla-policies');
		const form: Record<string, string> = {};
		for (const p of policies) for (const metric of METRICS) form[`${p.priority}.${p.channel}.${metric}`] = p[metric] === null ? '' : String(p[metric]);
		expect(Object.keys(form)).toHaveLength(PRIORITIES.length * CHANNELS.length * METRICS.length);
		return form;
	}
	const policy = async (priority: string, channel: string) =>
		(await get('/sla-policies')).policies.find((p: { priority: string; channel: string }) => p.priority === priority && p.channel === channel);

	it('saves the SLA grid (empty: no target)', async () => {
		const form = { ...(await slaForm()), 'urgent.chat.firstReplyMinutes': '2', 'low.talk.resolutionMinutes': '' };
		const saved = await admin('saveSla', form);
		expect(saved.status, saved.text).toBe(200);
		expect(saved.text).toContain('SLA policies saved.');
		expect(await policy('urgent', 'chat')).toMatchObject({ firstReplyMinutes: 2 });
		expect(await policy('low', 'talk')).toMatchObject({ resolutionMinutes: null });
		expect(await slaForm()).toEqual(form);
		expect(await events('sla.policies.changed')).toBe(1);
	});

	it('refuses a bad SLA cell naming it, and stores nothing', async () => {
		const before = await slaForm();
		await refused('saveSla', [
			[{ ...before, 'urgent.messaging.nextReplyMinutes': '0' }, 'urgent.messaging.nextReplyMinutes'],
			[{ ...before, 'high.chat.firstReplyMinutes': 'soon', 'normal.talk.resolutionMinutes': '1' }, 'high.chat.firstReplyMinutes'],
			[{ ...before, 'normal.talk.resolutionMinutes': String(365 * 24 * 60 + 1) }, 'normal.talk.resolutionMinutes']
		]);
		expect(await slaForm()).toEqual(before);
		expect(await events('sla.policies.changed')).toBe(1);
	});

	it('refuses the page and its actions to an agent (403)', async () => {
		const ann = fx.users.ann.token;
		expect((await send('GET', '/admin/routing', ann)).status).toBe(403);
		const settings = await get('/routing/settings');
		const sla = await slaForm();
		for (const [action, form] of [
			['saveSettings', { ...settingsForm, offerTimeoutSeconds: '300' }],
			['saveAgent', { ...agentForm(), 'capacities.chat': '99' }],
			['addStatus', { name: 'Sneaky', mapsTo: 'online' }],
			['saveSla', { ...sla, 'urgent.chat.firstReplyMinutes': '99' }]
		] as const) {
			expect((await send('POST', `/admin/routing?/${action}`, ann, form)).status, action).toBe(403);
		}
		expect(await get('/routing/settings')).toEqual(settings);
		expect(await get(`/users/${fx.users.ann.id}/routing`)).toEqual({ capacities: { talk: 2 }, skills: [] });
		expect(await countRows(dataDir, sql`SELECT count(*) AS n FROM custom_statuses`)).toBe(0);
		expect(await slaForm()).toEqual(sla);
	});
});
