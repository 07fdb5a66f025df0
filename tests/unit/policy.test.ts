/** The access policy's rules for customers and custom object records, principal by principal. */
import { describe, expect, it } from 'vitest';
import { customerAccess, mayCreateRecords, readsInternalEntries, recordAccess, writePolicy, type TicketScope } from '../../server/auth/policy';
import { SYSTEM, type BotPrincipal, type UserPrincipal } from '../../server/auth/principal';

const user = (role: UserPrincipal['role'], groupIds: string[] = []): UserPrincipal => ({ kind: 'user', id: `u-${role}`, role, name: role, email: `${role}@x.test`, groupIds });
const agent = user('agent', ['support']);
const supervisor = user('supervisor');
const admin = user('admin');
const bot: BotPrincipal = { kind: 'bot', id: 'tok-1', name: 'mailer', channels: ['email'] };

const billingEmail: TicketScope = { channel: 'email', groupId: 'billing', assigneeId: null };
const supportChat: TicketScope = { channel: 'chat', groupId: 'support', assigneeId: null };

describe('customerAccess', () => {
	it.each([
		{ who: 'an agent of another group', principal: agent, tickets: [billingEmail], access: null },
		{ who: 'an agent who may write one ticket', principal: agent, tickets: [billingEmail, supportChat], access: 'write' },
		{ who: 'an agent, a customer with no tickets', principal: agent, tickets: [], access: null },
		{ who: 'an agent assigned a ticket of another group', principal: agent, tickets: [{ ...billingEmail, assigneeId: agent.id }], access: 'write' },
		{ who: 'a supervisor', principal: supervisor, tickets: [], access: 'read' },
		{ who: 'an admin', principal: admin, tickets: [], access: 'write' },
		{ who: 'the system', principal: SYSTEM, tickets: [], access: 'write' },
		{ who: "a bot of the ticket's channel", principal: bot, tickets: [billingEmail], access: 'read' },
		{ who: 'a bot of another channel', principal: bot, tickets: [supportChat], access: null }
	] as const)('$who: $access', ({ principal, tickets, access }) => {
		expect(customerAccess(principal, tickets)).toBe(access);
	});
});

describe('recordAccess', () => {
	it.each([
		{ who: 'an agent, linked to nobody', principal: agent, record: { createdBy: 'bot:x', links: [] }, access: 'read' },
		{ who: 'an agent, linked only to hidden customers', principal: agent, record: { createdBy: 'bot:x', links: [null, null] }, access: null },
		{ who: 'an agent, one visible link', principal: agent, record: { createdBy: 'bot:x', links: [null, 'write'] }, access: 'read' },
		{ who: 'a bot, its own record', principal: bot, record: { createdBy: 'bot:tok-1', links: [null] }, access: 'write' },
		{ who: "a bot, another's record it may see", principal: bot, record: { createdBy: 'bot:tok-2', links: ['read'] }, access: 'read' },
		{ who: "a bot, another's unlinked record", principal: bot, record: { createdBy: 'bot:tok-2', links: [] }, access: null },
		{ who: 'a bot, a record from before creators were kept', principal: bot, record: { createdBy: null, links: [] }, access: null },
		{ who: 'a supervisor', principal: supervisor, record: { createdBy: null, links: [null] }, access: 'read' },
		{ who: 'an admin', principal: admin, record: { createdBy: null, links: [null] }, access: 'write' }
	] as const)('$who: $access', ({ principal, record, access }) => {
		expect(recordAccess(principal, record)).toBe(access);
	});

	it('records are created by API tokens, admins and the server only', () => {
		expect([bot, admin, SYSTEM, agent, supervisor].map(mayCreateRecords)).toEqual([true, true, true, false, false]);
	});
});

describe('writePolicy', () => {
	const billingAgent = { ...user('agent', ['billing']), id: 'u-billing' };
	const directory = {
		canHoldTickets: (id: string) => id === 'u-agent',
		groupExists: (id: string) => id === 'support',
		principal: (id: string) => [agent, billingAgent, supervisor].find((u) => u.id === id) ?? null
	};
	const policyOf = (principal: Parameters<typeof writePolicy>[0]) => writePolicy(principal, { requesterId: () => 'cust-1', scope: () => supportChat, directory });

	it('bots may touch no root but entries, and no ticket field', () => {
		const policy = policyOf(bot);
		for (const root of ['ticket', 'drafts', 'sides'] as const) expect(policy.rootAllowed(root)).toMatch(/entries only/);
		expect(policy.fieldAllowed('status', 'solved')).toMatch(/entries only/);
		expect(policyOf(agent).rootAllowed('drafts')).toBeNull();
	});

	it('a group and an assignee must exist', () => {
		const policy = policyOf(agent);
		expect(policy.fieldAllowed('groupId', 'support')).toBeNull();
		expect(policy.fieldAllowed('groupId', null)).toBeNull();
		expect(policy.fieldAllowed('groupId', 'no-such-group')).toMatch(/no group/);
		expect(policy.fieldAllowed('assigneeId', 'u-agent')).toBeNull();
		expect(policy.fieldAllowed('assigneeId', 'nobody')).toMatch(/cannot be assigned/);
	});

	it('an entry mentions only colleagues who may see the ticket, whoever writes it', () => {
		const note = (authorId: string, mentions: string[]) => ({ id: 'n1', kind: 'note' as const, channel: 'internal' as const, visibility: 'internal' as const, authorType: 'agent' as const, authorId, body: '@x', createdAt: 1, meta: { mentions } });
		expect(policyOf(agent).entryAllowed(note(agent.id, [supervisor.id]), 'conversation')).toBeNull();
		expect(policyOf(agent).entryAllowed(note(agent.id, [billingAgent.id]), 'side')).toMatch(/u-billing cannot see this ticket/);
		// A supervisor's note is their one way to write: it mentions by the same rule.
		expect(policyOf(supervisor).entryAllowed(note(supervisor.id, ['nobody']), 'conversation')).toMatch(/nobody cannot see this ticket/);
		const asCustomer = { ...note('cust-1', [agent.id]), kind: 'message' as const, channel: 'email' as const, visibility: 'public' as const, authorType: 'customer' as const };
		expect(policyOf(bot).entryAllowed(asCustomer, 'conversation')).toMatch(/internal notes and internal side conversations only/);
	});

	it('an internal side conversation names only colleagues who may see the ticket', () => {
		const policy = policyOf(agent);
		expect(policy.participantAllowed('internal', agent.id)).toBeNull();
		expect(policy.participantAllowed('internal', supervisor.id)).toBeNull();
		expect(policy.participantAllowed('internal', billingAgent.id)).toMatch(/cannot see this ticket/);
		expect(policy.participantAllowed('internal', 'nobody')).toMatch(/cannot see this ticket/);
		expect(policy.participantAllowed('email', 'vendor@x.test')).toBeNull();
	});
});

describe('readsInternalEntries', () => {
	// Whoever may open a ticket reads all its entries (the API hands them out): search finds by them too.
	it.each([
		{ who: 'an agent', principal: agent },
		{ who: 'a supervisor', principal: supervisor },
		{ who: 'an admin', principal: admin },
		{ who: 'a bot', principal: bot },
		{ who: 'the system', principal: SYSTEM }
	] as const)('$who reads internal notes of the tickets they may open', ({ principal }) => {
		expect(readsInternalEntries(principal)).toBe(true);
	});
});
