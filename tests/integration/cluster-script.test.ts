/**
 * `npm run cluster` (scripts/cluster.ts) as a person runs it: the script in a child process, then,
 * through its nginx, /healthz, the demo agent's sign-in (cookie and origin checks behind the
 * proxy), a note written over a websocket and seen on every node, and an event stream passed on
 * as it is written; a node restarted after a SIGTERM; then a Ctrl-C that stops every process it
 * started and removes its folder.
 * It brings its own PostgreSQL and Redis: it runs once, in the `sqlite` project.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBuilt } from '../../scripts/build-if-needed.js';
import { appendEntries, readEntries } from '../../src/lib/ticket';
import { noteBy } from '../helpers/entries';
import { freePort } from '../helpers/ports';
import { connectPeer, ROOT, waitFor, type Peer } from '../helpers/server';
import { openEvents, type EventLog } from '../helpers/sse';

const COOKIE = 'tandem_session';

/** A process the script printed: its address and pid. */
interface Member {
	address: string;
	pid: number;
}

let script: ChildProcess;
let output = '';
let exited: Promise<number | null>;
/** nginx's URL, every member by name (`nginx`, `node 1`…, `Redis`, `PostgreSQL`), the folder they run in. */
let url: string;
let members: Map<string, Member>;
let dir: string;
const peers: Peer[] = [];
let stream: EventLog | undefined;
/** Set by the sign-in: the session cookie as a browser sends it. */
let cookie: string;

const nodes = () => [...members].filter(([name]) => name.startsWith('node ')).map(([, member]) => member);
const running = () => script.exitCode === null && script.signalCode === null;

/** Whether `pid` is a live process: an exited one that nobody has reaped yet (a zombie) is not. */
function alive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
	} catch {
		return false;
	}
}

