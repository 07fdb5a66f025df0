/**
 * Demo data for an empty database: an admin, a supervisor, agents in two groups, tickets across
 * every channel (server/seed-tickets.ts), the Maggie refund story among them, macros and a Talk number.
 */
import type { MacroInput } from '../src/lib/api/schemas';
import { randomBytes } from 'node:crypto';
import type { SavedViewInput } from '../src/lib/api/schemas';
import { SYSTEM } from './auth/principal';
import { seedContext } from './seed-context';
import { demoSurveys } from './seed-satisfaction';
import { seedCustomFields } from './seed-fields';
import { seedRules } from './rules/seed';
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
		body: "Hi {{requester.first_name}}, I've issued your refund. It usually shows on your statement within 5–10 business days. I'll keep ticket #{{ticket.number}} open until you confirm it arrived.\n\n{{agent.first_name}}",
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
	const { users } = services.store.tables;
	const [someone] = await services.store.db.select({ id: users.id }).from(users).limit(1);
	if (someone) return false;
	await seed(services);
	return true;
}

/** Saved views the admin shares, to show what a view can be: the search language, columns, order. */
const DEMO_SHARED_VIEWS: SavedViewInput[] = [
	{ name: 'Urgent and high', query: 'priority:urgent,high -status:solved,closed', sort: 'priority', columns: ['channel', 'status', 'sla', 'assignee', 'group', 'requester'], shared: true },
	{ name: 'Refunds', query: 'refund -status:closed', sort: 'updated', columns: ['status', 'priority', 'assignee', 'requester', 'tags', 'updated'], shared: true }
];

export async function seed(services: Services): Promise<void> {
	const { accounts, customers, tickets, macros } = services;
	const userIds: Record<string, string> = {};
	for (const user of DEMO_USERS) {
		const created = await accounts.createUser({ ...user, groups: [...user.groups], password: DEMO_PASSWORD });
		userIds[user.email] = created.id;
	}
	const groupIds = Object.fromEntries((await accounts.listGroups()).map((g) => [g.name, g.id]));
	const now = Date.now();
	const demo = await demoTickets({ now, userIds, groupIds, customers });
	const surveys = demoSurveys(demo);
	const recorded = new Map<(typeof demo)[number], { id: string; createdAt: number; requesterId: string }>();
	// Oldest first: the tickets' numbers follow the order they were opened in.
	for (const ticket of [...demo].sort((a, b) => (a.fields.createdAt ?? 0) - (b.fields.createdAt ?? 0))) recorded.set(ticket, await tickets.record(ticket, SYSTEM));
	await seedMaggieVisit(services, recorded.get(demo[0]!)!, userIds['alex@tandem.local']!);
	await seedCustomFields(services, recorded.get(demo[0]!)!.id);
	for (const macro of DEMO_MACROS) await macros.create(macro, SYSTEM);
	const admin = accounts.principal(userIds['admin@tandem.local']!);
	for (const view of DEMO_SHARED_VIEWS) await services.savedViews.create(view, admin!);
	await services.talkNumbers.create(DEMO_TALK_NUMBER);
	await seedContext(services);
	await surveys.store(services, (ticket) => recorded.get(ticket)!.id);
	await seedRules(services);
	services.logger.info({ users: DEMO_USERS.length }, 'seeded demo data');
}

/** The pages Maggie browsed before her chat (the visitor path in her ticket), and the chat, ended. */
async function seedMaggieVisit(services: Services, ticket: { id: string; createdAt: number; requesterId: string }, agentId: string): Promise<void> {
	const { store } = services;
	const { chats, visitorPages, visitors } = store.tables;
	const { id: ticketId, createdAt: chatAt } = ticket;
	const visitorId = 'visitor-maggie'; // her chat address in seed-tickets.ts
	const pages = [
		{ path: '/', title: 'Northwind Outfitters', before: 6 },
		{ path: '/orders.html', title: 'My orders · Northwind Outfitters', before: 4 },
		{ path: '/help/refunds', title: 'Refunds and returns · Help', before: 2 }
	];
	const minute = 60_000;
	await store.transaction(async () => {
		// The token is thrown away: nobody can resume this visitor's session.
		await store.db.insert(visitors).values({ id: visitorId, customerId: ticket.requesterId, tokenHash: randomBytes(32).toString('hex'), createdAt: chatAt - 10 * minute, lastSeenAt: chatAt + 6 * minute });
		for (const page of pages) {
			await store.db.insert(visitorPages).values({ visitorId, url: `https://shop.example.com${page.path}`, title: page.title, viewedAt: chatAt - page.before * minute });
		}
		await store.db
			.insert(chats)
			.values({ id: `chat-${ticketId}`, visitorId, ticketId, status: 'ended', presence: 'left', agentId, startedAt: chatAt, servedAt: chatAt + minute, endedAt: chatAt + 6 * minute, endedBy: `user:${agentId}` });
	});
}

export type DemoUser = (typeof DEMO_USERS)[number];

/** Tells a person starting Tandem where it is and how to sign in. */
export async function announce(url: string, services: Services): Promise<void> {
	const demo: DemoUser[] = [];
	for (const u of DEMO_USERS) if (await services.accounts.checkEmailExists(u.email)) demo.push(u);
	process.stdout.write(announcement(url, demo));
}

/** The text of that: the URL, and the demo logins still in the database (`npm run cluster` prints it too). */
export function announcement(url: string, demo: readonly DemoUser[]): string {
	const lines = [`\n  Tandem is running at ${url}\n`];
	if (demo.length) {
		lines.push(`  Demo logins (password "${DEMO_PASSWORD}"):`);
		for (const u of demo) lines.push(`    ${u.role.padEnd(10)} ${u.email}`);
		lines.push('');
	}
	return lines.join('\n') + '\n';
}
