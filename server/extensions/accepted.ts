/**
 * Hand-over from the validate extension to the persist extension for one sync message: how many
 * changes the checked update carries (0: nothing new, nothing to log), the entries it adds
 * (persist enqueues outbound ones in the same transaction as the log row) and the Yjs client ids
 * it writes first (persist records the sender as their owner in that transaction). Keyed by the payload,
 * which Hocuspocus passes to every extension's beforeSync as the same object.
 */
import type { Entry } from '../../src/lib/ticket';

const NONE: ReadonlySet<string> = new Set();
const accepted = new WeakMap<Uint8Array, { changes: number; entries: Entry[]; claims: number[]; sideEntryIds: ReadonlySet<string>; since: number }>();

/** `since`: when the check began (performance.now()), for the acknowledgement's latency. */
export function markAccepted(payload: Uint8Array, changes: number, entries: Entry[] = [], claims: number[] = [], sideEntryIds = NONE, since = performance.now()): void {
	accepted.set(payload, { changes, entries, claims, sideEntryIds, since });
}

/** When the check of an accepted update began (performance.now()). */
export function acceptedSince(payload: Uint8Array): number | undefined {
	return accepted.get(payload)?.since;
}

export function acceptedChanges(payload: Uint8Array): number | undefined {
	return accepted.get(payload)?.changes;
}

/** The entries the checked update adds (conversation and side conversations). */
export function acceptedEntries(payload: Uint8Array): Entry[] {
	return accepted.get(payload)?.entries ?? [];
}

/** Ids of the accepted entries that go into side conversations. */
export function acceptedSideEntryIds(payload: Uint8Array): ReadonlySet<string> {
	return accepted.get(payload)?.sideEntryIds ?? NONE;
}

/** The Yjs client ids the checked update is the first to write. */
export function acceptedClaims(payload: Uint8Array): number[] {
	return accepted.get(payload)?.claims ?? [];
}
