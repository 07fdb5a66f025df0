/** The demo tickets (see seed.ts). */
import { newId, type Entry } from '../src/lib/ticket';
import type { Customers } from './customers';
import type { TicketRecord } from './tickets';

export interface SeedContext {
	now: number;
	/** Demo users' ids by email. */
	userIds: Record<string, string>;
	/** Group ids by name. */
	groupIds: Record<string, string>;
	customers: Customers;
}

const MINUTE = 60_000;

export function demoTickets(ctx: SeedContext): TicketRecord[] {
	return [maggie(ctx)];
}

/** Maggie's refund: a chat, the chat ended, an email follow-up with a reference number, a call. */
function maggie({ now, userIds, groupIds, customers }: SeedContext): TicketRecord {
	const maggie = customers.findOrCreate('email', 'maggie.chen@example.com', 'Maggie Chen');
	customers.addAddress(maggie.id, 'chat', 'visitor-maggie');
	customers.addAddress(maggie.id, 'talk', '+1 555 0142');
	const alex = userIds['alex@tandem.local'];
	const start = now - 3 * 60 * MINUTE;
	let t = start;
	const at = (minutes: number) => (t += minutes * MINUTE);
	const entry = (e: Omit<Entry, 'id'>): Entry => ({ id: newId(e.createdAt), ...e });
	const fromMaggie = (channel: Entry['channel'], body: string, minutes: number) =>
		entry({ kind: 'message', channel, direction: 'in', visibility: 'public', authorType: 'customer', authorId: maggie.id, body, createdAt: at(minutes) });
	const fromAlex = (channel: Entry['channel'], body: string, minutes: number) =>
		entry({ kind: 'message', channel, direction: 'out', visibility: 'public', authorType: 'agent', authorId: alex, body, createdAt: at(minutes) });
	const event = (channel: Entry['channel'], body: string, minutes: number, meta?: Entry['meta']) =>
		entry({ kind: 'event', channel, visibility: 'public', authorType: 'system', authorId: 'system', body, createdAt: at(minutes), ...(meta ? { meta } : {}) });
	const entries: Entry[] = [
		event('chat', 'Chat started', 0),
		fromMaggie('chat', "Hi, I was charged twice for my March order (#48213). Can I get one of them refunded?", 0),
		fromAlex('chat', "Hi Maggie, I'm sorry about that. Let me look at order #48213 for you.", 1),
		entry({ kind: 'note', channel: 'internal', visibility: 'internal', authorType: 'agent', authorId: alex, body: 'Two captures of $84.00 on the same card, 40 seconds apart. Payment provider retry bug again.', createdAt: at(2) }),
		fromAlex('chat', "I can see the duplicate charge of $84.00. I've started the refund; you'll get an email with the reference number.", 1),
		fromMaggie('chat', 'Great, thank you!', 1),
		event('chat', 'Chat ended by the agent', 1),
		fromAlex('email', 'Hello Maggie,\n\nAs promised, your refund of $84.00 for order #48213 has been issued. Reference number: RF-2093-7741. It should reach your card within 5 business days.\n\nBest,\nAlex', 20),
		fromMaggie('email', "Hi Alex, it's been a week and I don't see the refund yet. Reference RF-2093-7741. Could you check?", 60),
		event('talk', 'Outbound call to +1 555 0142, 4 min 12 s, answered', 30, { durationSeconds: 252, outcome: 'answered', direction: 'out' }),
		entry({ kind: 'call', channel: 'talk', direction: 'out', visibility: 'public', authorType: 'agent', authorId: alex, body: 'Called Maggie: the bank shows the refund as pending; it will post tomorrow. She is happy to wait.', createdAt: at(5), meta: { durationSeconds: 252, outcome: 'answered' } })
	];
	return {
		fields: {
			subject: 'Charged twice for order #48213',
			status: 'pending',
			priority: 'high',
			assigneeId: alex,
			groupId: groupIds['Billing'],
			requesterId: maggie.id,
			channel: 'chat',
			createdAt: start,
			tags: ['refund', 'billing', 'duplicate-charge']
		},
		entries
	};
}
