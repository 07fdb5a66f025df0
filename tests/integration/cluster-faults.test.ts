/**
 * The cluster losing parts under load (issue #15's tests 2, 4, 6 and 7): three nodes behind nginx
 * on one PostgreSQL and one Redis, peers writing through nginx as a deployment's clients do. A
 * node SIGKILLed while every node takes writes, and a rolling restart of every node: the peers
 * reconnect through nginx to the others, every acknowledged entry is stored exactly once, and every
 * peer ends with the stored document. The same entry sent to two nodes at once, and the same mail
 * delivered to two nodes' SMTP, are each stored once. Runs once, in the `sqlite` project.
 */
import type { ChildProcess } from 'node:child_process';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { appendEntries, readEntries, type Entry } from '../../src/lib/ticket';
import { freePorts } from '../../scripts/local-servers/loopback';
import { nginxSite, startNginx } from '../../scripts/local-servers/nginx';
import { startCluster, type TestCluster } from '../helpers/cluster';
import { storedDocumentAt } from '../helpers/db';
import { noteBy } from '../helpers/entries';
import { api, connectPeer, emailTicket, smtpPort, tempDataDir, waitFor, type Peer, type RunningServer } from '../helpers/server';

const SPEC = { users: { alex: { role: 'agent' as const, groups: ['support'] } }, bots: { mailer: ['email'] } };

let running: TestCluster | undefined;
let nginx: ChildProcess | undefined;
const peers: Peer[] = [];
afterEach(async () => {
	for (const peer of peers.splice(0)) peer.destroy();
	if (nginx && nginx.exitCode === null) {
		const exited = new Promise((resolve) => nginx!.once('exit', resolve));
		process.kill(-nginx.pid!, 'SIGKILL');
		await exited;
	}
	nginx = undefined;
	await running?.destroy();
	running = undefined;
});

/** Three nodes, each on a port chosen here (so that a node restarted comes back on its address), behind nginx. */
async function threeNodesBehindNginx() {
	const ports = await freePorts(4);
	const nodePorts = ports.slice(0, 3);
	running = await startCluster({ nodes: 0, spec: SPEC, env: { LEADER_CHECK_MS: '500' } });
	const nodes: RunningServer[] = [];
	for (const port of nodePorts) nodes.push(await running.boot({ PORT: String(port) }));
	const dir = tempDataDir('tandem-nginx-');
	nginx = await startNginx(dir, ports[3]!, nginxSite(`127.0.0.1:${ports[3]}`, nodePorts.map((port) => `127.0.0.1:${port}`)));
	const front = { url: `http://127.0.0.1:${ports[3]}`, wsUrl: `ws://127.0.0.1:${ports[3]}/collab` };
	return { fx: running.fx, nodes, nodePorts, front, databaseUrl: running.databaseUrl };
}

/**
 * A peer that appends notes one at a time, each once the one before was acknowledged, until told
 * to stop; what it saw acknowledged is in `acknowledged`. A write cut off by its node dying is
 * sent again by the provider once it reconnects (through nginx, to another node).
 */
function steadyWriter(peer: Peer, authorId: string, label: string) {
	const acknowledged: Entry[] = [];
	let stopped = false;
	const done = (async () => {
		for (let n = 0; !stopped; n++) {
			const entry = noteBy(authorId, `${label} ${n}`);
			appendEntries(peer.doc, [entry]);
			await peer.acknowledged(30_000);
			acknowledged.push(entry);
		}
	})();
	return {
		acknowledged,
		async stop() {
			stopped = true;
			await done;
		}
	};
}

/** Every acknowledged entry stored exactly once, and every peer's document the stored one. */
async function expectEveryAcknowledgedEntryOnce(databaseUrl: string, ticketId: string, writers: { acknowledged: Entry[] }[], all: Peer[]) {
	const stored = readEntries(await storedDocumentAt(databaseUrl, ticketId)).map((e) => e.id);
	expect(new Set(stored).size).toBe(stored.length);
	const ids = new Set(stored);
	const acknowledged = writers.flatMap((w) => w.acknowledged);
	expect(acknowledged.length).toBeGreaterThan(0);
	expect(acknowledged.filter((e) => !ids.has(e.id)).map((e) => e.body)).toEqual([]);
	for (const peer of all) await waitFor(() => readEntries(peer.doc).length === stored.length, 'every peer to hold the stored entries', 20_000);
	for (const peer of all) expect(readEntries(peer.doc).map((e) => e.id).sort()).toEqual([...stored].sort());
}

