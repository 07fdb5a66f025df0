/**
 * Fetching support mail from IMAP mailboxes (imapflow): one connection per mailbox set on the admin
 * page, the folder selected and IDLE for pushes (imapflow polls with NOOP on a server without IDLE),
 * plus a read every IMAP_POLL_MS. Each message goes through the SMTP listener's ingestion
 * (email-inbound.ts: parse, threading, Message-ID dedupe, attachments, auto-reply rules).
 *
 * Exactly once: messages are read in UID order; after one is stored the mailbox's cursor
 * (`stored_uid`) is advanced, and the after-fetch action (flag \Seen, move, delete) runs only on
 * stored UIDs, after which `acted_uid` follows. A stop between storing and advancing reads the
 * message again, and its Message-ID (and entry id) stores nothing twice; a stop before the action
 * finishes it on the next connection (UIDs between `acted_uid` and `stored_uid`). A new
 * UIDVALIDITY reads the folder from the start, again deduplicated by Message-ID.
 *
 * A message over MAX_EMAIL_BYTES (by its RFC822.SIZE, before its body is fetched) is not fetched:
 * event `email.ignored`, and it stays in the mailbox untouched. Connection failures (a refused
 * sign-in, the server going away) are shown per mailbox on the admin page, logged, and retried
 * after IMAP_RETRY_MS, doubling up to 5 minutes. Nothing here logs a password or token.
 */
import { ImapFlow, type FetchMessageObject } from 'imapflow';
import type { Logger } from '../log';
import type { Inbox } from './email-inbound';
import type { ImapMailboxes, ImapMailboxSettings } from './imap-mailboxes';
import type { Recipient, SupportAddresses } from './support-addresses';
import type { ImapMailboxStatus } from '../../src/lib/api/imap';
import type { Events } from '../events';

/** Messages whose size and headers are fetched in one command; their bodies come one by one. */
const BATCH = 50;
const MAX_RETRY_MS = 5 * 60_000;
/** Room for the protocol around the largest message: a server sending more is cut off. */
const LITERAL_SLACK = 64 * 1024;

export interface ImapFetchingDeps {
	mailboxes: ImapMailboxes;
	supportAddresses: SupportAddresses;
	inbox: Inbox;
	events: Events;
	logger: Logger;
	settings: { pollMs: number; retryMs: number; maxEmailBytes: number };
}

/** Starts a fetcher per saved mailbox and follows the admin page's changes; `close` stops them all. */
export function startImapFetching(deps: ImapFetchingDeps): { close(): Promise<void> } {
	const fetchers = new Map<string, MailboxFetcher>();
	// Restarts run one after another, in the order the changes came: each reads the settings then.
	let restarts = Promise.resolve();
	let closed = false;
	const restart = (address: string) => {
		restarts = restarts
			.then(async () => {
				if (closed) return;
				const previous = fetchers.get(address);
				fetchers.delete(address);
				const settings = await deps.mailboxes.settingsOf(address);
				const next = settings && !closed ? new MailboxFetcher(settings, deps) : null;
				if (next) fetchers.set(address, next);
				// One connection per mailbox at a time: the new one starts once the old one has stopped.
				await previous?.stop();
				next?.start();
			})
			.catch((error: unknown) => deps.logger.error({ err: error, mailbox: address }, 'starting an imap fetcher failed'));
	};
	const unsubscribe = deps.mailboxes.onChange(restart);
	restarts = deps.mailboxes
		.settings()
		.then((all) => all.forEach(({ address }) => restart(address)))
		.catch((error: unknown) => deps.logger.error({ err: error }, 'reading the imap mailboxes failed'));
	return {
		async close() {
			closed = true;
			unsubscribe();
			await restarts;
			await Promise.all([...fetchers.values()].map((f) => f.stop()));
			fetchers.clear();
		}
	};
}

/** What went wrong, in words for an admin; never the command sent (it may carry the password). */
export function describeImapError(error: unknown, settings: Pick<ImapMailboxSettings, 'host' | 'port' | 'auth' | 'folder'>): string {
	const e = (error ?? {}) as { message?: string; code?: string; authenticationFailed?: boolean; responseText?: string; tlsFailed?: boolean; mailboxMissing?: boolean };
	const server = e.responseText ? ` (the server said: ${e.responseText})` : '';
	if (e.authenticationFailed) {
		const what = settings.auth === 'oauth2' ? 'the user name and access token (it may have expired)' : 'the user name and password';
		return `Sign-in refused by ${settings.host}:${settings.port}: check ${what}${server}`;
	}
	if (e.mailboxMissing) return `The folder "${settings.folder}" does not exist on ${settings.host}${server}`;
	if (e.tlsFailed) return `TLS with ${settings.host}:${settings.port} failed: ${e.message ?? 'unknown error'}`;
	if (e.code === 'ECONNREFUSED') return `Cannot reach ${settings.host}:${settings.port}: connection refused`;
	if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return `Cannot resolve the host name ${settings.host}`;
	if (e.code === 'CONNECT_TIMEOUT' || e.code === 'ETIMEDOUT') return `Cannot reach ${settings.host}:${settings.port}: timed out`;
	return `${e.message ?? String(error)}${server}`.slice(0, 500);
}

