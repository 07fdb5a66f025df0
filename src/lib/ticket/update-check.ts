/**
 * Checks a peer's update against the ticket document contract before it is applied, on the
 * update's structure (`Y.decodeUpdate`: inserted items, their parents and origins, the delete set)
 * and never by applying it to a copy, so it costs the same on a 10-entry and a 10,000-entry ticket.
 *
 * What passes: structs only of Yjs client ids the writer owns (or is the first to write); appends
 * at the end of the sender's view of `entries` (and of a side conversation's `entries`) of valid
 * entries with new ids; valid values for `ticket` fields, tags, side conversations and drafts, with
 * claims of who and when (`createdBy`, `authors`, `createdAt`) that are the writer's own and now;
 * exactly the Yjs types the contract names; deletions only where the contract allows them (draft
 * text, drafts, a draft's staged changes, tags, overwritten values). An update that refers to
 * anything the server does not have yet is refused: Yjs would keep it pending and apply its
 * deletions to entries that arrive later.
 */
import * as Y from 'yjs';
import { z } from 'zod';
import { NO_FIELD_RULES, type CustomValue, type FieldRules } from './custom-fields';
import { entriesArray, entryIndex, readStoredCustom, readStoredStatus, ROOTS, type RootName } from './document';
import { GrowthCount } from './growth';
import {
	draftFieldSchemas,
	emailParticipantSchema,
	entrySchema,
	idSchema,
	participantSchema,
	PEER_EDITABLE_FIELDS,
	sideFieldSchemas,
	STAGED_DRAFT_FIELDS,
	tagSchema,
	ticketFieldSchemas,
	type Entry,
	type TicketFieldName
} from './schema';

/** Why an update was refused; sent to the peer as the close reason. */
export const REJECT = {
	malformed: 'malformed-update',
	missingDependencies: 'missing-dependencies',
	notAppendOnly: 'entries-append-only',
	invalidEntry: 'invalid-entry',
	duplicateEntry: 'duplicate-entry',
	staleEntry: 'entry-time-out-of-range',
	invalidField: 'invalid-field',
	readOnlyField: 'read-only-field',
	unknownRoot: 'unknown-root',
	invalidShape: 'invalid-shape',
	forbidden: 'forbidden-author',
	/** An entry lists attachments it may not: malformed, too many, or not uploaded to this ticket. */
	invalidAttachment: 'invalid-attachment',
	foreignClient: 'foreign-client-id',
	timeOutOfRange: 'time-out-of-range',
	/** Past one of LIMITS (./limits.ts); the message names it. */
	limitExceeded: 'limit-exceeded',
	/** Solved while fields its form requires are empty; the message names them. */
	requiredFields: 'required-fields-missing'
} as const;
export type RejectReason = (typeof REJECT)[keyof typeof REJECT];

/** The roots a writer may be refused as a whole; `entries` is decided entry by entry. */
export type WritableRoot = Exclude<RootName, 'entries'>;

/** Who is writing, as the checker needs to know it. */
export interface WritePolicy {
	/** Who this writer is as an owner of Yjs client ids: `user:<id>`, `bot:<tokenId>` or `system`. */
	readonly actor: string;
	/**
	 * The id this writer names itself by where the document records who did something (a side
	 * conversation's `createdBy`, a draft's `authors`); null for the server, which writes for anyone.
	 */
	readonly writerId: string | null;
	/** Null when this writer may insert or delete anything under the root, else why not. */
	rootAllowed(root: WritableRoot): string | null;
	/** Null when this writer may add the entry, else a message saying why not. */
	entryAllowed(entry: Entry, place: 'conversation' | 'side'): string | null;
	/** Null when the entry may carry the attachments its `meta.attachments` lists, else why not (absent: any). */
	attachmentsAllowed?(entry: Entry): string | null;
	/** Null when this writer may set the ticket field to the value, else why not. */
	fieldAllowed(name: TicketFieldName, value: unknown): string | null;
	/** Null when this writer may change the ticket's tags, else why not (absent: any writer may). */
	tagsAllowed?(): string | null;
	/** Null when this writer may change the ticket's custom field values and form, else why not (absent: any writer may). */
	customAllowed?(): string | null;
	/** Null when this writer may name `participant` in a side conversation of `channel`, else why not. */
	participantAllowed(channel: string, participant: string): string | null;
}

/** What the server knows of the document and the connection an update comes from. */
export interface UpdateSender {
	/** The owner (a `WritePolicy.actor`) of each Yjs client id the ticket has or has promised. */
	readonly owners: ReadonlyMap<number, string>;
	/**
	 * A state vector of what the sender provably had when it made the update: for a live update,
	 * what its sync handshake on this connection declared; empty when nothing is known.
	 */
	readonly seen: ReadonlyMap<number, number>;
	/** The custom field and form definitions values are checked against (absent: there are none). */
	readonly fields?: FieldRules;
}

