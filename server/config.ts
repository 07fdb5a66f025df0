/**
 * Configuration: read from the environment once, validated, with defaults. A bad value stops the
 * start with a message naming the variable.
 */
import path from 'node:path';
import { z } from 'zod';

const flag = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');

const schema = z.object({
	PORT: z.coerce.number().int().min(0).max(65535).default(3000),
	HOST: z.string().min(1).default('127.0.0.1'),
	DATA_DIR: z.string().min(1).default('./data'),
	/** PostgreSQL instead of the SQLite file in DATA_DIR: postgres://user:password@host:5432/database. */
	DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\/./, 'a postgres:// URL').optional(),
	/** PostgreSQL: connections this process keeps open at most. */
	DATABASE_POOL_MAX: z.coerce.number().int().min(2).max(200).default(10),
	/** With DATABASE_URL: this process is a node of a cluster, its peers reached through this Redis. */
	REDIS_URL: z.string().regex(/^rediss?:\/\/./, 'a redis:// or rediss:// URL').optional(),
	/** A cluster node reads from the log what Redis did not bring it, at least this often. */
	CATCH_UP_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
	/** How often a node tries to become the leader, and the leader checks it still is (PostgreSQL). */
	LEADER_CHECK_MS: z.coerce.number().int().min(100).max(60_000).default(2000),
	/** `GET /metrics` on the main port answers only with `Authorization: Bearer <this>`. */
	METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
	/** Prometheus metrics on a port of their own (no token), on METRICS_HOST. */
	METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
	METRICS_HOST: z.string().min(1).default('127.0.0.1'),
	/** PostgreSQL: a statement running longer is cancelled (and its request fails). */
	DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
	SEED: flag.default(true),
	LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
	/** Log rows a ticket may gather before they are folded into a snapshot. */
	COMPACT_AFTER: z.coerce.number().int().min(1).default(200),
	/** Largest websocket frame and HTTP body accepted, in bytes. */
	MAX_MESSAGE_BYTES: z.coerce.number().int().min(64 * 1024).default(2 * 1024 * 1024),
	/** Bytes that may wait to be sent to one websocket peer before it is dropped as not reading. */
	SEND_BUFFER_BYTES: z.coerce.number().int().min(1024 * 1024).default(32 * 1024 * 1024),
	/** How long a peer with more than SEND_BUFFER_BYTES waiting may read nothing before it is dropped. */
	SEND_STALL_MS: z.coerce.number().int().min(100).default(10_000),
	/** Inbound email (SMTP, no auth, no TLS: put it behind your MTA). 0 picks a free port. */
	SMTP_PORT: z.coerce.number().int().min(0).max(65535).default(2525),
	SMTP_HOST: z.string().min(1).default('127.0.0.1'),
	/** The address mail is accepted for; `local+<ticketId>@domain` reaches one ticket. */
	SUPPORT_ADDRESS: z.email().default('support@tandem.local'),
	/** Largest whole message accepted (SMTP SIZE); bigger ones are refused with 552. */
	MAX_EMAIL_BYTES: z.coerce.number().int().min(1024).default(25 * 1024 * 1024),
	/** Largest attachment stored; bigger ones are listed as skipped. */
	MAX_ATTACHMENT_BYTES: z.coerce.number().int().min(0).default(10 * 1024 * 1024),
	/** Largest file an agent may upload to a ticket (to attach to a reply or note). */
	ATTACHMENT_MAX_BYTES: z.coerce.number().int().min(1).default(25 * 1024 * 1024),
	/** Most files one reply or note may carry. */
	ATTACHMENTS_PER_ENTRY: z.coerce.number().int().min(1).max(50).default(10),
	/** Most bytes agents may upload to one ticket, all files together. */
	ATTACHMENTS_PER_TICKET_BYTES: z.coerce.number().int().min(1).default(100 * 1024 * 1024),
	/** Outbound email goes to this relay (e.g. smtp://127.0.0.1:2626); unset: written to DATA_DIR/mail/outbox. */
	SMTP_RELAY_URL: z.string().regex(/^smtps?:\/\/./, 'an smtp:// or smtps:// URL').optional(),
	/** The outbox (email, webhooks): the first wait before a failed send is tried again; it doubles with each further failure up to 5 min. */
	OUTBOX_RETRY_MS: z.coerce.number().int().min(100).max(300_000).default(1000),
	/** IMAP mailboxes: how often a folder is read besides IDLE's pushes (the polling fallback). */
	IMAP_POLL_MS: z.coerce.number().int().min(1000).max(3_600_000).default(60_000),
	/** IMAP mailboxes: the first wait before reconnecting after a failure; it doubles up to 5 min. */
	IMAP_RETRY_MS: z.coerce.number().int().min(100).max(300_000).default(5000),
	/** The first wait after the free failed sign-ins (3 per account, 10 per address); it doubles with each further failure. */
	LOGIN_BACKOFF_MS: z.coerce.number().int().min(100).max(60_000).default(1000),
	/** How often open sockets and streams look for access taken away by another process (the CLI, a script). */
	ACCESS_POLL_MS: z.coerce.number().int().min(50).max(1000).default(250),
	/** A chat visitor whose widget has been gone this long shows as "left" to agents. */
	CHAT_LEFT_AFTER_MS: z.coerce.number().int().min(0).default(20_000),
	/** How long the link that proves a chat visitor's email address works (once). */
	CHAT_VERIFY_LINK_TTL_MS: z.coerce.number().int().min(60_000).default(24 * 60 * 60_000),
	/** An agent whose last workspace connection closed turns away after this long… */
	AWAY_AFTER_MS: z.coerce.number().int().min(0).default(60_000),
	/** …and offline after this long (at least AWAY_AFTER_MS). */
	OFFLINE_AFTER_MS: z.coerce.number().int().min(0).default(10 * 60_000),
	/** The workspace's public origin (scheme, host, port), as browsers reach it. */
	ORIGIN: z.url({ protocol: /^https?$/ }).transform((url, ctx) => {
		const origin = new URL(url).origin;
		if (url.replace(/\/$/, '') !== origin) ctx.addIssue({ code: 'custom', message: `an origin only, such as ${origin}` });
		return origin;
	}).optional(),
	/** Proxies in front that set X-Forwarded-For/-Proto/-Host; 0 trusts none of these headers. */
	TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0)
})
	.refine((c) => c.OFFLINE_AFTER_MS >= c.AWAY_AFTER_MS, { message: 'must be at least AWAY_AFTER_MS', path: ['OFFLINE_AFTER_MS'] })
	.refine((c) => !c.REDIS_URL || c.DATABASE_URL, { message: 'a cluster node keeps its record in PostgreSQL: set DATABASE_URL too', path: ['REDIS_URL'] });

