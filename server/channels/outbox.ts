/**
 * Outbound messages through a persistent outbox. An agent's public reply (kind message, visibility
 * public, direction out) on the email channel (outbox kind 'email'), or on the messaging or social
 * channel when the requester has an address there (kind 'webhook'), is enqueued in the same SQLite
 * transaction as the update-log row that adds its entry, so an acknowledged reply is never lost;
 * one row per (entry id, kind) makes a repeated enqueue a no-op.
 *
 * An agent's message in an email side conversation (kind message, channel email, direction out,
 * added to a side conversation of channel 'email') is enqueued the same way as kind 'side-email':
 * it goes to the side conversation's participants, with the side conversation's own thread headers
 * (see SideEmailSender).
 *
 * A rule's webhook call ('rule-webhook', server/rules) is a row of its own: the JSON it POSTs is
 * fixed when the rule runs (`payload`), signed with the rule's secret when sent. So is a rule's
 * email to an agent ('rule-email'): its subject and text in `payload`, its address in `recipient`.
 *
 * A third kind, 'verification', mails the link that proves a chat visitor's email address (see
 * visitor-identity.ts); its row names the verification instead of an entry. A fourth, 'survey',
 * asks a solved ticket's requester how it went (see server/satisfaction.ts); its row names the survey.
 *
 * Each kind has a sender (the `senders` map of the worker); attempts, backoff and marks are shared.
 * Webhook deliveries are POSTed as signed JSON to the newest channel of the entry's channel kind
 * with an outbound URL (see webhooks.ts); any 2xx answer counts as sent.
 *
 * A worker polls due rows (every 250 ms, and soon after an enqueue) and sends emails with
 * nodemailer to SMTP_RELAY_URL, or, when that is unset, writes it as an .eml file to
 * DATA_DIR/mail/outbox and counts it as sent. A failed attempt is retried after 1 s, 2 s, 4 s …
 * (at most 5 min); after 8 attempts the row is 'failed' with the last error.
 *
 * Exactly once, as far as SMTP allows: a row is sent by one worker at a time (`Outbox.takeDue`), and
 * marked sent right after the relay answers 250. A process that dies between that answer and the
 * mark sends the message once more on restart (at most one duplicate); its Message-ID
 * `<entryId@tandem.local>` is the same both times, so mail systems can deduplicate it.
 */
import { AsyncResource } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { and, asc, desc, eq, isNotNull, isNull, ne, sql } from 'drizzle-orm';
import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import { getEntry, readSides, recipientListSchema, type Entry, type SideConversation } from '../../src/lib/ticket';
import { listedAttachments, type Attachments } from '../attachments';
import type { Config } from '../config';
import type { Events } from '../events';
import type { FileStore } from '../files';
import type { Logger } from '../log';
import type { Surveys } from '../satisfaction';
import type { Store } from '../storage/store';
import type { DocumentAccess } from '../tickets';
import { signedHeaders, type ChannelKind } from './webhooks';
import { replyHtml } from './reply-html';
import { splitAddress, type SupportAddresses } from './support-addresses';

export const MAX_ATTEMPTS = 8;
const POLL_MS = 250;
const BACKOFF_MAX_MS = 5 * 60 * 1000;
/** Inbound Message-IDs named in References, newest last. */
const MAX_REFERENCES = 10;
/** How long a webhook receiver may take to answer: a stalled one costs one attempt. */
const WEBHOOK_TIMEOUT_MS = 10_000;

export type OutboxKind = 'email' | 'webhook' | 'verification' | 'side-email' | 'survey' | 'rule-webhook' | 'rule-email';

/** Whether `entry` is sent to the requester by email. */
export function isOutboundEmail(entry: Entry): boolean {
	return entry.kind === 'message' && entry.channel === 'email' && entry.visibility === 'public' && entry.direction === 'out';
}

/** Whether `entry` is sent to the requester by webhook (messaging and social channels). */
export function isOutboundWebhook(entry: Entry): boolean {
	return (
		entry.kind === 'message' &&
		(entry.channel === 'messaging' || entry.channel === 'social') &&
		entry.visibility === 'public' &&
		entry.direction === 'out'
	);
}