export type CheckResult =
	| {
			ok: true;
			changes: number;
			entries: Entry[];
			/** All the update adds is conversation entries (it may delete too). */
			appendsOnly: boolean;
			/** Client ids this update is the first to write: from now on, `policy.actor`'s. */
			claims: number[];
			/** Ids of the `entries` that go into side conversations (the rest are conversation entries). */
			sideEntryIds: ReadonlySet<string>;
	  }
	| { ok: false; reason: RejectReason; message: string };

/**
 * How far an entry's `createdAt` (and a side conversation's or draft's) may lie from the
 * server's clock when it arrives.
 */
export const ENTRY_TIME_WINDOW = { pastMs: 24 * 60 * 60 * 1000, futureMs: 60 * 1000 };

const withinTimeWindow = (time: number, now: number) => time >= now - ENTRY_TIME_WINDOW.pastMs && time <= now + ENTRY_TIME_WINDOW.futureMs;

class Rejection extends Error {
	constructor(
		readonly reason: RejectReason,
		message: string
	) {
		super(message);
	}
}
const refuse = (reason: RejectReason, message: string): never => {
	throw new Rejection(reason, message);
};

/**
 * Fields that say what a side conversation or draft is, who opened it and when: set once, with it.
 * A side conversation's channel too: it decides who its participants are and whether it sends mail.
 */
const FIXED_FIELDS: Record<string, readonly string[]> = { [ROOTS.sides]: ['id', 'channel', 'createdBy', 'createdAt'], [ROOTS.drafts]: ['createdAt'] };

/** Where an item lives: root name, then map keys, with `*` for a position in an array or text. */
type Path = readonly string[];
/**
 * Where an item goes that Yjs will turn into garbage on arrival: one placed beside, or inside,
 * content the server has already collected (a peer typing into a draft another peer sent and
 * removed meanwhile). Nothing of it is stored, so there is nothing to check or refuse.
 */
const DISCARDED: Path = ['(discarded)'];

type Struct = Y.Item | Y.GC | Y.Skip;

export function checkUpdate(doc: Y.Doc, update: Uint8Array, policy: WritePolicy, sender: UpdateSender, now = Date.now()): CheckResult {
	try {
		return new UpdateCheck(doc, policy, sender, now).run(update);
	} catch (error) {
		if (error instanceof Rejection) return { ok: false, reason: error.reason, message: error.message };
		return { ok: false, reason: REJECT.malformed, message: 'the update could not be decoded' };
	}
}

class UpdateCheck {
	private readonly store: Y.Doc["store"];
	/** The update's structs by client, in clock order. */
	private readonly byClient = new Map<number, Struct[]>();
	private readonly decoded = new Set<Struct>();
	private readonly paths = new Map<Struct, Path>();
	private readonly entries: Entry[] = [];
	private readonly newIds = new Set<string>();
	/** Map keys (as joined paths) this update writes a new value to. */
	private readonly overwritten = new Set<string>();
	/** Map values this update writes and overwrites itself, checked once all its writes are known. */
	private readonly deletedValues: Y.Item[] = [];
	private readonly claims = new Set<number>();
	/** Side conversations this update opens, by id. */
	private readonly newSides = new Set<string>();
	/** The channel of each side conversation this update opens, as it writes it. */
	private readonly newSideChannels = new Map<string, unknown>();
	/** Participants and entries this update adds, by side id: checked against the side's channel once all its writes are known. */
	private readonly sideAdditions: { sideId: string; participant?: unknown; entry?: Entry }[] = [];
	private ds: ReturnType<typeof Y.decodeUpdate>['ds'] | null = null;
	private changes = 0;
	/** Custom field values this update writes, by key; the status and form it sets, if it does. */
	private readonly customWrites = new Map<string, CustomValue>();
	private statusWritten: unknown;
	private formWritten: unknown;
	private readonly growth: GrowthCount;

	constructor(
		private readonly doc: Y.Doc,
		private readonly policy: WritePolicy,
		private readonly sender: UpdateSender,
		private readonly now: number
	) {
		this.store = doc.store;
		this.growth = new GrowthCount(doc);
	}

