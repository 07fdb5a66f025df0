/**
 * The demo tickets (see seed.ts): about twenty conversations across every channel, status,
 * priority and group, told with one small builder so each ticket reads like a script.
 */
import { newId, type Channel, type CustomerChannel, type Entry, type Priority, type Status } from '../src/lib/ticket';
import type { Customer, Customers } from './customers';
import type { TicketRecord } from './tickets';

export interface SeedContext {
	now: number;
	/** Demo users' ids by email. */
	userIds: Record<string, string>;
	/** Group ids by name. */
	groupIds: Record<string, string>;
	customers: Customers;
}

/** Ticket definitions, in the order they are written; Maggie's story comes first. */
const TICKETS: ((ctx: SeedContext, agents: Agents) => Promise<TicketRecord>)[] = [
	maggie,
	maggieInvoice,
	passwordReset,
	vatNumber,
	webhooksFailing,
	cancelSubscription,
	imageUpload,
	discountCode,
	catalogImport,
	missedChat,
	cardDeclined,
	storeDown,
	annualPlan,
	exportContacts,
	loggedOut,
	chargedAfterTrial,
	androidSync,
	upgradeByPhone,
	receiptPrinter,
	twoFactorReset,
	unusedSeats,
	darkMode,
	rateLimit
];

export async function demoTickets(ctx: SeedContext): Promise<TicketRecord[]> {
	const agents = demoAgents(ctx);
	const tickets: TicketRecord[] = [];
	// One after another: the customers are found or created in the order the tickets meet them.
	for (const define of TICKETS) tickets.push(await define(ctx, agents));
	return tickets;
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by every ticket. Times are in minutes.

const MINUTE = 60_000;
const HOUR = 60;
const DAY = 24 * HOUR;

type GroupName = 'Billing' | 'Technical';

interface Agents {
	alex: string;
	blake: string;
	casey: string;
	dana: string;
}

function demoAgents({ userIds }: SeedContext): Agents {
	const id = (name: keyof Agents) => {
		const found = userIds[`${name}@tandem.local`];
		if (!found) throw new Error(`seed: demo agent ${name}@tandem.local is missing`);
		return found;
	};
	return { alex: id('alex'), blake: id('blake'), casey: id('casey'), dana: id('dana') };
}

/**
 * The customer reached at these addresses: the first one finds or creates them, the others are
 * added. Calling it again with the same first address returns the same customer.
 */
async function customer(ctx: SeedContext, name: string, addresses: Partial<Record<CustomerChannel, string>>): Promise<Customer> {
	const [first, ...others] = Object.entries(addresses) as [CustomerChannel, string][];
	const found = await ctx.customers.findOrCreate(first[0], first[1], name);
	for (const [channel, address] of others) await ctx.customers.addAddress(found.id, channel, address);
	return found;
}

interface TicketSpec {
	subject: string;
	status: Status;
	priority: Priority;
	group: GroupName;
	/** An agent id, or null for a ticket waiting in its group's queue. */
	assignee: string | null;
	tags: string[];
}

type CallMeta = { durationSeconds: number; outcome: 'answered' | 'no-answer' | 'voicemail' };

/**
 * A ticket's conversation as a script: each step says how many minutes after the previous entry
 * it happened (the first: after the start) and appends one entry. `on(channel)` switches the
 * channel that messages and events use from then on; notes are always internal, calls on talk.
 */
class Conversation {
	readonly entries: Entry[] = [];
	private time: number;
	private channel: Channel;

	constructor(
		private readonly ctx: SeedContext,
		private readonly requester: Customer,
		channel: Channel,
		startsAgo: number
	) {
		this.channel = channel;
		this.time = ctx.now - startsAgo * MINUTE;
	}

	on(channel: Channel): this {
		this.channel = channel;
		return this;
	}

	customer(body: string, after: number): this {
		return this.add(after, { kind: 'message', channel: this.channel, direction: 'in', visibility: 'public', authorType: 'customer', authorId: this.requester.id, body });
	}

	agent(agentId: string, body: string, after: number, meta?: Entry['meta']): this {
		return this.add(after, { kind: 'message', channel: this.channel, direction: 'out', visibility: 'public', authorType: 'agent', authorId: agentId, body, ...(meta ? { meta } : {}) });
	}

	note(agentId: string, body: string, after: number): this {
		return this.add(after, { kind: 'note', channel: 'internal', visibility: 'internal', authorType: 'agent', authorId: agentId, body });
	}

	event(body: string, after: number, meta?: Entry['meta']): this {
		return this.add(after, { kind: 'event', channel: this.channel, visibility: 'public', authorType: 'system', authorId: 'system', body, ...(meta ? { meta } : {}) });
	}

	/** A call an agent took or made, with the agent's summary as the body. */
	call(agentId: string, direction: 'in' | 'out', body: string, after: number, meta: CallMeta): this {
		return this.add(after, { kind: 'call', channel: 'talk', direction, visibility: 'public', authorType: 'agent', authorId: agentId, body, meta });
	}

	/** A message the customer left on the phone line, transcribed. */
	voicemail(body: string, after: number, durationSeconds: number): this {
		const meta: CallMeta = { durationSeconds, outcome: 'voicemail' };
		return this.add(after, { kind: 'call', channel: 'talk', direction: 'in', visibility: 'public', authorType: 'customer', authorId: this.requester.id, body, meta });
	}

	/** The finished ticket: it started on its first entry's channel, at its first entry's time. */
	ticket(spec: TicketSpec): TicketRecord {
		const first = this.entries[0];
		const last = this.entries[this.entries.length - 1];
		if (!first || !last) throw new Error(`seed: "${spec.subject}" has no entries`);
		if (last.createdAt > this.ctx.now) throw new Error(`seed: "${spec.subject}" ends in the future`);
		const groupId = this.ctx.groupIds[spec.group];
		if (!groupId) throw new Error(`seed: group ${spec.group} is missing`);
		return {
			fields: {
				subject: spec.subject,
				status: spec.status,
				priority: spec.priority,
				assigneeId: spec.assignee,
				groupId,
				requesterId: this.requester.id,
				channel: first.channel,
				createdAt: first.createdAt,
				tags: spec.tags
			},
			entries: this.entries
		};
	}

	private add(after: number, entry: Omit<Entry, 'id' | 'createdAt'>): this {
		if (this.entries.length > 0 && !(after > 0)) throw new Error(`seed: entries must be strictly later than the previous one`);
		this.time += after * MINUTE;
		const createdAt = Math.round(this.time);
		const full: Entry = { id: newId(createdAt), ...entry, createdAt };
		this.entries.push(full);
		return this;
	}
}

/** A conversation with `requester` that started `startsAgo` minutes before `ctx.now` on `channel`. */
function conversation(ctx: SeedContext, requester: Customer, channel: Channel, startsAgo: number): Conversation {
	return new Conversation(ctx, requester, channel, startsAgo);
}

// ---------------------------------------------------------------------------------------------
// Email

/** Maggie's refund: a chat, the chat ended, an email follow-up with a reference number, a call. */
async function maggie(ctx: SeedContext, { alex }: Agents): Promise<TicketRecord> {
	const maggie = await customer(ctx, 'Maggie Chen', { email: 'maggie.chen@example.com', chat: 'visitor-maggie', talk: '+1 555 0142' });
	return conversation(ctx, maggie, 'chat', 8 * DAY)
		.event('Chat started', 0)
		.customer('Hi, I was charged twice for my March order (#48213). Can I get one of them refunded?', 0.1)
		.agent(alex, "Hi Maggie, I'm sorry about that. Let me look at order #48213 for you.", 1)
		.note(alex, 'Two captures of $84.00 on the same card, 40 seconds apart. Payment provider retry bug again.', 2)
		.agent(alex, "I can see the duplicate charge of $84.00. I've started the refund; you'll get an email with the reference number.", 1)
		.customer('Great, thank you!', 1)
		.event('Chat ended by the agent', 1)
		.on('email')
		.agent(alex, 'Hello Maggie,\n\nAs promised, your refund of $84.00 for order #48213 has been issued. Reference number: RF-2093-7741. It should reach your card within 5 business days.\n\nBest,\nAlex', 20)
		.customer("Hi Alex, it's been a week and I don't see the refund yet. Reference RF-2093-7741. Could you check?", 7 * DAY)
		.on('talk')
		.event('Outbound call to +1 555 0142, 4 min 12 s, answered', 30, { durationSeconds: 252, outcome: 'answered', direction: 'out' })
		.call(alex, 'out', 'Called Maggie: the bank shows the refund as pending; it will post tomorrow. She is happy to wait.', 5, { durationSeconds: 252, outcome: 'answered' })
		.ticket({ subject: 'Charged twice for order #48213', status: 'pending', priority: 'high', group: 'Billing', assignee: alex, tags: ['refund', 'billing', 'duplicate-charge'] });
}

/** An earlier, closed ticket of Maggie's, so her requester history has something in it. */
async function maggieInvoice(ctx: SeedContext, { blake }: Agents): Promise<TicketRecord> {
	const maggie = await customer(ctx, 'Maggie Chen', { email: 'maggie.chen@example.com' });
	return conversation(ctx, maggie, 'email', 12 * DAY + 5 * HOUR)
		.customer('Hello,\n\nCould you reissue the invoice for order #47102 with my company name, Chen Design Studio, and our VAT number GB 293 7741 06? I need it for my accounts.\n\nThanks,\nMaggie', 0)
		.agent(blake, 'Hi Maggie,\n\nHere is the corrected invoice for order #47102, now addressed to Chen Design Studio with your VAT number. Let me know if anything else needs changing.\n\nBest,\nBlake', 95, {
			attachments: [{ name: 'invoice-47102.pdf', contentType: 'application/pdf', size: 48211 }]
		})
		.customer('Perfect, thank you!', 40)
		.ticket({ subject: 'Company name and VAT number on invoice #47102', status: 'closed', priority: 'low', group: 'Billing', assignee: blake, tags: ['invoice', 'billing'] });
}

async function passwordReset(ctx: SeedContext, { casey }: Agents): Promise<TicketRecord> {
	const priya = await customer(ctx, 'Priya Natarajan', { email: 'priya@northwind.example' });
	return conversation(ctx, priya, 'email', 2 * DAY + 3 * HOUR)
		.customer("Hi,\n\nI've requested a password reset four times since this morning and nothing arrives, not even in spam. My username is priya.n. Can you help?\n\nPriya", 0)
		.agent(casey, 'Hi Priya,\n\nThanks for the details. Our reset emails were sent, but your mail server rejected them. Could you ask your IT team to allow mail from notifications@tandem.example? Once they have, I can send a new link straight away.\n\nCasey', 50)
		.note(casey, 'Bounce log: 550 5.7.1 rejected by northwind.example (DMARC policy). Third customer on this domain this month; raised in #mail-deliverability.', 5)
		.customer('IT says you are on the allow list now, but I still get nothing. Could you try once more?', 22 * HOUR)
		.ticket({ subject: 'Password reset email never arrives', status: 'open', priority: 'normal', group: 'Technical', assignee: casey, tags: ['login', 'email-delivery'] });
}

async function vatNumber(ctx: SeedContext): Promise<TicketRecord> {
	const lars = await customer(ctx, 'Lars Eriksen', { email: 'lars@fjordcoffee.example' });
	return conversation(ctx, lars, 'email', 5 * HOUR)
		.customer("Hi,\n\nWe're a company in Norway and our invoices are missing our organisation number (NO 912 345 678 MVA). Our accountant can't book them without it. Can you add it to this and future invoices?\n\nLars Eriksen\nFjord Coffee AS", 0)
		.customer('Forgot to say: the invoices in question are INV-2291 and INV-2318.', 12)
		.ticket({ subject: 'Organisation number missing on invoices', status: 'new', priority: 'normal', group: 'Billing', assignee: null, tags: ['invoice', 'vat'] });
}

async function webhooksFailing(ctx: SeedContext, { dana }: Agents): Promise<TicketRecord> {
	const tomas = await customer(ctx, 'Tomás Ruiz', { email: 'tomas@brightcart.example' });
	return conversation(ctx, tomas, 'email', 4 * DAY + 2 * HOUR)
		.customer('Hello,\n\nSince Tuesday around 14:00 UTC none of our order.created webhooks arrive. Our endpoint (https://hooks.brightcart.example/tandem) returns 200 when we call it by hand. This is blocking our fulfilment.\n\nTomás', 0)
		.agent(dana, "Hi Tomás,\n\nThanks for the report. Our deliveries to your endpoint are timing out on our side before they reach you. I've escalated this to our engineering team and will update you as soon as I hear back.\n\nDana", 35)
		.note(dana, 'Delivery workers show TLS handshake failures to this host since the certificate rotation on Tuesday. Engineering ticket ENG-4127. On hold until they deploy the fix.', 10)
		.customer("Any update? We're processing orders by hand.", 5 * HOUR)
		.agent(dana, "Hi Tomás,\n\nEngineering found the cause (a certificate change on our side) and the fix goes out tomorrow morning. I'll replay every failed delivery once it's out, so no order will be lost.\n\nDana", 40)
		.note(dana, 'ENG-4127 fix in review, deploy planned 08:00 UTC. Replay failed deliveries for brightcart after the deploy.', 20)
		.ticket({ subject: 'Webhook deliveries failing since Tuesday', status: 'hold', priority: 'high', group: 'Technical', assignee: dana, tags: ['webhooks', 'integration', 'escalated'] });
}

async function cancelSubscription(ctx: SeedContext, { blake }: Agents): Promise<TicketRecord> {
	const hannah = await customer(ctx, 'Hannah Becker', { email: 'hannah.becker@example.de' });
	return conversation(ctx, hannah, 'email', 6 * DAY + 4 * HOUR)
		.customer("Hello,\n\nPlease cancel our subscription at the end of the current term (it renews on the 30th). We're merging with a company that uses a different tool. Thanks for everything!\n\nHannah", 0)
		.agent(blake, "Hi Hannah,\n\nSorry to see you go, and congratulations on the merger. Your subscription now ends on the 30th and you won't be charged again. You can export your data under Settings › Export until then.\n\nBest,\nBlake", 2 * HOUR)
		.customer('Confirmed on our side. Thanks Blake!', 3 * HOUR)
		.ticket({ subject: 'Cancel subscription at end of term', status: 'solved', priority: 'normal', group: 'Billing', assignee: blake, tags: ['cancellation', 'subscription'] });
}

// ---------------------------------------------------------------------------------------------
// Chat

async function imageUpload(ctx: SeedContext, { casey }: Agents): Promise<TicketRecord> {
	const aisha = await customer(ctx, 'Aisha Bello', { chat: 'visitor-aisha', email: 'aisha@bellobakes.example' });
	return conversation(ctx, aisha, 'chat', 3 * DAY + 6 * HOUR)
		.event('Chat started', 0)
		.customer("Hi! My product photos won't upload, the spinner just keeps going.", 0.2)
		.agent(casey, 'Hi Aisha, sorry about that. Roughly how large are the photos?', 1)
		.customer("They're straight from my camera, around 14 MB each.", 1.5)
		.agent(casey, "That's it: the limit is 10 MB per image. If you export them at 4000 px wide they'll be well under, and still sharp in your shop.", 1)
		.customer('Just tried one at 4000 px and it uploaded in a second. Thank you!', 3)
		.event('Chat ended by the customer', 0.5)
		.ticket({ subject: "Product photos won't upload", status: 'solved', priority: 'normal', group: 'Technical', assignee: casey, tags: ['uploads', 'how-to'] });
}

async function discountCode(ctx: SeedContext, { dana }: Agents): Promise<TicketRecord> {
	const ben = await customer(ctx, 'Ben Okafor', { chat: 'visitor-ben', email: 'ben.okafor@example.com' });
	return conversation(ctx, ben, 'chat', 20 * HOUR)
		.event('Chat started', 0)
		.customer("The code SPRING20 says it's applied but my total didn't change.", 0.3)
		.agent(dana, 'Hi Ben, let me check that code. Which plan are you buying?', 1)
		.customer('Team plan, yearly.', 0.5)
		.note(dana, 'SPRING20 is limited to monthly plans in the promo settings. Asking Alex whether we honour it on yearly.', 2)
		.agent(dana, "Thanks. SPRING20 is set up for monthly plans only, but I've asked whether we can apply it to yearly. I'll get back to you by email today.", 1)
		.event('Chat ended by the agent', 2)
		.ticket({ subject: 'Discount code SPRING20 not applied', status: 'open', priority: 'normal', group: 'Billing', assignee: dana, tags: ['discount', 'checkout'] });
}

/** Errors the catalog importer reports in the long chat below; null is a clean batch. */
const IMPORT_ISSUES: ({ report: string; fix: string } | null)[] = [
	null,
	{ report: 'row 212: price "12,50" is not a number', fix: 'Prices need a dot as the decimal separator, like 12.50. Set that column to "Number" in your spreadsheet and export again.' },
	null,
	{ report: 'rows 40–44: SKU already exists', fix: 'Those SKUs came in with an earlier batch. Tick "Update existing products" and run it again; they will be updated instead of rejected.' },
	{ report: 'row 388: image URL returned 403', fix: 'That image sits in a private folder. Make the folder public, or upload the images first and use their file names instead of URLs.' },
	null,
	{ report: 'row 97: category "Garden > Hoses" not found', fix: 'Categories are matched by their full path, and yours is "Garden & Outdoor > Hoses". Rename it in the file or create the category first.' },
	{ report: 'rows 301–305: weight missing', fix: 'Shipped products need a weight. If those are gift cards, set the product type to "digital" and the weight can stay empty.' }
];
const CLEAN_REPORTS = ['went through, no errors.', 'done, all 500 rows.', 'imported cleanly 🎉', 'no errors this time.'];
const ACKNOWLEDGEMENTS = ['Great, on to the next one.', 'Nice, keep going.', 'Perfect.', "Good, that one's in."];

/** A long chat (over 150 entries): the agent stays with a customer through a 72-file import. */
async function catalogImport(ctx: SeedContext, { casey }: Agents): Promise<TicketRecord> {
	const owen = await customer(ctx, 'Owen Park', { chat: 'visitor-owen', email: 'owen@parkandsons.example' });
	const batches = 72;
	const c = conversation(ctx, owen, 'chat', 2 * DAY + 7 * HOUR)
		.event('Chat started', 0)
		.customer("Hi, I'm moving our catalog (36,000 products) from our old shop and the importer gives up after 500 rows.", 0.2)
		.agent(casey, "Hi Owen, that's the batch size: the importer takes 500 rows at a time. Split the file into files of 500 rows and I'll stay with you while you run them.", 1.5)
		.customer("OK, I've split it into 72 files. Starting with batch 1.", 4);
	const firstSeen = new Map<object, number>();
	let fixed = 0;
	for (let batch = 1; batch <= batches; batch++) {
		const issue = IMPORT_ISSUES[batch % IMPORT_ISSUES.length];
		if (!issue) {
			c.customer(`Batch ${batch} of ${batches} ${CLEAN_REPORTS[batch % CLEAN_REPORTS.length]}`, 2).agent(casey, ACKNOWLEDGEMENTS[batch % ACKNOWLEDGEMENTS.length], 0.5);
		} else {
			const seen = firstSeen.get(issue);
			if (seen === undefined) firstSeen.set(issue, batch);
			fixed++;
			c.customer(`Batch ${batch} of ${batches} stopped: ${issue.report}.`, 2).agent(casey, seen === undefined ? issue.fix : `Same as batch ${seen}: ${issue.fix}`, 1);
		}
		if (batch % 12 === 0) c.note(casey, `Progress: ${batch}/${batches} batches imported, ${fixed} fixed after an error.`, 0.5);
	}
	return c
		.customer("That's all 72! One last thing: the product variants came in without their images.", 3)
		.agent(casey, "Good catch. Variant images need the second template; I'll check your file with our import team and email you a corrected one tomorrow.", 2)
		.note(casey, "Their export puts variant images in column 'image_2'; the importer expects 'variant_image'. Ask the import team for a mapping.", 1)
		.event('Chat ended by the customer', 1)
		.ticket({ subject: 'Catalog import stops after 500 rows', status: 'open', priority: 'high', group: 'Technical', assignee: casey, tags: ['import', 'catalog', 'onboarding'] });
}

async function missedChat(ctx: SeedContext): Promise<TicketRecord> {
	const jun = await customer(ctx, 'Jun Tanaka', { chat: 'visitor-jun', email: 'jun.tanaka@example.jp' });
	return conversation(ctx, jun, 'chat', 40)
		.event('Chat started', 0)
		.customer('Hello? Is there a way to connect my shop to Google Merchant Center?', 0.2)
		.event('No agent available: the visitor was offered a reply by email', 3)
		.customer('OK, you can reach me at jun.tanaka@example.jp', 1)
		.event('Chat ended by the visitor', 0.5)
		.ticket({ subject: 'Connect shop to Google Merchant Center?', status: 'new', priority: 'low', group: 'Technical', assignee: null, tags: ['integration', 'offline-chat'] });
}

// ---------------------------------------------------------------------------------------------
// Messaging

async function cardDeclined(ctx: SeedContext, { alex }: Agents): Promise<TicketRecord> {
	const sofia = await customer(ctx, 'Sofia Rossi', { messaging: '+39 347 555 0198' });
	return conversation(ctx, sofia, 'messaging', DAY + 2 * HOUR)
		.customer('Hi, my card keeps getting declined when I try to renew. It works everywhere else 🙁', 0)
		.agent(alex, 'Ciao Sofia! Sorry for the trouble. Your bank declined it with "do not honour", which usually means they blocked a payment abroad. Could you approve it in your banking app, or try another card?', 8)
		.customer("I'll call the bank tomorrow morning.", 4)
		.agent(alex, "Perfect. I've extended your grace period by 7 days, so your shop stays online in the meantime.", 2)
		.ticket({ subject: 'Card declined on renewal', status: 'pending', priority: 'normal', group: 'Billing', assignee: alex, tags: ['payment', 'renewal'] });
}

async function storeDown(ctx: SeedContext, { dana }: Agents): Promise<TicketRecord> {
	const rosa = await customer(ctx, 'Rosa Alvarez', { messaging: '+1 555 0187', talk: '+1 555 0187', email: 'rosa@rosasplants.example' });
	return conversation(ctx, rosa, 'messaging', 2 * HOUR)
		.customer('URGENT our store shows "502 Bad Gateway" for everyone!!', 0)
		.customer("we're losing sales, our spring sale started today", 0.5)
		.agent(dana, "Hi Rosa, I'm on it. What's your store's address, and did anything change today (domain, theme, apps)?", 3)
		.customer('rosasplants.example. I moved my domain to a new registrar this morning', 2)
		.note(dana, "DNS for rosasplants.example points at the registrar's parking page; our A record is missing. Not an outage on our side. Walking her through it.", 4)
		.agent(dana, "Found it: the new registrar doesn't have your A record yet, so visitors never reach us. Add an A record for @ pointing to 203.0.113.24 and a CNAME for www to shops.tandem.example. I'll stay here while you do it.", 1)
		.customer('done, still 502 on my phone', 9)
		.ticket({ subject: 'Store down: 502 Bad Gateway', status: 'open', priority: 'urgent', group: 'Technical', assignee: dana, tags: ['outage', 'dns', 'domain'] });
}

async function annualPlan(ctx: SeedContext): Promise<TicketRecord> {
	const kwame = await customer(ctx, 'Kwame Mensah', { messaging: '+233 24 555 0131' });
	return conversation(ctx, kwame, 'messaging', 3 * HOUR)
		.customer('Hello, do you have an annual plan? And is there a discount for nonprofits?', 0)
		.customer('We are a small charity with 6 staff.', 1)
		.ticket({ subject: 'Annual plan and nonprofit discount', status: 'new', priority: 'normal', group: 'Billing', assignee: null, tags: ['pricing', 'nonprofit'] });
}

async function exportContacts(ctx: SeedContext, { dana }: Agents): Promise<TicketRecord> {
	const elena = await customer(ctx, 'Elena Petrova', { messaging: '+49 151 5550 2231' });
	return conversation(ctx, elena, 'messaging', 10 * DAY + 7 * HOUR)
		.customer('How do I export my customer list to CSV?', 0)
		.agent(dana, 'Hi Elena! Open Customers, select all (or filter first), then Actions › Export CSV. The file arrives by email within a few minutes.', 15)
		.customer('Got it, thanks 👍', 6)
		.ticket({ subject: 'Export customer list to CSV', status: 'closed', priority: 'low', group: 'Technical', assignee: dana, tags: ['how-to', 'export'] });
}

// ---------------------------------------------------------------------------------------------
// Social

async function loggedOut(ctx: SeedContext, { casey }: Agents): Promise<TicketRecord> {
	const dev = await customer(ctx, 'Dev Patel', { social: '@devbuilds', email: 'dev@devbuilds.example' });
	return conversation(ctx, dev, 'social', DAY + 4 * HOUR)
		.customer('@tandem your app logs me out every 5 minutes since the last update. Anyone else? 😤', 0)
		.agent(casey, "Hi Dev, sorry about that! We'd like to take a look. Could you send us a DM with the email on your account?", 25)
		.event('Conversation moved to direct messages', 6)
		.customer('dev@devbuilds.example, iPhone 15, app version 4.12.0', 0.5)
		.note(casey, 'Known issue with 4.12.0 on iOS 17.4 (token refresh). Linked to ENG-4133.', 10)
		.agent(casey, 'Thanks Dev. It is a bug in 4.12.0 on iOS and the fix is on its way. Until the update ships, signing in with "Keep me signed in" ticked should stop the logouts.', 2)
		.customer('Ticking that box didn\'t help 😕 still logged out', 3 * HOUR)
		.ticket({ subject: 'App logs out every 5 minutes (iOS)', status: 'open', priority: 'high', group: 'Technical', assignee: casey, tags: ['ios', 'login', 'bug'] });
}

async function chargedAfterTrial(ctx: SeedContext, { blake }: Agents): Promise<TicketRecord> {
	const chloe = await customer(ctx, 'Chloé Martin', { social: '@chloe.makes' });
	return conversation(ctx, chloe, 'social', 8 * DAY + 3 * HOUR)
		.event('Direct message received', 0)
		.customer('Hi, I was charged €29 after my trial even though I cancelled on day 12?', 0.1)
		.note(blake, 'Cancellation saved 2 days before renewal, but the billing job renewed anyway. Refunding by hand; reported as BILL-311.', 30)
		.agent(blake, "Hi Chloé, you're right: your cancellation was saved but the renewal ran anyway. I've refunded the €29 in full; it will show on your card in 3–5 days. Sorry for the scare!", 4)
		.customer('Thank you for sorting it so quickly!', 20)
		.ticket({ subject: 'Charged after cancelling trial', status: 'solved', priority: 'normal', group: 'Billing', assignee: blake, tags: ['refund', 'trial'] });
}

async function androidSync(ctx: SeedContext): Promise<TicketRecord> {
	const marco = await customer(ctx, 'Marco Bianchi', { social: '@marcob' });
	return conversation(ctx, marco, 'social', 6 * HOUR)
		.customer('Is @tandem sync broken on Android today? My orders list is stuck at yesterday.', 0)
		.customer('Reinstalled the app, same thing.', 35)
		.ticket({ subject: 'Orders not syncing on Android', status: 'new', priority: 'normal', group: 'Technical', assignee: null, tags: ['android', 'sync'] });
}

// ---------------------------------------------------------------------------------------------
// Talk

/** Rosa again (see storeDown), an earlier call. */
async function upgradeByPhone(ctx: SeedContext, { alex }: Agents): Promise<TicketRecord> {
	const rosa = await customer(ctx, 'Rosa Alvarez', { messaging: '+1 555 0187' });
	return conversation(ctx, rosa, 'talk', 9 * DAY + 5 * HOUR)
		.call(alex, 'in', 'Rosa called to upgrade from Starter to Pro before her spring sale. Explained the prorated charge ($31.50 today, then $79 a month). She agreed; upgraded during the call.', 0, { durationSeconds: 384, outcome: 'answered' })
		.on('email')
		.agent(alex, "Hi Rosa,\n\nAs we discussed on the phone, your store is now on the Pro plan. Today's prorated charge is $31.50; from next month it's $79.\n\nGood luck with the sale!\nAlex", 15)
		.customer('Thanks Alex, the new reports are great.', 26 * HOUR)
		.ticket({ subject: 'Upgrade to Pro plan', status: 'solved', priority: 'normal', group: 'Billing', assignee: alex, tags: ['upgrade', 'plan-change'] });
}

async function receiptPrinter(ctx: SeedContext, { dana }: Agents): Promise<TicketRecord> {
	const george = await customer(ctx, 'George Hughes', { talk: '+44 20 7946 0321' });
	return conversation(ctx, george, 'talk', 26 * HOUR)
		.voicemail("Hi, this is George from Harbour Books. Our receipt printer stopped printing from the till since yesterday's update. Please call me back on 020 7946 0321.", 0, 48)
		.call(dana, 'out', 'Called George back: no answer, left a message.', 45, { durationSeconds: 35, outcome: 'no-answer' })
		.call(dana, 'out', 'Reached George. The printer lost its pairing after the point-of-sale update. Re-paired it together: receipts print, but the cash drawer still does not open. He will try the driver update tonight and call back if it still fails.', 90, { durationSeconds: 611, outcome: 'answered' })
		.note(dana, 'If the drawer still fails after the driver update, it is the 4.12 POS driver issue (ENG-4102).', 2)
		.ticket({ subject: 'Receipt printer stopped after update', status: 'pending', priority: 'normal', group: 'Technical', assignee: dana, tags: ['point-of-sale', 'hardware'] });
}

async function twoFactorReset(ctx: SeedContext, { casey }: Agents): Promise<TicketRecord> {
	const noah = await customer(ctx, 'Noah Williams', { talk: '+44 20 7946 0958', email: 'noah@williamsco.example' });
	return conversation(ctx, noah, 'talk', 13 * DAY + 4 * HOUR)
		.call(casey, 'in', "Noah lost his phone and can't pass two-factor sign-in. Verified him with the last invoice amount and the billing postcode, then reset two-factor; he'll set it up again on his new phone.", 0, { durationSeconds: 522, outcome: 'answered' })
		.note(casey, 'Identity check: invoice INV-2204 amount and billing postcode matched. Reset recorded in the audit log.', 3)
		.on('email')
		.agent(casey, "Hi Noah,\n\nAs promised, two-factor sign-in is reset on your account. You'll be asked to set it up again the next time you sign in; keep the backup codes somewhere safe.\n\nBest,\nCasey", 5)
		.customer('All set up again, thanks!', 2 * HOUR)
		.ticket({ subject: 'Lost phone, locked out by two-factor', status: 'closed', priority: 'normal', group: 'Technical', assignee: casey, tags: ['2fa', 'account-access'] });
}

// ---------------------------------------------------------------------------------------------
// Web form

async function unusedSeats(ctx: SeedContext, { dana, alex }: Agents): Promise<TicketRecord> {
	const ingrid = await customer(ctx, 'Ingrid Holm', { email: 'ingrid@greenleaf.example' });
	return conversation(ctx, ingrid, 'web', 3 * DAY + 2 * HOUR)
		.customer('We reduced our team from 12 to 8 seats on the 3rd but were billed for 12 this month. Please refund the difference for the 4 unused seats.\n\nCompany: Greenleaf Architects\nAccount: A-20931', 0)
		.on('email')
		.agent(dana, "Hi Ingrid,\n\nThanks for getting in touch. The seat change on the 3rd came after this month's invoice (on the 1st), so it applies from next month. I've asked our billing team whether we can credit the difference this time, and will come back to you.\n\nDana", 3 * HOUR)
		.note(dana, 'No prorated seat refunds by policy, but they have been customers for 4 years. Asked Alex to approve a one-off credit of 4 × $15.', 5)
		.note(alex, 'Approved as account credit, not a card refund.', 6 * HOUR)
		.customer("Thanks, I hope you can make it work. We'd happily take it as account credit.", 4 * HOUR)
		.ticket({ subject: 'Refund for unused seats', status: 'open', priority: 'normal', group: 'Billing', assignee: dana, tags: ['seats', 'refund', 'web-form'] });
}

async function darkMode(ctx: SeedContext): Promise<TicketRecord> {
	const yusuf = await customer(ctx, 'Yusuf Demir', { email: 'yusuf@demirlogistics.example' });
	return conversation(ctx, yusuf, 'web', 4 * DAY + 9 * HOUR)
		.event('Submitted through the contact form at tandem.example/contact', 0)
		.customer('Feature request: a dark mode for the admin. Our warehouse staff work night shifts and the bright screens are harsh on the eyes.', 0.1)
		.ticket({ subject: 'Feature request: dark mode', status: 'new', priority: 'low', group: 'Technical', assignee: null, tags: ['feature-request', 'web-form'] });
}

async function rateLimit(ctx: SeedContext, { casey }: Agents): Promise<TicketRecord> {
	const lukas = await customer(ctx, 'Lukas Novak', { email: 'lukas@skladka.example' });
	return conversation(ctx, lukas, 'web', 7 * DAY + HOUR)
		.customer('Our integration gets HTTP 429 Too Many Requests during the nightly inventory sync at 02:00 (about 30,000 updates). Can we get a higher limit?', 0)
		.on('email')
		.agent(casey, "Hi Lukas,\n\nThe limit is 600 requests per minute per token. For large syncs, use the bulk endpoint: it takes up to 500 updates per request, so your 30,000 updates fit in 60 calls. Guide: https://docs.tandem.example/api/bulk\n\nCasey", 70)
		.customer("Switched to the bulk endpoint. Last night's sync finished in 2 minutes without a single error.", 20 * HOUR)
		.agent(casey, "Great to hear! I'll mark this as solved; just reply if anything comes up.", 30)
		.ticket({ subject: 'HTTP 429 during nightly inventory sync', status: 'solved', priority: 'high', group: 'Technical', assignee: casey, tags: ['api', 'rate-limit', 'web-form'] });
}