/** The addresses of a header block's To, Cc, Delivered-To and X-Original-To lines. */
function headerAddresses(headers: Buffer | undefined): string[] {
	if (!headers) return [];
	return headers
		.toString('latin1')
		.replace(/\r?\n[ \t]+/g, ' ')
		.split(/\r?\n/)
		.filter((line) => /^(to|cc|delivered-to|x-original-to):/i.test(line))
		.flatMap((line) => line.match(/[^\s<>,;:"()]+@[^\s<>,;:"()]+/g) ?? []);
}

/** `Return-Path: <>` marks a bounce; otherwise the envelope's sender (or the From) stands for it. */
function senderOf(message: FetchMessageObject): string {
	const returnPath = message.headers?.toString('latin1').match(/^return-path:\s*<([^>]*)>/im);
	if (returnPath) return returnPath[1]!.trim();
	return message.envelope?.sender?.[0]?.address ?? message.envelope?.from?.[0]?.address ?? 'unknown';
}

class MailboxFetcher {
	private client: ImapFlow | null = null;
	private stopped = false;
	private retryMs: number;
	private retryTimer: NodeJS.Timeout | null = null;
	private pollTimer: NodeJS.Timeout | null = null;
	private sync: Promise<void> | null = null;
	private syncAgain = false;

	constructor(
		private readonly settings: ImapMailboxSettings,
		private readonly deps: ImapFetchingDeps
	) {
		this.retryMs = deps.settings.retryMs;
	}

	private get address() {
		return this.settings.address;
	}

	/** Connects; whatever goes wrong is this mailbox's failure, never the process's. */
	start(): void {
		this.connect().catch((error: unknown) => this.failed(error));
	}

	async stop(): Promise<void> {
		this.stopped = true;
		if (this.retryTimer) clearTimeout(this.retryTimer);
		if (this.pollTimer) clearInterval(this.pollTimer);
		// The message in hand is stored first; the loop stops before the next one.
		await this.sync?.catch(() => {});
		const client = this.client;
		this.client = null;
		if (client) await client.logout().catch(() => client.close());
	}

	/** A stopped fetcher reports nothing more: its successor (or nobody) owns the status. */
	private report(change: Partial<ImapMailboxStatus>): void {
		if (!this.stopped) this.deps.mailboxes.report(this.address, change);
	}

	private async connect(): Promise<void> {
		if (this.stopped) return;
		const { host, port, tls, username, auth, secret, folder } = this.settings;
		this.report({ state: 'connecting' });
		const client = new ImapFlow({
			host,
			port,
			secure: tls === 'tls',
			doSTARTTLS: tls === 'starttls',
			auth: auth === 'oauth2' ? { user: username, accessToken: secret } : { user: username, pass: secret },
			logger: false,
			maxLiteralSize: this.deps.settings.maxEmailBytes + LITERAL_SLACK,
			maxResponseSize: 2 * (this.deps.settings.maxEmailBytes + LITERAL_SLACK),
			connectionTimeout: 30_000
		});
		// Without a listener an 'error' event would end the process.
		client.on('error', (error: unknown) => this.deps.logger.debug({ mailbox: this.address, error: describeImapError(error, this.settings) }, 'imap connection error'));
		client.on('close', () => {
			if (this.client !== client) return;
			this.client = null;
			if (this.pollTimer) clearInterval(this.pollTimer);
			if (!this.stopped) this.failed(new Error('the server closed the connection'));
		});
		client.on('exists', () => this.requestSync());
		try {
			await client.connect();
			if (this.settings.afterFetch === 'move') await client.mailboxCreate(this.settings.moveTo!).catch(() => {});
			await client.mailboxOpen(folder);
		} catch (error) {
			client.close();
			this.failed(error);
			return;
		}
		if (this.stopped) {
			await client.logout().catch(() => client.close());
			return;
		}
		this.client = client;
		this.retryMs = this.deps.settings.retryMs;
		this.report({ state: 'connected', lastError: null });
		this.deps.logger.info({ mailbox: this.address, host, port, folder, idle: client.capabilities.has('IDLE') }, 'imap connected');
		this.pollTimer = setInterval(() => this.requestSync(), this.deps.settings.pollMs);
		this.requestSync();
	}

	/** Shows and logs the failure, then reconnects after a growing wait. */
	private failed(error: unknown): void {
		const message = describeImapError(error, this.settings);
		this.report({ state: 'failing', lastError: message, lastErrorAt: Date.now() });
		this.deps.logger.warn({ mailbox: this.address, error: message, retryInMs: this.retryMs }, 'imap mailbox failing');
		if (this.stopped || this.retryTimer) return;
		this.retryTimer = setTimeout(() => {
			this.retryTimer = null;
			this.start();
		}, this.retryMs);
		this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
	}

