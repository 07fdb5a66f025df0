/**
 * Conversation entries for tests. `extra` is spread last and may break the entry contract on
 * purpose (an unknown kind or key), which is why it is not typed as `Partial<Entry>`.
 */
import { newId, type Entry } from '../../src/lib/ticket';

/** An entry an agent writes now: `shape` (kind, channel, direction, visibility), then `extra`. */
function byAgent(authorId: string, body: string, shape: Record<string, unknown>, extra: Record<string, unknown>): Entry {
	return { id: newId(), ...shape, authorType: 'agent', authorId, body, createdAt: Date.now(), ...extra } as Entry;
}

/** An internal note by an agent, written now. */
export function noteBy(authorId: string, body = 'Internal note', extra: Record<string, unknown> = {}): Entry {
	return byAgent(authorId, body, { kind: 'note', channel: 'internal', visibility: 'internal' }, extra);
}

/** A public outgoing message by an agent on chat, written now. */
export function replyBy(authorId: string, body = 'Reply', extra: Record<string, unknown> = {}): Entry {
	return byAgent(authorId, body, { kind: 'message', channel: 'chat', direction: 'out', visibility: 'public' }, extra);
}

/**
 * A maker of valid entries with deterministic ids, for unit tests: E000001, E000002, … in creation
 * order (so they sort as created unless an id is given), bodies `${bodyPrefix} 1`, `${bodyPrefix} 2`, …
 * By default a customer's public inbound message; `defaults`, then each call's `over`, change that.
 */
export function entrySequence(defaults: Partial<Entry> & Pick<Entry, 'createdAt'>, bodyPrefix = 'body') {
	let seq = 0;
	return (over: Partial<Entry> = {}): Entry => {
		seq++;
		return {
			id: `E${String(seq).padStart(6, '0')}`,
			kind: 'message',
			channel: 'email',
			direction: 'in',
			visibility: 'public',
			authorType: 'customer',
			authorId: 'cust-1',
			body: `${bodyPrefix} ${seq}`,
			...defaults,
			...over
		};
	};
}