	run(update: Uint8Array): CheckResult {
		const { structs, ds } = Y.decodeUpdate(update);
		this.ds = ds;
		for (const struct of structs as Struct[]) {
			this.decoded.add(struct);
			const list = this.byClient.get(struct.id.client);
			if (list) list.push(struct);
			else this.byClient.set(struct.id.client, [struct]);
		}
		for (const [client, list] of this.byClient) {
			if (list[0].id.clock > Y.getState(this.store, client)) {
				refuse(REJECT.missingDependencies, `the update starts after a gap in client ${client}'s history`);
			}
		}
		for (const list of this.byClient.values()) {
			for (const struct of list) this.checkStruct(struct);
		}
		for (const item of this.deletedValues) {
			const path = this.pathOf(item);
			if (path !== DISCARDED) this.checkDeletable(path);
		}
		for (const side of this.newSides) {
			if (!FIXED_FIELDS[ROOTS.sides].every((field) => this.isOverwritten([ROOTS.sides, side, field]))) {
				refuse(REJECT.invalidField, `side conversation ${side} is opened without its id, channel, who opened it and when`);
			}
		}
		this.checkSideAdditions();
		this.checkRequiredOnSolve();
		for (const [client, ranges] of ds.clients) {
			for (const range of ranges) this.checkDelete(client, range.clock, range.len);
		}
		this.checkLimits();
		const sideEntryIds = new Set(this.sideAdditions.flatMap((added) => (added.entry ? [added.entry.id] : [])));
		return { ok: true, changes: this.changes, entries: this.entries, appendsOnly: !this.growth.beyondConversation, claims: [...this.claims], sideEntryIds };
	}

	/** The part of `struct` the server does not have yet, as an offset into it (or null). */
	private newOffset(struct: Struct): number | null {
		const known = Y.getState(this.store, struct.id.client) - struct.id.clock;
		return known >= struct.length ? null : Math.max(0, known);
	}

	private checkStruct(struct: Struct) {
		if (struct instanceof Y.Skip) refuse(REJECT.missingDependencies, 'the update has a gap');
		const offset = this.newOffset(struct);
		if (offset === null) return;
		this.checkOwner(struct.id.client);
		this.changes++;
		if (struct instanceof Y.GC) return; // garbage of the writer's own: occupies its clocks, belongs to no type
		const item = struct as Y.Item;
		const path = this.pathOf(item);
		if (path === DISCARDED) return;
		if (offset > 0) {
			// Yjs keeps only the part the server lacks and links it after the server's item at the
			// previous clock, but in the parent it derives from the origin sent: both must agree.
			const left = Y.getItem(this.store, Y.createID(item.id.client, item.id.clock + offset - 1));
			if (!(left instanceof Y.Item) || left.parent !== this.storedParent(item) || (left.parentSub ?? '*') !== path[path.length - 1]) {
				refuse(REJECT.invalidShape, 'an item continues content the server holds elsewhere');
			}
		}
		this.checkInsert(item, path, offset);
		this.growth.inserted(item, path, offset);
	}

	/**
	 * A writer writes only under client ids it owns: the first writer of an id owns it. Client ids
	 * are visible to every peer; without this, one peer's items or garbage ranges could take the
	 * clocks of another's offline edits, which the server would then acknowledge and drop.
	 */
	private checkOwner(client: number) {
		if (this.claims.has(client)) return;
		// A client id the document has but nobody owns was written before owners were recorded.
		const owner = this.sender.owners.get(client) ?? (this.store.clients.has(client) ? null : undefined);
		if (owner === undefined) this.claims.add(client);
		else if (owner !== this.policy.actor) refuse(REJECT.foreignClient, `client id ${client} belongs to another writer`);
	}

	// --- locating items ------------------------------------------------------------------------

	/** The struct with this id, from the server's store or from this update. */
	private lookup(id: Y.ID): Struct {
		if (id.clock < Y.getState(this.store, id.client)) return Y.getItem(this.store, id) as Struct;
		const list = this.byClient.get(id.client);
		if (list && id.clock >= list[0].id.clock && id.clock < list[list.length - 1].id.clock + list[list.length - 1].length) {
			return list[Y.findIndexSS(list as Y.Item[], id.clock)];
		}
		return refuse(REJECT.missingDependencies, `the update refers to ${id.client}:${id.clock}, which the server does not have`);
	}

	private isInStore(struct: Struct): boolean {
		return !this.decoded.has(struct);
	}

	private pathOf(item: Y.Item): Path {
		const cached = this.paths.get(item);
		if (cached) return cached;
		const path = this.isInStore(item) ? storedPath(item) : this.decodedPath(item);
		this.paths.set(item, path);
		return path;
	}

