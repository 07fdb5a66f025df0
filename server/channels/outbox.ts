/**
 * Outbound email through a persistent outbox. An agent's public email reply (kind message,
 * channel email, visibility public, direction out) is enqueued in the same SQLite transaction as
 * the update-log row that adds its entry, so an acknowledged reply is never lost; one row per
 * (entry id, kind) makes a repeated enqueue a no-op.
 *
 * A worker polls due rows (every 250 ms, and at once when woken by an enqueue) and sends each with
 * nodemailer to SMTP_RELAY_URL, or, when that is unset, writes it as an .eml file to
 * DATA_DIR/mail/outbox and counts it as sent. A failed attempt is retried after 1 s, 2 s, 4 s …
 * (at most 5 min); after 8 attempts the row is 'failed' with the last error.
 *
 * Exactly once, as far as SMTP allows: the row is marked sent right after the relay answers 250.
 * A process that dies between that answer and the mark sends the message once more on restart
 * (at most one duplicate); its Message-ID `<entryId@tandem.local>` is the same both times, so
 * mail systems can deduplicate it.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import nodemailer, { type Transporter } from 'nodemailer';
import { getEntry, type Entry } from '../../src/lib/ticket';
import type { Config } from '../config';
import type { Events } from '../events';
import type { Logger } from '../log';
import type { DocumentAccess } from '../tickets';

export const MAX_ATTEMPTS = 8;
const POLL_MS = 250;
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 5 * 60 * 1000;
/** Inbound Message-IDs named in References, newest last. */
const MAX_REFERENCES = 10;
const BATCH = 20;

/** Whether `entry` is sent to the requester by email. */
export function isOutboundEmail(entry: Entry): boolean {
	return entry.kind === 'message' && entry.channel === 'email' && entry.visibility === 'public' && entry.direction === 'out';
}

export function backoffMs(attempts: number): number {
	return Math.min(BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1), BACKOFF_MAX_MS);
}

export const outboundMessageId = (entryId: string) => `<${entryId}@tandem.local>`;

interface OutboxRow {
	id: number;
	ticket_id: string;
	entry_id: string;
	recipient: string | null;
	attempts: number;
}

/** The outbox table: enqueue (inside a log transaction) and the worker's reads and marks. */
export class Outbox {
	private readonly insert: Database.Statement<[string, string, string | null, number, number]>;
	private readonly requesterEmail: Database.Statement<[string], { address: string }>;
	private readonly listeners = new Set<() => void>();
	private wakeQueued = false;

	constructor(private readonly sqlite: Database.Database) {
		this.insert = sqlite.prepare(
			`INSERT INTO outbox (ticket_id, entry_id, kind, recipient, status, attempts, next_attempt_at, created_at)
			 VALUES (?, ?, 'email', ?, 'queued', 0, ?, ?) ON CONFLICT (entry_id, kind) DO NOTHING`
		);
		this.requesterEmail = sqlite.prepare(
			`SELECT a.address FROM tickets t JOIN customer_addresses a ON a.customer_id = t.requester_id AND a.channel = 'email'
			 WHERE t.id = ? ORDER BY a.address LIMIT 1`
		);
	}

	/** Enqueues the outbound email entries of `entries`. Runs inside the caller's transaction. */
	enqueue(ticketId: string, entries: Entry[]): void {
		const outbound = entries.filter(isOutboundEmail);
		if (!outbound.length) return;
		const now = Date.now();
		const recipient = this.recipientOf(ticketId);
		for (const entry of outbound) this.insert.run(ticketId, entry.id, recipient, now, now);
		this.wakeSoon();
	}

	/** The requester's email address, or null when none is known (yet). */
	recipientOf(ticketId: string): string | null {
		return this.requesterEmail.get(ticketId)?.address ?? null;
	}

	/** Calls `listener` after enqueues (once the enqueuing transaction has returned). */
	onEnqueue(listener: () => void): () => void {
		this.listeners.add(listener);
		return () => this.listeners.delete(listener);
	}

	due(now: number, limit: number): OutboxRow[] {
		return this.sqlite
			.prepare(
				`SELECT id, ticket_id, entry_id, recipient, attempts FROM outbox
				 WHERE status = 'queued' AND kind = 'email' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`
			)
			.all(now, limit) as OutboxRow[];
	}

	private wakeSoon() {
		if (this.wakeQueued) return;
		this.wakeQueued = true;
		setImmediate(() => {
			this.wakeQueued = false;
			for (const listener of this.listeners) listener();
		});
	}
}

interface WorkerDeps {
	outbox: Outbox;
	sqlite: Database.Database;
	documents: DocumentAccess;
	events: Events;
	logger: Logger;
	config: Config;
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

class Worker {
	private readonly transport: Transporter;
	private readonly spoolDir: string | null;
	private timer: NodeJS.Timeout | null = null;
	private unsubscribe: (() => void) | null = null;
	private running: Promise<void> | null = null;
	private again = false;
	private closed = false;

