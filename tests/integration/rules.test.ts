/**
 * Triggers over HTTP against a real server process: who may write rules, what a rule may hold; a
 * trigger acts once on a new ticket and on a change, named in the ticket's events; its own change
 * never runs it again and a chain of rules stops; "stop here" and the order; an email from a
 * template through the outbox (no header injection); a webhook signed with the rule's secret.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature } from '../../server/channels/webhooks';
import { MAX_CHAIN } from '../../server/rules/engine';
import { prepare, type Fixture } from '../helpers/fixtures';
import { sendPage } from '../helpers/pages';
import { api, servers, tempDataDir, waitFor, type RunningServer } from '../helpers/server';
import { openEvents } from '../helpers/sse';

describe('triggers over HTTP', () => {
	const pool = servers();
	let server: RunningServer;
	let fx: Fixture;
	let dataDir: string;
	let receiver: http.Server;
	let receiverUrl: string;
	const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];

	const as = (name: string) => api(server, fx.users[name].token);
	const bot = () => api(server, fx.tokens.mailer.token);
	const newTicket = async (subject: string, requester: { email: string; name?: string } = { email: 'cat@example.com', name: 'Cat' }) => {
		const { status, body } = await bot().request('POST', '/api/v1/tickets', { subject, requester, channel: 'email', body: 'Hello?' });
		expect(status).toBe(201);
		return body.id as string;
	};
	const eventsOf = async (ticketId: string) => (await as('ada').request('GET', `/api/v1/tickets/${ticketId}/events`)).body.events as { type: string; actor: string; data: Record<string, unknown> }[];
	const firings = async (ticketId: string, ruleId: string) => (await eventsOf(ticketId)).filter((e) => e.type === 'rule.fired' && e.data.ruleId === ruleId);
	const createRule = async (rule: Record<string, unknown>) => {
		const res = await as('ada').request('POST', '/api/v1/rules', { kind: 'trigger', ...rule });
		expect(res.status, JSON.stringify(res.body)).toBe(201);
		return res.body as { id: string; webhookSecret: string };
	};
	/** Switches every trigger off, so each test sees only its own. */
	const clearRules = async () => {
		for (const rule of (await as('ada').request('GET', '/api/v1/rules')).body.rules) await as('ada').request('DELETE', `/api/v1/rules/${rule.id}`);
	};
	const ticket = async (id: string) => (await as('ada').request('GET', `/api/v1/tickets/${id}`)).body;

	beforeAll(async () => {
		dataDir = tempDataDir();
		fx = await prepare(dataDir, {
			users: {
				alex: { role: 'agent', groups: ['support'] },
				casey: { role: 'agent', groups: ['support'] },
				sam: { role: 'supervisor' },
				ada: { role: 'admin', groups: ['support', 'billing'] },
				eve: { role: 'admin' }
			},
			bots: { mailer: ['email'] }
		});
		server = await pool.boot(dataDir);
		receiver = http.createServer((req, res) => {
			let body = '';
			req.on('data', (chunk) => (body += chunk));
			req.on('end', () => {
				received.push({ headers: req.headers, body });
				res.writeHead(204).end();
			});
		});
		await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
		receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
	}, 60_000);
	afterAll(async () => {
		await new Promise((resolve) => receiver?.close(resolve));
		await pool.cleanup();
	});

	it('lets only admins write rules; supervisors read them without secrets; agents not at all', async () => {
		const rule = { name: 'Tag refunds', conditions: { all: [{ field: 'subject', operator: 'contains', value: 'refund' }] }, actions: [{ type: 'addTags', tags: ['refund'] }] };
		expect((await as('alex').request('POST', '/api/v1/rules', { kind: 'trigger', ...rule })).status).toBe(403);
		expect((await as('sam').request('POST', '/api/v1/rules', { kind: 'trigger', ...rule })).status).toBe(403);
		expect((await bot().request('POST', '/api/v1/rules', { kind: 'trigger', ...rule })).status).toBe(403);
		const created = await createRule(rule);
		expect(created.webhookSecret).toMatch(/^whsec_/);
		expect((await as('alex').request('GET', '/api/v1/rules')).status).toBe(403);
		const read = await as('sam').request('GET', '/api/v1/rules');
		expect(read.status).toBe(200);
		expect(read.body.rules[0]).toMatchObject({ id: created.id, name: 'Tag refunds', active: true });
		expect(read.body.rules[0]).not.toHaveProperty('webhookSecret');
		expect((await as('sam').request('PATCH', `/api/v1/rules/${created.id}`, { active: false })).status).toBe(403);
		expect((await as('alex').request('DELETE', `/api/v1/rules/${created.id}`)).status).toBe(403);
		expect((await as('sam').request('PUT', '/api/v1/business-hours/default', { schedule: null })).status).toBe(403);
		expect((await as('ada').request('PATCH', `/api/v1/rules/${created.id}`, { active: false })).body.active).toBe(false);
		await clearRules();
	});

	it('refuses rules too large, too deep, naming what does not exist, or calling what is not http(s)', async () => {
		const base = { name: 'x', conditions: { all: [] }, actions: [{ type: 'addTags', tags: ['a'] }] };
		const refused = async (rule: Record<string, unknown>, field?: string) => {
			const res = await as('ada').request('POST', '/api/v1/rules', { kind: 'trigger', ...base, ...rule });
			expect(res.status, JSON.stringify(res.body)).toBe(400);
			if (field) expect(res.body.error.field ?? res.body.error.message).toContain(field);
			return res.body;
		};
		await refused({ actions: [{ type: 'note', body: 'x'.repeat(5001) }] }, 'actions.0.body');
		await refused({ conditions: { all: Array.from({ length: 21 }, () => ({ field: 'status', operator: 'is', value: 'open' })) } }, 'conditions.all');
		await refused({ actions: Array.from({ length: 11 }, () => ({ type: 'addTags', tags: ['a'] })) }, 'actions');
		await refused({ actions: [{ type: 'setGroup', value: '01JNOSUCHGROUP000000000000' }] }, 'actions.0.value');
		await refused({ actions: [{ type: 'setAssignee', value: fx.users.sam.id }] }, 'actions.0.value'); // supervisors hold no tickets
		await refused({ actions: [{ type: 'webhook', url: 'file:///etc/passwd' }] }, 'actions.0.url');
		await refused({ actions: [{ type: 'webhook', url: 'javascript:alert(1)' }] }, 'actions.0.url');
		await refused({ actions: [{ type: 'webhook', url: 'https://user:pw@example.com/' }] }, 'actions.0.url');
		await refused({ actions: [{ type: 'emailRequester', body: 'Hi {{requester.password}}' }] }, 'actions.0.body');
		await refused({ conditions: { all: [{ field: 'status', operator: 'is', value: 'exploded' }] } }, 'conditions.all.0.value');
		await refused({ conditions: { all: [{ field: 'constructor', operator: 'is', value: 'x' }] } }, 'conditions.all.0.field');
		await refused({ conditions: { all: [{ field: 'hours.created', operator: 'at_least', value: 4 }] } }, 'conditions.all.0.field'); // a trigger does not count time
		await refused({ kind: 'automation' }, 'conditions.all'); // an automation must
		await refused({ actions: [{ type: 'setStatus', value: 'open', extra: { deep: true } }] }, 'actions.0');
		let deep: unknown = 'open';
		for (let i = 0; i < 40; i++) deep = { value: deep };
		const tooDeep = await as('ada').request('POST', '/api/v1/rules', { kind: 'trigger', ...base, conditions: { all: [deep] } });
		expect(tooDeep).toMatchObject({ status: 400, body: { error: { code: 'json_too_deep' } } });
		expect((await as('ada').request('GET', '/api/v1/rules')).body.rules).toEqual([]);
	});

	it('acts once on a new ticket and names the rule in its events; the change is logged as the rule’s', async () => {
		const vip = await createRule({
			name: 'VIP to billing',
			conditions: { all: [{ field: 'event', operator: 'is', value: 'created' }], any: [{ field: 'subject', operator: 'contains', value: 'urgent' }, { field: 'tags', operator: 'includes', value: 'vip' }] },
			actions: [{ type: 'setGroup', value: fx.groups.billing }, { type: 'setPriority', value: 'high' }, { type: 'addTags', tags: ['vip'] }, { type: 'note', body: 'Routed by rule for ticket #{{ticket.number}}.' }]
		});
		const matching = await newTicket('URGENT: card declined');
		const other = await newTicket('A question');
		await waitFor(async () => (await ticket(matching)).priority === 'high', 'the trigger acted');
		expect(await ticket(matching)).toMatchObject({ groupId: fx.groups.billing, priority: 'high', tags: ['vip'] });
		const entries = (await ticket(matching)).entries as { kind: string; body: string; authorType: string }[];
		const note = entries.find((e) => e.kind === 'note')!;
		expect(note).toMatchObject({ authorType: 'system' });
		expect(note.body).toMatch(/^Routed by rule for ticket #\d+\.$/);
		const events = await eventsOf(matching);
		expect(events.filter((e) => e.type === 'rule.fired')).toEqual([expect.objectContaining({ actor: `rule:${vip.id}`, data: expect.objectContaining({ ruleId: vip.id, name: 'VIP to billing' }) })]);
		expect(events).toContainEqual(expect.objectContaining({ type: 'field.changed', actor: `rule:${vip.id}`, data: { field: 'priority', from: 'normal', to: 'high' } }));
		// The other ticket matched nothing; an update of the first (by an agent) is no creation.
		expect(await firings(other, vip.id)).toEqual([]);
		expect((await as('ada').request('PATCH', `/api/v1/tickets/${matching}`, { subject: 'URGENT: card declined again' })).status).toBe(200);
		await waitFor(async () => (await eventsOf(matching)).some((e) => e.type === 'field.changed' && e.data.field === 'subject'), 'the subject change');
		expect(await firings(matching, vip.id)).toHaveLength(1);
		await clearRules();
	});

	it('acts on a change: status changed to, and who made it', async () => {
		const waiting = await createRule({
			name: 'Pending by an agent',
			conditions: { all: [{ field: 'statusChangedTo', operator: 'is', value: 'pending' }, { field: 'changedBy', operator: 'is', value: 'agent' }] },
			actions: [{ type: 'addTags', tags: ['waiting-on-customer'] }]
		});
		const id = await newTicket('Where is my parcel?');
		expect((await as('alex').request('PATCH', `/api/v1/tickets/${id}`, { status: 'pending' })).status).toBe(200);
		await waitFor(async () => (await ticket(id)).tags.includes('waiting-on-customer'), 'the tag');
		// A change that is no change of status: nothing.
		expect((await as('alex').request('PATCH', `/api/v1/tickets/${id}`, { priority: 'low' })).status).toBe(200);
		await waitFor(async () => (await eventsOf(id)).some((e) => e.data.field === 'priority'), 'the priority change');
		expect(await firings(id, waiting.id)).toHaveLength(1);
		await clearRules();
	});

	it('never runs a trigger on its own change, and stops a chain of rules changing each other', async () => {
		const noter = await createRule({ name: 'Note every update', conditions: { all: [{ field: 'event', operator: 'is', value: 'updated' }] }, actions: [{ type: 'note', body: 'Updated.' }, { type: 'addTags', tags: ['noted'] }] });
		const id = await newTicket('Loop me');
		expect((await as('alex').request('PATCH', `/api/v1/tickets/${id}`, { priority: 'low' })).status).toBe(200);
		await waitFor(async () => (await ticket(id)).tags.includes('noted'), 'the note');
		await as('ada').request('DELETE', `/api/v1/rules/${noter.id}`);
		expect(await firings(id, noter.id)).toHaveLength(1);

		const up = await createRule({ name: 'Up', conditions: { all: [{ field: 'priority', operator: 'is', value: 'normal' }, { field: 'event', operator: 'is', value: 'updated' }] }, actions: [{ type: 'setPriority', value: 'high' }] });
		const down = await createRule({ name: 'Down', conditions: { all: [{ field: 'priority', operator: 'is', value: 'high' }, { field: 'event', operator: 'is', value: 'updated' }] }, actions: [{ type: 'setPriority', value: 'normal' }] });
		const looping = await newTicket('Ping pong');
		expect((await as('alex').request('PATCH', `/api/v1/tickets/${looping}`, { subject: 'Ping pong!' })).status).toBe(200);
		await waitFor(async () => (await eventsOf(looping)).some((e) => e.type === 'rule.chain_stopped'), 'the chain stopped');
		const fired = (await eventsOf(looping)).filter((e) => e.type === 'rule.fired');
		expect(fired.length).toBe(MAX_CHAIN + 1);
		expect(new Set(fired.map((e) => e.data.ruleId))).toEqual(new Set([up.id, down.id]));
		await clearRules();
	});

	it('runs triggers in order; one marked "stop here" ends the run', async () => {
		const first = await createRule({ name: 'First', stopHere: true, conditions: { all: [{ field: 'event', operator: 'is', value: 'created' }] }, actions: [{ type: 'addTags', tags: ['first'] }] });
		const second = await createRule({ name: 'Second', conditions: { all: [{ field: 'event', operator: 'is', value: 'created' }] }, actions: [{ type: 'addTags', tags: ['second'] }] });
		const a = await newTicket('Order one');
		await waitFor(async () => (await ticket(a)).tags.includes('first'), 'the first trigger');
		expect(await firings(a, second.id)).toEqual([]);
		expect((await as('alex').request('PUT', '/api/v1/rules/order', { kind: 'trigger', ids: [second.id, first.id] })).status).toBe(403);
		expect((await as('ada').request('PUT', '/api/v1/rules/order', { kind: 'trigger', ids: [second.id] })).status).toBe(400);
		const reordered = await as('ada').request('PUT', '/api/v1/rules/order', { kind: 'trigger', ids: [second.id, first.id] });
		expect(reordered.body.rules.map((r: { id: string }) => r.id)).toEqual([second.id, first.id]);
		const b = await newTicket('Order two');
		await waitFor(async () => (await ticket(b)).tags.includes('first'), 'both triggers');
		expect((await ticket(b)).tags.sort()).toEqual(['first', 'second']);
		await clearRules();
	});

	it('emails the requester from a template through the outbox, and a name cannot add headers', async () => {
		await createRule({
			name: 'Acknowledge',
			conditions: { all: [{ field: 'event', operator: 'is', value: 'created' }, { field: 'changedBy', operator: 'is', value: 'customer' }] },
			actions: [{ type: 'emailRequester', body: 'Hi {{requester.name}}, we have your request #{{ticket.number}} ({{ticket.subject}}).' }]
		});
		const id = await newTicket('Broken toaster', { email: 'mallory@example.com', name: 'Mal\r\nBcc: everyone@example.org' });
		const reply = await waitFor(async () => ((await ticket(id)).entries as { id: string; kind: string; direction?: string; body: string }[]).find((e) => e.kind === 'message' && e.direction === 'out'), 'the reply');
		const { number } = await ticket(id);
		expect(reply.body).toContain(`#${number} (Broken toaster)`);
		const file = path.join(dataDir, 'mail', 'outbox', `${reply.id}.eml`);
		await waitFor(() => fs.existsSync(file), 'the .eml file');
		const eml = fs.readFileSync(file, 'utf8');
		const headers = eml.slice(0, eml.indexOf('\r\n\r\n'));
		expect(headers).toMatch(/^To: mallory@example\.com$/m);
		expect(headers).not.toMatch(/^Bcc:/im);
		expect(headers).not.toContain('everyone@example.org');
		await clearRules();
	});

	it('emails a group’s agents from a template, with the ticket’s tag and no added headers', async () => {
		await createRule({
			name: 'Tell support',
			conditions: { all: [{ field: 'event', operator: 'is', value: 'created' }, { field: 'subject', operator: 'contains', value: 'outage' }] },
			actions: [{ type: 'emailGroup', groupId: fx.groups.support, body: 'New: #{{ticket.number}} from {{requester.name}}.' }]
		});
		expect((await as('ada').request('POST', '/api/v1/rules', { kind: 'trigger', name: 'x', conditions: { all: [] }, actions: [{ type: 'emailGroup', groupId: '01JNOSUCHGROUP000000000000', body: 'x' }] })).status).toBe(400);
		const id = await newTicket('Outage\r\nBcc: everyone@example.org', { email: 'oscar@example.com', name: 'Oscar\r\nCc: spy@example.org' });
		const { number } = await ticket(id);
		const spool = path.join(dataDir, 'mail', 'outbox');
		const mails = await waitFor(() => {
			const found = (fs.existsSync(spool) ? fs.readdirSync(spool) : []).map((f) => fs.readFileSync(path.join(spool, f), 'utf8')).filter((eml) => eml.includes(`[#${number}]`) && !eml.includes('In-Reply-To'));
			return found.length === 3 ? found : undefined; // alex, casey and ada are in support
		}, 'an email to each member of support');
		const recipients = mails.map((eml) => /^To: (.+)$/m.exec(eml)![1]).sort();
		expect(recipients).toEqual([fx.users.ada.email, fx.users.alex.email, fx.users.casey.email].sort());
		for (const eml of mails) {
			const headers = eml.slice(0, eml.indexOf('\r\n\r\n'));
			expect(headers).not.toMatch(/^(Bcc|Cc):/im);
			// The subject's line break became a space inside the Subject header: no header of its own.
			expect(headers.split('\r\n').filter((line) => line.includes('example.org'))).toEqual([`Subject: Outage Bcc: everyone@example.org [#${number}]`]);
			expect(eml).toContain(`New: #${number} from Oscar`);
		}
		await clearRules();
	});

	it('notifies the assignee or the group’s agents in the workspace: on their stream, and kept for whoever is away', async () => {
		const alexStream = await openEvents(`${server.url}/api/v1/stream`, fx.users.alex.token);
		try {
			const urgent = await createRule({
				name: 'Urgent: tell the assignee',
				conditions: { all: [{ field: 'priority', operator: 'is', value: 'urgent' }] },
				actions: [{ type: 'notify', to: 'assignee', body: '#{{ticket.number}} is urgent now.' }]
			});
			const toGroup = await createRule({
				name: 'Escalated: tell support',
				conditions: { all: [{ field: 'tags', operator: 'includes', value: 'escalated' }] },
				actions: [{ type: 'notify', to: 'group', body: 'Escalated: {{ticket.subject}}' }]
			});
			expect((await as('ada').request('POST', '/api/v1/rules', { kind: 'trigger', name: 'x', conditions: { all: [] }, actions: [{ type: 'notify', to: 'everyone', body: 'x' }] })).status).toBe(400);
			const id = await newTicket('Server down');
			const { number } = await ticket(id);
			// No assignee yet: the rule says why it told nobody.
			expect((await as('ada').request('PATCH', `/api/v1/tickets/${id}`, { priority: 'urgent' })).status).toBe(200);
			await waitFor(async () => (await eventsOf(id)).some((e) => e.type === 'rule.skipped' && e.data.ruleId === urgent.id), 'the skipped notice');
			expect((await as('ada').request('PATCH', `/api/v1/tickets/${id}`, { priority: 'normal', assigneeId: fx.users.alex.id, groupId: fx.groups.support })).status).toBe(200);
			expect((await as('ada').request('PATCH', `/api/v1/tickets/${id}`, { priority: 'urgent' })).status).toBe(200);
			const told = await waitFor(() => alexStream.events.find((e) => e.name === 'follow' && e.data.ticketId === id && e.data.reason === 'rule')?.data, 'the rule’s notice on Alex’s stream');
			expect(told).toMatchObject({ fromName: 'Urgent: tell the assignee', preview: `#${number} is urgent now.`, noticeId: expect.any(String) });
			// Casey (support, no stream open) gets the group's notice kept; Sam (a supervisor) does not.
			expect((await as('ada').request('PATCH', `/api/v1/tickets/${id}`, { tags: ['escalated'] })).status).toBe(200);
			const kept = async (who: 'casey' | 'sam') => ((await as(who).request('GET', '/api/v1/notices?unread=true')).body.notices as { ticketId: string; notice: { reason: string; preview: string } }[]).filter((n) => n.ticketId === id && n.notice.reason === 'rule');
			await waitFor(async () => (await kept('casey')).length === 1, 'Casey’s kept notice');
			expect((await kept('casey'))[0]!.notice.preview).toBe('Escalated: Server down');
			expect(await kept('sam')).toEqual([]);
			expect(await firings(id, toGroup.id)).toHaveLength(1);
		} finally {
			alexStream.close();
			await clearRules();
		}
	});

	it('calls a webhook, signed with the rule’s secret, through the outbox', async () => {
		const hook = await createRule({ name: 'Tell the CRM', conditions: { all: [{ field: 'event', operator: 'is', value: 'created' }] }, actions: [{ type: 'webhook', url: receiverUrl }] });
		const id = await newTicket('Call me back');
		const call = await waitFor(() => received.find((r) => r.body.includes(id)), 'the webhook call');
		expect(verifySignature(hook.webhookSecret, call.headers['x-tandem-timestamp'] as string, call.headers['x-tandem-signature'] as string, call.body)).toBe(true);
		expect(verifySignature('whsec_other', call.headers['x-tandem-timestamp'] as string, call.headers['x-tandem-signature'] as string, call.body)).toBe(false);
		expect(JSON.parse(call.body)).toMatchObject({ event: 'rule.fired', rule: { id: hook.id, name: 'Tell the CRM' }, ticket: { id, subject: 'Call me back' } });
		await waitFor(async () => (await eventsOf(id)).some((e) => e.type === 'rule-webhook.sent'), 'the delivery recorded');
		await clearRules();
	});

	it('lists the tickets a rule would match now, only to admins', async () => {
		const id = await newTicket('Match me: invoice');
		const test = { kind: 'trigger', conditions: { all: [{ field: 'subject', operator: 'contains', value: 'invoice' }] } };
		expect((await as('alex').request('POST', '/api/v1/rules/test', test)).status).toBe(403);
		expect((await as('sam').request('POST', '/api/v1/rules/test', test)).status).toBe(403);
		const found = await as('ada').request('POST', '/api/v1/rules/test', test);
		expect(found.status).toBe(200);
		expect(found.body.tickets.map((t: { id: string }) => t.id)).toEqual([id]);
	});

	it('refuses an admin disabled mid-way, and records a rule the server refuses as failed, changing nothing', async () => {
		const rule = { name: 'Give to Casey', conditions: { all: [{ field: 'event', operator: 'is', value: 'created' }, { field: 'subject', operator: 'contains', value: 'casey' }] }, actions: [{ type: 'setAssignee', value: fx.users.casey.id }, { type: 'addTags', tags: ['for-casey'] }] };
		const created = await as('eve').request('POST', '/api/v1/rules', { kind: 'trigger', ...rule });
		expect(created.status).toBe(201);
		const disable = async (name: string) => {
			const res = await sendPage(server, 'POST', '/admin?/setDisabled', fx.users.ada.token, { userId: fx.users[name].id, disabled: 'true' });
			expect(res.status).toBeLessThan(400);
		};
		await disable('eve');
		expect([401, 403]).toContain((await as('eve').request('PATCH', `/api/v1/rules/${created.body.id}`, { active: false })).status);
		// Casey leaves after the rule was saved: the rule runs, the server refuses the assignment, nothing changes.
		await disable('casey');
		const id = await newTicket('For casey, please');
		const failed = await waitFor(async () => (await eventsOf(id)).find((e) => e.type === 'rule.failed'), 'the refusal recorded');
		expect(failed).toMatchObject({ actor: `rule:${created.body.id}`, data: { ruleId: created.body.id, name: 'Give to Casey' } });
		expect(await ticket(id)).toMatchObject({ assigneeId: null, tags: [] });
		await clearRules();
	});
});