	/** Path of an item decoded from the update: through its parent, or else its neighbour. */
	private decodedPath(item: Y.Item): Path {
		const parent = item.parent as unknown;
		if (typeof parent === 'string') return [parent, item.parentSub ?? '*'];
		if (parent instanceof Y.ID) {
			const parentItem = this.lookup(parent);
			if (parentItem instanceof Y.GC) return DISCARDED;
			if (!(parentItem instanceof Y.Item) || !(parentItem.content instanceof Y.ContentType)) {
				refuse(REJECT.invalidShape, 'an item names a parent that is not a type');
			}
			const parentPath = this.pathOf(parentItem as Y.Item);
			return parentPath === DISCARDED ? DISCARDED : [...parentPath, item.parentSub ?? '*'];
		}
		// Neither parent nor key is encoded when an origin is: the item sits beside its origin.
		const neighbourId = item.origin ?? item.rightOrigin;
		if (!neighbourId) return refuse(REJECT.malformed, 'an item has no parent and no origin');
		const neighbour = this.lookup(neighbourId);
		if (neighbour instanceof Y.GC) return DISCARDED;
		if (!(neighbour instanceof Y.Item)) return refuse(REJECT.missingDependencies, 'an item is placed beside content the server does not have');
		return this.pathOf(neighbour);
	}

	// --- inserts -------------------------------------------------------------------------------

	private checkInsert(item: Y.Item, path: Path, offset: number) {
		const [root, key, sub, leaf, extra] = path;
		this.checkRoot(root);
		if (root === ROOTS.entries) {
			if (key !== '*') refuse(REJECT.invalidShape, '`entries` is an array');
			return this.checkAppend(item, offset, null);
		}
		if (root === ROOTS.ticket) return this.checkTicket(item, path);
		if (root === ROOTS.sides) {
			if (!isId(key)) refuse(REJECT.invalidShape, 'side conversations are keyed by id');
			if (sub === undefined) return this.checkSideRoot(item, key);
			if (leaf === undefined) return this.checkMapField(item, path, sideFieldSchemas, ['participants', 'entries']);
			if (extra !== undefined || leaf !== '*') refuse(REJECT.invalidShape, 'unexpected nesting in a side conversation');
			if (sub === 'entries') return this.checkAppend(item, offset, key);
			if (sub === 'participants') return this.checkParticipants(item, key);
			return refuse(REJECT.invalidShape, `side conversations have no list \`${sub}\``);
		}
		if (root === ROOTS.drafts) {
			if (!isId(key)) refuse(REJECT.invalidShape, 'drafts are keyed by id');
			if (sub === undefined) return this.isDeletedValue(item) || this.checkNewType(item, Y.Map, 'a draft');
			if (leaf === undefined) return this.checkMapField(item, path, draftFieldSchemas, ['text', 'authors']);
			if (extra !== undefined || leaf !== '*') refuse(REJECT.invalidShape, 'unexpected nesting in a draft');
			if (sub === 'text') {
				if (!(item.content instanceof Y.ContentString) && !(item.content instanceof Y.ContentDeleted)) {
					refuse(REJECT.invalidShape, 'draft text is plain text');
				}
				return;
			}
			if (sub === 'authors') return this.checkAuthors(item);
			return refuse(REJECT.invalidShape, `drafts have no list \`${sub}\``);
		}
		return refuse(REJECT.unknownRoot, `the ticket document has no root \`${root}\``);
	}

	/** Checks an append to the conversation, or to side conversation `sideId`. */
	private checkAppend(item: Y.Item, offset: number, sideId: string | null) {
		const place = sideId === null ? 'conversation' : 'side';
		if (item.rightOrigin !== null) refuse(REJECT.notAppendOnly, 'entries can only be appended at the end');
		if (item.origin === null && place === 'conversation' && entriesArray(this.doc)._start !== null) {
			refuse(REJECT.notAppendOnly, 'entries can only be appended at the end');
		}
		this.checkAtEndOfView(item, offset);
		if (!(item.content instanceof Y.ContentAny)) refuse(REJECT.invalidEntry, 'an entry is a plain object');
		const index = entryIndex(this.doc);
		for (const value of (item.content as Y.ContentAny).arr.slice(offset)) {
			const parsed = entrySchema.safeParse(value);
			if (!parsed.success) refuse(REJECT.invalidEntry, describeIssue(parsed.error));
			const entry = parsed.data!;
			if (index.byId.has(entry.id) || this.newIds.has(entry.id)) {
				refuse(REJECT.duplicateEntry, `entry ${entry.id} is already in the ticket`);
			}
			if (!withinTimeWindow(entry.createdAt, this.now)) refuse(REJECT.staleEntry, `entry ${entry.id} is dated outside the accepted window`);
			const denied = this.policy.entryAllowed(entry, place);
			if (denied) refuse(REJECT.forbidden, denied);
			const attachmentsDenied = this.policy.attachmentsAllowed?.(entry);
			if (attachmentsDenied) refuse(REJECT.invalidAttachment, attachmentsDenied);
			this.newIds.add(entry.id);
			this.entries.push(entry);
			if (sideId !== null) this.sideAdditions.push({ sideId, entry });
		}
	}