describe('a cluster of three nodes behind nginx, losing parts under load', () => {
	it('loses nothing acknowledged when one node is SIGKILLed while peers write through every node', async () => {
		const { fx, nodes, front, databaseUrl } = await threeNodesBehindNginx();
		const ticket = await emailTicket(front, fx.tokens.mailer!.token, 'Killed under load');
		// Six peers through nginx: its round robin spreads them over the three nodes.
		for (let i = 0; i < 6; i++) peers.push(await connectPeer(front, ticket.id, fx.users.alex!.token));
		const writers = peers.map((peer, i) => steadyWriter(peer, fx.users.alex!.id, `peer ${i}`));
		await waitFor(() => writers.every((w) => w.acknowledged.length >= 5), 'every peer writing');
		await nodes[1]!.kill();
		const atKill = writers.map((w) => w.acknowledged.length);
		// Every peer goes on writing, those of the dead node through the other two.
		await waitFor(() => writers.every((w, i) => w.acknowledged.length >= atKill[i]! + 5), 'every peer writing again after the kill', 30_000);
		await Promise.all(writers.map((w) => w.stop()));
		await expectEveryAcknowledgedEntryOnce(databaseUrl, ticket.id, writers, peers);
	}, 120_000);

	it('loses nothing acknowledged through a rolling restart of every node under load', async () => {
		const { fx, nodes, nodePorts, front, databaseUrl } = await threeNodesBehindNginx();
		const ticket = await emailTicket(front, fx.tokens.mailer!.token, 'Restarted under load');
		for (let i = 0; i < 6; i++) peers.push(await connectPeer(front, ticket.id, fx.users.alex!.token));
		const writers = peers.map((peer, i) => steadyWriter(peer, fx.users.alex!.id, `peer ${i}`));
		await waitFor(() => writers.every((w) => w.acknowledged.length >= 3), 'every peer writing');
		for (const [i, node] of nodes.entries()) {
			// SIGTERM drains the node: its peers reconnect elsewhere; it comes back on its address.
			expect(await node.stop()).toBe(0);
			nodes[i] = await running!.boot({ PORT: String(nodePorts[i]) });
			const before = writers.map((w) => w.acknowledged.length);
			await waitFor(() => writers.every((w, j) => w.acknowledged.length >= before[j]! + 3), `every peer writing after node ${i} restarted`, 30_000);
		}
		await Promise.all(writers.map((w) => w.stop()));
		await expectEveryAcknowledgedEntryOnce(databaseUrl, ticket.id, writers, peers);
	}, 180_000);

	it('stores once the same entry sent to two nodes at once, over HTTP and over websockets', async () => {
		const { fx, nodes, databaseUrl } = await threeNodesBehindNginx();
		const ticket = await emailTicket(nodes[0]!, fx.tokens.mailer!.token, 'Sent twice');
		const token = fx.users.alex!.token;
		// Over HTTP: the same id to node A and node B at once, ten times; one of each pair is stored.
		for (let round = 0; round < 10; round++) {
			const entry = { id: `twice-${round}`, kind: 'note', channel: 'internal', visibility: 'internal', body: `sent twice ${round}` };
			const answers = await Promise.all([nodes[0]!, nodes[1]!].map((node) => api(node, token).request('POST', `/api/v1/tickets/${ticket.id}/entries`, entry)));
			expect(answers.map((a) => a.status).sort()).toEqual([200, 201]);
			for (const answer of answers) expect(answer.body).toMatchObject({ id: entry.id, body: entry.body });
		}
		// Over websockets: a peer on node B and one on node C append the same entry at once.
		const [b, c] = [await connectPeer(nodes[1]!, ticket.id, token), await connectPeer(nodes[2]!, ticket.id, token)];
		peers.push(b, c);
		const same = noteBy(fx.users.alex!.id, 'written on two nodes');
		appendEntries(b.doc, [same]);
		appendEntries(c.doc, [{ ...same }]);
		await waitFor(() => b.provider.unsyncedChanges === 0 || b.closeReason(), 'node B to answer');
		await waitFor(() => c.provider.unsyncedChanges === 0 || c.closeReason(), 'node C to answer');
		const stored = readEntries(await storedDocumentAt(databaseUrl, ticket.id));
		expect(stored.filter((e) => e.id === same.id)).toHaveLength(1);
		for (let round = 0; round < 10; round++) expect(stored.filter((e) => e.id === `twice-${round}`)).toHaveLength(1);
		expect(new Set(stored.map((e) => e.id)).size).toBe(stored.length);
	}, 120_000);

	it('makes one entry of a mail delivered to two nodes at once', async () => {
		running = await startCluster({ nodes: 2, spec: SPEC });
		const [a, b] = running.nodes as [RunningServer, RunningServer];
		const raw = [
			'From: Kim <kim@example.com>',
			'To: support@tandem.local',
			'Subject: Delivered twice',
			'Message-ID: <twice-1@example.com>',
			'Date: Mon, 07 Dec 2026 06:00:00 +0000',
			'',
			'The relay retried and reached both nodes.'
		].join('\r\n');
		const deliver = async (node: RunningServer) => {
			const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort(node), secure: false, ignoreTLS: true });
			try {
				await transport.sendMail({ envelope: { from: 'kim@example.com', to: ['support@tandem.local'] }, raw });
			} finally {
				transport.close();
			}
		};
		await Promise.all([deliver(a), deliver(b), deliver(a)]);
		const admin = api(a, running.fx.tokens.mailer!.token);
		const found = await waitFor(async () => {
			const list = await admin.request('GET', '/api/v1/tickets?limit=100');
			const matching = (list.body.tickets as { id: string; subject: string }[]).filter((t) => t.subject === 'Delivered twice');
			return matching.length ? matching : undefined;
		}, 'the ticket');
		expect(found).toHaveLength(1);
		const stored = readEntries(await storedDocumentAt(running.databaseUrl, found[0]!.id));
		expect(stored.filter((e) => e.body.includes('The relay retried'))).toHaveLength(1);
	}, 60_000);
});
