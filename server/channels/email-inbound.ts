/**
 * Inbound email: an SMTP server (smtp-server) that accepts mail for the support addresses
 * (support-addresses.ts), parses it
 * (mailparser) and writes it into a ticket as a customer's message. A message is answered 250 only
 * once its entry is stored; a temporary failure (storage unavailable, shutting down) answers 451 so
 * that the sending MTA retries, any other 554: it would fail the same way on every retry. The entry
 * always fits the ticket schema (MAIL_LIMITS): what does not fit is cut, and the original kept.
 *
 * Threading: a message whose In-Reply-To or References names a stored message, or that was sent to
 * `support+<ticketId>@…`, or whose subject carries `[#<ticketId>]`, joins that ticket; so does one
 * whose subject carries the ticket's number (`[#1042]`) when its sender is the ticket's requester,
 * has written in it before, or was copied on its mail (CC, or BCC of a reply) (numbers are
 * guessable: anyone else gets a new ticket); any other opens a new one.
 *
 * Side conversations by email: a message naming (In-Reply-To/References) a message of a side
 * conversation joins that side conversation, not the ticket's conversation, when its sender is one
 * of the side conversation's participants, and reopens it if it was closed; from anyone else such a
 * reference counts as unknown (the rules above then decide). A message with the ticket's tag and no
 * known reference, from someone other than the requester, joins the side conversation whose
 * participant sent it if exactly one open email side conversation of the ticket has them. A thread
 * of a ticket merged into another continues in that one. Auto-replies and bounces are accepted and dropped (event `email.ignored`); a
 * message that cannot be parsed is kept in the file store (server/files.ts), its hash in the event
 * `email.unparsed`.
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { DrizzleQueryError, inArray } from 'drizzle-orm';
import { simpleParser, type EmailAddress, type ParsedMail } from 'mailparser';
import pg from 'pg';
import sanitizeHtml from 'sanitize-html';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { byteLength, emailAddressSchema, MAX_BODY_BYTES, MAX_META_BYTES, MAX_RECIPIENTS, MAX_SUBJECT_LENGTH, type Entry, type SideConversation } from '../../src/lib/ticket';
import { SYSTEM } from '../auth/principal';
import type { Config } from '../config';
import { listenError } from '../lifecycle';
import type { Services } from '../services';
import { ticketNumberIn } from '../ticket-index';
import type { Recipient } from './support-addresses';

export type InboxDeps = Pick<Services, 'store' | 'tickets' | 'customers' | 'events' | 'index' | 'logger' | 'supportAddresses' | 'attachments'> & { config: Config };

export interface EmailInbound {
	port: number;
	close(): Promise<void>;
}

/** The answer an SMTP client gets for a refused message or recipient. */
function smtpError(code: number, message: string): Error {
	return Object.assign(new Error(message), { responseCode: code });
}

const TRUNCATED_MARKER = '\n\n[… message truncated: the full text is kept as an attachment]';

/**
 * Bounds on what an entry built from mail holds, so that it always fits the entry schema (`meta`
 * ≤ MAX_META_BYTES) whatever the mail carries: header values are cut, attachment names shortened,
 * attachments past the count summarised, and a Message-ID too long or odd to keep is replaced by
 * its hash. With control characters removed a value's JSON is at most twice its UTF-8 bytes, so the
 * worst case is ~15 KB: 3 headers × 2 KB + Message-ID 0.5 KB + (listed + 2 kept files) × 0.5 KB +
 * the CC list (valid addresses only: `addressesBytes` plus 3 bytes of JSON per address).
 */
const MAIL_LIMITS = {
	subjectBytes: 1000,
	addressesBytes: 1000,
	/** CC addresses looked at (ours and invalid ones are skipped, at most MAX_RECIPIENTS kept). */
	ccExamined: 100,
	messageIdBytes: 250,
	attachmentsListed: 12,
	nameBytes: 100,
	contentTypeBytes: 80
} as const;
const CUT_MARKER = '…[cut]';
const HASHED_ID_SUFFIX = '@hashed.tandem.invalid>';