	/** Reads the folder now, or once more after the read under way. */
	private requestSync(): void {
		if (this.sync) {
			this.syncAgain = true;
			return;
		}
		this.sync = (async () => {
			do {
				this.syncAgain = false;
				const client = this.client;
				if (!client || this.stopped) return;
				try {
					await this.readFolder(client);
					this.report({ lastFetchAt: Date.now() });
					// Wait for pushes now rather than after imapflow's idle delay; the next command ends it.
					if (!this.syncAgain) void client.idle().catch(() => {});
				} catch (error) {
					// The connection is in an unknown state: start over on a new one.
					if (this.client === client) {
						this.client = null;
						if (this.pollTimer) clearInterval(this.pollTimer);
						client.close();
						this.failed(error);
					}
					return;
				}
			} while (this.syncAgain && !this.stopped);
		})()
			.catch((error: unknown) => this.failed(error))
			.finally(() => (this.sync = null));
	}

	private async readFolder(client: ImapFlow): Promise<void> {
		const { mailboxes } = this.deps;
		const box = client.mailbox;
		if (!box) throw new Error('no folder selected');
		const uidValidity = String(box.uidValidity);
		let cursor = await mailboxes.cursor(this.address);
		if (cursor.uidValidity !== uidValidity) {
			if (cursor.uidValidity !== null) this.deps.logger.warn({ mailbox: this.address, was: cursor.uidValidity, now: uidValidity }, 'imap UIDVALIDITY changed: reading the folder again');
			await mailboxes.resetCursor(this.address, uidValidity);
			cursor = { uidValidity, storedUid: 0, actedUid: 0 };
		}
		// An action a stop interrupted.
		if (cursor.actedUid < cursor.storedUid) await this.act(client, await this.describe(client, `${cursor.actedUid + 1}:${cursor.storedUid}`), cursor.storedUid);

		const found = await client.search({ uid: `${cursor.storedUid + 1}:*` }, { uid: true });
		// `n:*` always names the newest message, even one below n.
		const uids = (found || []).filter((uid) => uid > cursor.storedUid).sort((a, b) => a - b);
		for (let i = 0; i < uids.length && !this.stopped; i += BATCH) {
			const batch = uids.slice(i, i + BATCH);
			const messages = await this.describe(client, batch.join(','));
			let last = cursor.storedUid;
			for (const message of messages) {
				if (this.stopped) break;
				await this.store(client, message);
				await mailboxes.setStored(this.address, message.uid);
				last = message.uid;
			}
			await this.act(client, messages.filter((m) => m.uid <= last), last);
		}
	}

	/** UID, size, envelope and addressing headers of the messages in `range`, in UID order. */
	private async describe(client: ImapFlow, range: string): Promise<FetchMessageObject[]> {
		const messages = await client.fetchAll(range, { uid: true, size: true, envelope: true, headers: ['return-path', 'to', 'cc', 'delivered-to', 'x-original-to'] }, { uid: true });
		return messages.sort((a, b) => a.uid - b.uid);
	}

	private tooBig(message: FetchMessageObject): boolean {
		return (message.size ?? 0) > this.deps.settings.maxEmailBytes;
	}

	private async store(client: ImapFlow, message: FetchMessageObject): Promise<void> {
		if (this.tooBig(message)) {
			const data = { reason: 'larger than MAX_EMAIL_BYTES', mailbox: this.address, uid: message.uid, size: message.size };
			await this.deps.events.record({ actor: 'system', type: 'email.ignored', data });
			this.deps.logger.warn(data, 'imap message too large: left in the mailbox');
			return;
		}
		const fetched = await client.fetchOne(String(message.uid), { uid: true, source: true }, { uid: true });
		if (!fetched || !fetched.source) return; // expunged meanwhile
		await this.deps.inbox.receive(fetched.source, senderOf(message), await this.recipients(message));
	}

	/** The mailbox's own address first (its group, its From for replies), then plus-addresses for threading. */
	private async recipients(message: FetchMessageObject): Promise<Recipient[]> {
		const matched = await Promise.all(headerAddresses(message.headers).map((address) => this.deps.supportAddresses.match(address)));
		const tagged = matched.filter((r): r is Recipient => r !== null && r.tag !== '');
		return [{ mailbox: this.address, tag: '' }, ...tagged];
	}

	/** Flags, moves or deletes the stored ones of `messages`; the cursor then says so up to `upTo`. */
	private async act(client: ImapFlow, messages: FetchMessageObject[], upTo: number): Promise<void> {
		const uids = messages.filter((m) => !this.tooBig(m)).map((m) => m.uid);
		if (uids.length) {
			const range = uids.join(',');
			const { afterFetch, moveTo } = this.settings;
			if (afterFetch === 'seen') await client.messageFlagsAdd(range, ['\\Seen'], { uid: true });
			else if (afterFetch === 'move') await client.messageMove(range, moveTo!, { uid: true });
			else await client.messageDelete(range, { uid: true });
		}
		await this.deps.mailboxes.setActed(this.address, upTo);
	}
}
