/**
 * Merges decided across processes: two nodes of a cluster (one PostgreSQL, one Redis) each asked
 * at once to merge the same two tickets, the same way or crosswise. Each node's own turns cannot
 * see the other's: the row locks of the merge's transaction decide, so one merge is made and the
 * other answers 409, and nothing is copied twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Entry } from '../../src/lib/ticket';
import { startCluster, type TestCluster } from '../helpers/cluster';
import { api } from '../helpers/server';

let cluster: TestCluster;

beforeAll(async () => {
	cluster = await startCluster({ nodes: 2, spec: { users: { ann: { role: 'agent' }, ben: { role: 'agent' } }, bots: { mail: ['email'] } } });
});

afterAll(async () => {
	await cluster?.destroy();
});

async function ticket(subject: string): Promise<string> {
	const res = await api(cluster.nodes[0]!, cluster.fx.tokens.mail.token).request('POST', '/api/v1/tickets', { subject, requester: { email: `${subject.replace(/\W/g, '')}@example.com` }, channel: 'email', body: `${subject}: first message` });
	expect(res.status).toBe(201);
	return res.body.id;
}

const merge = (node: number, who: 'ann' | 'ben', targetId: string, sourceId: string) =>
	api(cluster.nodes[node]!, cluster.fx.users[who]!.token).request('POST', `/api/v1/tickets/${targetId}/merge`, { sourceId });
const read = async (id: string) => (await api(cluster.nodes[0]!, cluster.fx.users.ann!.token).request('GET', `/api/v1/tickets/${id}`)).body;
const copies = (entries: Entry[]) => entries.filter((e) => e.meta?.mergedFrom).length;
const notes = (entries: Entry[]) => entries.filter((e) => e.kind === 'event' && /^Merged (from|into)/.test(e.body)).length;

describe('merging on two nodes at once', () => {
	it('makes one of two identical merges, on different nodes, and refuses the other', async () => {
		for (let round = 0; round < 3; round++) {
			const [target, source] = [await ticket(`Target ${round}`), await ticket(`Source ${round}`)];
			const answers = await Promise.all([merge(0, 'ann', target, source), merge(1, 'ben', target, source)]);
			expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
			expect(answers.find((a) => a.status === 409)!.body.error.code).toBe('already_merged');
			const [t, s] = [await read(target), await read(source)];
			expect(copies(t.entries)).toBe(1);
			expect(notes(t.entries) + notes(s.entries)).toBe(2);
			expect(s.mergedIntoId).toBe(target);
		}
	});

	it('makes one of two crosswise merges, on different nodes, and refuses the other', async () => {
		for (let round = 0; round < 3; round++) {
			const [left, right] = [await ticket(`Left ${round}`), await ticket(`Right ${round}`)];
			const answers = await Promise.all([merge(0, 'ann', left, right), merge(1, 'ben', right, left)]);
			expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
			const [l, r] = [await read(left), await read(right)];
			expect([l.mergedIntoId, r.mergedIntoId].filter(Boolean)).toHaveLength(1);
			expect(copies(l.entries) + copies(r.entries)).toBe(1);
			expect(notes(l.entries) + notes(r.entries)).toBe(2);
		}
	});
});
