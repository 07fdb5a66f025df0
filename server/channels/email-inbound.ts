/**
 * Inbound email: an SMTP server (smtp-server) that accepts mail for the support addresses
 * (support-addresses.ts), parses it
 * (mailparser) and writes it into a ticket as a customer's message. A message is answered 250 only
 * once its entry is stored; a storage failure answers 451 so that the sending MTA retries.
 *
 * Threading: a message whose In-Reply-To or References names a stored message, or that was sent to
 * `support+<ticketId>@…`, or whose subject carries `[#<ticketId>]`, joins that ticket; so does one
 * whose subject carries the ticket's number (`[#1042]`) when its sender is the ticket's requester or
 * has written in it before (numbers are guessable: anyone else gets a new ticket); any other opens
 * a new one. Auto-replies and bounces are accepted and dropped (event `email.ignored`); a
 * message that cannot be parsed is kept under DATA_DIR/mail/unparsed (event `email.unparsed`).
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { inArray } from 'drizzle-orm';
import { simpleParser, type ParsedMail } from 'mailparser';
import sanitizeHtml from 'sanitize-html';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { emailMessages } from '../../drizzle/schema';
import { byteLength, MAX_BODY_BYTES, MAX_META_BYTES, MAX_SUBJECT_LENGTH, type Entry } from '../../src/lib/ticket';
import { SYSTEM } from '../auth/principal';
import type { Config } from '../config';
import type { Services } from '../services';
import { ticketNumberIn } from '../ticket-index';
import type { Recipient } from './support-addresses';

export type InboxDeps = Pick<Services, 'db' | 'tickets' | 'customers' | 'events' | 'index' | 'logger' | 'supportAddresses'> & { config: Config };

export interface EmailInbound {
	port: number;
	close(): Promise<void>;
}

/** The answer an SMTP client gets for a refused message or recipient. */
function smtpError(code: number, message: string): Error {
	return Object.assign(new Error(message), { responseCode: code });
}

const TRUNCATED_MARKER = '\n\n[… message truncated: the full text is kept as an attachment]';

/** Starts listening on SMTP_HOST:SMTP_PORT; resolves once listening. */
export async function startEmailInbound(deps: InboxDeps): Promise<EmailInbound> {
	const { smtp } = deps.config;
	const inbox = new Inbox(deps);
	const recipient = (address: string) => deps.supportAddresses.match(address);

	const server = new SMTPServer({
		disabledCommands: ['AUTH', 'STARTTLS'],
		authOptional: true,
		size: smtp.maxEmailBytes,
		logger: false,
		// Shutdown waits this long for open SMTP sessions before closing them.
		closeTimeout: 3000,
		banner: 'Tandem inbound mail',
		onRcptTo(address, _session, callback) {
			if (!recipient(address.address)) return callback(smtpError(550, `No mailbox here by that name: ${address.address}`));
			callback();
		},
		onData(stream, session, callback) {
			const chunks: Buffer[] = [];
			let bytes = 0;
			stream.on('data', (chunk: Buffer) => {
				// Past the limit the message is refused anyway: stop holding it.
				if (bytes <= smtp.maxEmailBytes) chunks.push(chunk);
				bytes += chunk.length;
			});
			stream.once('error', (error) => callback(error));
			stream.once('end', () => {
				if (stream.sizeExceeded) {
					return callback(smtpError(552, `Message exceeds the fixed maximum message size of ${smtp.maxEmailBytes} bytes`));
				}
				const recipients = session.envelope.rcptTo.map((r) => recipient(r.address)).filter((r) => r !== null);
				inbox
					.receive(Buffer.concat(chunks), envelopeSender(session), recipients)
					.then(() => callback(null, 'Message accepted'))
					.catch((error: unknown) => {
						deps.logger.error({ err: error }, 'inbound email not stored');
						callback(smtpError(451, 'Temporary failure storing the message, try again later'));
					});
			});
		}
	});
	server.on('error', (error) => deps.logger.warn({ err: error }, 'smtp connection error'));

	await new Promise<void>((resolve, reject) => {
		server.server.once('error', reject);
		server.listen(smtp.port, smtp.host, () => {
			server.server.off('error', reject);
			resolve();
		});
	});
	const { port } = server.server.address() as AddressInfo;
	deps.logger.info({ port, host: smtp.host, address: smtp.supportAddress }, 'smtp listening');
	return {
		port,
		close: () => new Promise<void>((resolve) => server.close(() => resolve()))
	};
}