export type Config = {
	port: number;
	host: string;
	dataDir: string;
	databaseFile: string;
	/** Null: the SQLite file `databaseFile`. */
	database: { url: string | null; poolMax: number; statementTimeoutMs: number };
	/** Who may read `/metrics`: holders of the token on the main port, anyone reaching the port of its own. Both null: nobody. */
	metrics: { token: string | null; port: number | null; host: string };
	/** Null: one process. Else this process is a node of a cluster (DESIGN.md, "Cluster"). */
	cluster: { redisUrl: string; catchUpMs: number } | null;
	/** How often a node tries for the leader lock, and the leader checks it holds it still. */
	leaderCheckMs: number;
	seed: boolean;
	logLevel: z.infer<typeof schema>['LOG_LEVEL'];
	compactAfter: number;
	maxMessageBytes: number;
	sendBufferBytes: number;
	sendStallMs: number;
	smtp: { port: number; host: string; supportAddress: string; maxEmailBytes: number; maxAttachmentBytes: number; relayUrl: string | null };
	outboxRetryMs: number;
	imap: { pollMs: number; retryMs: number };
	/** Uploads agents attach to replies and notes (server/attachments.ts). */
	attachments: AttachmentLimits;
	chat: { leftAfterMs: number; verifyLinkTtlMs: number };
	loginBackoffMs: number;
	accessPollMs: number;
	routing: { awayAfterMs: number; offlineAfterMs: number };
	/** Null: each request's own, from its Host (or a trusted proxy's X-Forwarded-Host/-Proto). */
	origin: string | null;
	trustedProxies: number;
};