	/**
	 * An append goes at the end of the array as its sender saw it: no item after its origin in the
	 * server's array may be one the sender had seen — its own earlier writes, and what it declared
	 * it had (`sender.seen`). Appends the sender could not have seen (concurrent ones, or made while
	 * it was offline) may follow the origin: Yjs orders such appends among themselves.
	 */
	private checkAtEndOfView(item: Y.Item, offset: number) {
		// The part the server lacks follows the server's part of the same item.
		const originId = offset > 0 ? Y.createID(item.id.client, item.id.clock + offset - 1) : item.origin;
		const writer = Y.createID(item.id.client, item.id.clock + offset);
		let next: Y.Item | null;
		if (originId === null) next = (this.storedParent(item)?._start as Y.Item | null | undefined) ?? null;
		else if (originId.clock >= Y.getState(this.store, originId.client)) return; // the origin comes with this update
		else {
			const origin = Y.getItem(this.store, originId) as Y.Item;
			// Entries merged into one item: those after the origin within it come first.
			const rest = Y.createID(originId.client, originId.clock + 1);
			if (rest.clock < origin.id.clock + origin.length && this.hasSeen(rest, writer)) this.refuseInsert();
			next = origin.right;
		}
		for (; next !== null; next = next.right) if (this.hasSeen(next.id, writer)) this.refuseInsert();
	}

	/** Whether the writer of the struct at `writer` provably had the struct at `id` then. */
	private hasSeen(id: Y.ID, writer: Y.ID): boolean {
		if (id.client === writer.client) return id.clock < writer.clock;
		return id.clock < (this.sender.seen.get(id.client) ?? 0);
	}

	private refuseInsert(): never {
		return refuse(REJECT.notAppendOnly, 'entries can only be appended at the end: this one goes before entries the sender had');
	}

	private checkTicket(item: Y.Item, path: Path) {
		const [, key, sub, extra] = path;
		if (key === 'tags') {
			if (sub === undefined) return this.checkNewType(item, Y.Array, '`tags`');
			if (sub !== '*' || extra !== undefined) refuse(REJECT.invalidShape, '`tags` is a list of strings');
			const denied = this.policy.tagsAllowed?.();
			if (denied) refuse(REJECT.forbidden, denied);
			return this.checkValues(item, tagSchema, 'tag');
		}
		if (key === 'custom') return this.checkCustom(item, path);
		if (sub !== undefined) refuse(REJECT.invalidShape, `ticket field \`${key}\` is not a type`);
		if (!Object.hasOwn(ticketFieldSchemas, key)) refuse(REJECT.invalidField, `tickets have no field \`${key}\``);
		const name = key as TicketFieldName;
		if (!PEER_EDITABLE_FIELDS.includes(name)) refuse(REJECT.readOnlyField, `\`${name}\` is set by the server`);
		if (this.isDeletedValue(item)) return;
		const value = this.singleValue(item, name);
		if (!ticketFieldSchemas[name].safeParse(value).success) refuse(REJECT.invalidField, `\`${name}\` cannot be ${JSON.stringify(value)}`);
		if (name === 'formId') {
			this.checkCustomAllowed();
			const problem = this.rules.formProblem(value);
			if (problem) refuse(REJECT.invalidField, problem);
			this.formWritten = value;
		} else {
			const denied = this.policy.fieldAllowed(name, value);
			if (denied) refuse(REJECT.forbidden, denied);
		}
		if (name === 'status') this.statusWritten = value;
		this.overwritten.add(path.join('\u0000'));
	}

	private get rules(): FieldRules {
		return this.sender.fields ?? NO_FIELD_RULES;
	}

	private checkCustomAllowed() {
		const denied = this.policy.customAllowed?.();
		if (denied) refuse(REJECT.forbidden, denied);
	}

	/**
	 * `ticket.custom`: a map created once (by the server with the ticket, or by the first peer to
	 * write a value into a ticket from before custom fields) and never replaced, which would drop
	 * what concurrent peers write into it; its keys hold one value each, checked against the
	 * field's definition. A value is cleared by writing null, never by deleting its key.
	 */
	private checkCustom(item: Y.Item, path: Path) {
		const [, , key, extra] = path;
		this.checkCustomAllowed();
		if (key === undefined) {
			if (this.replacesValue(item)) refuse(REJECT.invalidShape, '`custom` cannot be replaced');
			return this.checkNewType(item, Y.Map, '`custom`');
		}
		if (extra !== undefined || key === '*') refuse(REJECT.invalidShape, '`custom` maps field keys to plain values');
		if (this.isDeletedValue(item)) return;
		const value = this.singleValue(item, `custom.${key}`);
		const problem = this.rules.valueProblem(key, value);
		if (problem) refuse(REJECT.invalidField, problem);
		this.customWrites.set(key, value as CustomValue);
		this.overwritten.add(path.join('\u0000'));
	}

