/**
 * What one update adds to the parts of a ticket that LIMITS caps, counted on the decoded structs
 * the update checker walks (inserts minus deletions, per draft, side and list), then compared
 * with what the server's document holds. Only growth is refused: a ticket already over a cap
 * takes changes that keep it level or shrink it.
 */
import * as Y from 'yjs';
import { ROOTS } from './document';
import { LIMITS, limitMessage, type LimitName } from './limits';

type Path = readonly string[];
type Struct = Y.Item | Y.GC | Y.Skip;

export interface LimitBreach {
	name: LimitName;
	message: string;
}

export class GrowthCount {
	private readonly newDrafts = new Set<string>();
	private readonly removedDrafts = new Set<string>();
	private readonly newSides = new Set<string>();
	/** Net characters added per draft id. */
	private readonly draftText = new Map<string, number>();
	/** Net participants added per side id. */
	private readonly participants = new Map<string, number>();
	private tags = 0;
	/** Whether the update inserts anything besides conversation entries. */
	beyondConversation = false;

	constructor(private readonly doc: Y.Doc) {}

	/** The part of `item` from `offset` on, which the server does not have yet, goes in at `path`. */
	inserted(item: Y.Item, path: Path, offset: number) {
		const [root, key, sub, leaf] = path;
		if (root !== ROOTS.entries) this.beyondConversation = true;
		const added = countable(item, offset);
		if (root === ROOTS.drafts && sub === undefined && item.content instanceof Y.ContentType && !this.stored(ROOTS.drafts, key)) this.newDrafts.add(key);
		else if (root === ROOTS.sides && sub === undefined && item.content instanceof Y.ContentType && !this.stored(ROOTS.sides, key)) this.newSides.add(key);
		else if (root === ROOTS.drafts && sub === 'text' && leaf === '*') add(this.draftText, key, added);
		else if (root === ROOTS.sides && sub === 'participants' && leaf === '*') add(this.participants, key, added);
		else if (root === ROOTS.ticket && key === 'tags' && sub === '*') this.tags += added;
	}

	/** `length` units of `struct`, at `path`, are deleted by the update. */
	deleted(struct: Y.Item, path: Path, length: number) {
		const [root, key, sub, leaf] = path;
		const removed = countable(struct, struct.length - length);
		if (root === ROOTS.drafts && sub === undefined && this.isInStore(struct)) this.removedDrafts.add(key);
		else if (root === ROOTS.drafts && sub === 'text' && leaf === '*') add(this.draftText, key, -removed);
		else if (root === ROOTS.ticket && key === 'tags' && sub === '*') this.tags -= removed;
	}

	/** The first cap this update would take the ticket past, if any. */
	breach(): LimitBreach | null {
		if (this.newDrafts.size > 0 && this.liveKeys(ROOTS.drafts) - this.removedDrafts.size + this.newDrafts.size > LIMITS.draftsPerTicket) {
			return { name: 'draftsPerTicket', message: limitMessage('draftsPerTicket', 'drafts per ticket:') };
		}
		if (this.newSides.size > 0 && this.liveKeys(ROOTS.sides) + this.newSides.size > LIMITS.sidesPerTicket) {
			return { name: 'sidesPerTicket', message: limitMessage('sidesPerTicket', 'side conversations per ticket:') };
		}
		for (const [draftId, growth] of this.draftText) {
			if (growth > 0 && this.storedLength(ROOTS.drafts, draftId, 'text') + growth > LIMITS.draftTextLength) {
				return { name: 'draftTextLength', message: limitMessage('draftTextLength', `draft ${draftId} holds`) + ' characters' };
			}
		}
		for (const [sideId, growth] of this.participants) {
			if (growth > 0 && this.storedLength(ROOTS.sides, sideId, 'participants') + growth > LIMITS.participantsPerSide) {
				return { name: 'participantsPerSide', message: limitMessage('participantsPerSide', `side conversation ${sideId} has`) + ' participants' };
			}
		}
		if (this.tags > 0 && this.storedTags() + this.tags > LIMITS.tagsPerTicket) {
			return { name: 'tagsPerTicket', message: limitMessage('tagsPerTicket', 'tags per ticket:') };
		}
		return null;
	}

	// The server's document is read through its roots' item maps, never through getMap/getArray:
	// a check must not create roots.

	private isInStore(struct: Struct): boolean {
		return Y.getState(this.doc.store, struct.id.client) > struct.id.clock;
	}

	private stored(root: string, key: string): Y.Item | undefined {
		const item = this.doc.share.get(root)?._map.get(key);
		return item && !item.deleted ? item : undefined;
	}

	private liveKeys(root: string): number {
		let count = 0;
		for (const item of this.doc.share.get(root)?._map.values() ?? []) if (!item.deleted) count++;
		return count;
	}

	/** Length of the nested type `field` of the stored draft or side `key` (0 when there is none). */
	private storedLength(root: string, key: string, field: string): number {
		const nested = nestedType(this.stored(root, key), field);
		return nested?._length ?? 0;
	}

	private storedTags(): number {
		const ticket = this.doc.share.get(ROOTS.ticket);
		const tags = ticket?._map.get('tags');
		return tags && !tags.deleted && tags.content instanceof Y.ContentType ? tags.content.type._length : 0;
	}
}

function nestedType(parent: Y.Item | undefined, field: string): Y.AbstractType<unknown> | null {
	if (!parent || !(parent.content instanceof Y.ContentType)) return null;
	const item = parent.content.type._map.get(field);
	return item && !item.deleted && item.content instanceof Y.ContentType ? item.content.type : null;
}

/** Characters or list values an item holds from `offset` on (deleted content counts as none). */
function countable(item: Y.Item, offset: number): number {
	return item.content instanceof Y.ContentString || item.content instanceof Y.ContentAny ? item.length - offset : 0;
}

function add(counts: Map<string, number>, key: string, by: number) {
	counts.set(key, (counts.get(key) ?? 0) + by);
}
