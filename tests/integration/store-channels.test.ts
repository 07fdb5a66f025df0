/**
 * The channels on the store, on both engines: the outbox enqueues inside the caller's transaction
 * and hands each due row to one worker; a repeated webhook event or inbound Message-ID is stored
 * once however many deliveries race; a chat is started once per visitor and served by one agent;
 * a verification link works once; the IMAP cursor never goes back. The services around the
 * channels (tickets, customers, accounts, the index) are stand-ins here: what is under test is
 * what the channels read, write and decide.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Entry } from '../../src/lib/ticket';
import type { UserPrincipal } from '../../server/auth/principal';
import { Chats } from '../../server/channels/chat';
import { Inbox, type InboxDeps } from '../../server/channels/email-inbound';
import { ImapMailboxes } from '../../server/channels/imap-mailboxes';
import { Outbox, type OutboxRow } from '../../server/channels/outbox';
import { SupportAddresses } from '../../server/channels/support-addresses';
import { VisitorIdentities } from '../../server/channels/visitor-identity';
import { Channels } from '../../server/channels/webhooks';
import type { Store } from '../../server/storage/store';
import { ENGINES, openTestStore } from '../helpers/store';

const SUPPORT = 'support@tandem.local';
const settle = <T>(work: Promise<T>[]) => Promise.allSettled(work);
const fulfilled = <T>(results: PromiseSettledResult<T>[]) => results.filter((r): r is PromiseFulfilledResult<T> => r.status === 'fulfilled').map((r) => r.value);
const rejectedCodes = (results: PromiseSettledResult<unknown>[]) =>
	results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as { code?: string }).code ?? String(r.reason));

describe.each(ENGINES)('the channels on %s', (engine) => {
	let store: Store;
	let dataDir: string;
	beforeAll(async () => {
		store = await openTestStore(engine);
		dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-channels-'));
	});
	afterAll(async () => {
		await store?.close();
		fs.rmSync(dataDir, { recursive: true, force: true });
	});

	let serial = 0;
	const unique = (prefix: string) => `${prefix}-${++serial}`;
	const noEvents = { record: async () => {}, recordMany: async () => {} };

	const addCustomer = async (id: string, address?: { channel: string; address: string }) => {
		const { customers, customerAddresses } = store.tables;
		await store.db.insert(customers).values({ id, name: id, createdAt: 1 });
		if (address) await store.db.insert(customerAddresses).values({ customerId: id, ...address });
	};
	const addTicket = async (id: string, requesterId: string, channel: string) => {
		const now = Date.now();
		await store.db.insert(store.tables.tickets).values({ id, subject: id, status: 'new', priority: 'normal', requesterId, channel, createdAt: now, updatedAt: now });
	};
	/**
	 * Tickets as the channels use them: a ticket created from a channel is one transaction, with the
	 * channel's `within` work inside it (rolled back with it when that throws).
	 */
	const ticketsStandIn = () => ({
		appended: [] as string[],
		async createFromChannel(input: { requesterId: string; channel: string; entry: Entry }, within?: (ticketId: string) => Promise<void> | void) {
			const id = unique('ticket');
			await store.transaction(async () => {
				await addTicket(id, input.requesterId, input.channel);
				await within?.(id);
			});
			return { id };
		},
		async append(ticketId: string, entry: Entry) {
			this.appended.push(`${ticketId}/${entry.id}`);
			return { entry, created: true };
		}
	});
	const emailEntry = (id: string, shape: Partial<Entry> = {}): Entry =>
		({ id, kind: 'message', channel: 'email', direction: 'out', visibility: 'public', authorType: 'agent', authorId: 'u1', body: 'Hello', createdAt: Date.now(), ...shape }) as Entry;

	describe('the outbox', () => {
		const outboxRows = (ticketId: string) =>
			store.db.select().from(store.tables.outbox).where(eq(store.tables.outbox.ticketId, ticketId));
		/** Marks every row so far sent: a test of taking rows sees only its own. */
		const sendAll = () => store.db.update(store.tables.outbox).set({ status: 'sent' });

		it('enqueues in the caller transaction: nothing when it rolls back, once when it commits however often', async () => {
			const outbox = new Outbox(store);
			const customer = unique('customer');
			const ticket = unique('ticket');
			await addCustomer(customer, { channel: 'email', address: `${customer}@example.com` });
			await addTicket(ticket, customer, 'email');
			await expect(
				store.transaction(async () => {
					await outbox.enqueue(ticket, [emailEntry(`${ticket}-e1`)]);
					throw new Error('rolled back on purpose');
				})
			).rejects.toThrow('rolled back on purpose');
			expect(await outboxRows(ticket)).toEqual([]);

			await store.transaction(() => outbox.enqueue(ticket, [emailEntry(`${ticket}-e1`), emailEntry(`${ticket}-note`, { kind: 'note' })]));
			await outbox.enqueue(ticket, [emailEntry(`${ticket}-e1`)]);
			const queued = await outboxRows(ticket);
			expect(queued).toHaveLength(1);
			expect(queued[0]).toMatchObject({ entryId: `${ticket}-e1`, kind: 'email', recipient: `${customer}@example.com`, status: 'queued', attempts: 0 });
		});

		it('finds the requester by address on the channel, else an unverified contact by the address they gave', async () => {
			const outbox = new Outbox(store);
			const known = unique('customer');
			const contact = unique('contact');
			await addCustomer(known, { channel: 'messaging', address: 'handle-1' });
			await store.db.insert(store.tables.customers).values({ id: contact, name: contact, createdAt: 1, unverified: true, claimedEmail: 'claimed@example.com' });
			const [knownTicket, contactTicket] = [unique('ticket'), unique('ticket')];
			await addTicket(knownTicket, known, 'messaging');
			await addTicket(contactTicket, contact, 'chat');
			expect(await outbox.addressOn(knownTicket, 'messaging')).toBe('handle-1');
			expect(await outbox.recipientOf(knownTicket)).toBeNull();
			expect(await outbox.recipientOf(contactTicket)).toBe('claimed@example.com');
			// A webhook reply goes out only to a requester with an address on that channel.
			await outbox.enqueue(contactTicket, [emailEntry(`${contactTicket}-w`, { channel: 'messaging' })]);
			await outbox.enqueue(knownTicket, [emailEntry(`${knownTicket}-w`, { channel: 'messaging' })]);
			expect(await outboxRows(contactTicket)).toEqual([]);
			expect(await outboxRows(knownTicket)).toMatchObject([{ kind: 'webhook', recipient: 'handle-1' }]);
		});

		it('hands every due row to exactly one of the workers taking rows at once', async () => {
			const { outbox: table } = store.tables;
			const ticket = unique('ticket');
			const customer = unique('customer');
			await addCustomer(customer, { channel: 'email', address: `${customer}@example.com` });
			await addTicket(ticket, customer, 'email');
			await sendAll();
			const here = new Outbox(store);
			const entries = Array.from({ length: 12 }, (_, i) => emailEntry(`${ticket}-${i}`));
			await here.enqueue(ticket, entries);
			const taken: string[] = [];
			const send = async (row: OutboxRow) => {
				taken.push(row.entry_id);
				// Sending takes a while: the others keep taking rows meanwhile.
				await new Promise((resolve) => setTimeout(resolve, 5));
				await store.db.update(table).set({ status: 'sent' }).where(eq(table.id, row.id));
			};
			const worker = async (outbox: Outbox) => {
				while (await outbox.takeDue(Date.now(), send));
			};
			// Two workers of this process; on PostgreSQL also one of another process (its own outbox),
			// kept off the rows in hand by their locks alone. (SQLite is one process.)
			const workers = engine === 'postgres' ? [here, here, new Outbox(store), new Outbox(store)] : [here, here, here];
			await Promise.all(workers.map(worker));
			expect(taken.slice().sort()).toEqual(entries.map((e) => e.id).sort());
			expect((await outboxRows(ticket)).every((row) => row.status === 'sent')).toBe(true);
		});

		it('leaves a row whose sending failed before it was marked due again, and a row not yet due alone', async () => {
			const { outbox: table } = store.tables;
			const ticket = unique('ticket');
			await addTicket(ticket, 'nobody', 'email');
			await sendAll();
			const outbox = new Outbox(store);
			await outbox.enqueueVerification(ticket, `${ticket}-v`, 'kim@example.com');
			await expect(
				outbox.takeDue(Date.now(), async () => {
					throw new Error('the process died');
				})
			).rejects.toThrow('the process died');
			const seen: string[] = [];
			expect(await outbox.takeDue(Date.now(), async (row) => void seen.push(row.entry_id))).toBe(true);
			expect(seen).toEqual([`${ticket}-v`]);
			await store.db.update(table).set({ nextAttemptAt: Date.now() + 60_000 }).where(eq(table.ticketId, ticket));
			expect(await outbox.takeDue(Date.now(), async (row) => void seen.push(row.entry_id))).toBe(false);
		});
	});

	describe('webhook events', () => {
		it('stores an event delivered many times at once in one new ticket; the others are duplicates', async () => {
			const tickets = ticketsStandIn();
			const customer = unique('customer');
			await addCustomer(customer);
			const customers = { findOrCreate: async () => ({ id: customer }) };
			// Separate instances: their in-process waiting does not help, as on separate processes.
			const make = () => new Channels(store, customers as never, tickets as never, noEvents as never);
			const first = make();
			const channel = await first.create({ kind: 'messaging', name: unique('channel') });
			const event = { eventId: 'evt-1', from: { id: 'handle', name: 'Kim' }, text: 'Hello' };
			const results = await Promise.all([first, make(), make(), make()].map((c) => c.receive(channel, event)));
			const stored = results.filter((r) => !('duplicate' in r));
			expect(stored).toHaveLength(1);
			expect(results.filter((r) => 'duplicate' in r)).toHaveLength(3);
			const { tickets: ticketTable, webhookEvents } = store.tables;
			expect(await store.db.select({ n: count() }).from(ticketTable).where(eq(ticketTable.requesterId, customer))).toEqual([{ n: 1 }]);
			expect(await store.db.select({ n: count() }).from(webhookEvents).where(and(eq(webhookEvents.channelId, channel.id), eq(webhookEvents.eventId, 'evt-1')))).toEqual([{ n: 1 }]);
			// The next event of the customer joins their open ticket.
			const next = await first.receive(channel, { ...event, eventId: 'evt-2' });
			expect(next).toMatchObject({ ticketId: (stored[0] as { ticketId: string }).ticketId });
			expect(await first.receive(channel, { ...event, eventId: 'evt-2' })).toEqual({ duplicate: true });
		});

		it('lists, renames and authenticates channels, names compared exactly', async () => {
			const channels = new Channels(store, {} as never, {} as never, noEvents as never);
			const name = unique('Support chat');
			const created = await channels.create({ kind: 'social', name, outboundUrl: 'https://example.com/out' });
			expect(await channels.exists(name)).toBe(true);
			expect(await channels.exists(name, created.id)).toBe(false);
			expect(await channels.get(created.id)).toEqual({ id: created.id, kind: 'social', name, outboundUrl: 'https://example.com/out', createdAt: created.createdAt });
			expect(await channels.update(created.id, { outboundUrl: null })).toMatchObject({ name, outboundUrl: null });
			expect((await channels.list()).map((c) => c.id)).toContain(created.id);
			const { secret } = await channels.rotateSecret(created.id);
			expect(secret).not.toBe(created.secret);
			await expect(channels.rotateSecret('nope')).rejects.toMatchObject({ status: 404 });
		});
	});

	describe('inbound email', () => {
		it('stores a message delivered many times at once (SMTP and IMAP, two processes) in one ticket', async () => {
			const tickets = ticketsStandIn();
			const customer = unique('customer');
			await addCustomer(customer);
			const deps = {
				store,
				tickets,
				customers: { findOrCreate: async () => ({ id: customer }) },
				events: noEvents,
				index: { get: async () => undefined, byNumber: async () => undefined },
				logger: { warn() {}, error() {}, info() {} },
				supportAddresses: new SupportAddresses(store, SUPPORT),
				attachments: { files: { put: async () => '' } },
				config: { dataDir, smtp: { maxAttachmentBytes: 1_000_000 } }
			} as unknown as InboxDeps;
			const messageId = `<${unique('m')}@example.com>`;
			const raw = Buffer.from(`From: Kim <kim@example.com>\r\nTo: ${SUPPORT}\r\nSubject: Refund\r\nMessage-ID: ${messageId}\r\n\r\nPlease refund.\r\n`);
			const recipient = { mailbox: SUPPORT, tag: '' };
			await Promise.all([new Inbox(deps), new Inbox(deps), new Inbox(deps)].map((inbox) => inbox.receive(raw, 'kim@example.com', [recipient])));
			const { tickets: ticketTable, emailMessages } = store.tables;
			expect(await store.db.select({ n: count() }).from(ticketTable).where(eq(ticketTable.requesterId, customer))).toEqual([{ n: 1 }]);
			expect(await store.db.select({ mailbox: emailMessages.mailbox, sideId: emailMessages.sideId }).from(emailMessages).where(eq(emailMessages.messageId, messageId))).toEqual([
				{ mailbox: SUPPORT, sideId: null }
			]);
			// Delivered once more later: nothing more.
			await new Inbox(deps).receive(raw, 'kim@example.com', [recipient]);
			expect(await store.db.select({ n: count() }).from(ticketTable).where(eq(ticketTable.requesterId, customer))).toEqual([{ n: 1 }]);
		});
	});

	describe('support addresses and IMAP mailboxes', () => {
		it('adds an address once however many admins add it at once, and matches plus-addresses case-insensitively', async () => {
			const addresses = new SupportAddresses(store, SUPPORT, noEvents as never);
			const results = await settle([1, 2, 3].map(() => addresses.add({ address: 'Billing@Tandem.local', name: 'Billing', groupId: null })));
			expect(fulfilled(results)).toHaveLength(1);
			expect(rejectedCodes(results)).toEqual(['exists', 'exists']);
			expect(await addresses.match('BILLING+T1@tandem.local')).toEqual({ mailbox: 'billing@tandem.local', tag: 't1' });
			expect(await addresses.match('sales@tandem.local')).toBeNull();
			await addresses.setSignature(SUPPORT, 'The team');
			await addresses.setSignature(SUPPORT, 'The whole team');
			expect(await addresses.signatureOf(SUPPORT)).toBe('The whole team');
			expect((await addresses.list()).map((a) => a.address)).toEqual([SUPPORT, 'billing@tandem.local']);
		});

		it('moves the stored-UID cursor only forward, so a message is counted stored once', async () => {
			const addresses = new SupportAddresses(store, SUPPORT, noEvents as never);
			const mailboxes = new ImapMailboxes(store, addresses, noEvents as never);
			await mailboxes.save(SUPPORT, { host: 'imap.example.com', port: 993, tls: 'tls', username: 'u', auth: 'password', secret: 's', folder: 'INBOX', afterFetch: 'seen' });
			await mailboxes.resetCursor(SUPPORT, '42');
			const moved = await Promise.all([7, 7, 7].map((uid) => mailboxes.setStored(SUPPORT, uid)));
			expect(moved.filter(Boolean)).toHaveLength(1);
			expect(await mailboxes.setStored(SUPPORT, 5)).toBe(false);
			expect(await mailboxes.cursor(SUPPORT)).toEqual({ uidValidity: '42', storedUid: 7, actedUid: 0 });
			expect((await mailboxes.list()).map((m) => m.address)).toEqual([SUPPORT]);
		});
	});

	describe('chat', () => {
		const agent = (id: string): UserPrincipal => ({ kind: 'user', id, role: 'admin', name: id, email: `${id}@example.com`, groupIds: [] });
		const makeChats = (tickets: object, customers: object, index: object = {}) =>
			new Chats(
				store,
				customers as never,
				{ canHoldTickets: () => true, get: async (id: string) => ({ name: `Agent ${id}` }) } as never,
				tickets as never,
				index as never,
				{ loaded: () => null } as never,
				noEvents as never,
				{ warn() {}, error() {}, info() {} } as never,
				{ requestProof: async () => {} } as never,
				{ leftAfterMs: 1000 }
			);

		it('starts one chat for a visitor however many starts come at once', async () => {
			const contact = unique('contact');
			await addCustomer(contact);
			const customers = { get: async () => null, createUnverified: async () => ({ id: contact, unverified: true, claimedEmail: null, addresses: [] }) };
			const chats = makeChats(ticketsStandIn(), customers);
			const other = makeChats(ticketsStandIn(), customers);
			const { visitor } = await chats.createVisitor();
			const results = await settle([chats, chats, other].map((c) => c.start(visitor, { message: 'Hi there', name: 'Kim' }, 'https://desk.example.com')));
			expect(fulfilled(results)).toHaveLength(1);
			expect(rejectedCodes(results)).toEqual(['chat_in_progress', 'chat_in_progress']);
			const { chats: chatTable, visitors } = store.tables;
			expect(await store.db.select({ status: chatTable.status }).from(chatTable).where(eq(chatTable.visitorId, visitor.id))).toEqual([{ status: 'waiting' }]);
			expect(await store.db.select({ customerId: visitors.customerId }).from(visitors).where(eq(visitors.id, visitor.id))).toEqual([{ customerId: contact }]);
			expect(await chats.current(visitor)).toMatchObject({ status: 'waiting', agentId: null, agentName: null });
		});

		it('is served by exactly one of the agents serving it at once, and ended once', async () => {
			const ticket = unique('ticket');
			const index = { get: async () => ({ id: ticket, channel: 'chat', groupId: null, assigneeId: null, requesterId: 'c' }) };
			const tickets = ticketsStandIn();
			const chats = makeChats(tickets, {}, index);
			const { visitor } = await chats.createVisitor();
			await store.db.insert(store.tables.chats).values({ id: unique('chat'), visitorId: visitor.id, ticketId: ticket, status: 'waiting', presence: 'online', startedAt: Date.now() });
			const results = await settle(['ann', 'bob', 'cy'].map((id) => makeChats(tickets, {}, index).serve(ticket, agent(id))));
			const served = fulfilled(results);
			expect(served).toHaveLength(1);
			expect(rejectedCodes(results)).toEqual(['chat_taken', 'chat_taken']);
			expect(served[0]).toMatchObject({ status: 'active', agentName: 'Agent' });
			// Serving again is a no-op for the one serving; a hand-over moves it.
			expect(await chats.serve(ticket, agent(served[0]!.agentId!))).toMatchObject({ agentId: served[0]!.agentId });
			expect(await chats.serve(ticket, agent('dee'), { handOver: true })).toMatchObject({ agentId: 'dee' });
			const ends = await Promise.all([chats.end(ticket, agent('dee')), chats.end(ticket, agent('dee'))]);
			expect(ends.map((e) => e.status)).toEqual(['ended', 'ended']);
			// One "ended" note: the second end changed nothing.
			expect(tickets.appended.filter((a) => a.endsWith('.ended'))).toHaveLength(1);
			await expect(chats.serve(ticket, agent('ann'))).rejects.toMatchObject({ code: 'chat_ended' });
		});
	});

	describe('visitor identity', () => {
		it('mails one link per address however many chats ask at once, and the link works once', async () => {
			const contact = unique('contact');
			const email = `${contact}@example.com`;
			await store.db.insert(store.tables.customers).values({ id: contact, name: contact, createdAt: 1, unverified: true, claimedEmail: email });
			const ticket = unique('ticket');
			await addTicket(ticket, contact, 'chat');
			const { customers: customerTable } = store.tables;
			const customers = {
				get: async (id: string) => {
					const [row] = await store.db.select().from(customerTable).where(eq(customerTable.id, id));
					return row && { ...row, addresses: [] };
				},
				findByAddress: async () => null
			};
			const outbox = new Outbox(store);
			const make = () => new VisitorIdentities(store, customers as never, {} as never, {} as never, outbox, noEvents as never, { verifyLinkTtlMs: 60_000 });
			const contactRecord = await customers.get(contact);
			await Promise.all([make(), make(), make()].map((identities) => identities.requestProof(contactRecord as never, ticket, 'https://desk.example.com')));
			const { emailVerifications, outbox: outboxTable, customerAddresses } = store.tables;
			const links = await store.db.select().from(emailVerifications).where(eq(emailVerifications.email, email));
			expect(links).toHaveLength(1);
			expect(await store.db.select({ kind: outboxTable.kind, recipient: outboxTable.recipient }).from(outboxTable).where(eq(outboxTable.entryId, links[0]!.id))).toEqual([
				{ kind: 'verification', recipient: email }
			]);
			const token = links[0]!.pendingToken!;
			const identities = make();
			expect(await identities.linkState(token)).toEqual({ state: 'valid', email });
			const clicks = await Promise.all([make(), make(), make()].map(async (i) => (await i.confirm(token)).state));
			expect(clicks.sort()).toEqual(['used', 'used', 'valid']);
			expect(await identities.linkState(token)).toEqual({ state: 'used', email });
			expect(await identities.linkState('vfy_unknown')).toEqual({ state: 'unknown' });
			expect(await store.db.select({ address: customerAddresses.address }).from(customerAddresses).where(eq(customerAddresses.customerId, contact))).toEqual([{ address: email }]);
		});
	});
});