	/** Solving, and editing a solved ticket, keep the fields its form requires: as the server has them, with this update's. */
	private checkRequiredOnSolve() {
		if (this.statusWritten === undefined && this.customWrites.size === 0 && this.formWritten === undefined) return;
		const before = readStoredCustom(this.doc);
		const after = {
			values: { ...before.values, ...Object.fromEntries(this.customWrites) },
			formId: this.formWritten !== undefined ? (this.formWritten as string | null) : before.formId
		};
		const problem = this.rules.requiredProblem({ storedStatus: readStoredStatus(this.doc), statusWritten: this.statusWritten, before, after });
		if (problem) refuse(REJECT.requiredFields, problem.message);
	}

	private checkSideRoot(item: Y.Item, id: string) {
		// A side conversation holds immutable entries: it may be created, never replaced.
		if (this.replacesValue(item)) refuse(REJECT.notAppendOnly, 'a side conversation cannot be replaced');
		this.checkNewType(item, Y.Map, 'a side conversation');
		this.newSides.add(id);
	}

	/** A key of a side conversation's or draft's map: a scalar field, or one of its nested types. */
	private checkMapField(item: Y.Item, path: Path, schemas: Record<string, z.ZodType>, nested: string[]) {
		const key = path[2];
		if (nested.includes(key)) {
			// Replacing a nested list would drop what concurrent peers add to it.
			if (this.replacesValue(item)) refuse(REJECT.notAppendOnly, `\`${key}\` cannot be replaced`);
			return this.checkNewType(item, key === 'text' ? Y.Text : Y.Array, `\`${key}\``);
		}
		const schema = Object.hasOwn(schemas, key) ? schemas[key] : undefined;
		if (!schema) return refuse(REJECT.invalidField, `unknown field \`${key}\``);
		// Set with the map, in the update that creates it; the server's maps keep theirs.
		if (FIXED_FIELDS[path[0]].includes(key) && this.storedParent(item) !== null) {
			refuse(REJECT.readOnlyField, `\`${key}\` of ${path[0]}.${path[1]} cannot change`);
		}
		if (this.isDeletedValue(item)) return;
		const value = this.singleValue(item, key);
		if (!schema.safeParse(value).success) refuse(REJECT.invalidField, `\`${key}\` cannot be ${JSON.stringify(value)}`);
		if (path[0] === ROOTS.sides && key === 'channel') this.newSideChannels.set(path[1], value);
		this.checkClaim(path, value);
		if (path[0] === ROOTS.sides) this.checkChildLink(path, value);
		this.overwritten.add(path.join('\u0000'));
	}

	/**
	 * Fields that say which object this is, who made it or when: the key it is stored under, the
	 * writer itself, and a time within the window entries are held to.
	 */
	private checkClaim([root, key, field]: Path, value: unknown) {
		if (field === 'id' && value !== key) refuse(REJECT.invalidField, `\`id\` must be the key ${key}`);
		if (field === 'createdAt' && !withinTimeWindow(value as number, this.now)) {
			refuse(REJECT.timeOutOfRange, `\`createdAt\` of ${root}.${key} is dated outside the accepted window`);
		}
		if (field === 'createdBy' && this.policy.writerId !== null && value !== this.policy.writerId) {
			refuse(REJECT.forbidden, `you open side conversations as ${this.policy.writerId}`);
		}
	}

	private checkParticipants(item: Y.Item, sideId: string) {
		this.checkValues(item, participantSchema, 'participant');
		if (item.content instanceof Y.ContentAny) for (const participant of item.content.arr) this.sideAdditions.push({ sideId, participant });
	}

	/**
	 * What a side conversation holds follows its channel: an email side conversation's participants
	 * are email addresses (its messages go to them), and an outgoing email message goes only into
	 * an email side conversation.
	 */
	private checkSideAdditions() {
		for (const { sideId, participant, entry } of this.sideAdditions) {
			const email = this.sideChannel(sideId) === 'email';
			if (participant !== undefined && email && !emailParticipantSchema.safeParse(participant).success) {
				refuse(REJECT.invalidField, `participant ${JSON.stringify(participant)} of an email side conversation is not an email address`);
			}
			// Whom an internal side conversation names: colleagues who may see the ticket.
			const denied = participant === undefined ? null : this.policy.participantAllowed(String(this.sideChannel(sideId) ?? ''), participant as string);
			if (denied) refuse(REJECT.forbidden, denied);
			if (entry && !email && entry.kind === 'message' && entry.channel === 'email' && entry.direction === 'out') {
				refuse(REJECT.invalidEntry, `entry ${entry.id} is an outgoing email, and side conversation ${sideId} is not by email`);
			}
		}
	}