/** Starts listening on SMTP_HOST:SMTP_PORT; resolves once listening. */
export async function startEmailInbound(deps: InboxDeps): Promise<EmailInbound> {
	const { smtp } = deps.config;
	const inbox = new Inbox(deps);
	const recipient = (address: string) => deps.supportAddresses.match(address);
	// Set once shutdown begins: a message whose storing fails from then on is for a retry.
	let closing = false;

	const server = new SMTPServer({
		disabledCommands: ['AUTH', 'STARTTLS'],
		authOptional: true,
		size: smtp.maxEmailBytes,
		logger: false,
		// Shutdown waits this long for open SMTP sessions before closing them.
		closeTimeout: 3000,
		banner: 'Tandem inbound mail',
		onRcptTo(address, _session, callback) {
			recipient(address.address)
				.then((found) => callback(found ? undefined : smtpError(550, `No mailbox here by that name: ${address.address}`)))
				.catch((error: unknown) => {
					deps.logger.error({ err: error }, 'looking up an inbound recipient failed');
					callback(smtpError(451, 'Temporary failure, try again later'));
				});
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
				Promise.all(session.envelope.rcptTo.map((r) => recipient(r.address)))
					.then((recipients) => inbox.receive(Buffer.concat(chunks), envelopeSender(session), recipients.filter((r) => r !== null)))
					.then(() => callback(null, 'Message accepted'))
					.catch((error: unknown) => {
						if (closing || isTemporary(error)) {
							deps.logger.error({ err: error }, 'inbound email not stored, the sender will retry');
							return callback(smtpError(451, 'Temporary failure storing the message, try again later'));
						}
						// Nothing a retry could change: say so, once, rather than defer it forever.
						deps.logger.warn({ err: error, sender: envelopeSender(session) }, 'inbound email refused for good');
						callback(smtpError(554, 'This message cannot be stored by the help desk and will not be on a retry'));
					});
			});
		}
	});
	server.on('error', (error) => deps.logger.warn({ err: error }, 'smtp connection error'));

	await new Promise<void>((resolve, reject) => {
		const fail = (error: NodeJS.ErrnoException) => reject(listenError('SMTP_PORT', smtp.host, smtp.port, error));
		server.server.once('error', fail);
		server.listen(smtp.port, smtp.host, () => {
			server.server.off('error', fail);
			resolve();
		});
	});
	const { port } = server.server.address() as AddressInfo;
	deps.logger.info({ port, host: smtp.host, address: smtp.supportAddress }, 'smtp listening');
	return {
		port,
		close: () => {
			closing = true;
			return new Promise<void>((resolve) => server.close(() => resolve()));
		}
	};
}

/**
 * Whether storing a message failed for a reason that passes: the storage unavailable or busy, the
 * disk full, the process shutting down (a system error). Anything else (what the mail turned into
 * was refused) fails the same way on every retry.
 */
