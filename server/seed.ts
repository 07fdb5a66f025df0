/**
 * Demo data for an empty database: an admin, a supervisor, agents in two groups, tickets across
 * every channel (server/seed-tickets.ts), the Maggie refund story among them, macros and a Talk number.
 */
import type { MacroInput } from '../src/lib/api/schemas';
import { users } from '../drizzle/schema';
import { SYSTEM } from './auth/principal';
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
	for (const ticket of demoTickets({ now: Date.now(), userIds, groupIds, customers })) {
		tickets.record(ticket, SYSTEM);
	}
	for (const macro of DEMO_MACROS) macros.create(macro, SYSTEM);
	services.talkNumbers.create(DEMO_TALK_NUMBER);
	services.logger.info({ users: DEMO_USERS.length }, 'seeded demo data');
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
