/**
 * Demo data for an empty database: an admin, a supervisor, agents in two groups, tickets across
 * every channel (server/seed-tickets.ts), the Maggie refund story among them, macros and a Talk number.
 */
import type { MacroInput } from '../src/lib/api/schemas';
import { randomBytes } from 'node:crypto';
import { chats, users, visitorPages, visitors } from '../drizzle/schema';
import { SYSTEM } from './auth/principal';
import { seedContext } from './seed-context';
import { demoTickets } from './seed-tickets';
import type { Services } from './services';

export const DEMO_PASSWORD = 'tandem-demo';

export const DEMO_USERS = [
	{ email: 'admin@tandem.local', name: 'Ada Admin', role: 'admin', groups: ['Billing', 'Technical'] },
	{ email: 'supervisor@tandem.local', name: 'Sam Supervisor', role: 'supervisor', groups: ['Billing', 'Technical'] },
	{ email: 'alex@tandem.local', name: 'Alex Agent', role: 'agent', groups: ['Billing'] },
	{ email: 'blake@tandem.local', name: 'Blake Agent', role: 'agent', groups: ['Billing'] },
	{ email: 'casey@tandem.local', name: 'Casey Agent', role: 'agent', groups: ['Technical'] },
	{ email: 'dana@tandem.local', name: 'Dana Agent', role: 'agent', groups: ['Technical', 'Billing'] }
] as const;

/** The demo's Talk number: `npm run -s cli -- talk call --from +15550142` makes it ring (Maggie calling). */
export const DEMO_TALK_NUMBER = { number: '+15550100', label: 'Support line', groupId: null };

export const DEMO_MACROS: MacroInput[] = [
	{
		title: 'Refund issued',
		body: "I've issued your refund. It usually shows on your statement within 5–10 business days. I'll keep this ticket open until you confirm it arrived.",
		actions: { status: 'pending', addTags: ['refund'] }
	},
	{
		title: 'Ask for order number',
		body: 'Thanks for reaching out! Could you send me your order number (it starts with # and is in your confirmation email)? Then I can look into this right away.',
		actions: { status: 'pending' }
	},
	{
		title: 'Solved — thanks',
		body: "Glad we could sort this out! I'm marking this as solved; just reply if anything else comes up and it will reopen.",
		actions: { status: 'solved' }
	},
	{
		title: 'Escalate to Technical',
		body: 'Escalating to Technical: the customer has tried the usual steps and the problem persists. Steps to reproduce and account details are above.',
		actions: { visibility: 'internal', priority: 'high', addTags: ['escalated'] }
	}
];

/** Seeds demo users and tickets when the database has no users; true when it seeded. */
export async function seedIfEmpty(services: Services): Promise<boolean> {
	if (services.db.select({ id: users.id }).from(users).limit(1).get()) return false;
	await seed(services);
	return true;
}

export async function seed(services: Services): Promise<void> {
	const { accounts, customers, tickets, macros } = services;
	const userIds: Record<string, string> = {};
	for (const user of DEMO_USERS) {
		const created = await accounts.createUser({ ...user, groups: [...user.groups], password: DEMO_PASSWORD });
		userIds[user.email] = created.id;
	}
	const groupIds = Object.fromEntries(accounts.listGroups().map((g) => [g.name, g.id]));
	const now = Date.now();
	const demo = demoTickets({ now, userIds, groupIds, customers });
	const recorded = new Map<(typeof demo)[number], { id: string; createdAt: number; requesterId: string }>();
	// Oldest first: the tickets' numbers follow the order they were opened in.
	for (const ticket of [...demo].sort((a, b) => (a.fields.createdAt ?? 0) - (b.fields.createdAt ?? 0))) recorded.set(ticket, tickets.record(ticket, SYSTEM));
	seedMaggieVisit(services, recorded.get(demo[0]!)!, userIds['alex@tandem.local']!);
	for (const macro of DEMO_MACROS) macros.create(macro, SYSTEM);
	await services.talkNumbers.create(DEMO_TALK_NUMBER);
	seedContext(services);
	services.logger.info({ users: DEMO_USERS.length }, 'seeded demo data');
}

/** The pages Maggie browsed before her chat (the visitor path in her ticket), and the chat, ended. */
function seedMaggieVisit(services: Services, ticket: { id: string; createdAt: number; requesterId: string }, agentId: string): void {
	const { id: ticketId, createdAt: chatAt } = ticket;
	const visitorId = 'visitor-maggie'; // her chat address in seed-tickets.ts
	const pages = [
		{ path: '/', title: 'Northwind Outfitters', before: 6 },
		{ path: '/orders.html', title: 'My orders · Northwind Outfitters', before: 4 },
		{ path: '/help/refunds', title: 'Refunds and returns · Help', before: 2 }
	];
	const minute = 60_000;
	services.db.transaction((tx) => {
		// The token is thrown away: nobody can resume this visitor's session.
		tx.insert(visitors).values({ id: visitorId, customerId: ticket.requesterId, tokenHash: randomBytes(32).toString('hex'), createdAt: chatAt - 10 * minute, lastSeenAt: chatAt + 6 * minute }).run();
		for (const page of pages) {
			tx.insert(visitorPages).values({ visitorId, url: `https://shop.example.com${page.path}`, title: page.title, viewedAt: chatAt - page.before * minute }).run();
		}
		tx.insert(chats)
			.values({ id: `chat-${ticketId}`, visitorId, ticketId, status: 'ended', presence: 'left', agentId, startedAt: chatAt, servedAt: chatAt + minute, endedAt: chatAt + 6 * minute, endedBy: `user:${agentId}` })
			.run();
	});
}

/** Tells a person starting Tandem where it is and how to sign in. */
export function announce(url: string, services: Services): void {
	const demo = DEMO_USERS.filter((u) => services.accounts.checkEmailExists(u.email));
	const lines = [`\n  Tandem is running at ${url}\n`];
	if (demo.length) {
		lines.push(`  Demo logins (password "${DEMO_PASSWORD}"):`);
		for (const u of demo) lines.push(`    ${u.role.padEnd(10)} ${u.email}`);
		lines.push('');
	}
	process.stdout.write(lines.join('\n') + '\n');
}