/** How `entry` goes out, or null when it does not. */
export function outboxKindOf(entry: Entry): OutboxKind | null {
	return isOutboundEmail(entry) ? 'email' : isOutboundWebhook(entry) ? 'webhook' : null;
}

/**
 * How `entry`, added to a side conversation, goes out: an agent's outgoing email message is sent
 * to the participants (the update checker lets one into email side conversations only).
 */
export function sideOutboxKindOf(entry: Entry): OutboxKind | null {
	return entry.kind === 'message' && entry.channel === 'email' && entry.direction === 'out' && entry.authorType === 'agent' ? 'side-email' : null;
}

/** The wait after `attempts` failed sends, the first of them `firstMs` (config.outboxRetryMs). */
export function backoffMs(attempts: number, firstMs: number): number {
	return Math.min(firstMs * 2 ** Math.max(0, attempts - 1), BACKOFF_MAX_MS);
}

export const outboundMessageId = (entryId: string) => `<${entryId}@tandem.local>`;

export interface OutboxRow {
	id: number;
	ticket_id: string;
	entry_id: string;
	kind: OutboxKind;
	recipient: string | null;
	attempts: number;
	payload: string | null;
}

/** The outbox table: enqueue (inside a log transaction) and the worker's reads and marks. */
export class Outbox {
	private readonly listeners = new Set<() => void>();
	/** Rows a worker of this process has taken and not yet marked. */
	private readonly inHand = new Set<number>();
	private readonly notify = () => {
		for (const listener of this.listeners) listener();
	};

	constructor(private readonly store: Store) {}

	/**
	 * Enqueues the outbound entries of `entries`: emails (a recipient found later is fine), and
	 * webhook replies when the requester has an address on the entry's channel; of the entries in
	 * side conversations (`sideEntryIds`), side emails (their participants are read when sent).
	 * Runs inside the caller's transaction.
	 */
	async enqueue(ticketId: string, entries: Entry[], sideEntryIds: ReadonlySet<string> = new Set()): Promise<void> {
		let queued = false;
		for (const entry of entries) {
			const kind = sideEntryIds.has(entry.id) ? sideOutboxKindOf(entry) : outboxKindOf(entry);
			if (!kind) continue;
			const recipient = kind === 'side-email' ? null : kind === 'email' ? await this.recipientOf(ticketId) : await this.addressOn(ticketId, entry.channel);
			if (kind === 'webhook' && !recipient) continue;
			await this.insert(ticketId, entry.id, kind, recipient);
			queued = true;
		}
		if (queued) this.wakeSoon();
	}

	/** Enqueues the mail with the link of email verification `verificationId` (about chat ticket `ticketId`). */
	async enqueueVerification(ticketId: string, verificationId: string, email: string): Promise<void> {
		await this.insert(ticketId, verificationId, 'verification', email);
		this.wakeSoon();
	}

	/** Enqueues the mail of satisfaction survey `surveyId` (about ticket `ticketId`); runs inside the caller's transaction. */
	async enqueueSurvey(ticketId: string, surveyId: string, email: string): Promise<void> {
		await this.insert(ticketId, surveyId, 'survey', email);
		this.wakeSoon();
	}

	/** Enqueues a rule's webhook call (`runId` names the rule's run on the ticket): `payload` POSTed to `url`. */
	async enqueueRuleWebhook(ticketId: string, runId: string, url: string, payload: Record<string, unknown>): Promise<void> {
		await this.insert(ticketId, runId, 'rule-webhook', url, JSON.stringify(payload));
		this.wakeSoon();
	}

	/** Enqueues a rule's email to `to` (`runId` names it): `message`'s subject and text, from the ticket's support address. */
	async enqueueRuleEmail(ticketId: string, runId: string, to: string, message: { subject: string; text: string }): Promise<void> {
		await this.insert(ticketId, runId, 'rule-email', to, JSON.stringify(message));
		this.wakeSoon();
	}

