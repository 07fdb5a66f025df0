/**
 * The cluster scenarios (`npm run bench -- --only=cluster`): Tandem nodes as separate processes
 * on one PostgreSQL (a private cluster of the bench's) and one Redis (`redis-server` from the
 * machine's package), each node with a data directory of its own, as on separate machines; nginx
 * in front of them for the failover. The load scenarios of load.ts drive the nodes through a
 * `LoadTarget` that places each client on a node:
 * (C1) capacity of 2 nodes against 1, (C2) many connections across 2 nodes, (C3) fan-out from a
 * writer on one node to readers on the other against readers on the same node, (C4) SIGKILL of a
 * node with clients on it: time until they are synced on the survivor, and every acknowledged
 * entry still there.
 */
import type { ChildProcess } from 'node:child_process';
import { freePort } from '../scripts/local-servers/loopback';
import { nginxSite, startNginx } from '../scripts/local-servers/nginx';
import { startRedisServer } from '../scripts/local-servers/redis';
import { WORKSPACE_RECONNECT } from '../src/lib/provider-socket';
import type { Fixture } from '../tests/helpers/fixtures';
import {
	capacity,
	createTickets,
	destroyAll,
	fanout,
	Latencies,
	makeEntry,
	manyConnections,
	openLoop,
	Peer,
	pool,
	progress,
	sleep,
	until,
	type CapacityResult,
	type ConnectionsResult,
	type LatencyResult
} from './load';
import {
	cpuMs,
	destroyBenchPostgres,
	killAtExit,
	startBenchPostgres,
	tempDir,
	TandemServer,
	type BenchPostgres,
	type Launch,
	type LoadTarget,
	type Who
} from './servers';

// ---------------------------------------------------------------------------------------------
// The cluster

/** A node: the built server with DATABASE_URL and REDIS_URL, on a data directory of its own. */
class ClusterNode extends TandemServer {
	override readonly name: string;

	private constructor(
		name: string,
		dataDir: string,
		fixture: Fixture,
		databaseUrl: string,
		private readonly redisUrl: string
	) {
		super(dataDir, fixture, databaseUrl);
		this.name = name;
	}

	/** `count` nodes sharing one prepared database (its bots and agents), none started yet. */
	static async prepareNodes(count: number, databaseUrl: string, redisUrl: string): Promise<ClusterNode[]> {
		const { dataDir, fixture } = await TandemServer.prepare(databaseUrl);
		const dirs = [dataDir, ...Array.from({ length: count - 1 }, () => tempDir('tandem-bench-node-'))];
		return dirs.map((dir, i) => new ClusterNode(`node ${String.fromCharCode(65 + i)}`, dir, fixture, databaseUrl, redisUrl));
	}

	protected override launch(): Launch {
		const launch = super.launch();
		return { ...launch, env: { ...launch.env, REDIS_URL: this.redisUrl } };
	}
}

/** Picks the node a client connects to. */
export type Placement = (who: Who) => ClusterNode;

export class BenchCluster {
	private constructor(
		readonly nodes: ClusterNode[],
		private readonly database: BenchPostgres,
		private readonly redis: ChildProcess
	) {}

	/** PostgreSQL, Redis and `count` nodes, started. */
	static async start(count: number): Promise<BenchCluster> {
		const database = await startBenchPostgres();
		try {
			const redisPort = await freePort();
			const redis = await startRedisServer(tempDir('tandem-bench-redis-'), redisPort);
			killAtExit(redis);
			progress(`Redis on port ${redisPort}, pid ${redis.pid}`);
			const nodes = await ClusterNode.prepareNodes(count, database.databaseUrl, `redis://127.0.0.1:${redisPort}`);
			for (const node of nodes) await node.start();
			return new BenchCluster(nodes, database, redis);
		} catch (error) {
			await destroyBenchPostgres(database);
			throw error;
		}
	}

	/** Every client on the first node (the others idle). */
	readonly onFirst: Placement = () => this.nodes[0];
	/** Client `index` on node `index mod nodes`: a ticket's bot and its agents spread. */
	readonly spread: Placement = (who) => this.nodes[who.index % this.nodes.length];
	/** Bots (the writers) on the first node, agents (the readers) on the second. */
	readonly writersFirstReadersSecond: Placement = (who) => this.nodes[who.role === 'bot' ? 0 : 1];

	/** The cluster as the load scenarios see it, each client on the node `place` picks. */
	placed(place: Placement): LoadTarget {
		return {
			createTicket: () => this.nodes[0].createTicket(),
			connect: (docName, who, options) => place(who).connect(docName, who, options),
			endpoint: (who) => place(who).endpoint(who),
			cpuMs: () => Object.values(this.cpuParts()).reduce((sum, ms) => sum + ms, 0),
			databaseCpuMs: () => this.database.cpuMs(),
			rssKb: () => this.live().reduce((sum, node) => sum + node.rssKb(), 0),
			cpuParts: () => this.cpuParts()
		};
	}