function isTemporary(error: unknown): boolean {
	// A failed query comes wrapped by drizzle: the driver's error says why.
	if (error instanceof DrizzleQueryError && error.cause) return isTemporary(error.cause);
	if (!(error instanceof Error)) return false;
	if (error.name === 'StorageError') return true;
	const code = String((error as Error & { code?: string }).code);
	if (error.name === 'SqliteError') return !code.startsWith('SQLITE_CONSTRAINT');
	// PostgreSQL (SQLSTATE): the connection, a conflict with another transaction, resources, shutdown.
	if (error instanceof pg.DatabaseError) return /^(08|40|53|57|58)/.test(code);
	return 'syscall' in error;
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

/**
 * The key a Message-ID is stored and threaded by: the id itself, or, when it is too long or holds
 * anything but printable ASCII, a hash of it (a reply naming the same id finds the same key).
 */
function messageKey(id: string): string {
	const trimmed = id.trim();
	const normalised = trimmed.startsWith('<') ? trimmed : `<${trimmed}>`;
	if (normalised.length <= MAIL_LIMITS.messageIdBytes && /^[\x21-\x7e]+$/.test(normalised)) return normalised;
	return `<${sha256(normalised)}${HASHED_ID_SUFFIX}`;
}

/** `text` without control characters, cut to at most `maxBytes` UTF-8 bytes (marked). */
function clip(text: string, maxBytes: number): string {
	const clean = text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
	return byteLength(clean) <= maxBytes ? clean : truncateUtf8(clean, maxBytes - byteLength(CUT_MARKER)) + CUT_MARKER;
}

/** An attachment's name within MAIL_LIMITS.nameBytes, keeping its extension. */
function shortName(name: string): string {
	const extension = /\.[A-Za-z0-9]{1,10}$/.exec(name)?.[0] ?? '';
	const clipped = clip(name, MAIL_LIMITS.nameBytes);
	return clipped === name || !extension ? clipped : clip(name.slice(0, -extension.length), MAIL_LIMITS.nameBytes - extension.length) + extension;
}

/** A message recorded meanwhile, noticed inside the creating transaction: rolls it back. */
class DuplicateMessage extends Error {}

interface StoredAttachment {
	name: string;
	contentType: string;
	size: number;
	sha256: string;
	skipped?: true;
}

/** Stores received messages as ticket entries: shared by the SMTP listener and the IMAP fetchers (imap.ts). */
export class Inbox {
	constructor(private readonly deps: InboxDeps) {}

	async receive(raw: Buffer, sender: string, recipients: Recipient[]): Promise<void> {
		const { events } = this.deps;
		if (sender === '') {
			await events.record({ actor: 'system', type: 'email.ignored', data: { reason: 'null sender (bounce)' } });
			return;
		}
		let mail: ParsedMail;
		try {
			mail = await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true, checksumAlgo: 'sha256' });
			// A message without a header section or a sender cannot be answered: kept as unparsed.
			if (mail.headers.size === 0 || !mail.from?.value[0]?.address) throw new Error('no From header');
		} catch (error) {
			// Kept as received in the file store, where every node and the CLI can read it (`file get`).
			const kept = await this.deps.attachments.files.put(raw);
			await events.record({ actor: 'system', type: 'email.unparsed', data: { sha256: kept, size: raw.length, sender, error: (error as Error).message } });
			this.deps.logger.warn({ sha256: kept, err: error }, 'inbound email could not be parsed');
			return;
		}
		const messageId = mail.messageId ? messageKey(mail.messageId) : `<${sha256(raw)}@tandem.invalid>`;
		const reason = autoReplyReason(mail);
		if (reason) {
			await events.record({ actor: 'system', type: 'email.ignored', data: { reason, messageId, sender } });
			return;
		}
		// A message delivered again (the sender did not see our 250) is not stored twice.
		if ((await this.known([messageId])).length) return;

		const from = mail.from!.value[0]!;
		const customer = await this.deps.customers.findOrCreate('email', from.address!, from.name || undefined);
		const subject = (mail.subject ?? '').trim();
		const entry = await this.entryFor(mail, raw, messageId, customer.id);
		const thread = await this.followMerges(
			await this.threadOf(
				mail,
				recipients.map((r) => r.tag).filter(Boolean),
				subject,
				{ id: customer.id, address: from.address!.toLowerCase() }
			)
		);
		const { store, supportAddresses } = this.deps;
		const { emailMessages } = store.tables;
		const mailbox = recipients[0]?.mailbox ?? null;
		/** Records the Message-ID; false when it was recorded already (the key decides between concurrent ones). */
		const remember = async (id: string, sideId: string | null = null) =>
			(
				await store.db
					.insert(emailMessages)
					.values({ messageId, ticketId: id, entryId: entry.id, mailbox, sideId, createdAt: entry.createdAt })
					.onConflictDoNothing()
					.returning({ messageId: emailMessages.messageId })
			).length > 0;
		if (thread?.sideId) {
			// Side conversations are the agents' business: never shown to the customer.
			await this.deps.tickets.appendToSide(thread.ticketId, thread.sideId, { ...entry, visibility: 'internal' });
			await remember(thread.ticketId, thread.sideId);
		} else if (thread) {
			await this.deps.tickets.append(thread.ticketId, entry, SYSTEM);
			await remember(thread.ticketId);
		} else {
			const groupId = mailbox ? await supportAddresses.groupOf(mailbox) : null;
			try {
				// Remembered in the creating transaction: of the same message delivered at once (SMTP
				// and IMAP, or two processes) one opens the ticket, the others roll theirs back.
				await this.deps.tickets.createFromChannel(
					{ subject: (subject || '(no subject)').slice(0, MAX_SUBJECT_LENGTH), requesterId: customer.id, channel: 'email', entry, groupId },
					async (id) => {
						if (!(await remember(id))) throw new DuplicateMessage();
					}
				);
			} catch (error) {
				if (!(error instanceof DuplicateMessage)) throw error;
			}
		}
	}

	/** The ticket (and side conversation) this message continues, or null for a new conversation. */
	private async threadOf(mail: ParsedMail, recipientTags: string[], subject: string, sender: MailSender): Promise<Thread | null> {
		const refs = [mail.inReplyTo ?? '', ...(Array.isArray(mail.references) ? mail.references : mail.references ? [mail.references] : [])]
			.flatMap((r) => r.split(/\s+/))
			.filter(Boolean)
			.map(messageKey);
		const known = await this.known(refs);
		for (const row of known) {
			if (row.sideId && (await this.isParticipant(row.ticketId, row.sideId, sender.address))) return { ticketId: row.ticketId, sideId: row.sideId };
		}
		const inConversation = known.find((row) => row.sideId === null);
		if (inConversation) return { ticketId: inConversation.ticketId, sideId: null };
		for (const tag of recipientTags) {
			const id = await this.existingTicket(tag);
			if (id) return this.taggedThread(id, sender, true);
		}
		for (const match of subject.matchAll(/\[#([A-Za-z0-9_.:-]{1,64})\]/g)) {
			const number = ticketNumberIn(match[1]!);
			const id = number === null ? await this.existingTicket(match[1]!) : ((await this.deps.index.byNumber(number))?.id ?? null);
			const thread = id ? await this.taggedThread(id, sender, number === null) : null;
			if (thread) return thread;
		}
		return null;
	}

	/**
	 * Where a thread of a ticket that was merged into another continues: in that one, in the same
	 * side conversation (the merge kept its id) or else in the conversation.
	 */
	private async followMerges(thread: Thread | null): Promise<Thread | null> {
		if (!thread) return null;
		const ticketId = await this.deps.tickets.mergeTarget(thread.ticketId);
		if (ticketId === thread.ticketId) return thread;
		const sideKept = thread.sideId !== null && (await this.deps.tickets.sides(ticketId)).some((side) => side.id === thread.sideId);
		return { ticketId, sideId: sideKept ? thread.sideId : null };
	}

	/**
	 * Where a message tagged with ticket `ticketId` goes: the requester's into the conversation;
	 * a side participant's into the one open email side conversation that has them; anyone else's
	 * into the conversation when the tag proves the ticket (its id: `proven`), they have written in
	 * it before or were copied on one of its emails (CC, or BCC of a reply) (a number is
	 * guessable), else nowhere (null: a new ticket).
	 */
	private async taggedThread(ticketId: string, sender: MailSender, proven: boolean): Promise<Thread | null> {
		const { requesterId, entries } = await this.deps.tickets.read(ticketId, SYSTEM);
		if (requesterId === sender.id) return { ticketId, sideId: null };
		const sides = (await this.deps.tickets.sides(ticketId)).filter((side) => side.status === 'open' && isParticipantOf(side, sender.address));
		if (sides.length === 1) return { ticketId, sideId: sides[0]!.id };
		const copied = (e: Entry) =>
			e.channel === 'email' && [e.meta?.cc, e.meta?.bcc].some((list) => Array.isArray(list) && list.some((a) => String(a).toLowerCase() === sender.address));
		if (proven || entries.some((e) => (e.authorType === 'customer' && e.authorId === sender.id) || copied(e))) return { ticketId, sideId: null };
		return null;
	}

	/** Whether `address` is a participant of email side conversation `sideId` of ticket `ticketId`. */
	private async isParticipant(ticketId: string, sideId: string, address: string): Promise<boolean> {
		const side = (await this.deps.tickets.sides(ticketId)).find((s) => s.id === sideId);
		return !!side && isParticipantOf(side, address);
	}

	/**
	 * The CC addresses of `mail` kept on its entry, and whether any were left out: valid addresses
	 * only, without the support addresses (ours) and the sender, at most MAX_RECIPIENTS within
	 * MAIL_LIMITS.addressesBytes, from the first MAIL_LIMITS.ccExamined listed.
	 */
	private async copiesOf(mail: ParsedMail, sender: string): Promise<{ cc: string[]; cut: boolean }> {
		const listed = (Array.isArray(mail.cc) ? mail.cc : mail.cc ? [mail.cc] : []).flatMap((group) => flattenAddresses(group.value));
		// A mail may list thousands: only the first few are looked at.
		const examined = listed.slice(0, MAIL_LIMITS.ccExamined);
		const cc: string[] = [];
		let cut = examined.length < listed.length;
		for (const address of examined) {
			if (address.toLowerCase() === sender.toLowerCase() || (await this.deps.supportAddresses.match(address))) continue;
			if (cc.some((kept) => kept.toLowerCase() === address.toLowerCase())) continue;
			const fits = cc.length < MAX_RECIPIENTS && byteLength([...cc, address].join(', ')) <= MAIL_LIMITS.addressesBytes;
			if (fits && emailAddressSchema.safeParse(address).success) cc.push(address);
			else cut = true;
		}
		return { cc, cut };
	}

	private async known(messageIds: string[]) {
		if (!messageIds.length) return [];
		const { emailMessages } = this.deps.store.tables;
		return this.deps.store.db.select().from(emailMessages).where(inArray(emailMessages.messageId, messageIds));
	}

	/** Ticket ids are ULIDs (upper case); mail clients may lower-case an address. */
	private async existingTicket(id: string): Promise<string | null> {
		for (const candidate of [id, id.toUpperCase()]) if (await this.deps.index.get(candidate)) return candidate;
		return null;
	}

	private async entryFor(mail: ParsedMail, raw: Buffer, messageId: string, customerId: string): Promise<Entry> {
		const html = typeof mail.html === 'string' ? mail.html : '';
		const text = mail.text?.trim() ?? '';
		let body = text || (html ? sanitizeHtml(html, { allowedTags: [], allowedAttributes: {} }).trim() : '');
		const listed = mail.attachments.slice(0, MAIL_LIMITS.attachmentsListed);
		const omitted = mail.attachments.slice(listed.length);
		const attachments: StoredAttachment[] = [];
		for (const a of listed) attachments.push(await this.storeAttachment(a.content, a.filename ?? 'attachment', a.contentType, a.size));
		if (byteLength(body) > MAX_BODY_BYTES) {
			const full = Buffer.from(body, 'utf8');
			attachments.push(await this.storeAttachment(full, 'message.txt', 'text/plain; charset=utf-8', full.length, true));
			body = truncateUtf8(body, MAX_BODY_BYTES - byteLength(TRUNCATED_MARKER)) + TRUNCATED_MARKER;
		}
		const headers = {
			subject: clip(mail.subject ?? '', MAIL_LIMITS.subjectBytes),
			from: clip(mail.from?.text ?? '', MAIL_LIMITS.addressesBytes),
			to: clip(mail.to ? (Array.isArray(mail.to) ? mail.to.map((t) => t.text).join(', ') : mail.to.text) : '', MAIL_LIMITS.addressesBytes)
		};
		const meta: Record<string, unknown> = { messageId, ...headers };
		const copies = await this.copiesOf(mail, mail.from?.value[0]?.address ?? '');
		if (copies.cc.length) meta.cc = copies.cc;
		if (omitted.length) meta.attachmentsOmitted = { count: omitted.length, bytes: omitted.reduce((sum, a) => sum + a.size, 0) };
		// Whatever is cut or left out is in the original message, kept (and listed first) in full.
		const keepOriginal = async () => attachments.unshift(await this.storeAttachment(raw, 'original.eml', 'message/rfc822', raw.length, true));
		const cut = copies.cut || omitted.length > 0 || messageId.endsWith(HASHED_ID_SUFFIX) || Object.values(headers).some((value) => value.endsWith(CUT_MARKER));
		if (cut) await keepOriginal();
		// The HTML goes in only where there is room left; without it the rest fits by construction.
		const sanitized = html ? sanitizeHtml(html) : '';
		if (sanitized && byteLength(JSON.stringify({ ...meta, attachments, html: sanitized })) <= MAX_META_BYTES) meta.html = sanitized;
		else if (sanitized && !cut) await keepOriginal();
		if (attachments.length) meta.attachments = attachments;
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

	/** Content-addressed, written once (server/attachments.ts); past MAX_ATTACHMENT_BYTES only listed. */
	private async storeAttachment(content: Buffer, name: string, contentType: string, size: number, always = false): Promise<StoredAttachment> {
		const listed: StoredAttachment = { name: shortName(name), contentType: clip(contentType, MAIL_LIMITS.contentTypeBytes), size, sha256: sha256(content) };
		if (!always && size > this.deps.config.smtp.maxAttachmentBytes) return { ...listed, skipped: true };
		await this.deps.attachments.files.put(content);
		return listed;
	}

}

/** Who sent a message: the customer record of its From address, and that address (lower case). */
interface MailSender {
	id: string;
	address: string;
}

/** Where a message goes: a ticket's conversation, or one of its side conversations. */
interface Thread {
	ticketId: string;
	sideId: string | null;
}

function isParticipantOf(side: SideConversation, address: string): boolean {
	return side.channel === 'email' && side.participants.some((p) => p.toLowerCase() === address);
}

/** The addresses of a parsed address list, groups (`team: a@…, b@…;`) opened up. */
function flattenAddresses(list: EmailAddress[]): string[] {
	return list.flatMap((a) => (a.group ? flattenAddresses(a.group) : a.address ? [a.address] : []));
}

/** The longest prefix of `text` of at most `max` UTF-8 bytes, not splitting a character. */
function truncateUtf8(text: string, max: number): string {
	const bytes = Buffer.from(text, 'utf8');
	if (bytes.length <= max) return text;
	let end = max;
	while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
	return bytes.subarray(0, end).toString('utf8');
}