	/** One row per (entry, kind): a repeated enqueue is a no-op. */
	private async insert(ticketId: string, entryId: string, kind: OutboxKind, recipient: string | null, payload: string | null = null) {
		const now = Date.now();
		await this.store.db
			.insert(this.store.tables.outbox)
			.values({ ticketId, entryId, kind, recipient, payload, status: 'queued', attempts: 0, nextAttemptAt: now, createdAt: now })
			.onConflictDoNothing();
	}

	/**
	 * The requester's email address, or null when none is known (yet). An unverified chat contact is
	 * written to at the address they gave: a reply goes where they asked, and proves nothing.
	 */
	async recipientOf(ticketId: string): Promise<string | null> {
		const { tickets, customers } = this.store.tables;
		const address = await this.addressOn(ticketId, 'email');
		if (address) return address;
		const [claimed] = await this.store.db
			.select({ address: customers.claimedEmail })
			.from(tickets)
			.innerJoin(customers, eq(customers.id, tickets.requesterId))
			.where(eq(tickets.id, ticketId))
			.limit(1);
		return claimed?.address ?? null;
	}

	/** The requester's address on `channel`, or null. */
	async addressOn(ticketId: string, channel: string): Promise<string | null> {
		const { tickets, customerAddresses } = this.store.tables;
		const [row] = await this.store.db
			.select({ address: customerAddresses.address })
			.from(tickets)
			.innerJoin(customerAddresses, and(eq(customerAddresses.customerId, tickets.requesterId), eq(customerAddresses.channel, channel)))
			.where(eq(tickets.id, ticketId))
			.orderBy(asc(customerAddresses.address))
			.limit(1);
		return row?.address ?? null;
	}

	/** Calls `listener` after enqueues (soon after: the enqueuing transaction may not have committed yet). */
	onEnqueue(listener: () => void): () => void {
		this.listeners.add(listener);
		return () => this.listeners.delete(listener);
	}

	/**
	 * Takes the row due next (at `now`) and runs `work` with it (which sends and marks it), so that
	 * no two workers, of this process or another, have the same row in hand. On PostgreSQL the row
	 * stays locked (FOR UPDATE SKIP LOCKED: other processes' workers pass over it) until `work` has
	 * marked it; a process that dies lets go of it with its connection, and it is due again at
	 * once. On SQLite (one process) it is taken in a transaction of its own: holding one while
	 * sending would stop every other write. False when no row is due.
	 */
	async takeDue(now: number, work: (row: OutboxRow) => Promise<void>): Promise<boolean> {
		const { outbox } = this.store.tables;
		const next = () => {
			const inHand = [...this.inHand];
			const notInHand = inHand.length ? sql` AND id NOT IN (${sql.join(inHand.map((id) => sql`${id}`), sql`, `)})` : sql``;
			return sql`SELECT id, ticket_id, entry_id, kind, recipient, attempts, payload FROM ${outbox}
				WHERE status = 'queued' AND next_attempt_at <= ${now}${notInHand} ORDER BY next_attempt_at, id LIMIT 1`;
		};
		const take = async (query: ReturnType<typeof sql>) => {
			const [row] = await this.store.all<OutboxRow>(query);
			if (row) this.inHand.add(row.id);
			return row;
		};
		const workOn = async (row: OutboxRow) => {
			try {
				await work(row);
			} finally {
				this.inHand.delete(row.id);
			}
		};
		if (this.store.engine === 'postgres') {
			return this.store.transaction(async () => {
				const row = await take(sql`${next()} FOR UPDATE SKIP LOCKED`);
				if (row) await workOn(row);
				return !!row;
			});
		}
		const row = await this.store.transaction(() => take(next()));
		if (row) await workOn(row);
		return !!row;
	}

	/**
	 * Tells the listeners once the enqueue's transaction (the log's) has committed: before, a
	 * worker's query on another connection (PostgreSQL) would not see the row, and the work it starts
	 * must neither join nor outlive that transaction.
	 */
	private wakeSoon() {
		this.store.afterCommit(this.notify);
	}
}

interface WorkerDeps {
	outbox: Outbox;
	attachments: Pick<Attachments, 'files'>;
	supportAddresses: SupportAddresses;
	store: Store;
	documents: DocumentAccess;
	events: Events;
	logger: Logger;
	config: Config;
	surveys: Pick<Surveys, 'mail'>;
}