	/**
	 * Child tickets are created by the server, which links them from the parent: a peer cannot name
	 * a child (`childId`, channel `child`); a side conversation's channel is fixed once it is opened,
	 * so nor can it turn a child's link into another kind.
	 */
	private checkChildLink([, , field]: Path, value: unknown) {
		if (this.policy.writerId === null) return;
		if (field === 'childId' || (field === 'channel' && value === 'child')) {
			refuse(REJECT.forbidden, 'child tickets are linked by the server: create one with POST /api/v1/tickets/{id}/children');
		}
	}

	/** The server's side conversation `id`, if it has one. */
	private storedSide(id: string): Y.Map<unknown> | undefined {
		const item = this.doc.share.get(ROOTS.sides)?._map.get(id);
		return item && !item.deleted && item.content instanceof Y.ContentType ? (item.content.type as Y.Map<unknown>) : undefined;
	}

	/** The channel of side conversation `sideId`: the server's, or the one this update opens it with. */
	private sideChannel(sideId: string): unknown {
		return this.storedSide(sideId)?.get('channel') ?? this.newSideChannels.get(sideId);
	}

	/** A writer adds itself to a draft's authors, nobody else. */
	private checkAuthors(item: Y.Item) {
		this.checkValues(item, idSchema, 'author');
		if (!(item.content instanceof Y.ContentAny) || this.policy.writerId === null) return;
		for (const author of item.content.arr) {
			if (author !== this.policy.writerId) refuse(REJECT.forbidden, `you add yourself to a draft's authors as ${this.policy.writerId}`);
		}
	}

	/**
	 * A map value written and overwritten within this update (offline work) arrives as deleted
	 * content; arriving, it still takes the place of the value before it, so it is checked as a
	 * deletion of that value once all the update's writes are known.
	 */
	private isDeletedValue(item: Y.Item): boolean {
		if (!(item.content instanceof Y.ContentDeleted)) return false;
		this.deletedValues.push(item);
		return true;
	}

	/**
	 * Whether a value written under a map key may take the place of one the server holds there:
	 * with an origin it follows that value; without one Yjs orders it among the key's values by
	 * client id, so it may still win, unless the server's map has nothing under that key.
	 */
	private replacesValue(item: Y.Item): boolean {
		if (item.origin !== null || item.rightOrigin !== null) return true;
		const parent = item.parent as unknown;
		const map = typeof parent === 'string' ? this.doc.share.get(parent) : this.storedParentType(parent as Y.ID);
		return !!map && map._map.has(item.parentSub ?? '');
	}

	/** The type an item of the update goes into, when the server has it (null when it is new). */
	private storedParent(item: Y.Item): Y.AbstractType<unknown> | null {
		if (this.isInStore(item)) return item.parent as Y.AbstractType<unknown>;
		const parent = item.parent as unknown;
		if (typeof parent === 'string') return (this.doc.share.get(parent) as Y.AbstractType<unknown> | undefined) ?? null;
		if (parent instanceof Y.ID) return this.storedParentType(parent);
		return this.storedParent(this.lookup((item.origin ?? item.rightOrigin)!) as Y.Item);
	}

	private storedParentType(id: Y.ID): Y.AbstractType<unknown> | null {
		const parentItem = this.lookup(id);
		return this.isInStore(parentItem) ? (((parentItem as Y.Item).content as Y.ContentType).type as Y.AbstractType<unknown>) : null;
	}

	/**
	 * The exact type, not a subclass: a Y.XmlText is a Y.Text and a Y.XmlHook a Y.Map to
	 * `instanceof`, yet they encode differently and no reader of the ticket expects them.
	 */
	private checkNewType(item: Y.Item, type: abstract new (...args: never[]) => unknown, what: string) {
		if (!(item.content instanceof Y.ContentType) || item.content.type.constructor !== type) {
			refuse(REJECT.invalidShape, `${what} has the wrong type`);
		}
	}

	private checkValues(item: Y.Item, schema: z.ZodType, what: string) {
		if (item.content instanceof Y.ContentDeleted) return;
		if (!(item.content instanceof Y.ContentAny)) refuse(REJECT.invalidShape, `a ${what} is a plain value`);
		for (const value of (item.content as Y.ContentAny).arr) {
			if (!schema.safeParse(value).success) refuse(REJECT.invalidField, `invalid ${what} ${JSON.stringify(value)}`);
		}
	}

	private singleValue(item: Y.Item, key: string): unknown {
		if (!(item.content instanceof Y.ContentAny) || item.content.arr.length !== 1) {
			refuse(REJECT.invalidShape, `\`${key}\` holds one plain value`);
		}
		return (item.content as Y.ContentAny).arr[0];
	}

