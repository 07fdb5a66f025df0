/**
 * Hand-over from the validate extension to the persist extension for one sync message: how many
 * changes the checked update carries (0: nothing new, nothing to log). Keyed by the payload,
 * which Hocuspocus passes to every extension's beforeSync as the same object.
 */
const changes = new WeakMap<Uint8Array, number>();

export function markAccepted(payload: Uint8Array, count: number): void {
	changes.set(payload, count);
}

export function acceptedChanges(payload: Uint8Array): number | undefined {
	return changes.get(payload);
}