	private live(): ClusterNode[] {
		return this.nodes.filter((node) => node.alive);
	}

	/** CPU time so far of each running node, PostgreSQL and Redis, ms. */
	cpuParts(): Record<string, number> {
		return {
			...Object.fromEntries(this.live().map((node) => [node.name, node.cpuMs()])),
			PostgreSQL: this.database.cpuMs(),
			Redis: cpuMs(this.redis.pid!)
		};
	}

	/** nginx in front of the nodes, as `npm run cluster` configures it: its /collab address and a stop. */
	async startBalancer(): Promise<{ wsUrl: string; stop(): Promise<void> }> {
		const port = await freePort();
		const nginx = await startNginx(
			tempDir('tandem-bench-nginx-'),
			port,
			nginxSite(
				`127.0.0.1:${port}`,
				this.nodes.map((node) => `127.0.0.1:${node.port}`)
			)
		);
		killAtExit(nginx, { group: true });
		return {
			wsUrl: `ws://127.0.0.1:${port}/collab`,
			async stop() {
				if (nginx.exitCode !== null || nginx.signalCode !== null) return;
				const exited = new Promise((resolve) => nginx.once('exit', resolve));
				nginx.kill('SIGTERM');
				await exited;
			}
		};
	}

	async destroy(): Promise<void> {
		for (const node of this.nodes) {
			await node.stop();
			await node.cleanup();
		}
		this.redis.kill('SIGKILL');
		await destroyBenchPostgres(this.database);
	}
}

// ---------------------------------------------------------------------------------------------
// (C4) Failover

export interface FailoverResult {
	/** Clients (bots and agents) connected through nginx. */
	clients: number;
	/** Of those, the ones whose connection was on the killed node. */
	moved: number;
	/** Of the moved, synced again (on the survivor) within the time limit. */
	resynced: number;
	/** From the SIGKILL to synced again, ms, over the moved clients. */
	p50: number;
	p99: number;
	max: number;
	/** Moved clients whose document, once synced again, held every entry acknowledged before the kill. */
	complete: number;
	/** Entries acknowledged to the writers in the whole run, and found by a fresh client of the survivor. */
	acked: number;
	survived: number;
	duplicated: number;
	/** Of `acked`, acknowledged after the kill (writers on the survivor kept writing). */
	ackedAfterKill: number;
}

/**
 * `tickets` tickets, each with a bot writing and `agentsPerTicket` agents reading, all connected
 * through nginx (round robin: about half on each node) with the workspace's reconnection
 * settings. The bots write `rate` entries/s in total; after `killAfterMs` the second node is
 * SIGKILLed, the stream goes on `afterMs`. A client is on the killed node when its socket drops;
 * it reconnects through nginx, which passes the dead node over. A bot whose connection dropped
 * stops writing and counting acknowledgements (after a reconnect the provider's count starts
 * again with its handshake: later acknowledgements could not be told apart). Then every
 * acknowledged entry must be in the ticket, once, for a fresh client of the survivor.
 */