/** The envelope sender, '' for a null sender (`MAIL FROM:<>`, a bounce). */
function envelopeSender(session: SMTPServerSession): string {
	const from = session.envelope.mailFrom;
	return from ? from.address : '';
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** A header as text, whatever shape mailparser gave it. */
function headerText(mail: ParsedMail, name: string): string | null {
	const value = mail.headers.get(name) as unknown;
	if (value === undefined || value === null) return null;
	if (typeof value === 'string') return value;
	if (Array.isArray(value)) return value.map(String).join(', ');
	if (typeof value === 'object' && 'value' in value) return String((value as { value: unknown }).value);
	return String(value);
}

/** Why a message is an automatic one that must not open a ticket, or null. */
export function autoReplyReason(mail: ParsedMail): string | null {
	const autoSubmitted = headerText(mail, 'auto-submitted')?.trim().toLowerCase();
	if (autoSubmitted && autoSubmitted !== 'no') return `Auto-Submitted: ${autoSubmitted}`;
	const precedence = headerText(mail, 'precedence')?.trim().toLowerCase();
	if (precedence && ['bulk', 'junk', 'list', 'auto_reply'].includes(precedence)) return `Precedence: ${precedence}`;
	if (mail.headers.has('x-autoreply')) return 'X-Autoreply';
	return null;
}

function normaliseMessageId(id: string): string {
	const trimmed = id.trim();
	return trimmed.startsWith('<') ? trimmed : `<${trimmed}>`;
}

interface StoredAttachment {
	name: string;
	contentType: string;
	size: number;
	sha256: string;
	skipped?: true;
}

/** Stores received messages as ticket entries: shared by the SMTP listener and the IMAP fetchers (imap.ts). */
export class Inbox {
	private readonly attachmentsDir: string;
	private readonly unparsedDir: string;

	constructor(private readonly deps: InboxDeps) {
		this.attachmentsDir = path.join(deps.config.dataDir, 'attachments');
		this.unparsedDir = path.join(deps.config.dataDir, 'mail', 'unparsed');
	}

	async receive(raw: Buffer, sender: string, recipients: Recipient[]): Promise<void> {
		const { events } = this.deps;
		if (sender === '') {
			events.record({ actor: 'system', type: 'email.ignored', data: { reason: 'null sender (bounce)' } });
			return;
		}
		let mail: ParsedMail;
		try {
			mail = await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true, checksumAlgo: 'sha256' });
			// A message without a header section or a sender cannot be answered: kept as unparsed.
			if (mail.headers.size === 0 || !mail.from?.value[0]?.address) throw new Error('no From header');
		} catch (error) {
			const file = this.keepUnparsed(raw);
			events.record({ actor: 'system', type: 'email.unparsed', data: { file, sender, error: (error as Error).message } });
			this.deps.logger.warn({ file, err: error }, 'inbound email could not be parsed');
			return;
		}
		const messageId = mail.messageId ? normaliseMessageId(mail.messageId) : `<${sha256(raw)}@tandem.invalid>`;
		const reason = autoReplyReason(mail);
		if (reason) {
			events.record({ actor: 'system', type: 'email.ignored', data: { reason, messageId, sender } });
			return;
		}
		// A message delivered again (the sender did not see our 250) is not stored twice.
		if (this.known([messageId]).length) return;

		const from = mail.from!.value[0]!;
		const customer = this.deps.customers.findOrCreate('email', from.address!, from.name || undefined);
		const subject = (mail.subject ?? '').trim();
		const entry = this.entryFor(mail, messageId, customer.id);
		const ticketId = await this.threadOf(
			mail,
			recipients.map((r) => r.tag).filter(Boolean),
			subject,
			customer.id
		);
		const { db, supportAddresses } = this.deps;
		const mailbox = recipients[0]?.mailbox ?? null;
		const remember = (id: string) =>
			db.insert(emailMessages).values({ messageId, ticketId: id, entryId: entry.id, mailbox, createdAt: entry.createdAt }).onConflictDoNothing().run();
		if (ticketId) {
			await this.deps.tickets.append(ticketId, entry, SYSTEM);
			remember(ticketId);
		} else {
			this.deps.tickets.createFromChannel(
				{
					subject: (subject || '(no subject)').slice(0, MAX_SUBJECT_LENGTH),
					requesterId: customer.id,
					channel: 'email',
					entry,
					groupId: mailbox ? supportAddresses.groupOf(mailbox) : null
				},
				remember
			);
		}
	}

	/** The ticket this message continues, or null for a new conversation. */
	private async threadOf(mail: ParsedMail, recipientTags: string[], subject: string, senderId: string): Promise<string | null> {
		const refs = [mail.inReplyTo ?? '', ...(Array.isArray(mail.references) ? mail.references : mail.references ? [mail.references] : [])]
			.flatMap((r) => r.split(/\s+/))
			.filter(Boolean)
			.map(normaliseMessageId);
		const known = this.known(refs);
		if (known[0]) return known[0].ticketId;
		for (const tag of recipientTags) {
			const id = this.existingTicket(tag);
			if (id) return id;
		}
		for (const match of subject.matchAll(/\[#([A-Za-z0-9_.:-]{1,64})\]/g)) {
			const number = ticketNumberIn(match[1]!);
			const id = number === null ? this.existingTicket(match[1]!) : await this.numberedTicketOf(number, senderId);
			if (id) return id;
		}
		return null;
	}

	/** The ticket numbered `number` if `senderId` is its requester or has written in it, else null. */
	private async numberedTicketOf(number: number, senderId: string): Promise<string | null> {
		const row = this.deps.index.byNumber(number);
		if (!row) return null;
		if (row.requesterId === senderId) return row.id;
		const { entries } = await this.deps.tickets.read(row.id, SYSTEM);
		return entries.some((e) => e.authorType === 'customer' && e.authorId === senderId) ? row.id : null;
	}

	private known(messageIds: string[]) {
		if (!messageIds.length) return [];
		return this.deps.db.select().from(emailMessages).where(inArray(emailMessages.messageId, messageIds)).all();
	}

	/** Ticket ids are ULIDs (upper case); mail clients may lower-case an address. */
	private existingTicket(id: string): string | null {
		for (const candidate of [id, id.toUpperCase()]) if (this.deps.index.get(candidate)) return candidate;
		return null;
	}

	private entryFor(mail: ParsedMail, messageId: string, customerId: string): Entry {
		const html = typeof mail.html === 'string' ? mail.html : '';
		const text = mail.text?.trim() ?? '';
		let body = text || (html ? sanitizeHtml(html, { allowedTags: [], allowedAttributes: {} }).trim() : '');
		const attachments = mail.attachments.map((a) => this.storeAttachment(a.content, a.filename ?? 'attachment', a.contentType, a.size));
		if (byteLength(body) > MAX_BODY_BYTES) {
			const full = Buffer.from(body, 'utf8');
			attachments.push(this.storeAttachment(full, 'message.txt', 'text/plain; charset=utf-8', full.length, true));
			body = truncateUtf8(body, MAX_BODY_BYTES - byteLength(TRUNCATED_MARKER)) + TRUNCATED_MARKER;
		}
		const meta: Record<string, unknown> = {
			messageId,
			subject: mail.subject ?? '',
			from: mail.from?.text ?? '',
			to: mail.to ? (Array.isArray(mail.to) ? mail.to.map((t) => t.text).join(', ') : mail.to.text) : ''
		};
		if (attachments.length) meta.attachments = attachments;
		if (html) meta.html = sanitizeHtml(html);
		if (byteLength(JSON.stringify(meta)) > MAX_META_BYTES) delete meta.html;
		if (byteLength(JSON.stringify(meta)) > MAX_META_BYTES) {
			meta.subject = String(meta.subject).slice(0, 500);
			meta.to = String(meta.to).slice(0, 1000);
			meta.from = String(meta.from).slice(0, 500);
			if (attachments.length) meta.attachments = attachments.slice(0, 50);
		}
		return {
			// One entry per Message-ID: a redelivery after a lost 250 appends nothing.
			id: `email.${sha256(messageId).slice(0, 40)}`,
			kind: 'message',
			channel: 'email',
			direction: 'in',
			visibility: 'public',
			authorType: 'customer',
			authorId: customerId,
			body,
			createdAt: Date.now(),
			meta: meta as Entry['meta']
		};
	}

	/** Content-addressed, written once: DATA_DIR/attachments/<sha256>. */
	private storeAttachment(content: Buffer, name: string, contentType: string, size: number, always = false): StoredAttachment {
		const hash = sha256(content);
		const listed: StoredAttachment = { name: name.slice(0, 255), contentType, size, sha256: hash };
		if (!always && size > this.deps.config.smtp.maxAttachmentBytes) return { ...listed, skipped: true };
		const file = path.join(this.attachmentsDir, hash);
		if (!fs.existsSync(file)) {
			fs.mkdirSync(this.attachmentsDir, { recursive: true });
			const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
			fs.writeFileSync(temp, content);
			fs.renameSync(temp, file);
		}
		return listed;
	}

	private keepUnparsed(raw: Buffer): string {
		fs.mkdirSync(this.unparsedDir, { recursive: true });
		const file = path.join(this.unparsedDir, `${Date.now()}-${randomBytes(6).toString('hex')}.eml`);
		fs.writeFileSync(file, raw);
		return file;
	}
}

/** The longest prefix of `text` of at most `max` UTF-8 bytes, not splitting a character. */
function truncateUtf8(text: string, max: number): string {
	const bytes = Buffer.from(text, 'utf8');
	if (bytes.length <= max) return text;
	let end = max;
	while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
	return bytes.subarray(0, end).toString('utf8');
}
