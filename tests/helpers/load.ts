/**
 * Write load for fault tests: what the server acknowledged, counted only when it said so, and
 * checked against what it stored afterwards.
 */
import { expect } from 'vitest';
import { appendEntries, newId, type Entry } from '../../src/lib/ticket';
import { noteBy } from './entries';
import type { Fixture } from './fixtures';
import { api, waitFor, type Peer } from './server';

/**
 * Mixed load on one ticket: `peer` (a provider of Ann's) appending notes in batches and the bot
 * appending over HTTP, each entry counted as acknowledged only when the server said so. The
 * provider stops once the server closed its document (its unacknowledged entries stay in
 * `peer.doc`, unsent); the bot keeps writing, counting the writes answered 503 in `refused`.
 */
export function mixedLoad(server: { url: string }, peer: Peer, fx: Fixture, ticketId: string) {
	const acknowledged = new Set<string>();
	let refused = 0;
	let pending: string[] = [];
	let stopped = false;
	peer.provider.on('unsyncedChanges', ({ number }: { number: number }) => {
		if (number !== 0) return;
		for (const id of pending) acknowledged.add(id);
		pending = [];
	});
	const provider = (async () => {
		// Once closed, nothing more is sent, and waiting for an acknowledgement would return at once:
		// appending on would never yield to the event loop.
		for (let i = 0; !stopped && !peer.closeReason(); i++) {
			const batch = [noteBy(fx.users.ann.id, `p${i}a`), noteBy(fx.users.ann.id, `p${i}b`)];
			appendEntries(peer.doc, batch);
			pending.push(...batch.map((e) => e.id));
			await waitFor(() => stopped || pending.length === 0 || peer.closeReason(), 'provider ack', 20_000).catch(() => {});
		}
	})();
	const http = (async () => {
		const client = api(server, fx.tokens.bot.token);
		for (let i = 0; !stopped; i++) {
			const id = newId();
			const res = await client.request('POST', `/api/v1/tickets/${ticketId}/entries`, { id, channel: 'chat', body: `h${i}` }).catch(() => null);
			if (res?.status === 201) acknowledged.add(id);
			if (res?.status === 503) refused++;
		}
	})();
	return {
		acknowledged,
		/** HTTP writes answered 503. */
		get refused() {
			return refused;
		},
		stop: async () => {
			stopped = true;
			await Promise.all([provider, http]);
		}
	};
}

/** Every acknowledged entry is in `entries`, and no entry is there twice. */
export function assertOnce(entries: Entry[], acknowledged: Iterable<string>) {
	const seen = new Map<string, number>();
	for (const e of entries) seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
	expect([...seen.entries()].filter(([, n]) => n > 1)).toEqual([]);
	expect([...acknowledged].filter((id) => !seen.has(id))).toEqual([]);
}