export async function failover(
	cluster: BenchCluster,
	o: { tickets: number; agentsPerTicket: number; rate: number; killAfterMs: number; afterMs: number }
): Promise<FailoverResult> {
	const [survivor, victim] = cluster.nodes;
	const direct = cluster.placed(cluster.onFirst);
	const tickets = await createTickets(direct, o.tickets);
	const balancer = await cluster.startBalancer();
	const bots: Peer[] = [];
	const agents: Peer[] = [];
	try {
		const open = (docName: string, who: Who) => Peer.open(balancer.wsUrl, docName, direct.endpoint(who).token, { reconnect: WORKSPACE_RECONNECT });
		const ticketOf = new Map<Peer, number>();
		await pool(tickets, 4, async (t, i) => {
			bots[i] = await open(t.docName, { role: 'bot', index: i });
			ticketOf.set(bots[i], i);
			for (let j = 0; j < o.agentsPerTicket; j++) {
				const agent = await open(t.docName, { role: 'agent', index: j });
				agents.push(agent);
				ticketOf.set(agent, i);
			}
		});

		const acked = tickets.map(() => new Set<string>());
		const lost = new Set<Peer>();
		bots.forEach((bot, i) => {
			bot.onAck = (entries) => entries.forEach((e) => acked[i].add(e.id));
			bot.socket.on('disconnect', () => {
				lost.add(bot);
				bot.onAck = null;
			});
		});

		let killedAt = NaN;
		let ackedAtKill: Set<string>[] = [];
		/** Moved clients: when each was synced again (NaN until then) and whether it was complete. */
		const moved = new Map<Peer, { at: number; complete: boolean }>();
		for (const peer of [...bots, ...agents]) {
			peer.socket.on('disconnect', () => {
				if (!Number.isNaN(killedAt) && !moved.has(peer)) moved.set(peer, { at: NaN, complete: false });
			});
			peer.provider.on('synced', ({ state }: { state: boolean }) => {
				const move = moved.get(peer);
				if (!state || !move || !Number.isNaN(move.at)) return;
				move.at = performance.now();
				move.complete = [...ackedAtKill[ticketOf.get(peer)!]].every((id) => peer.has(id));
			});
		}

		const stream = openLoop(o.rate, o.killAfterMs + o.afterMs, (i) => {
			const k = i % bots.length;
			if (!lost.has(bots[k])) bots[k].append([makeEntry(tickets[k].requesterId)]);
		});
		await sleep(o.killAfterMs);
		ackedAtKill = acked.map((ids) => new Set(ids));
		killedAt = performance.now();
		victim.killNow();
		await stream;
		await victim.waitExit();
		const synced = () => [...moved.values()].every((m) => !Number.isNaN(m.at));
		await until(synced, "the killed node's clients synced on the survivor", 30_000).catch((error: Error) => progress(`  ${error.message}`));
		await Promise.all(bots.filter((bot) => !lost.has(bot)).map((bot) => bot.acknowledged(15_000, 'the writers on the survivor')));

		let survived = 0;
		let duplicated = 0;
		await pool(tickets, 4, async (t, i) => {
			const reader = await survivor.connect(t.docName, { role: 'agent', index: 0 });
			try {
				survived += [...acked[i]].filter((id) => reader.has(id)).length;
				duplicated += reader.duplicatedEntries;
			} finally {
				reader.destroy();
			}
		});
		const times = new Latencies();
		for (const m of moved.values()) if (!Number.isNaN(m.at)) times.add(m.at - killedAt);
		const { p50, p99, max } = times.summary();
		const count = (sets: Set<string>[]) => sets.reduce((sum, ids) => sum + ids.size, 0);
		return {
			clients: bots.length + agents.length,
			moved: moved.size,
			resynced: times.count,
			p50,
			p99,
			max,
			complete: [...moved.values()].filter((m) => m.complete).length,
			acked: count(acked),
			survived,
			duplicated,
			ackedAfterKill: count(acked) - count(ackedAtKill)
		};
	} finally {
		destroyAll([...bots.filter(Boolean), ...agents]);
		await balancer.stop();
	}
}

// ---------------------------------------------------------------------------------------------
// Running the group

export interface ClusterPlan {
	capacity: Parameters<typeof capacity>[1];
	fanout: Parameters<typeof fanout>[1];
	connections: Parameters<typeof manyConnections>[1];
	failover: Parameters<typeof failover>[1];
}

export interface ClusterResults {
	/** (C1) every bot on node A (node B up, idle), then bot i on node i mod 2. */
	capacityOne?: CapacityResult;
	capacityTwo?: CapacityResult;
	/** (C2) bot sockets and agents spread over both nodes. */
	connections?: ConnectionsResult;
	/** (C3) writers and readers on node A; writers on node A, readers on node B. */
	sameNode?: LatencyResult;
	crossNode?: LatencyResult;
	/** (C4) nginx in front, node B SIGKILLed. */
	failover?: FailoverResult;
	seconds?: number;
	errors: Record<string, string>;
}

type Scenario = keyof Omit<ClusterResults, 'errors' | 'seconds'>;

/** Starts a cluster of two nodes, runs every scenario on it (the failover last: it kills a node), and tears it down. */
export async function runCluster(plan: ClusterPlan): Promise<ClusterResults> {
	const t0 = performance.now();
	const results: ClusterResults = { errors: {} };
	const cluster = await BenchCluster.start(2);
	const scenarios: { [K in Scenario]: () => Promise<NonNullable<ClusterResults[K]>> } = {
		capacityOne: () => capacity(cluster.placed(cluster.onFirst), plan.capacity),
		capacityTwo: () => capacity(cluster.placed(cluster.spread), plan.capacity),
		sameNode: () => fanout(cluster.placed(cluster.onFirst), plan.fanout),
		crossNode: () => fanout(cluster.placed(cluster.writersFirstReadersSecond), plan.fanout),
		connections: () => manyConnections(cluster.placed(cluster.spread), plan.connections),
		failover: () => failover(cluster, plan.failover)
	};
	try {
		for (const [key, run] of Object.entries(scenarios) as [Scenario, () => Promise<never>][]) {
			const started = performance.now();
			progress(`cluster: ${key}…`);
			try {
				results[key] = await run();
				progress(`cluster: ${key} done in ${((performance.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(results[key])}`);
			} catch (error) {
				results.errors[key] = (error as Error).message;
				progress(`cluster: ${key} FAILED: ${(error as Error).stack}`);
				for (const node of cluster.nodes) {
					progress(`--- ${node.name} output (tail) ---\n${node.tail().slice(-3000)}`);
					if (!node.alive && key !== 'failover') await node.start();
				}
			}
		}
	} finally {
		await cluster.destroy();
		results.seconds = (performance.now() - t0) / 1000;
	}
	return results;
}
