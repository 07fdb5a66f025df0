/** Ids for tickets, entries, drafts and side conversations: ULIDs, monotonic within a process. */
import { monotonicFactory } from 'ulid';

const next = monotonicFactory();

export function newId(now: number = Date.now()): string {
	return next(now);
}