export interface EmailOutbound {
	close(): Promise<void>;
}

/** Starts the outbox worker; `close` waits for the message being sent, then stops. */
export function startEmailOutbound(deps: WorkerDeps): EmailOutbound {
	const worker = new Worker(deps);
	worker.start();
	return { close: () => worker.close() };
}

/** What a sender reports for an accepted message. */
interface Sent {
	recipient: string;
	/** Runs in the transaction that marks the row sent. */
	within?: () => Promise<void>;
	/** Added to the `<kind>.sent` event. */
	data?: Record<string, unknown>;
}

/** Sends one kind of outbox row; throwing is a failed attempt (retried with backoff). */
interface Sender {
	/** What names the message in its events (e.g. its Message-ID). */
	describe(row: OutboxRow): Record<string, unknown>;
	send(row: OutboxRow): Promise<Sent>;
	close?(): void;
}

class Worker {
	private readonly senders: Record<OutboxKind, Sender>;
	/**
	 * Runs a send in the context the worker was started in: outside the transaction that holds the
	 * row (PostgreSQL), so that nothing sending starts (loading a ticket document…) joins or outlives it.
	 */
	private readonly outside = AsyncResource.bind(<T>(work: () => Promise<T>): Promise<T> => work());
	private timer: NodeJS.Timeout | null = null;
	private unsubscribe: (() => void) | null = null;
	private running: Promise<void> | null = null;
	private again = false;
	private closed = false;

	constructor(private readonly deps: WorkerDeps) {
		const email = new EmailSender(deps);
		this.senders = { email, webhook: new WebhookSender(deps), verification: new VerificationSender(deps, email), 'side-email': new SideEmailSender(deps, email), survey: new SurveySender(deps.surveys, email), 'rule-webhook': new RuleWebhookSender(deps), 'rule-email': new RuleEmailSender(email) };
	}

	start() {
		this.unsubscribe = this.deps.outbox.onEnqueue(() => this.wake());
		this.timer = setInterval(() => this.wake(), POLL_MS);
		this.wake();
		const { relayUrl } = this.deps.config.smtp;
		this.deps.logger.info({ relay: relayUrl ?? null, spool: relayUrl ? null : spoolDirOf(this.deps.config) }, 'email outbox started');
	}

	async close() {
		this.closed = true;
		if (this.timer) clearInterval(this.timer);
		this.unsubscribe?.();
		await this.running;
		for (const sender of Object.values(this.senders)) sender.close?.();
	}

	private wake() {
		if (this.closed) return;
		if (this.running) {
			this.again = true;
			return;
		}
		this.running = this.drain()
			.catch((error: unknown) => this.deps.logger.error({ err: error }, 'outbox failed'))
			.finally(() => {
				this.running = null;
			});
	}

	private async drain() {
		do {
			this.again = false;
			while (!this.closed && (await this.deps.outbox.takeDue(Date.now(), (row) => this.deliver(row))));
		} while (this.again && !this.closed);
	}

	private async deliver(row: OutboxRow) {
		const { store, events, logger } = this.deps;
		const { outbox } = store.tables;
		const sender = this.senders[row.kind];
		const attempts = row.attempts + 1;
		let sent: Sent;
		try {
			sent = await this.outside(() => sender.send(row));
		} catch (error) {
			const message = (error as Error).message || String(error);
			const failed = attempts >= MAX_ATTEMPTS;
			await store.db
				.update(outbox)
				.set({ attempts, lastError: message.slice(0, 1000), status: failed ? 'failed' : 'queued', nextAttemptAt: Date.now() + backoffMs(attempts, this.deps.config.outboxRetryMs) })
				.where(eq(outbox.id, row.id));
			if (failed) {
				await events.record({
					ticketId: row.ticket_id,
					actor: 'system',
					type: `${row.kind}.failed`,
					data: { entryId: row.entry_id, ...sender.describe(row), attempts, error: message }
				});
				logger.warn({ ticketId: row.ticket_id, entryId: row.entry_id, err: message }, `outbound ${row.kind} failed`);
			} else {
				logger.info({ ticketId: row.ticket_id, entryId: row.entry_id, attempts, err: message }, `outbound ${row.kind} will be retried`);
			}
			return;
		}
		// Accepted: mark it sent at once (with what the sender records alongside).
		const now = Date.now();
		await store.transaction(async (tx) => {
			await tx.update(outbox).set({ status: 'sent', attempts, sentAt: now, recipient: sent.recipient, lastError: null }).where(eq(outbox.id, row.id));
			await sent.within?.();
			await events.record({
				ticketId: row.ticket_id,
				actor: 'system',
				type: `${row.kind}.sent`,
				data: { entryId: row.entry_id, ...sender.describe(row), to: sent.recipient, attempts, ...sent.data }
			});
		});
	}
}