export interface AttachmentLimits {
	maxBytes: number;
	perEntry: number;
	perTicketBytes: number;
}

export class ConfigError extends Error {}

/** An http URL of a host (an IPv6 address bracketed) and port. */
export function httpUrl(host: string, port: number): string {
	return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Where a server with this configuration answers on this machine (a wildcard HOST read as loopback): the CLI's way in. */
export function localUrl(config: Config): string {
	const loopback: Record<string, string> = { '0.0.0.0': '127.0.0.1', '::': '::1' };
	return httpUrl(loopback[config.host] ?? config.host, config.port);
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
	// An empty variable means "unset", as in most shells' `VAR= command`.
	const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
	const parsed = schema.safeParse(present);
	if (!parsed.success) {
		const lines = parsed.error.issues.map((issue) => {
			const name = String(issue.path[0]);
			return `  ${name}=${JSON.stringify(env[name] ?? '')}: ${issue.message}`;
		});
		throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
	}
	const c = parsed.data;
	const dataDir = path.resolve(c.DATA_DIR);
	return {
		port: c.PORT,
		host: c.HOST,
		dataDir,
		databaseFile: path.join(dataDir, 'tandem.sqlite'),
		database: { url: c.DATABASE_URL ?? null, poolMax: c.DATABASE_POOL_MAX, statementTimeoutMs: c.DATABASE_STATEMENT_TIMEOUT_MS },
		metrics: { token: c.METRICS_TOKEN ?? null, port: c.METRICS_PORT ?? null, host: c.METRICS_HOST },
		cluster: c.REDIS_URL ? { redisUrl: c.REDIS_URL, catchUpMs: c.CATCH_UP_MS } : null,
		leaderCheckMs: c.LEADER_CHECK_MS,
		seed: c.SEED,
		logLevel: c.LOG_LEVEL,
		compactAfter: c.COMPACT_AFTER,
		maxMessageBytes: c.MAX_MESSAGE_BYTES,
		sendBufferBytes: c.SEND_BUFFER_BYTES,
		sendStallMs: c.SEND_STALL_MS,
		smtp: {
			port: c.SMTP_PORT,
			host: c.SMTP_HOST,
			supportAddress: c.SUPPORT_ADDRESS.toLowerCase(),
			maxEmailBytes: c.MAX_EMAIL_BYTES,
			maxAttachmentBytes: c.MAX_ATTACHMENT_BYTES,
			relayUrl: c.SMTP_RELAY_URL ?? null
		},
		outboxRetryMs: c.OUTBOX_RETRY_MS,
		imap: { pollMs: c.IMAP_POLL_MS, retryMs: c.IMAP_RETRY_MS },
		attachments: { maxBytes: c.ATTACHMENT_MAX_BYTES, perEntry: c.ATTACHMENTS_PER_ENTRY, perTicketBytes: c.ATTACHMENTS_PER_TICKET_BYTES },
		chat: { leftAfterMs: c.CHAT_LEFT_AFTER_MS, verifyLinkTtlMs: c.CHAT_VERIFY_LINK_TTL_MS },
		loginBackoffMs: c.LOGIN_BACKOFF_MS,
		accessPollMs: c.ACCESS_POLL_MS,
		routing: { awayAfterMs: c.AWAY_AFTER_MS, offlineAfterMs: c.OFFLINE_AFTER_MS },
		origin: c.ORIGIN ?? null,
		trustedProxies: c.TRUST_PROXY
	};
}
