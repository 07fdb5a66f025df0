/**
 * Tandem's SQLite schema (drizzle-orm). Migrations in drizzle/migrations are generated from this
 * file with `npm run db:generate` and applied at start.
 */
import { sql } from 'drizzle-orm';
import { blob, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import type { MacroActions } from '../src/lib/api/schemas';
import type { AppScope, ObjectField } from '../src/lib/api/context';
import type { CallTransfer } from '../src/lib/api/talk';
import type { CustomValue, FieldType } from '../src/lib/ticket/custom-fields';

const createdAt = () => integer('created_at').notNull();

export const users = sqliteTable('users', {
	id: text('id').primaryKey(),
	email: text('email').notNull().unique(),
	name: text('name').notNull(),
	role: text('role', { enum: ['admin', 'supervisor', 'agent'] }).notNull(),
	passwordHash: text('password_hash').notNull(),
	disabled: integer('disabled', { mode: 'boolean' }).notNull().default(false),
	createdAt: createdAt()
});

export const groups = sqliteTable('groups', {
	id: text('id').primaryKey(),
	name: text('name').notNull().unique(),
	createdAt: createdAt()
});

export const userGroups = sqliteTable(
	'user_groups',
	{
		userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
		groupId: text('group_id').notNull().references(() => groups.id, { onDelete: 'cascade' })
	},
	(t) => [primaryKey({ columns: [t.userId, t.groupId] })]
);

/** Sessions in Lucia's design: the id is the SHA-256 of the token the browser holds. */
export const sessions = sqliteTable(
	'sessions',
	{
		id: text('id').primaryKey(),
		userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
		expiresAt: integer('expires_at').notNull(),
		createdAt: createdAt()
	},
	(t) => [index('sessions_user').on(t.userId)]
);

/**
 * One row: a counter that every write taking access away moves (triggers in the migration that
 * creates it), whichever process or database handle makes the write. Open sockets and streams
 * poll it to re-check their principals (server/auth/access-changes.ts).
 */
export const accessEpoch = sqliteTable('access_epoch', {
	id: integer('id').primaryKey(),
	epoch: integer('epoch').notNull()
});

/** API tokens for bots and integrations: only the SHA-256 of the token is stored. */
export const apiTokens = sqliteTable('api_tokens', {
	id: text('id').primaryKey(),
	name: text('name').notNull(),
	tokenHash: text('token_hash').notNull().unique(),
	/** JSON array of channels the token may write on. */
	channels: text('channels', { mode: 'json' }).$type<string[]>().notNull(),
	createdBy: text('created_by'),
	createdAt: createdAt(),
	lastUsedAt: integer('last_used_at'),
	revokedAt: integer('revoked_at')
});

export const customers = sqliteTable('customers', {
	id: text('id').primaryKey(),
	name: text('name').notNull(),
	createdAt: createdAt(),
	/** The customer's profile, edited by agents in the context panel. */
	organisation: text('organisation').notNull().default(''),
	notes: text('notes').notNull().default(''),
	tags: text('tags', { mode: 'json' }).$type<string[]>().notNull().default(sql`'[]'`),
	/**
	 * A contact made from what a chat visitor typed: who they are is unproven. It is never matched
	 * by address; an agent links it to a known customer, or the visitor proves `claimedEmail`.
	 */
	unverified: integer('unverified', { mode: 'boolean' }).notNull().default(false),
	/** The email address an unverified contact gave: shown to agents, never used to find anyone. */
	claimedEmail: text('claimed_email')
});

/** How a customer is reached on each channel (an email address, a chat visitor id, a handle…). */
export const customerAddresses = sqliteTable(
	'customer_addresses',
	{
		customerId: text('customer_id').notNull().references(() => customers.id, { onDelete: 'cascade' }),
		channel: text('channel').notNull(),
		address: text('address').notNull()
	},
	(t) => [uniqueIndex('customer_addresses_channel_address').on(t.channel, t.address), index('customer_addresses_customer').on(t.customerId)]
);

/** The ticket index: a projection of each ticket document, rebuildable with `cli reindex`. */
export const tickets = sqliteTable(
	'tickets',
	{
		id: text('id').primaryKey(),
		/**
		 * The short number people use (`#1042`): the document's `ticket.number`, or for a ticket
		 * created before numbers existed the one the migration gave it in creation order.
		 */
		number: integer('number'),
		subject: text('subject').notNull(),
		status: text('status').notNull(),
		priority: text('priority').notNull(),
		assigneeId: text('assignee_id'),
		groupId: text('group_id'),
		requesterId: text('requester_id').notNull(),
		channel: text('channel').notNull(),
		tags: text('tags', { mode: 'json' }).$type<string[]>().notNull().default(sql`'[]'`),
		createdAt: createdAt(),
		updatedAt: integer('updated_at').notNull(),
		entryCount: integer('entry_count').notNull().default(0),
		lastPublicPreview: text('last_public_preview'),
		lastPublicAt: integer('last_public_at'),
		/** The first public reply to the customer (SLA: first reply), null before it. */
		firstReplyAt: integer('first_reply_at'),
		/** Since when the customer waits for a reply (SLA: next reply); null when the last public message is ours. */
		awaitingSince: integer('awaiting_since'),
		/** The ticket a child ticket was spun off from (the document's `ticket.parentId`). */
		parentId: text('parent_id'),
		/** Until when the ticket is out of the views (the document's `ticket.snoozedUntil`); null: not snoozed. */
		snoozedUntil: integer('snoozed_until'),
		/** The ticket this one was merged into (the document's `ticket.mergedIntoId`); never cleared. */
		mergedIntoId: text('merged_into_id'),
		/** The ticket's custom field values (the document's `ticket.custom`), for lists and the API. */
		custom: text('custom', { mode: 'json' }).$type<Record<string, CustomValue>>().notNull().default(sql`'{}'`),
		/** The ticket's form (the document's `ticket.formId`); null: none chosen. */
		formId: text('form_id')
	},
	(t) => [
		index('tickets_status_updated').on(t.status, t.updatedAt),
		index('tickets_snoozed').on(t.snoozedUntil),
		// Lists of every ticket most recently updated first (a search of operators or common words) stop at their page.
		index('tickets_updated').on(t.updatedAt, t.id),
		index('tickets_parent').on(t.parentId),
		index('tickets_merged_into').on(t.mergedIntoId),
		index('tickets_assignee').on(t.assigneeId, t.updatedAt),
		index('tickets_group').on(t.groupId, t.updatedAt),
		index('tickets_requester').on(t.requesterId),
		uniqueIndex('tickets_number').on(t.number)
	]
);

/**
 * Named counters that only go up (`ticket_number`: the last ticket number given). A value is
 * taken in the transaction that uses it, so two writers never share one and a rolled-back or
 * crashed creation leaves no gap to be refilled by a later ticket.
 */
export const sequences = sqliteTable('sequences', {
	name: text('name').primaryKey(),
	value: integer('value').notNull()
});

/**
 * The durable update log: every accepted change to a ticket document, before it is applied.
 * `seq` numbers a ticket's rows 1, 2, 3… without gaps, in the order they commit: it is taken under
 * the ticket's `ticket_heads` row lock in the transaction that writes the row, so a reader that
 * has row n of a ticket knows exactly which rows it misses.
 */
export const ticketUpdates = sqliteTable(
	'ticket_updates',
	{
		ticketId: text('ticket_id').notNull(),
		seq: integer('seq').notNull(),
		data: blob('data', { mode: 'buffer' }).notNull(),
		receivedAt: integer('received_at').notNull(),
		/** Who sent it: `user:<id>`, `bot:<tokenId>` or `system`. */
		actor: text('actor').notNull()
	},
	(t) => [primaryKey({ columns: [t.ticketId, t.seq] })]
);

/**
 * The last seq given to each ticket's log: locked and moved on by every append, so appends to one
 * ticket take their seqs one after another, and a seq is never given twice (not even one whose row
 * `cli repair` quarantined, which snapshots may already count).
 */
export const ticketHeads = sqliteTable('ticket_heads', {
	ticketId: text('ticket_id').primaryKey(),
	lastSeq: integer('last_seq').notNull()
});

/**
 * Every entry id of a ticket (conversation and side conversations), written in the transaction of
 * the log row that adds the entry: the database itself refuses an entry id a ticket already has,
 * whichever process accepted the first one.
 */
export const ticketEntryIds = sqliteTable(
	'ticket_entry_ids',
	{
		ticketId: text('ticket_id').notNull(),
		entryId: text('entry_id').notNull()
	},
	(t) => [primaryKey({ columns: [t.ticketId, t.entryId] })]
);

/**
 * Who owns each Yjs client id of a ticket: the first actor (`user:<id>`, `bot:<tokenId>` or
 * `system`) that wrote structs for it, written in the same transaction as that log row. Only the
 * owner may write further structs for the id, so no peer can claim or erase another's edits.
 */
export const ticketClientOwners = sqliteTable(
	'ticket_client_owners',
	{
		ticketId: text('ticket_id').notNull(),
		clientId: integer('client_id').notNull(),
		owner: text('owner').notNull(),
		claimedAt: integer('claimed_at').notNull()
	},
	(t) => [primaryKey({ columns: [t.ticketId, t.clientId] })]
);

/**
 * Compacted document states: everything in the ticket's log up to `upToSeq`. The two newest are kept,
 * with the log rows after the older one, so a damaged snapshot can be rebuilt from the other.
 */
export const ticketSnapshots = sqliteTable(
	'ticket_snapshots',
	{
		ticketId: text('ticket_id').notNull(),
		upToSeq: integer('up_to_seq').notNull(),
		state: blob('state', { mode: 'buffer' }).notNull(),
		createdAt: createdAt()
	},
	(t) => [primaryKey({ columns: [t.ticketId, t.upToSeq] })]
);

/** What happened, per ticket and per user: the audit trail and the interaction history. */
export const events = sqliteTable(
	'events',
	{
		id: integer('id').primaryKey({ autoIncrement: true }),
		ticketId: text('ticket_id'),
		userId: text('user_id'),
		actor: text('actor').notNull(),
		type: text('type').notNull(),
		data: text('data', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
		createdAt: createdAt()
	},
	(t) => [index('events_ticket').on(t.ticketId, t.id), index('events_user').on(t.userId, t.id)]
);

/** Log rows and snapshots that could not be read, set aside by `cli repair`: never deleted. */
export const ticketQuarantine = sqliteTable(
	'ticket_quarantine',
	{
		id: integer('id').primaryKey({ autoIncrement: true }),
		ticketId: text('ticket_id').notNull(),
		kind: text('kind', { enum: ['update', 'snapshot'] }).notNull(),
		/** The log row's seq, or the snapshot's up_to_seq. */
		seq: integer('seq').notNull(),
		data: blob('data', { mode: 'buffer' }).notNull(),
		error: text('error').notNull(),
		quarantinedAt: integer('quarantined_at').notNull()
	},
	(t) => [index('ticket_quarantine_ticket').on(t.ticketId)]
);

/** Canned replies: text an agent inserts into a draft, with field changes to apply alongside. */
export const macros = sqliteTable('macros', {
	id: text('id').primaryKey(),
	title: text('title').notNull(),
	body: text('body').notNull(),
	/** JSON `{status?, priority?, addTags?, visibility?}`, checked by macroActionsSchema. */
	actions: text('actions', { mode: 'json' }).$type<MacroActions>().notNull(),
	/** Who wrote it: `user:<id>` or `system`. */
	createdBy: text('created_by').notNull(),
	createdAt: createdAt(),
	updatedAt: integer('updated_at').notNull()
});

/**
 * Saved views: a search query with the list's columns and order, a user's own or shared with
 * everyone (admins write those). What a view holds is always cut to what its viewer may see.
 */
export const savedViews = sqliteTable(
	'saved_views',
	{
		id: text('id').primaryKey(),
		name: text('name').notNull(),
		/** In the search query language (src/lib/search): words, phrases and operators. */
		query: text('query').notNull(),
		sort: text('sort').notNull(),
		columns: text('columns', { mode: 'json' }).$type<string[]>().notNull(),
		/** Whose view it is; null: shared with everyone. */
		ownerId: text('owner_id'),
		createdBy: text('created_by').notNull(),
		createdAt: createdAt(),
		updatedAt: integer('updated_at').notNull()
	},
	(t) => [index('saved_views_owner').on(t.ownerId)]
);

/**
 * Email threading: every stored inbound message by its Message-ID, and where it went. A reply whose
 * In-Reply-To or References names one of these joins that ticket.
 */
export const emailMessages = sqliteTable(
	'email_messages',
	{
		messageId: text('message_id').primaryKey(),
		ticketId: text('ticket_id').notNull(),
		entryId: text('entry_id').notNull(),
		/** The support address the message came to (inbound), without a plus-tag; replies go out from it. */
		mailbox: text('mailbox'),
		/** The side conversation the message belongs to (sent to or received from its participants); null for the ticket's own conversation. */
		sideId: text('side_id'),
		createdAt: createdAt()
	},
	(t) => [index('email_messages_ticket').on(t.ticketId)]
);

/**
 * Files agents uploaded to a ticket (stored content-addressed in DATA_DIR/attachments/<sha256>): an
 * entry of that ticket may name only these, so no one attaches another ticket's file by its hash.
 */
export const ticketAttachments = sqliteTable(
	'ticket_attachments',
	{
		ticketId: text('ticket_id').notNull(),
		sha256: text('sha256').notNull(),
		/** Who uploaded it first (`actorOf`). */
		uploadedBy: text('uploaded_by').notNull(),
		name: text('name').notNull(),
		contentType: text('content_type').notNull(),
		size: integer('size').notNull(),
		createdAt: createdAt()
	},
	(t) => [primaryKey({ columns: [t.ticketId, t.sha256] })]
);

/**
 * Who follows which ticket (server/followers.ts): colleagues told of its new customer messages and
 * status changes. A row is dropped when its user is found unable to see the ticket any more.
 */
export const ticketFollowers = sqliteTable(
	'ticket_followers',
	{
		ticketId: text('ticket_id').notNull(),
		userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
		/** Why they follow: the button, a mention of them, or a CC of a mail on the ticket. */
		reason: text('reason', { enum: ['button', 'mention', 'cc'] }).notNull(),
		createdAt: createdAt()
	},
	(t) => [primaryKey({ columns: [t.ticketId, t.userId] }), index('ticket_followers_user').on(t.userId)]
);

/**
 * Notices kept for the colleague they are for (server/notices.ts): a mention, a followed ticket's
 * message or status, an internal side conversation. Written once, on the node that made the
 * notice, so a colleague who was away reads them when they come back; read marks are theirs.
 */
export const notices = sqliteTable(
	'notices',
	{
		id: text('id').primaryKey(),
		userId: text('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
		ticketId: text('ticket_id').notNull(),
		kind: text('kind', { enum: ['follow', 'side'] }).notNull(),
		/** The notice as the stream carried it (FollowNotice or SideNotice). */
		notice: text('notice', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
		createdAt: createdAt(),
		readAt: integer('read_at')
	},
	(t) => [index('notices_user').on(t.userId, t.createdAt)]
);

/**
 * Files kept in the database, content-addressed (server/files.ts): on PostgreSQL every file's bytes
 * (attachments, mail kept aside), so that every node of a cluster reads them and a dump holds them;
 * an installation on SQLite keeps them in DATA_DIR and leaves these tables empty. A file is written
 * once, in one transaction with all its chunks, and never changed.
 */
export const files = sqliteTable('files', {
	sha256: text('sha256').primaryKey(),
	size: integer('size').notNull(),
	/** The size of every chunk but the last: chunk `seq` holds bytes from seq × chunkBytes. */
	chunkBytes: integer('chunk_bytes').notNull(),
	createdAt: createdAt()
});

/** A file's bytes in pieces, so that no query holds a whole file and a byte range reads only its own. */
export const fileChunks = sqliteTable(
	'file_chunks',
	{
		sha256: text('sha256').notNull().references(() => files.sha256, { onDelete: 'cascade' }),
		seq: integer('seq').notNull(),
		bytes: blob('bytes', { mode: 'buffer' }).notNull()
	},
	(t) => [primaryKey({ columns: [t.sha256, t.seq] })]
);

/**
 * Support addresses besides SUPPORT_ADDRESS (set on the admin page): mail to any of them (or a
 * plus-address of one) is accepted; a new ticket from one joins its group. A row for
 * SUPPORT_ADDRESS itself holds only its signature.
 */
export const supportAddresses = sqliteTable('support_addresses', {
	address: text('address').primaryKey(),
	name: text('name').notNull(),
	groupId: text('group_id'),
	/** Appended to email replies sent from the address (after "-- "); null for none. */
	signature: text('signature'),
	createdAt: createdAt()
});

/**
 * The IMAP mailbox a support address's mail is fetched from (server/channels/imap.ts), with its
 * cursor: the folder's UIDVALIDITY, the highest UID stored (`stored_uid`) and the highest UID the
 * after-fetch action (flag, move, delete) was applied up to (`acted_uid`). `secret` is the password
 * or the OAuth2 access token: never shown after saving.
 */
export const imapMailboxes = sqliteTable('imap_mailboxes', {
	address: text('address').primaryKey(),
	host: text('host').notNull(),
	port: integer('port').notNull(),
	tls: text('tls', { enum: ['tls', 'starttls', 'none'] }).notNull(),
	username: text('username').notNull(),
	auth: text('auth', { enum: ['password', 'oauth2'] }).notNull(),
	secret: text('secret').notNull(),
	folder: text('folder').notNull(),
	afterFetch: text('after_fetch', { enum: ['seen', 'move', 'delete'] }).notNull(),
	moveTo: text('move_to'),
	uidValidity: text('uid_validity'),
	storedUid: integer('stored_uid').notNull().default(0),
	actedUid: integer('acted_uid').notNull().default(0),
	createdAt: createdAt(),
	updatedAt: integer('updated_at').notNull()
});

/**
 * Outbound messages waiting to be sent, enqueued in the same transaction as the logged update that
 * added their entry (so an acknowledged reply is never lost). One row per (entry, kind): an entry
 * is sent at most once (see server/channels/outbox.ts). A `verification` row sends the link of an
 * email verification (its id in `entry_id`) for the chat ticket `ticket_id`.
 */
export const outbox = sqliteTable(
	'outbox',
	{
		id: integer('id').primaryKey({ autoIncrement: true }),
		ticketId: text('ticket_id').notNull(),
		entryId: text('entry_id').notNull(),
		kind: text('kind', { enum: ['email', 'webhook', 'verification', 'side-email', 'survey', 'rule-webhook', 'rule-email'] }).notNull(),
		recipient: text('recipient'),
		/** What a rule's row sends (JSON text), fixed when the rule ran: a webhook's body, an email's subject and text; null for the other kinds. */
		payload: text('payload'),
		status: text('status', { enum: ['queued', 'sent', 'failed'] }).notNull().default('queued'),
		attempts: integer('attempts').notNull().default(0),
		nextAttemptAt: integer('next_attempt_at').notNull(),
		lastError: text('last_error'),
		createdAt: createdAt(),
		sentAt: integer('sent_at')
	},
	(t) => [
		uniqueIndex('outbox_entry_kind').on(t.entryId, t.kind),
		index('outbox_due').on(t.status, t.nextAttemptAt),
		index('outbox_ticket').on(t.ticketId)
	]
);

/**
 * Messaging and social channels: signed webhooks in (POST /api/v1/channels/:id/webhook), signed
 * deliveries out to `outbound_url` (see server/channels/webhooks.ts). The secret signs both ways.
 */
export const channels = sqliteTable('channels', {
	id: text('id').primaryKey(),
	kind: text('kind', { enum: ['messaging', 'social'] }).notNull(),
	name: text('name').notNull().unique(),
	secret: text('secret').notNull(),
	outboundUrl: text('outbound_url'),
	createdAt: createdAt()
});

/** Webhook event ids already processed, per channel: a redelivered event is answered as a duplicate. */
export const webhookEvents = sqliteTable(
	'webhook_events',
	{
		channelId: text('channel_id').notNull().references(() => channels.id, { onDelete: 'cascade' }),
		eventId: text('event_id').notNull(),
		receivedAt: integer('received_at').notNull()
	},
	(t) => [primaryKey({ columns: [t.channelId, t.eventId] })]
);

/**
 * Website visitors of the chat widget (server/channels/chat.ts): a visitor holds a random token
 * (only its SHA-256 is kept) and becomes a customer when they start a chat.
 */
export const visitors = sqliteTable('visitors', {
	id: text('id').primaryKey(),
	tokenHash: text('token_hash').notNull().unique(),
	customerId: text('customer_id').references(() => customers.id, { onDelete: 'set null' }),
	createdAt: createdAt(),
	lastSeenAt: integer('last_seen_at').notNull()
});

/**
 * Links sent to the email address a chat visitor claimed: following one proves the address and
 * links the visitor's contact to the customer who has it. Only the token's SHA-256 is kept once the
 * mail is sent (`pendingToken` holds it until then, for the outbox); each link works once, until it
 * expires.
 */
export const emailVerifications = sqliteTable(
	'email_verifications',
	{
		id: text('id').primaryKey(),
		tokenHash: text('token_hash').notNull().unique(),
		pendingToken: text('pending_token'),
		customerId: text('customer_id').notNull().references(() => customers.id, { onDelete: 'cascade' }),
		email: text('email').notNull(),
		/** Where the link points: the origin the visitor's chat was started from. */
		origin: text('origin').notNull(),
		expiresAt: integer('expires_at').notNull(),
		usedAt: integer('used_at'),
		createdAt: createdAt()
	},
	(t) => [index('email_verifications_customer').on(t.customerId)]
);

/** The visitor path: pages the widget saw a visitor view, oldest first. */
export const visitorPages = sqliteTable(
	'visitor_pages',
	{
		seq: integer('seq').primaryKey({ autoIncrement: true }),
		visitorId: text('visitor_id').notNull().references(() => visitors.id, { onDelete: 'cascade' }),
		url: text('url').notNull(),
		title: text('title').notNull(),
		viewedAt: integer('viewed_at').notNull()
	},
	(t) => [index('visitor_pages_visitor').on(t.visitorId, t.seq)]
);

/** Live chats: one per chat ticket, waiting for an agent, served, or ended. */
export const chats = sqliteTable(
	'chats',
	{
		id: text('id').primaryKey(),
		visitorId: text('visitor_id').notNull().references(() => visitors.id, { onDelete: 'cascade' }),
		ticketId: text('ticket_id').notNull().unique(),
		status: text('status', { enum: ['waiting', 'active', 'ended'] }).notNull(),
		/** What the visitor's widget last said: on the page, tab in the background, gone. */
		presence: text('presence', { enum: ['online', 'away', 'left'] }).notNull(),
		agentId: text('agent_id'),
		startedAt: integer('started_at').notNull(),
		servedAt: integer('served_at'),
		endedAt: integer('ended_at'),
		endedBy: text('ended_by')
	},
	(t) => [index('chats_visitor').on(t.visitorId, t.startedAt)]
);

/** Phone numbers customers call (see server/talk/): an incoming call to any other number is refused. */
export const talkNumbers = sqliteTable('talk_numbers', {
	id: text('id').primaryKey(),
	/** Digits with a leading +, as normaliseNumber() writes it. */
	number: text('number').notNull().unique(),
	label: text('label').notNull(),
	/** Calls to this number ring this group's members and open tickets in it; null: everyone. */
	groupId: text('group_id').references(() => groups.id, { onDelete: 'set null' }),
	createdAt: createdAt()
});

/**
 * Phone calls and their state (server/talk/calls.ts), the durable truth the state machine moves
 * with compare-and-set updates. Ended calls get one `call` entry in their ticket (`entry_at`).
 */
export const calls = sqliteTable(
	'calls',
	{
		id: text('id').primaryKey(),
		/** The carrier's id of the call: a repeated incoming event is the same call. */
		ref: text('ref').notNull().unique(),
		ticketId: text('ticket_id').notNull(),
		customerId: text('customer_id').notNull(),
		talkNumberId: text('talk_number_id'),
		direction: text('direction', { enum: ['in', 'out'] }).notNull(),
		fromNumber: text('from_number').notNull(),
		toNumber: text('to_number').notNull(),
		/** dialing (out, the customer's phone rings), ringing (agents' consoles ring), active, held, ended. */
		state: text('state', { enum: ['dialing', 'ringing', 'active', 'held', 'ended'] }).notNull(),
		/** The agent on the call (or who placed it); null while it rings. */
		agentId: text('agent_id'),
		/** Who it rings: a JSON array of user ids, or null for everyone who may answer it. */
		ringTo: text('ring_to', { mode: 'json' }).$type<string[] | null>(),
		/** Who answered first, for the entry's author when the call ends with nobody on it. */
		answeredBy: text('answered_by'),
		transfers: text('transfers', { mode: 'json' }).$type<CallTransfer[]>().notNull().default(sql`'[]'`),
		holdMs: integer('hold_ms').notNull().default(0),
		heldSince: integer('held_since'),
		createdAt: createdAt(),
		answeredAt: integer('answered_at'),
		endedAt: integer('ended_at'),
		/** answered, missed (in, never answered), no-answer (out, never answered). */
		outcome: text('outcome', { enum: ['answered', 'missed', 'no-answer'] }),
		/** Why it ended: completed, declined, abandoned (the caller hung up first), cancelled. */
		endReason: text('end_reason'),
		/** When its `call` entry was stored in the ticket (null: still to append, also after a restart). */
		entryAt: integer('entry_at'),
		/** Goes up with every change of state, so a console keeps the newest it was told of. */
		version: integer('version').notNull().default(0)
	},
	(t) => [index('calls_state').on(t.state), index('calls_agent').on(t.agentId, t.state), index('calls_ticket').on(t.ticketId)]
);

/**
 * Help-centre articles in Markdown. Their words are also in the FTS5 table `help_articles_fts`
 * (written by hand into the migration: drizzle-kit does not know virtual tables), kept in step
 * in the same transaction as every write here (server/help-centre.ts).
 */
export const helpArticles = sqliteTable(
	'help_articles',
	{
		id: text('id').primaryKey(),
		slug: text('slug').notNull().unique(),
		title: text('title').notNull(),
		section: text('section').notNull(),
		tags: text('tags', { mode: 'json' }).$type<string[]>().notNull(),
		body: text('body').notNull(),
		status: text('status', { enum: ['draft', 'published'] }).notNull(),
		createdAt: createdAt(),
		updatedAt: integer('updated_at').notNull(),
		publishedAt: integer('published_at')
	},
	(t) => [index('help_articles_section').on(t.status, t.section)]
);

/** Custom object types an admin defines (Order, Subscription…): the fields their records carry. */
export const objectTypes = sqliteTable('object_types', {
	id: text('id').primaryKey(),
	/** Singular, shown to agents: "Order". */
	name: text('name').notNull().unique(),
	/** JSON `[{key, label, type, required, options?}]`, checked by objectFieldsSchema. */
	fields: text('fields', { mode: 'json' }).$type<ObjectField[]>().notNull(),
	createdAt: createdAt()
});

/** Records of a custom object type; `values` were validated against the type's fields when written. */
export const objectRecords = sqliteTable(
	'object_records',
	{
		id: text('id').primaryKey(),
		typeId: text('type_id').notNull().references(() => objectTypes.id, { onDelete: 'cascade' }),
		/** The record's id in the system it comes from (an order number), unique per type. */
		externalId: text('external_id'),
		values: text('values', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
		/** Who created it (`user:<id>`, `bot:<token id>`): a bot deletes only its own records. Null before this was kept. */
		createdBy: text('created_by'),
		createdAt: createdAt(),
		updatedAt: integer('updated_at').notNull()
	},
	(t) => [uniqueIndex('object_records_type_external').on(t.typeId, t.externalId)]
);

/** Which records belong to which customers and tickets. */
export const objectLinks = sqliteTable(
	'object_links',
	{
		recordId: text('record_id').notNull().references(() => objectRecords.id, { onDelete: 'cascade' }),
		targetKind: text('target_kind', { enum: ['customer', 'ticket'] }).notNull(),
		targetId: text('target_id').notNull(),
		createdAt: createdAt()
	},
	(t) => [primaryKey({ columns: [t.recordId, t.targetKind, t.targetId] }), index('object_links_target').on(t.targetKind, t.targetId)]
);

/** Apps in the context panel: sandboxed iframes acting within the scopes an admin granted. */
export const apps = sqliteTable('apps', {
	id: text('id').primaryKey(),
	name: text('name').notNull().unique(),
	/** `/apps/<name>/…` served by Tandem, or an https URL. */
	url: text('url').notNull(),
	scopes: text('scopes', { mode: 'json' }).$type<AppScope[]>().notNull(),
	enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
	createdAt: createdAt()
});

// --- Routing (server/routing/): agent status, work items and offers, SLA ---------------------

/** Each agent's chosen status and channel availability; `auto` is what a dropped connection set. */
export const agentPresence = sqliteTable('agent_presence', {
	userId: text('user_id').primaryKey().references(() => users.id, { onDelete: 'cascade' }),
	/** online, away, offline, or a custom status's id. */
	status: text('status').notNull(),
	channels: text('channels', { mode: 'json' }).$type<{ messaging: boolean; chat: boolean; talk: boolean }>().notNull(),
	/** away or offline while the agent has no connection; null while connected (or never demoted). */
	auto: text('auto', { enum: ['away', 'offline'] }),
	changedAt: integer('changed_at').notNull(),
	/** When the agent last took work: the router offers first to who has been idle longest. */
	lastAssignedAt: integer('last_assigned_at').notNull().default(0)
});

/** Admin-defined statuses (e.g. "In a meeting"), each counted as online, away or offline. */
export const customStatuses = sqliteTable('custom_statuses', {
	id: text('id').primaryKey(),
	name: text('name').notNull().unique(),
	mapsTo: text('maps_to', { enum: ['online', 'away', 'offline'] }).notNull(),
	createdAt: createdAt()
});

/** Per-agent routing: capacities by channel class (missing ones fall back to the defaults), skills. */
export const agentRouting = sqliteTable('agent_routing', {
	userId: text('user_id').primaryKey().references(() => users.id, { onDelete: 'cascade' }),
	capacities: text('capacities', { mode: 'json' }).$type<{ messaging?: number; chat?: number; talk?: number }>().notNull(),
	skills: text('skills', { mode: 'json' }).$type<string[]>().notNull()
});

/** One row (id 1): offer timeout, default capacities, whether offers may be declined. */
export const routingSettings = sqliteTable('routing_settings', {
	id: integer('id').primaryKey(),
	offerTimeoutSeconds: integer('offer_timeout_seconds').notNull(),
	capacities: text('capacities', { mode: 'json' }).$type<{ messaging: number; chat: number; talk: number }>().notNull(),
	declineAllowed: integer('decline_allowed', { mode: 'boolean' }).notNull()
});

/**
 * Routed work: a ticket (email, messaging, chat…) or a call, waiting in its group's queue, offered,
 * assigned, or done. At most one item per (kind, ref) is not done.
 */
export const workItems = sqliteTable(
	'work_items',
	{
		id: text('id').primaryKey(),
		kind: text('kind', { enum: ['ticket', 'call'] }).notNull(),
		/** The ticket id, or the call id. */
		ref: text('ref').notNull(),
		ticketId: text('ticket_id'),
		/** Channel class: messaging, chat or talk. */
		channel: text('channel', { enum: ['messaging', 'chat', 'talk'] }).notNull(),
		groupId: text('group_id'),
		skill: text('skill'),
		priority: text('priority', { enum: ['low', 'normal', 'high', 'urgent'] }).notNull(),
		slaDueAt: integer('sla_due_at'),
		status: text('status', { enum: ['queued', 'offered', 'assigned', 'done'] }).notNull(),
		agentId: text('agent_id'),
		/** Who held the ticket before it was queued again (reopened, a chat returned): not a hand assignment. */
		previousAgentId: text('previous_agent_id'),
		/** Whether the ticket document says `agentId` is its assignee (the write follows the accept). */
		written: integer('written', { mode: 'boolean' }).notNull().default(false),
		enqueuedAt: integer('enqueued_at').notNull(),
		assignedAt: integer('assigned_at'),
		doneAt: integer('done_at'),
		doneReason: text('done_reason')
	},
	(t) => [
		// Covering the routing pass's load counts (per agent and channel).
		index('work_items_status').on(t.status, t.agentId, t.channel),
		index('work_items_ref').on(t.kind, t.ref, t.enqueuedAt),
		index('work_items_agent').on(t.agentId, t.status),
		uniqueIndex('work_items_active_ref').on(t.kind, t.ref).where(sql`status != 'done'`)
	]
);

/** Offers of work items to agents; at most one pending per item. */
export const offers = sqliteTable(
	'offers',
	{
		id: text('id').primaryKey(),
		itemId: text('item_id').notNull().references(() => workItems.id, { onDelete: 'cascade' }),
		agentId: text('agent_id').notNull(),
		status: text('status', { enum: ['pending', 'accepted', 'declined', 'expired', 'withdrawn'] }).notNull(),
		createdAt: createdAt(),
		expiresAt: integer('expires_at').notNull(),
		resolvedAt: integer('resolved_at')
	},
	(t) => [
		// Covers the refusals of the queued items, which every routing pass reads.
		index('offers_item').on(t.itemId, t.status, t.agentId),
		index('offers_agent').on(t.status, t.agentId, t.itemId),
		index('offers_pending_expiry').on(t.status, t.expiresAt),
		uniqueIndex('offers_one_pending').on(t.itemId).where(sql`status = 'pending'`)
	]
);

/** SLA targets by priority and channel class, in minutes (null: no target). */
export const slaPolicies = sqliteTable(
	'sla_policies',
	{
		priority: text('priority', { enum: ['low', 'normal', 'high', 'urgent'] }).notNull(),
		channel: text('channel', { enum: ['messaging', 'chat', 'talk'] }).notNull(),
		firstReplyMinutes: integer('first_reply_minutes'),
		nextReplyMinutes: integer('next_reply_minutes'),
		resolutionMinutes: integer('resolution_minutes')
	},
	(t) => [primaryKey({ columns: [t.priority, t.channel] })]
);

/** SLA breaches already recorded (as `sla.breached` events): each once. */
export const slaBreaches = sqliteTable(
	'sla_breaches',
	{
		ticketId: text('ticket_id').notNull(),
		metric: text('metric', { enum: ['firstReply', 'nextReply', 'resolution'] }).notNull(),
		dueAt: integer('due_at').notNull(),
		recordedAt: integer('recorded_at').notNull()
	},
	(t) => [primaryKey({ columns: [t.ticketId, t.metric, t.dueAt] })]
);

/**
 * Satisfaction surveys (server/satisfaction.ts): one row per solve of a ticket, keyed by the event
 * that recorded the solve, so each solve is decided once on any node and after any restart. `via`
 * is how the customer was asked (null: not asked, the ticket's channel had surveys switched off or
 * the requester no address); the group and assignee are the ticket's at the solve, whom the
 * rating counts for on the dashboard. `answers` counts the answers given (a change within the
 * window is one more): it names the ticket entry of each.
 */
export const satisfactionSurveys = sqliteTable(
	'satisfaction_surveys',
	{
		id: text('id').primaryKey(),
		ticketId: text('ticket_id').notNull(),
		solveEventId: integer('solve_event_id').notNull(),
		channel: text('channel').notNull(),
		via: text('via', { enum: ['email', 'chat'] }),
		requesterId: text('requester_id').notNull(),
		groupId: text('group_id'),
		assigneeId: text('assignee_id'),
		rating: text('rating', { enum: ['good', 'bad'] }),
		comment: text('comment'),
		answers: integer('answers').notNull().default(0),
		createdAt: createdAt(),
		expiresAt: integer('expires_at').notNull(),
		ratedAt: integer('rated_at'),
		changedAt: integer('changed_at')
	},
	(t) => [uniqueIndex('satisfaction_surveys_solve').on(t.ticketId, t.solveEventId), index('satisfaction_surveys_rated').on(t.ratedAt)]
);

/** Per customer channel, whether a solved ticket's requester is asked (a missing row: the default). */
export const satisfactionSettings = sqliteTable('satisfaction_settings', {
	channel: text('channel').primaryKey(),
	enabled: integer('enabled', { mode: 'boolean' }).notNull()
});

/** Secrets the server makes for itself once and every node shares (server/auth/secrets.ts): e.g. the key that signs survey links. */
export const serverSecrets = sqliteTable('server_secrets', {
	name: text('name').primaryKey(),
	secret: text('secret').notNull(),
	createdAt: createdAt()
});

/**
 * Custom ticket fields admins define (src/lib/ticket/custom-fields.ts): values live in the ticket
 * document under `ticket.custom`, keyed by `key`, checked against these definitions. A key is never
 * reused: an archived field keeps its values and leaves the editors.
 */
export const ticketFieldDefinitions = sqliteTable(
	'ticket_field_definitions',
	{
		key: text('key').primaryKey(),
		label: text('label').notNull(),
		type: text('type').$type<FieldType>().notNull(),
		/** Choices of a drop-down or multi-select field, in the order shown. */
		options: text('options', { mode: 'json' }).$type<string[]>().notNull().default(sql`'[]'`),
		/** What a regex-checked text field must match whole. */
		pattern: text('pattern'),
		requiredOnSolve: integer('required_on_solve', { mode: 'boolean' }).notNull().default(false),
		archived: integer('archived', { mode: 'boolean' }).notNull().default(false),
		position: integer('position').notNull(),
		createdAt: createdAt(),
		updatedAt: integer('updated_at').notNull()
	},
	(t) => [index('ticket_field_definitions_position').on(t.position)]
);

/** Forms: named groups of custom fields for a kind of request; a ticket's `formId` picks one. */
export const ticketForms = sqliteTable('ticket_forms', {
	id: text('id').primaryKey(),
	name: text('name').notNull().unique(),
	/** The fields the form shows, in order (keys of ticket_field_definitions). */
	fieldKeys: text('field_keys', { mode: 'json' }).$type<string[]>().notNull(),
	position: integer('position').notNull(),
	archived: integer('archived', { mode: 'boolean' }).notNull().default(false),
	createdAt: createdAt(),
	updatedAt: integer('updated_at').notNull()
});

/**
 * The search index of custom field values, projected from the documents with the ticket index
 * row: one row per value (per option of a multi-select), normalised (lower-cased text, numbers as
 * written by JSON), so `field.key:value` is one indexed lookup on both engines.
 */
export const ticketFieldValues = sqliteTable(
	'ticket_field_values',
	{
		ticketId: text('ticket_id').notNull(),
		fieldKey: text('field_key').notNull(),
		value: text('value').notNull()
	},
	(t) => [primaryKey({ columns: [t.ticketId, t.fieldKey, t.value] }), index('ticket_field_values_lookup').on(t.fieldKey, t.value)]
);

/**
 * Triggers (run when a ticket is created or changed) and automations (run on time), in the order
 * they run (`position`, per kind). Conditions and actions are JSON checked by src/lib/api/rules.ts.
 */
export const rules = sqliteTable(
	'rules',
	{
		id: text('id').primaryKey(),
		kind: text('kind', { enum: ['trigger', 'automation'] }).notNull(),
		name: text('name').notNull(),
		position: integer('position').notNull(),
		active: integer('active', { mode: 'boolean' }).notNull().default(true),
		/** A trigger that, when it acts, keeps the triggers after it from running on the same change. */
		stopHere: integer('stop_here', { mode: 'boolean' }).notNull().default(false),
		conditions: text('conditions', { mode: 'json' }).notNull(),
		actions: text('actions', { mode: 'json' }).notNull(),
		/** Signs the rule's webhook calls; shown to admins only. */
		webhookSecret: text('webhook_secret').notNull(),
		createdBy: text('created_by').notNull(),
		createdAt: createdAt(),
		updatedAt: integer('updated_at').notNull()
	},
	(t) => [index('rules_kind_position').on(t.kind, t.position)]
);

/** Business hours by group (`scope` a group id, or 'default' for groups without their own). */
export const businessHours = sqliteTable('business_hours', {
	scope: text('scope').primaryKey(),
	timeZone: text('time_zone').notNull(),
	/** Seven lists (Monday first) of [start, end) minutes of the day. */
	week: text('week', { mode: 'json' }).$type<[number, number][][]>().notNull(),
	/** Closed days, YYYY-MM-DD in the schedule's time zone. */
	holidays: text('holidays', { mode: 'json' }).$type<string[]>().notNull(),
	updatedAt: integer('updated_at').notNull()
});

/**
 * What automations did: one row per (automation, ticket, the instant its timed condition started
 * counting from), taken before acting, so no restart or second node acts twice on it.
 */
export const automationFirings = sqliteTable(
	'automation_firings',
	{
		ruleId: text('rule_id').notNull(),
		ticketId: text('ticket_id').notNull(),
		since: integer('since').notNull(),
		firedAt: integer('fired_at').notNull()
	},
	(t) => [primaryKey({ columns: [t.ruleId, t.ticketId, t.since] })]
);