const spoolDirOf = (config: Config) => path.join(config.dataDir, 'mail', 'outbox');

/** The ticket's subject line tag: the number people can quote; the ULID only for a ticket that has none. */
const subjectTag = (ticketId: string, number: number | null | undefined) => `[#${number ?? ticketId}]`;

/**
 * Stored messages newest first: by time, then on SQLite in the order they were written (rowid);
 * PostgreSQL keeps no such order, so a tie goes by Message-ID there.
 */
function newestFirst(store: Store) {
	const { emailMessages } = store.tables;
	return [desc(emailMessages.createdAt), store.engine === 'sqlite' ? sql`rowid DESC` : desc(emailMessages.messageId)];
}

/** The entry an outbox row sends. */
async function entryOf(deps: WorkerDeps, row: OutboxRow): Promise<Entry> {
	const entry = await deps.documents.withDocument(row.ticket_id, (doc) => getEntry(doc, row.entry_id));
	if (!entry) throw new Error(`entry ${row.entry_id} is not in ticket ${row.ticket_id}`);
	return entry;
}

/** The files an email reply lists, as MIME parts streamed from the file store as the message is sent. */
function mimeAttachmentsOf(entry: Entry, files: FileStore): NonNullable<SendMailOptions['attachments']> {
	return listedAttachments(entry).map((a) => ({ filename: a.name, contentType: a.contentType, content: Readable.from(files.read(a.sha256)) }));
}

/** Email through nodemailer: to SMTP_RELAY_URL, or spooled to DATA_DIR/mail/outbox. */
class EmailSender implements Sender {
	private readonly transport: Transporter;
	private readonly spoolDir: string | null;

	constructor(private readonly deps: WorkerDeps) {
		const { relayUrl } = deps.config.smtp;
		// Short timeouts: a stalled relay costs one attempt (retried later), and does not hold up shutdown.
		this.transport = relayUrl
			? nodemailer.createTransport({ url: relayUrl, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 })
			: nodemailer.createTransport({ streamTransport: true, buffer: true });
		this.spoolDir = relayUrl ? null : spoolDirOf(deps.config);
	}

	describe(row: OutboxRow) {
		return { messageId: outboundMessageId(row.entry_id) };
	}

	async send(row: OutboxRow): Promise<Sent> {
		const entry = await entryOf(this.deps, row);
		const { store } = this.deps;
		const { tickets, emailMessages } = store.tables;
		const messageId = outboundMessageId(row.entry_id);
		const recipient = row.recipient ?? (await this.deps.outbox.recipientOf(row.ticket_id));
		if (!recipient) throw new Error('the requester has no email address');
		const [ticket] = await store.db.select({ subject: tickets.subject, number: tickets.number }).from(tickets).where(eq(tickets.id, row.ticket_id)).limit(1);
		// The newest inbound messages of the ticket's conversation (not the ones sent from here, nor
		// side conversations': those are other people's threads), oldest first.
		const inbound = (
			await store.db
				.select({ messageId: emailMessages.messageId })
				.from(emailMessages)
				.where(and(eq(emailMessages.ticketId, row.ticket_id), isNull(emailMessages.sideId), ne(emailMessages.messageId, sql`'<' || ${emailMessages.entryId} || '@tandem.local>'`)))
				.orderBy(...newestFirst(store))
				.limit(MAX_REFERENCES)
		)
			.map((r) => r.messageId)
			.reverse();
		const mailbox = await this.mailboxOf(row.ticket_id);
		const [local, domain] = splitAddress(mailbox);
		const signature = await this.deps.supportAddresses.signatureOf(mailbox);
		await this.sendMail(row.entry_id, {
			from: mailbox,
			replyTo: `${local}+${row.ticket_id}@${domain}`,
			to: recipient,
			...(await this.copiesOf(entry, recipient)),
			subject: `Re: ${ticket?.subject ?? ''} ${subjectTag(row.ticket_id, ticket?.number)}`,
			text: signature ? `${entry.body}\n\n-- \n${signature}` : entry.body,
			html: replyHtml(entry.body, signature),
			attachments: mimeAttachmentsOf(entry, this.deps.attachments.files),
			messageId,
			...(inbound.length ? { inReplyTo: inbound[inbound.length - 1], references: inbound } : {})
		});
		// Accepted by the relay (250): remember its Message-ID so that the customer's reply threads
		// into this ticket.
		return {
			recipient,
			within: async () => {
				await store.db.insert(emailMessages).values({ messageId, ticketId: row.ticket_id, entryId: row.entry_id, mailbox, createdAt: Date.now() }).onConflictDoNothing();
			}
		};
	}