beforeAll(async () => {
	if (!isBuilt()) throw new Error('the build is older than the sources: run `node scripts/build-if-needed.js` (`npm test` does)');
	script = spawn(process.execPath, ['--import', 'tsx', 'scripts/cluster.ts', '--port', String(await freePort())], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
	exited = new Promise((resolve) => script.once('exit', (code) => resolve(code)));
	script.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
	script.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
	await waitFor(() => output.includes('Ctrl-C stops them all.') || !running(), 'the cluster to start', 110_000);
	if (!output.includes('Ctrl-C stops them all.')) throw new Error(`npm run cluster exited with ${script.exitCode ?? script.signalCode}:\n${output}`);
	url = /Tandem is running at (\S+)/.exec(output)![1]!;
	members = new Map([...output.matchAll(/^ {4}(nginx|node \d|Redis|PostgreSQL) +(\S+) +pid (\d+)$/gm)].map(([, name, address, pid]) => [name!, { address: address!, pid: Number(pid) }]));
	dir = /Files and logs: (\S+)/.exec(output)![1]!;
}, 120_000);

afterAll(async () => {
	for (const peer of peers) peer.destroy();
	stream?.close();
	if (!script || !running()) return;
	// Failed midway: nothing it started may outlive the run. nginx's and PostgreSQL's first
	// processes are told to end their workers with them (SIGTERM, SIGQUIT); the rest are killed.
	script.kill('SIGKILL');
	await exited;
	const lastWords: Record<string, NodeJS.Signals> = { nginx: 'SIGTERM', PostgreSQL: 'SIGQUIT' };
	for (const [name, { pid }] of members ?? []) {
		try {
			process.kill(pid, lastWords[name] ?? 'SIGKILL');
		} catch {
			/* gone already */
		}
	}
	await waitFor(() => [...(members?.values() ?? [])].every(({ pid }) => !alive(pid)), 'the cluster’s processes to end');
	if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('npm run cluster', () => {
	it('prints the URL, the demo logins and its processes: nginx, three nodes, Redis and PostgreSQL', () => {
		expect(output).toContain('Demo logins (password "tandem-demo")');
		expect(output).toMatch(/agent +alex@tandem\.local/);
		expect([...members.keys()]).toEqual(['nginx', 'node 1', 'node 2', 'node 3', 'Redis', 'PostgreSQL']);
		expect(members.get('nginx')!.address).toBe(url);
		expect(fs.existsSync(dir)).toBe(true);
	});

	it('answers /healthz through nginx and on every node, on PostgreSQL', async () => {
		for (const address of [url, ...nodes().map((node) => node.address)]) {
			const res = await fetch(`${address}/healthz`);
			expect(res.status, address).toBe(200);
			expect(await res.json()).toMatchObject({ status: 'ok', engine: 'postgres', database: 'ok' });
		}
		// One node leads (the first, which started before the others), the others follow.
		const roles = await Promise.all(nodes().map(async (node) => ((await (await fetch(`${node.address}/healthz`)).json()) as { role: string }).role));
		expect(roles.sort()).toEqual(['follower', 'follower', 'leader']);
	});

	it('signs the demo agent in through nginx: the session cookie comes back, and the origin check knows the address behind the proxy', async () => {
		const signIn = (origin: string) =>
			fetch(`${url}/login`, {
				method: 'POST',
				headers: { origin, accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
				body: new URLSearchParams({ email: 'alex@tandem.local', password: 'tandem-demo' }),
				redirect: 'manual'
			});
		// A form from another site is refused, so the check compares with nginx's address, not a node's.
		expect((await signIn('http://elsewhere.example')).status).toBe(403);
		const res = await signIn(url);
		expect(res.status).toBe(303);
		expect(res.headers.get('location')).toBe('/');
		const line = res.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE}=`));
		expect(line).toMatch(/HttpOnly/);
		expect(line).not.toMatch(/Secure/); // plain http to nginx
		cookie = line!.split(';')[0]!;
		const home = await fetch(url, { headers: { cookie }, redirect: 'manual' });
		expect(home.status).toBe(200);
	});

	it('carries a note written over a websocket through nginx to a signed-in peer on every node', async () => {
		const get = async (route: string) => (await fetch(`${url}${route}`, { headers: { cookie } })).json();
		const { users } = await get('/api/v1/users');
		const alex = users.find((u: { email: string }) => u.email === 'alex@tandem.local');
		const { tickets } = await get('/api/v1/tickets');
		const ticketId: string = tickets[0].id;
		const wsUrl = (address: string) => `${address.replace(/^http/, 'ws')}/collab`;
		// Signed in by the cookie, from the page's origin, as a browser's socket is.
		const join = async (address: string) => {
			const peer = await connectPeer({ wsUrl: wsUrl(address) }, ticketId, '', { headers: { cookie, origin: address } });
			peers.push(peer);
			return peer;
		};
		const readers = await Promise.all(nodes().map((node) => join(node.address)));
		const writer = await join(url);
		const note = noteBy(alex.id, 'Written through nginx');
		appendEntries(writer.doc, [note]);
		await writer.acknowledged();
		for (const [i, reader] of readers.entries()) {
			await waitFor(() => readEntries(reader.doc).some((e) => e.id === note.id), `node ${i + 1}’s peer to see the note`);
		}
	});

	it('passes an event stream through nginx as it is written', async () => {
		stream = await openEvents(`${url}/api/v1/stream`, { cookie });
		expect(stream.status).toBe(200);
		expect(stream.contentType).toMatch(/^text\/event-stream/);
		// The first event, a few bytes, while the stream stays open: passed on at once.
		await waitFor(() => stream!.events.some((e) => e.name === 'calls'), 'the stream’s first event', 5_000);
		expect(stream.ended).toBe(false);
		// A ticket written on each node reaches the stream, whichever node nginx gave it to.
		for (const [i, node] of nodes().entries()) {
			const subject = `Written on node ${i + 1}`;
			const created = await fetch(`${node.address}/api/v1/tickets`, {
				method: 'POST',
				headers: { cookie, origin: node.address, 'content-type': 'application/json' },
				body: JSON.stringify({ subject, requester: { email: 'kim@example.com' }, channel: 'web', body: 'Hello?' })
			});
			expect(created.status, await created.clone().text()).toBe(201);
			await waitFor(() => stream!.events.some((e) => e.name === 'ticket' && e.data.subject === subject), `the ticket written on node ${i + 1} on the stream`);
		}
	});

	it('starts a node stopped with SIGTERM again, on its address, so that a rolling restart can be tried', async () => {
		const node = members.get('node 2')!;
		const before = output.length;
		process.kill(node.pid, 'SIGTERM');
		await waitFor(() => output.slice(before).includes('node 2 is back'), 'node 2 to be back', 60_000);
		const restarted = Number(/node 2 stopped: starting it again \(pid (\d+)\)/.exec(output.slice(before))![1]);
		expect(alive(node.pid)).toBe(false);
		expect(alive(restarted)).toBe(true);
		expect((await fetch(`${node.address}/healthz`)).status).toBe(200);
		members.set('node 2', { ...node, pid: restarted });
	}, 90_000);

	it('stops everything on Ctrl-C, in order, and removes its folder', async () => {
		for (const peer of peers.splice(0)) peer.destroy();
		stream?.close();
		script.kill('SIGINT');
		expect(await exited).toBe(0);
		const stopped = [...output.matchAll(/^ {2}stopped (.+)$/gm)].map(([, name]) => name);
		expect(stopped).toEqual(['nginx', 'node 3', 'node 2', 'node 1', 'Redis', 'PostgreSQL']);
		for (const [name, { pid }] of members) expect(alive(pid), `${name} (pid ${pid})`).toBe(false);
		expect(fs.existsSync(dir)).toBe(false);
	}, 60_000);
});
