/** Ids for tickets, entries, drafts and side conversations: ULIDs, monotonic within a process. */
import { monotonicFactory, ulid } from 'ulid';

const next = monotonicFactory();

/**
 * A new id. Ids made now sort in creation order even within one millisecond; ids for a given
 * past time (imported or seeded history) carry that time.
 */
export function newId(time?: number): string {
	return time === undefined ? next() : ulid(time);
}