	/**
	 * The reply's CC and BCC (`meta.cc`, `meta.bcc`, checked by the entry schema), without the
	 * requester and our own addresses (a copy to ourselves would come back as a new message).
	 * nodemailer puts BCC in the envelope only, never in the headers.
	 */
	private async copiesOf(entry: Entry, recipient: string): Promise<{ cc?: string[]; bcc?: string[] }> {
		const taken = new Set([recipient.toLowerCase()]);
		const keep = async (list: unknown) => {
			const kept: string[] = [];
			for (const address of recipientListSchema.catch([]).parse(list)) {
				const key = address.toLowerCase();
				if (taken.has(key) || (await this.deps.supportAddresses.match(address))) continue;
				taken.add(key);
				kept.push(address);
			}
			return kept.length ? kept : undefined;
		};
		const cc = await keep(entry.meta?.cc);
		const bcc = await keep(entry.meta?.bcc);
		return { ...(cc ? { cc } : {}), ...(bcc ? { bcc } : {}) };
	}

	/** Sends one message to the relay, or spools it as `<name>.eml`; throws when the relay refuses it. */
	async sendMail(name: string, message: SendMailOptions): Promise<void> {
		const info = await this.transport.sendMail(message);
		if (this.spoolDir) this.spool(name, info.message as Buffer);
	}

	/** The ticket's subject line tag. */
	async subjectTagOf(ticketId: string): Promise<string> {
		const { tickets } = this.deps.store.tables;
		const [ticket] = await this.deps.store.db.select({ number: tickets.number }).from(tickets).where(eq(tickets.id, ticketId)).limit(1);
		return subjectTag(ticketId, ticket?.number);
	}

	/** The support address the customer last wrote to (still one of ours), else SUPPORT_ADDRESS. */
	async mailboxOf(ticketId: string): Promise<string> {
		const { store, supportAddresses, config } = this.deps;
		const { emailMessages } = store.tables;
		const [last] = await store.db
			.select({ mailbox: emailMessages.mailbox })
			.from(emailMessages)
			.where(and(eq(emailMessages.ticketId, ticketId), isNull(emailMessages.sideId), isNotNull(emailMessages.mailbox)))
			.orderBy(...newestFirst(store))
			.limit(1);
		return last?.mailbox && (await supportAddresses.match(last.mailbox)) ? last.mailbox : config.smtp.supportAddress;
	}

	close() {
		this.transport.close();
	}

	/** Writes a message the local way: DATA_DIR/mail/outbox/<entryId>.eml, atomically. */
	private spool(entryId: string, message: Buffer) {
		const dir = this.spoolDir!;
		fs.mkdirSync(dir, { recursive: true });
		const file = path.join(dir, `${entryId.replace(/[^A-Za-z0-9_.-]/g, '_')}.eml`);
		const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
		fs.writeFileSync(temp, message);
		fs.renameSync(temp, file);
	}
}

/**
 * Webhook replies: `{eventId, to: {id}, text, ticketId}` POSTed as signed JSON to the newest
 * channel of the entry's kind (messaging, social) that has an outbound URL; 2xx is sent.
 */
