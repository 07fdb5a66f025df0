/**
 * Issue #17's parts working together, in a real server process: a trigger whose condition is a
 * custom field's value acts when an agent sets that value, and a trigger on a bad satisfaction
 * rating acts when the customer answers the survey mail's link with Bad.
 */
import fs from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepare, type Fixture } from '../helpers/fixtures';
import { api, servers, tempDataDir, waitFor, type RunningServer } from '../helpers/server';
import { createTicket } from '../helpers/tickets';

const pool = servers();
let server: RunningServer;
let fx: Fixture;
let dataDir: string;

beforeAll(async () => {
	dataDir = tempDataDir();
	fx = await prepare(dataDir, { users: { ann: { role: 'agent', groups: ['Support'] }, root: { role: 'admin' } }, bots: { mail: ['email'] } });
	server = await pool.boot(dataDir);
}, 60_000);
afterAll(() => pool.cleanup());

const as = (who: 'ann' | 'root') => api(server, fx.users[who]!.token);
const ticketOf = async (id: string) => (await as('root').request('GET', `/api/v1/tickets/${id}`)).body;
const firedOn = async (ticketId: string, ruleId: string) =>
	((await as('root').request('GET', `/api/v1/tickets/${ticketId}/events`)).body.events as { type: string; data: { ruleId?: string } }[]).filter((e) => e.type === 'rule.fired' && e.data.ruleId === ruleId).length;

async function trigger(name: string, conditions: unknown, actions: unknown) {
	const res = await as('root').request('POST', '/api/v1/rules', { kind: 'trigger', name, conditions: { all: conditions }, actions });
	expect(res.status, JSON.stringify(res.body)).toBe(201);
	return res.body.id as string;
}

describe('rules on custom fields and satisfaction', () => {
	it('acts when an agent sets a custom field the trigger looks for, and not before', async () => {
		expect((await as('root').request('POST', '/api/v1/ticket-fields', { key: 'plan', label: 'Plan', type: 'dropdown', options: ['Basic', 'Pro'] })).status).toBe(201);
		const ruleId = await trigger('Pro plan first', [{ field: 'custom.plan', operator: 'is', value: 'Pro' }], [{ type: 'setPriority', value: 'high' }, { type: 'addTags', tags: ['pro'] }]);
		const ticket = await createTicket(server, fx.tokens.mail!.token, 'Export fails');
		expect((await as('ann').request('PATCH', `/api/v1/tickets/${ticket.id}`, { groupId: fx.groups.Support, custom: { plan: 'Basic' } })).status).toBe(200);
		expect((await as('ann').request('PATCH', `/api/v1/tickets/${ticket.id}`, { custom: { plan: 'Pro' } })).status).toBe(200);
		await waitFor(async () => (await ticketOf(ticket.id)).tags?.includes('pro'), 'the trigger to act');
		expect(await ticketOf(ticket.id)).toMatchObject({ priority: 'high', custom: { plan: 'Pro' } });
		expect(await firedOn(ticket.id, ruleId)).toBe(1);
	});

	it('acts on a bad rating given through the survey mail', async () => {
		const ruleId = await trigger(
			'Unhappy customer',
			[{ field: 'satisfaction', operator: 'is', value: 'bad' }],
			[{ type: 'addTags', tags: ['unhappy'] }, { type: 'note', body: 'Bad rating on #{{ticket.number}}: call {{requester.name}} back.' }]
		);
		const ticket = await createTicket(server, fx.tokens.mail!.token, 'Parcel never came', { email: 'lee@example.com', name: 'Lee Park' });
		expect((await as('ann').request('PATCH', `/api/v1/tickets/${ticket.id}`, { groupId: fx.groups.Support, assigneeId: fx.users.ann!.id, status: 'solved' })).status).toBe(200);
		const spool = path.join(dataDir, 'mail', 'outbox');
		const bad = await waitFor(async () => {
			for (const name of fs.existsSync(spool) ? fs.readdirSync(spool).filter((n) => n.startsWith('survey-')) : []) {
				const mail = await simpleParser(fs.readFileSync(path.join(spool, name)));
				if (mail.subject?.includes(`[#${ticket.number}]`)) return /Bad: (\S+)/.exec(mail.text ?? '')?.[1];
			}
			return undefined;
		}, 'the survey mail');
		// Offered is no bad rating: nothing yet.
		expect(await firedOn(ticket.id, ruleId)).toBe(0);
		const token = new URL(bad).pathname.split('/').pop()!;
		expect((await api(server).request('POST', `/api/v1/satisfaction/${token}`, { rating: 'bad', comment: 'Still waiting.' })).status).toBe(200);
		const notes = (t: { entries: { kind: string; body: string }[] }) => t.entries.filter((e) => e.kind === 'note').map((e) => e.body);
		// The rule's field changes are written first, then its note.
		const detail = await waitFor(async () => {
			const t = await ticketOf(ticket.id);
			return t.tags?.includes('unhappy') && notes(t).length ? t : undefined;
		}, 'the trigger to act');
		expect(detail.satisfaction).toBe('bad');
		expect(notes(detail)).toEqual([`Bad rating on #${ticket.number}: call Lee Park back.`]);
		expect(await firedOn(ticket.id, ruleId)).toBe(1);
	});
});
