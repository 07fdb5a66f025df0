/**
 * Automations and business hours on the real services and database (both engines), with time
 * given to the sweep rather than waited for: "pending for 48 business hours → remind" and "solved
 * for 4 days → close" act once per ticket and status change, also after a restart and with two
 * nodes sweeping at once; SLA targets count the group's business hours.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { officeHours } from '../../src/lib/business-hours';
import type { Condition, RuleAction } from '../../src/lib/api/rules';
import { newId, type Entry } from '../../src/lib/ticket';
import { SYSTEM, type UserPrincipal } from '../../server/auth/principal';
import { createLogger } from '../../server/log';
import { Automations } from '../../server/rules/automations';
import type { Services } from '../../server/services';
import { prepare, withServices, type Fixture } from '../helpers/fixtures';
import { FakeClock } from '../helpers/routing';
import { tempDataDir, waitFor } from '../helpers/server';

const DAY = 24 * 3_600_000;
const HOUR = 3_600_000;

describe('automations and business hours', () => {
	let dataDir: string;
	let fx: Fixture;
	let agent: UserPrincipal;

	beforeAll(async () => {
		dataDir = tempDataDir();
		fx = await prepare(dataDir, { users: { ada: { role: 'admin', groups: ['support', 'night'] }, alex: { role: 'agent', groups: ['support'] } } });
		agent = { kind: 'user', id: fx.users.alex.id, role: 'agent', name: 'alex', email: fx.users.alex.email, groupIds: [fx.groups.support!] };
	}, 60_000);
	afterAll(() => undefined);

	const newTicket = (s: Services, subject: string) => s.tickets.create({ subject, requester: { email: 'pat@example.com', name: 'Pat' }, channel: 'email', body: 'Hello?', groupId: fx.groups.support }, SYSTEM);
	/** An automation, on, with `all` as its conditions. */
	const automation = (s: Services, name: string, all: Condition[], actions: RuleAction[]) =>
		s.rules.store.create({ kind: 'automation', name, active: true, stopHere: false, conditions: { all, any: [] }, actions }, 'test');
	const firedOn = async (s: Services, ticketId: string, ruleId: string) => (await s.events.forTicket(ticketId)).filter((e) => e.type === 'rule.fired' && (e.data as { ruleId: string }).ruleId === ruleId).length;

	it('looks at every open ticket in turn, however many there are: a sweep takes the next ones after where the last stopped', async () => {
		await withServices(dataDir, async (s) => {
			const close = await automation(s, 'Close solved', [{ field: 'status', operator: 'is', value: 'solved' }, { field: 'hours.statusChanged', operator: 'at_least', value: 1 }], [{ type: 'setStatus', value: 'closed' }]);
			// Open tickets no automation acts on, older than the others: they must not hold the sweep up.
			for (const subject of ['Still open', 'Also open']) await newTicket(s, subject);
			const tickets = [];
			for (const subject of ['First', 'Second', 'Third']) {
				const ticket = await newTicket(s, subject);
				await s.tickets.patch(ticket.id, { status: 'solved' }, agent);
				tickets.push(ticket);
			}
			// Two tickets a sweep: the open ones come first, by id.
			const automations = new Automations({ store: s.store, index: s.index, rules: s.rules.store, engine: s.rules.engine, logger: createLogger('silent') }, new FakeClock(), 2);
			let sweeps = 0;
			while ((await Promise.all(tickets.map((t) => firedOn(s, t.id, close.id)))).some((n) => n === 0)) {
				await automations.sweep(Date.now() + 2 * HOUR);
				expect(++sweeps, 'sweeps before every ticket was looked at').toBeLessThan(50);
			}
			for (const ticket of tickets) expect((await s.index.get(ticket.id))?.status).toBe('closed');
			await s.rules.store.remove(close.id, 'test');
		});
	});

	it('reminds once per pending spell, after 48 business hours, across a restart and two nodes', async () => {
		const { ticketId, remindId } = await withServices(dataDir, async (s) => {
			await s.rules.store.setSchedule('default', officeHours('UTC'), 'test');
			const remind = await automation(s, 'Remind pending', [{ field: 'status', operator: 'is', value: 'pending' }, { field: 'hours.statusChanged', operator: 'at_least', value: 48, business: true }], [{ type: 'emailRequester', body: 'Hi {{requester.first_name}}, any news on #{{ticket.number}}?' }]);
			const ticket = await newTicket(s, 'Waiting on Pat');
			await s.tickets.patch(ticket.id, { status: 'pending' }, agent);
			// Three calendar days hold at most 24 business hours: not yet.
			expect(await s.rules.automations.sweep(Date.now() + 3 * DAY)).toBe(0);
			// A clock moved by hand drives the leader's loop: 14 days hold at least 72 business hours.
			const clock = new FakeClock(Date.now() + 14 * DAY);
			const automations = new Automations({ store: s.store, index: s.index, rules: s.rules.store, engine: s.rules.engine, logger: createLogger('silent') }, clock);
			const running = automations.start();
			await clock.advance(0);
			await running.close();
			expect(await firedOn(s, ticket.id, remind.id)).toBe(1);
			const reminder = (await s.tickets.read(ticket.id, SYSTEM)).entries.find((e: Entry) => e.kind === 'message' && e.direction === 'out');
			expect(reminder?.body).toBe(`Hi Pat, any news on #${ticket.number}?`);
			expect(await s.rules.automations.sweep(Date.now() + 15 * DAY)).toBe(0);
			return { ticketId: ticket.id, remindId: remind.id };
		});
		// A restart: the firing is remembered.
		await withServices(dataDir, async (s) => {
			expect(await s.rules.automations.sweep(Date.now() + 16 * DAY)).toBe(0);
			expect(await firedOn(s, ticketId, remindId)).toBe(1);
			// A new pending spell is a new occasion: two nodes sweep it at once, one acts.
			await s.tickets.patch(ticketId, { status: 'open' }, agent);
			await s.tickets.patch(ticketId, { status: 'pending' }, agent);
			await withServices(dataDir, async (other) => {
				const acts = await Promise.all([s.rules.automations.sweep(Date.now() + 20 * DAY), other.rules.automations.sweep(Date.now() + 20 * DAY)]);
				expect(acts[0] + acts[1]).toBe(1);
			});
			expect(await firedOn(s, ticketId, remindId)).toBe(2);
			const { outbox } = s.store.tables;
			const rows = await s.store.db.select().from(outbox);
			expect(rows.filter((r) => r.ticketId === ticketId && r.kind === 'email')).toHaveLength(2);
			await s.rules.store.remove(remindId, 'test');
		});
	});

	it('closes a ticket solved for four calendar days, once', async () => {
		await withServices(dataDir, async (s) => {
			const close = await automation(s, 'Close solved', [{ field: 'status', operator: 'is', value: 'solved' }, { field: 'hours.statusChanged', operator: 'at_least', value: 96 }], [{ type: 'setStatus', value: 'closed' }]);
			const solved = await newTicket(s, 'Fixed');
			const open = await newTicket(s, 'Still open');
			await s.tickets.patch(solved.id, { status: 'solved' }, agent);
			expect(await s.rules.automations.sweep(Date.now() + 95 * HOUR)).toBe(0);
			expect(await s.rules.automations.sweep(Date.now() + 97 * HOUR)).toBe(1);
			expect((await s.index.get(solved.id))?.status).toBe('closed');
			expect((await s.index.get(open.id))?.status).toBe('new');
			const closedBy = (await s.events.forTicket(solved.id)).find((e) => e.type === 'field.changed' && (e.data as { to: string }).to === 'closed');
			expect(closedBy?.actor).toBe(`rule:${close.id}`);
			// "Which tickets would it match now?": none left.
			const admin = s.accounts.principal(fx.users.ada.id)!;
			expect(await s.rules.engine.matching('automation', close.conditions, admin, 10)).toEqual([]);
			await s.rules.store.remove(close.id, 'test');
		});
	});

	it('notes a customer left waiting, once per unanswered message', async () => {
		await withServices(dataDir, async (s) => {
			const waiting = await automation(s, 'Customer waiting', [{ field: 'hours.customerMessage', operator: 'at_least', value: 2 }], [{ type: 'note', body: 'The customer has waited two hours.' }]);
			const ticket = await newTicket(s, 'Anyone there?');
			// Earlier tests' tickets wait too: this one is counted on its own.
			const sweepThenCount = async (after: number) => {
				await s.rules.automations.sweep(Date.now() + after);
				return firedOn(s, ticket.id, waiting.id);
			};
			expect(await sweepThenCount(HOUR)).toBe(0);
			expect(await sweepThenCount(3 * HOUR)).toBe(1);
			expect(await sweepThenCount(4 * HOUR)).toBe(1);
			// Answered: nobody waits. The customer writes again: a new wait.
			const projected = (preview: string) => waitFor(async () => (await s.index.get(ticket.id))?.lastPublicPreview === preview, `the index row to show “${preview}”`);
			await s.tickets.append(ticket.id, { kind: 'message', channel: 'email', visibility: 'public', body: 'Looking into it.' }, agent);
			await projected('Looking into it.');
			expect(await sweepThenCount(5 * HOUR)).toBe(1);
			await s.tickets.append(ticket.id, { kind: 'message', channel: 'email', visibility: 'public', authorType: 'customer', body: 'Any news?' }, SYSTEM);
			await projected('Any news?');
			expect(await sweepThenCount(HOUR)).toBe(1);
			expect(await sweepThenCount(6 * HOUR)).toBe(2);
			await s.rules.store.remove(waiting.id, 'test');
		});
	});

	it('counts SLA targets in the business hours of the ticket’s group, around the clock without', async () => {
		await withServices(dataDir, async (s) => {
			await s.rules.store.setSchedule('default', null, 'test');
			await s.rules.store.setSchedule(fx.groups.support!, { ...officeHours('UTC'), holidays: ['2026-01-13'] }, 'test');
			const friday4pm = Date.UTC(2026, 0, 9, 16);
			const ticket = { status: 'open', priority: 'normal', channel: 'email', createdAt: friday4pm, firstReplyAt: null, awaitingSince: friday4pm };
			// Normal priority: first reply in 4 hours (1 on Friday, 3 on Monday), resolution in 48
			// (Friday 1, Monday 8, Tuesday a holiday, Wednesday to Friday 24, Monday and Tuesday 15 → Tuesday 16:00).
			expect(await s.routing.sla.slaFor({ ...ticket, groupId: fx.groups.support }, friday4pm)).toMatchObject({
				firstReplyDueAt: Date.UTC(2026, 0, 12, 12),
				resolutionDueAt: Date.UTC(2026, 0, 20, 16)
			});
			expect((await s.routing.sla.slaFor({ ...ticket, groupId: fx.groups.night }, friday4pm)).firstReplyDueAt).toBe(friday4pm + 4 * HOUR);
			// The sweep records a breach in business time: none on Saturday, one on Monday after noon.
			const stored = await s.tickets.record(
				{
					fields: { subject: 'Weekend SLA', status: 'open', priority: 'normal', assigneeId: null, groupId: fx.groups.support!, requesterId: (await s.customers.findOrCreate('email', 'sla@example.com')).id, channel: 'email', createdAt: friday4pm, tags: [] },
					entries: [{ id: newId(), kind: 'message', channel: 'email', direction: 'in', visibility: 'public', authorType: 'customer', authorId: 'sla', body: 'Help', createdAt: friday4pm }]
				},
				SYSTEM
			);
			expect(await s.routing.sla.sweep(Date.UTC(2026, 0, 10, 12))).toBe(0);
			await s.routing.sla.sweep(Date.UTC(2026, 0, 12, 12, 1));
			const breaches = (await s.events.forTicket(stored.id)).filter((e) => e.type === 'sla.breached').map((e) => e.data);
			expect(breaches).toEqual([{ metric: 'firstReply', dueAt: Date.UTC(2026, 0, 12, 12) }]);
		});
	});
});