class WebhookSender implements Sender {
	constructor(private readonly deps: WorkerDeps) {}

	describe() {
		return {};
	}

	async send(row: OutboxRow): Promise<Sent> {
		const entry = await entryOf(this.deps, row);
		const { channels } = this.deps.store.tables;
		const [channel] = await this.deps.store.db
			.select({ id: channels.id, secret: channels.secret, url: channels.outboundUrl })
			.from(channels)
			.where(and(eq(channels.kind, entry.channel as ChannelKind), isNotNull(channels.outboundUrl)))
			.orderBy(desc(channels.createdAt), desc(channels.id))
			.limit(1);
		if (!channel?.url) throw new Error(`no ${entry.channel} channel has an outbound URL`);
		const recipient = row.recipient ?? (await this.deps.outbox.addressOn(row.ticket_id, entry.channel));
		if (!recipient) throw new Error(`the requester has no ${entry.channel} address`);
		const body = JSON.stringify({ eventId: row.entry_id, to: { id: recipient }, text: entry.body, ticketId: row.ticket_id });
		await postSigned(channel.url, channel.secret, body);
		return { recipient, data: { channelId: channel.id } };
	}
}

/** POSTs `body` signed with `secret`; throws unless the receiver answers 2xx. */
async function postSigned(url: string, secret: string, body: string): Promise<void> {
	const response = await fetch(url, {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...signedHeaders(secret, body) },
		body,
		redirect: 'manual',
		signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS)
	});
	await response.body?.cancel().catch(() => {});
	if (response.status < 200 || response.status > 299) throw new Error(`${url} answered ${response.status}`);
}

/** A rule's webhook call: its payload, signed with the rule's secret as it is when sent (a deleted rule's calls fail). */
class RuleWebhookSender implements Sender {
	constructor(private readonly deps: WorkerDeps) {}

	describe(row: OutboxRow) {
		return { url: row.recipient };
	}

	async send(row: OutboxRow): Promise<Sent> {
		const { rules } = this.deps.store.tables;
		const { rule } = JSON.parse(row.payload ?? '{}') as { rule?: { id?: string } };
		const [found] = await this.deps.store.db.select({ secret: rules.webhookSecret }).from(rules).where(eq(rules.id, rule?.id ?? '')).limit(1);
		if (!found) throw new Error('the rule that called this webhook is gone');
		await postSigned(row.recipient!, found.secret, row.payload!);
		return { recipient: row.recipient! };
	}
}

/** A rule's email to an agent: the subject and text it was given, with the ticket's tag, from the ticket's support address. */
class RuleEmailSender implements Sender {
	constructor(private readonly email: EmailSender) {}

	describe(row: OutboxRow) {
		return { to: row.recipient };
	}

	async send(row: OutboxRow): Promise<Sent> {
		const { subject, text } = JSON.parse(row.payload ?? '{}') as { subject: string; text: string };
		await this.email.sendMail(row.entry_id, { from: await this.email.mailboxOf(row.ticket_id), to: row.recipient!, subject: `${subject} ${await this.email.subjectTagOf(row.ticket_id)}`, text });
		return { recipient: row.recipient! };
	}
}

/**
 * The link that proves a chat visitor's email address (see server/channels/visitor-identity.ts),
 * sent from the chat ticket's support address. The token waits in its verification row only until
 * the relay has the mail: then only its hash is left.
 */
class VerificationSender implements Sender {
	constructor(
		private readonly deps: WorkerDeps,
		private readonly email: EmailSender
	) {}

	describe(row: OutboxRow) {
		return { verificationId: row.entry_id };
	}