	/** Whether this writer may touch `root` at all (an unknown root is refused by the caller). */
	private checkRoot(root: string) {
		if (root !== ROOTS.ticket && root !== ROOTS.sides && root !== ROOTS.drafts) return;
		const denied = this.policy.rootAllowed(root);
		if (denied) refuse(REJECT.forbidden, denied);
	}

	// --- deletions -----------------------------------------------------------------------------

	private checkDelete(client: number, clock: number, len: number) {
		const end = clock + len;
		const known = Y.getState(this.store, client);
		const structs = this.store.clients.get(client) ?? [];
		if (clock < known) {
			for (let i = Y.findIndexSS(structs, clock); i < structs.length && structs[i].id.clock < end; i++) {
				this.checkDeletedStruct(structs[i], overlap(structs[i], clock, end));
			}
		}
		if (end > known) {
			const own = this.byClient.get(client) ?? [];
			const ownEnd = own.length ? own[own.length - 1].id.clock + own[own.length - 1].length : known;
			if (end > ownEnd) refuse(REJECT.missingDependencies, `the update deletes ${client}:${clock}, which the server does not have`);
			for (const struct of own) {
				if (struct.id.clock + struct.length > Math.max(clock, known) && struct.id.clock < end) this.checkDeletedStruct(struct, overlap(struct, Math.max(clock, known), end));
			}
		}
	}

	private checkDeletedStruct(struct: Struct, length: number) {
		if (!(struct instanceof Y.Item) || (struct.deleted && this.isInStore(struct))) return;
		this.changes++;
		const path = this.pathOf(struct);
		if (path === DISCARDED) return;
		this.checkDeletable(path);
		this.growth.deleted(struct, path, length);
	}

	private checkDeletable(path: Path) {
		const [root, key, sub, leaf] = path;
		this.checkRoot(root);
		const deletable =
			(root === ROOTS.drafts && (sub === undefined || sub === 'text' || sub === 'authors' || isStagedField(path) || this.isOverwritten(path) || this.deletesDraft(key))) ||
			(root === ROOTS.ticket && ((key === 'tags' && sub === '*') || (key !== 'tags' && this.isOverwritten(path)))) ||
			// Participants are only ever added: a message already sent went to them.
			(root === ROOTS.sides && leaf === undefined && sub !== undefined && sub !== 'entries' && sub !== 'participants' && this.isOverwritten(path));
		if (!deletable) {
			refuse(root === ROOTS.entries || sub === 'entries' || root === ROOTS.sides ? REJECT.notAppendOnly : REJECT.invalidShape, `\`${path.join('.')}\` cannot be deleted`);
		}
	}

	/** Whether this update deletes the server's draft `key`: Yjs deletes its values with it. */
	private deletesDraft(key: string): boolean {
		const draft = this.doc.share.get(ROOTS.drafts)?._map.get(key);
		return !!draft && Y.isDeleted(this.ds!, draft.id);
	}

	/** A map value may be deleted only when this update writes a new value under the same key. */
	private isOverwritten(path: Path): boolean {
		return this.overwritten.has(path.join('\u0000'));
	}

	// --- caps ----------------------------------------------------------------------------------

	/** Refuses an update that takes the ticket past one of LIMITS. */
	private checkLimits() {
		const breach = this.growth.breach();
		if (breach) refuse(REJECT.limitExceeded, breach.message);
	}
}

/** How many clock units of `struct` lie in [start, end). */
function overlap(struct: Struct, start: number, end: number): number {
	return Math.min(end, struct.id.clock + struct.length) - Math.max(start, struct.id.clock);
}

/** Path of an item already integrated in the server's document. */
function storedPath(item: Y.Item): Path {
	const type = item.parent as Y.AbstractType<unknown> | null;
	if (!type || !(type instanceof Y.AbstractType)) return refuse(REJECT.missingDependencies, 'an item refers to removed content');
	const position = item.parentSub ?? '*';
	if (type._item === null) return [Y.findRootTypeKey(type), position];
	return [...storedPath(type._item), position];
}

/** A staged change of a draft (not something inside it): unstaging deletes it. */
function isStagedField([, , field, inside]: Path): boolean {
	return inside === undefined && (STAGED_DRAFT_FIELDS as readonly string[]).includes(field);
}

function isId(value: string | undefined): boolean {
	return value !== undefined && idSchema.safeParse(value).success;
}

export function describeIssue(error: z.ZodError): string {
	const issue = error.issues[0];
	const where = issue.path.length ? `\`${issue.path.join('.')}\`: ` : '';
	return `${where}${issue.message}`;
}
