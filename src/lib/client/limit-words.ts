/**
 * What the workspace says about a size limit (src/lib/ticket/limits.ts): a count shown from
 * NEAR_LIMIT of it on, and a refusal in words once it is reached, instead of a change that
 * silently does nothing.
 */

/** The share of a limit from which its count is shown. */
export const NEAR_LIMIT = 0.9;

const number = (n: number) => n.toLocaleString('en-US');

/** "58,981 / 65,536" once `used` is near `limit`; null below. */
export function limitCount(used: number, limit: number): string | null {
	return used >= limit * NEAR_LIMIT ? `${number(used)} / ${number(limit)}` : null;
}

/** Why typing or pasting into a draft did nothing. */
export function draftFull(limit: number): string {
	return `A message holds at most ${number(limit)} characters: that would make this draft longer, so it was not added.`;
}

/** Why a draft was not sent; `size` is its length as stored (accented letters and emoji count 2–4). */
export function draftTooLong(size: number, limit: number): string {
	return `This draft is ${number(size)} characters and a message holds at most ${number(limit)}: shorten it (or send it in parts) to send it.`;
}

/** Why a subject was not changed. */
export function subjectRefusal(limit: number, length: number): string {
	return length ? `A subject holds at most ${number(limit)} characters; this one has ${number(length)}. It was not changed.` : 'A subject cannot be empty. It was not changed.';
}