	async send(row: OutboxRow): Promise<Sent> {
		const { store } = this.deps;
		const { emailVerifications } = store.tables;
		const [pending] = await store.db
			.select({ token: emailVerifications.pendingToken, origin: emailVerifications.origin, email: emailVerifications.email })
			.from(emailVerifications)
			.where(eq(emailVerifications.id, row.entry_id))
			.limit(1);
		if (!pending?.token) throw new Error(`verification ${row.entry_id} has no link to send`);
		const link = `${pending.origin}/chat/verify?token=${encodeURIComponent(pending.token)}`;
		await this.email.sendMail(`verification-${row.entry_id}`, {
			from: await this.email.mailboxOf(row.ticket_id),
			to: pending.email,
			subject: 'Confirm your email address',
			text: `You gave this address in a chat with our support team. To show that it is yours, open this link and confirm:\n\n${link}\n\nIf it was not you, ignore this message: nothing is linked to your address without it.`
		});
		return {
			recipient: pending.email,
			within: async () => {
				await store.db.update(emailVerifications).set({ pendingToken: null }).where(eq(emailVerifications.id, row.entry_id));
			}
		};
	}
}

/** A satisfaction survey's mail (see server/satisfaction.ts): its links are signed when it is sent. */
class SurveySender implements Sender {
	constructor(
		private readonly surveys: WorkerDeps['surveys'],
		private readonly email: EmailSender
	) {}

	describe = (row: OutboxRow) => ({ surveyId: row.entry_id });

	async send(row: OutboxRow): Promise<Sent> {
		const mail = await this.surveys.mail(row.entry_id);
		if (!mail) throw new Error(`survey ${row.entry_id} is not one to mail`);
		await this.email.sendMail(`survey-${row.entry_id}`, {
			from: await this.email.mailboxOf(row.ticket_id),
			to: mail.to,
			subject: mail.subject,
			text: mail.text,
			html: mail.html
		});
		return { recipient: mail.to };
	}
}

/**
 * An agent's message in an email side conversation: from the ticket's support address to the side
 * conversation's participants as they are when it is sent (added ones included), under the side
 * conversation's subject with the ticket's tag, threaded on the side conversation's own messages
 * (sent and received), never the ticket's conversation: the outside party sees only this thread.
 */
class SideEmailSender implements Sender {
	constructor(
		private readonly deps: WorkerDeps,
		private readonly email: EmailSender
	) {}

	describe(row: OutboxRow) {
		return { messageId: outboundMessageId(row.entry_id) };
	}

	async send(row: OutboxRow): Promise<Sent> {
		const { store } = this.deps;
		const { emailMessages } = store.tables;
		const { side, entry } = await this.deps.documents.withDocument(row.ticket_id, (doc) => sideEntryOf(readSides(doc), row.entry_id));
		const recipients = [...new Set(side.participants.map((p) => p.toLowerCase()))];
		if (!recipients.length) throw new Error(`side conversation ${side.id} has no participants`);
		const messageId = outboundMessageId(row.entry_id);
		const thread = (
			await store.db
				.select({ messageId: emailMessages.messageId })
				.from(emailMessages)
				.where(and(eq(emailMessages.sideId, side.id), eq(emailMessages.ticketId, row.ticket_id)))
				.orderBy(...newestFirst(store))
				.limit(MAX_REFERENCES)
		)
			.map((r) => r.messageId)
			.reverse();
		const mailbox = await this.email.mailboxOf(row.ticket_id);
		await this.email.sendMail(row.entry_id, {
			from: mailbox,
			to: recipients,
			subject: `${thread.length ? 'Re: ' : ''}${side.subject} ${await this.email.subjectTagOf(row.ticket_id)}`,
			text: entry.body,
			messageId,
			...(thread.length ? { inReplyTo: thread[thread.length - 1], references: thread } : {})
		});
		// Accepted: its Message-ID now names this side conversation, so a reply to it threads back here.
		return {
			recipient: recipients.join(', '),
			data: { sideId: side.id },
			within: async () => {
				await store.db.insert(emailMessages).values({ messageId, ticketId: row.ticket_id, entryId: row.entry_id, mailbox, sideId: side.id, createdAt: Date.now() }).onConflictDoNothing();
			}
		};
	}
}

/** The side conversation that holds entry `entryId`, with the entry. */
function sideEntryOf(sides: SideConversation[], entryId: string): { side: SideConversation; entry: Entry } {
	for (const side of sides) {
		const entry = side.entries.find((e) => e.id === entryId);
		if (entry) return { side, entry };
	}
	throw new Error(`entry ${entryId} is in no side conversation`);
}
