/**
 * @mentions: an internal note or a message in an internal side conversation may name colleagues
 * in `meta.mentions` (user ids; the text says `@Name`). The server tells each of them and makes
 * them followers; who may be named is the policy's (server/auth/policy.ts) to decide, what the list
 * looks like is decided here, for the server and the workspace alike.
 */
import { z } from 'zod';
import { idSchema, type Entry } from './schema';

/** Colleagues one entry may mention. */
export const MAX_MENTIONS = 20;

const mentionsSchema = z.array(idSchema).max(MAX_MENTIONS);

/** The user ids an entry mentions (none when `meta.mentions` is absent or not a list of ids). */
export function mentionsOf(entry: Pick<Entry, 'meta'>): string[] {
	const parsed = mentionsSchema.safeParse(entry.meta?.mentions);
	return parsed.success ? parsed.data : [];
}

/**
 * Why an entry's `meta.mentions` cannot be stored, or null. Only internal entries mention: a
 * public reply (or an email of a side conversation) goes to people outside, who must not see whom
 * the team named.
 */
export function mentionsProblem(entry: Pick<Entry, 'meta' | 'channel' | 'visibility'>): string | null {
	const mentions = entry.meta?.mentions;
	if (mentions === undefined) return null;
	if (entry.visibility !== 'internal' || entry.channel !== 'internal') return 'mentions are for internal notes and internal side conversations only: customers and outside participants would see them';
	const parsed = mentionsSchema.safeParse(mentions);
	if (!parsed.success) return `meta.mentions is a list of at most ${MAX_MENTIONS} user ids`;
	if (new Set(parsed.data).size !== parsed.data.length) return 'meta.mentions names a colleague twice';
	return null;
}

/**
 * The colleagues a text mentions as `@Name`, among `colleagues`: those whose name follows an `@`
 * and ends at a word's end. A name two colleagues share mentions the one `picked` (chosen from the
 * autocomplete), else neither: a guess could tell the wrong person.
 */
export function mentionedIn(text: string, colleagues: readonly { id: string; name: string }[], picked: ReadonlySet<string> = new Set()): string[] {
	const found: string[] = [];
	const byName = new Map<string, { id: string }[]>();
	for (const colleague of colleagues) byName.set(colleague.name, [...(byName.get(colleague.name) ?? []), colleague]);
	for (const [name, named] of byName) {
		if (!name || !new RegExp(`(^|[^\\p{L}\\p{N}_])@${escapeRegExp(name)}(?![\\p{L}\\p{N}_])`, 'u').test(text)) continue;
		const chosen = named.length === 1 ? named : named.filter((c) => picked.has(c.id));
		for (const colleague of chosen.slice(0, 1)) found.push(colleague.id);
	}
	return found.slice(0, MAX_MENTIONS);
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