	constructor(private readonly deps: WorkerDeps) {
		const { relayUrl } = deps.config.smtp;
		// Short timeouts: a stalled relay costs one attempt (retried later), and does not hold up shutdown.
		this.transport = relayUrl
			? nodemailer.createTransport({ url: relayUrl, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 })
			: nodemailer.createTransport({ streamTransport: true, buffer: true });
		this.spoolDir = relayUrl ? null : path.join(deps.config.dataDir, 'mail', 'outbox');
	}

	start() {
		this.unsubscribe = this.deps.outbox.onEnqueue(() => this.wake());
		this.timer = setInterval(() => this.wake(), POLL_MS);
		this.wake();
		this.deps.logger.info({ relay: this.deps.config.smtp.relayUrl ?? null, spool: this.spoolDir }, 'email outbox started');
	}

	async close() {
		this.closed = true;
		if (this.timer) clearInterval(this.timer);
		this.unsubscribe?.();
		await this.running;
		this.transport.close();
	}

	private wake() {
		if (this.closed) return;
		if (this.running) {
			this.again = true;
			return;
		}
		this.running = this.drain()
			.catch((error: unknown) => this.deps.logger.error({ err: error }, 'email outbox failed'))
			.finally(() => {
				this.running = null;
			});
	}

	private async drain() {
		do {
			this.again = false;
			const rows = this.deps.outbox.due(Date.now(), BATCH);
			for (const row of rows) {
				if (this.closed) return;
				await this.deliver(row);
			}
			if (rows.length === BATCH) this.again = true;
		} while (this.again && !this.closed);
	}

	private async deliver(row: OutboxRow) {
		const { sqlite, events, logger, config } = this.deps;
		const messageId = outboundMessageId(row.entry_id);
		const attempts = row.attempts + 1;
		let recipient = row.recipient;
		try {
			const entry = await this.deps.documents.withDocument(row.ticket_id, (doc) => getEntry(doc, row.entry_id));
			if (!entry) throw new Error(`entry ${row.entry_id} is not in ticket ${row.ticket_id}`);
			recipient ??= this.deps.outbox.recipientOf(row.ticket_id);
			if (!recipient) throw new Error('the requester has no email address');
			const ticket = sqlite.prepare('SELECT subject FROM tickets WHERE id = ?').get(row.ticket_id) as { subject: string } | undefined;
			// The newest inbound messages of the ticket (not the ones sent from here), oldest first.
			const inbound = (
				sqlite
					.prepare(
						`SELECT message_id FROM email_messages WHERE ticket_id = ? AND message_id <> '<' || entry_id || '@tandem.local>'
						 ORDER BY created_at DESC, rowid DESC LIMIT ?`
					)
					.all(row.ticket_id, MAX_REFERENCES) as { message_id: string }[]
			)
				.map((r) => r.message_id)
				.reverse();
			const [local, domain] = splitAddress(config.smtp.supportAddress);
			const info = await this.transport.sendMail({
				from: config.smtp.supportAddress,
				replyTo: `${local}+${row.ticket_id}@${domain}`,
				to: recipient,
				subject: `Re: ${ticket?.subject ?? ''} [#${row.ticket_id}]`,
				text: entry.body,
				messageId,
				...(inbound.length ? { inReplyTo: inbound[inbound.length - 1], references: inbound } : {})
			});
			if (this.spoolDir) this.spool(row.entry_id, info.message as Buffer);
		} catch (error) {
			const message = (error as Error).message || String(error);
			const failed = attempts >= MAX_ATTEMPTS;
			sqlite
				.prepare(`UPDATE outbox SET attempts = ?, last_error = ?, status = ?, next_attempt_at = ? WHERE id = ?`)
				.run(attempts, message.slice(0, 1000), failed ? 'failed' : 'queued', Date.now() + backoffMs(attempts), row.id);
			if (failed) {
				events.record({ ticketId: row.ticket_id, actor: 'system', type: 'email.failed', data: { entryId: row.entry_id, messageId, attempts, error: message } });
				logger.warn({ ticketId: row.ticket_id, entryId: row.entry_id, err: message }, 'outbound email failed');
			} else {
				logger.info({ ticketId: row.ticket_id, entryId: row.entry_id, attempts, err: message }, 'outbound email will be retried');
			}
			return;
		}
		// Accepted by the relay (250): mark it sent at once, and remember its Message-ID so that the
		// customer's reply threads into this ticket.
		const now = Date.now();
		sqlite.transaction(() => {
			sqlite
				.prepare(`UPDATE outbox SET status = 'sent', attempts = ?, sent_at = ?, recipient = ?, last_error = NULL WHERE id = ?`)
				.run(attempts, now, recipient, row.id);
			sqlite
				.prepare('INSERT INTO email_messages (message_id, ticket_id, entry_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING')
				.run(messageId, row.ticket_id, row.entry_id, now);
			events.record({ ticketId: row.ticket_id, actor: 'system', type: 'email.sent', data: { entryId: row.entry_id, messageId, to: recipient, attempts } });
		})();
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

function splitAddress(address: string): [string, string] {
	const at = address.lastIndexOf('@');
	return at < 0 ? [address, ''] : [address.slice(0, at), address.slice(at + 1)];
}
