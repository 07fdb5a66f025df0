/**
 * `npm run cluster`: a cluster of Tandem on this machine, for trying it (README, "Running a
 * cluster"): PostgreSQL and Redis from the machine's packages, three nodes and nginx in front of
 * them. Prints the URL, the demo logins and every process. A node stopped with SIGTERM is started
 * again. Ctrl-C or SIGTERM to the script stops them all in order (nginx, the nodes with SIGTERM,
 * Redis, PostgreSQL) and removes the folder they ran in, unless it was given with --dir (which
 * keeps the data for the next run).
 *
 * Every server runs in a process group of its own, so a Ctrl-C in the terminal reaches only this
 * script, which stops them one after the other; a SIGKILL to it leaves them running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { DEMO_USERS, announcement } from '../server/seed';
import { bundled, buildIfNeeded } from './build-if-needed.js';
import { freePorts, isFree, waitFor } from './local-servers/loopback';
import { nginxSite, startNginx } from './local-servers/nginx';
import { MissingPackage, nginxBinary, postgresBinDir, redisServerBinary } from './local-servers/packages';
import { startPostgres } from './local-servers/postgres';
import { startRedisServer } from './local-servers/redis';

const NODES = 3;
const DATABASE = 'tandem';
/** The load balancer's port when --port is not given, if it is free. */
const PREFERRED_PORT = 8080;
/** How long a node may take to start (the first one seeds the demo data) and to stop (it drains). */
const NODE_START_MS = 120_000;
const STOP_MS = 30_000;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `Usage: npm run cluster [-- --port PORT] [--dir FOLDER]

  --port PORT    nginx's port (default ${PREFERRED_PORT} if free, else any free one)
  --dir FOLDER   run in FOLDER and keep it (data, logs) for the next run; default: a temporary
                 folder, removed when the cluster stops`;

/** A process of the cluster, as printed and as stopped. */
interface Member {
	name: string;
	address: string;
	pid: number;
	stop(): Promise<void>;
}

function fail(message: string): never {
	console.error(message);
	process.exit(1);
}

function readOptions(): { port: number | null; dir: string | null } {
	let values;
	try {
		({ values } = parseArgs({ options: { port: { type: 'string' }, dir: { type: 'string' }, help: { type: 'boolean' } } }));
	} catch (error) {
		fail(`${(error as Error).message}\n\n${USAGE}`);
	}
	if (values.help) {
		console.log(USAGE);
		process.exit(0);
	}
	const port = values.port === undefined ? null : Number(values.port);
	if (port !== null && !(Number.isInteger(port) && port >= 1 && port <= 65535)) fail(`--port ${values.port}: not a port (1–65535)`);
	return { port, dir: values.dir ? path.resolve(values.dir) : null };
}

/** Every program the cluster runs, or one message naming each missing package. */
function checkPackages(): void {
	const missing: string[] = [];
	for (const find of [postgresBinDir, redisServerBinary, nginxBinary]) {
		try {
			find();
		} catch (error) {
			if (!(error instanceof MissingPackage)) throw error;
			missing.push(`  ${error.message}`);
		}
	}
	if (missing.length) fail(`npm run cluster runs PostgreSQL, Redis and nginx from this machine's packages:\n${missing.join('\n')}`);
}

const options = readOptions();
checkPackages();
await buildIfNeeded();

const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-cluster-'));
fs.mkdirSync(dir, { recursive: true });
// PostgreSQL runs as the postgres user when we are root: it must reach its folder inside.
if (!options.dir) fs.chmodSync(dir, 0o755);

/** Started so far, stopped last first: nginx, the nodes, Redis, PostgreSQL. */
const members: Member[] = [];
/** Set once every member answers: an exit before that is a failed start, told as one. */
let running = false;
let stopping = false;

/** Sends `signal` and waits for the exit; SIGKILL after STOP_MS. */
async function stopChild(child: ChildProcess, name: string, signal: NodeJS.Signals): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) return;
	const exited = once(child, 'exit');
	child.kill(signal);
	const timer = setTimeout(() => {
		console.error(`  ${name} did not stop within ${STOP_MS / 1000} s of ${signal}: killing it`);
		child.kill('SIGKILL');
	}, STOP_MS);
	await exited;
	clearTimeout(timer);
}

/** Adds a spawned process (Redis, nginx); its exit while the cluster runs is reported with where its log is. */
function join(child: ChildProcess, name: string, address: string, log: string, stopSignal: NodeJS.Signals): void {
	child.once('exit', (code, signal) => {
		if (running && !stopping) console.error(`\n  ${name} (pid ${child.pid}) exited with ${code ?? signal}; its log: ${log}\n`);
	});
	members.push({ name, address, pid: child.pid!, stop: () => stopChild(child, name, stopSignal) });
}

function stopIfAsked(): void {
	if (stopping) throw new Error('stopped while starting');
}

async function startDatabase(port: number): Promise<string> {
	const postgres = await startPostgres(path.join(dir, 'postgres'), port);
	const url = postgres.url(DATABASE);
	members.push({ name: 'PostgreSQL', address: url, pid: postgres.pid()!, stop: () => postgres.stop('fast') });
	const client = new pg.Client({ connectionString: postgres.url() });
	await client.connect();
	try {
		const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
		if (!rowCount) await client.query(`CREATE DATABASE ${DATABASE}`);
	} finally {
		await client.end();
	}
	return url;
}

/**
 * Starts node `n` and resolves once it answers /healthz. A node that stops cleanly while the
 * cluster runs (a SIGTERM to its pid) is started again in its place, on the same port and data,
 * so that a rolling restart can be tried by hand; one that fails is reported and left down.
 */
async function startNode(n: number, port: number, env: Record<string, string>): Promise<void> {
	stopIfAsked();
	const name = `node ${n}`;
	const url = `http://127.0.0.1:${port}`;
	const dataDir = path.join(dir, `node-${n}`);
	fs.mkdirSync(dataDir, { recursive: true });
	const log = path.join(dir, `node-${n}.log`);
	const launch = () => {
		const output = fs.openSync(log, 'a');
		const child = spawn(process.execPath, ['--enable-source-maps', bundled('server')], {
			cwd: ROOT,
			// SMTP on a free port each: the default 2525 can be taken only once.
			env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, SMTP_PORT: '0' },
			stdio: ['ignore', output, output],
			detached: true
		});
		fs.closeSync(output);
		return child;
	};
	const answering = async (child: ChildProcess) => {
		const ended = () => child.exitCode !== null || child.signalCode !== null;
		const answers = async () => (await fetch(`${url}/healthz`)).ok;
		await waitFor(() => stopping || ended() || answers(), `${name} to answer ${url}/healthz (its log: ${log})`, NODE_START_MS);
		stopIfAsked();
		if (ended()) throw new Error(`${name} exited with ${child.exitCode ?? child.signalCode}:\n${lastLines(log)}`);
	};
	let current = launch();
	const member: Member = { name, address: url, pid: current.pid!, stop: () => stopChild(current, name, 'SIGTERM') };
	members.push(member);
	const restartWhenStopped = (child: ChildProcess) =>
		child.once('exit', (code, signal) => {
			if (!running || stopping) return;
			if (code !== 0) return console.error(`\n  ${name} (pid ${child.pid}) exited with ${code ?? signal}; its log: ${log}\n`);
			current = launch();
			member.pid = current.pid!;
			restartWhenStopped(current);
			console.log(`  ${name} stopped: starting it again (pid ${current.pid})`);
			answering(current).then(
				() => console.log(`  ${name} is back`),
				(error: Error) => stopping || console.error(`  ${name} did not come back: ${error.message}`)
			);
		});
	restartWhenStopped(current);
	await answering(current);
}

const lastLines = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n').slice(-15).join('\n');

/** The demo logins still in the database, as `npm start` lists them. */
async function demoUsers(databaseUrl: string) {
	const client = new pg.Client({ connectionString: databaseUrl });
	await client.connect();
	try {
		const { rows } = await client.query<{ email: string }>('SELECT email FROM users WHERE email = ANY($1)', [DEMO_USERS.map((u) => u.email)]);
		const present = new Set(rows.map((r) => r.email));
		return DEMO_USERS.filter((u) => present.has(u.email));
	} finally {
		await client.end();
	}
}

async function start(): Promise<void> {
	const nginxPort = await loadBalancerPort();
	let ports: number[];
	do ports = await freePorts(NODES + 2);
	while (ports.includes(nginxPort));
	const [postgresPort, redisPort, ...nodePorts] = ports as [number, number, ...number[]];

	const databaseUrl = await startDatabase(postgresPort);
	stopIfAsked();
	const redisDir = path.join(dir, 'redis');
	fs.mkdirSync(redisDir, { recursive: true });
	const redis = await startRedisServer(redisDir, redisPort, { detached: true });
	const redisUrl = `redis://127.0.0.1:${redisPort}`;
	join(redis, 'Redis', redisUrl, path.join(redisDir, 'redis.log'), 'SIGTERM');

	// nginx is the one proxy in front: the nodes take the client's address, scheme and host from it.
	const cluster = { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, TRUST_PROXY: '1' };
	// The first node seeds the demo data into an empty database (unless SEED=0); the others start
	// once it answers, so no two seed at once.
	await startNode(1, nodePorts[0]!, { ...cluster, SEED: process.env.SEED || '1' });
	await Promise.all(nodePorts.slice(1).map((port, i) => startNode(i + 2, port, { ...cluster, SEED: '0' })));

	stopIfAsked();
	const nginxDir = path.join(dir, 'nginx');
	const nginx = await startNginx(nginxDir, nginxPort, nginxSite(`127.0.0.1:${nginxPort}`, nodePorts.map((port) => `127.0.0.1:${port}`)));
	const url = `http://127.0.0.1:${nginxPort}`;
	join(nginx, 'nginx', url, path.join(nginxDir, 'error.log'), 'SIGTERM');

	// From the front to the back: nginx, the nodes, Redis, PostgreSQL.
	const depth = (m: Member) => ['nginx', 'node', 'Redis', 'PostgreSQL'].findIndex((kind) => m.name.startsWith(kind));
	const table = [...members].sort((a, b) => depth(a) - depth(b) || a.name.localeCompare(b.name)).map((m) => `    ${m.name.padEnd(11)} ${m.address.padEnd(44)} pid ${m.pid}`);
	running = true;
	process.stdout.write(
		announcement(url, await demoUsers(databaseUrl)) +
			`  ${NODES} nodes behind nginx, on PostgreSQL and Redis:\n${table.join('\n')}\n\n` +
			`  Files and logs: ${dir}${options.dir ? '' : ' (removed when the cluster stops; --dir keeps them)'}\n` +
			'  SIGTERM to a node’s pid restarts it: its clients reconnect to the others meanwhile.\n' +
			'  Ctrl-C stops them all.\n'
	);
}

async function loadBalancerPort(): Promise<number> {
	if (options.port !== null) {
		if (!(await isFree(options.port))) throw new Error(`--port ${options.port}: 127.0.0.1:${options.port} is in use by another program; choose another port`);
		return options.port;
	}
	if (await isFree(PREFERRED_PORT)) return PREFERRED_PORT;
	const [port] = await freePorts(1);
	return port!;
}

/**
 * Stops every member, last started first, once the start under way has noticed (it checks
 * `stopping` between steps, so nothing it starts is left behind); removes a temporary folder and
 * exits with `code`.
 */
async function shutdown(code: number): Promise<never> {
	stopping = true;
	await startup.catch(() => {});
	if (members.length) console.log('\n  Stopping…');
	let failed = false;
	for (let member = members.pop(); member; member = members.pop()) {
		try {
			await member.stop();
			console.log(`  stopped ${member.name}`);
		} catch (error) {
			failed = true;
			console.error(`  ${member.name} (pid ${member.pid}) did not stop: ${(error as Error).message}`);
		}
	}
	if (!options.dir) fs.rmSync(dir, { recursive: true, force: true });
	process.exit(failed ? 1 : code);
}

const onSignal = () => {
	if (!stopping) void shutdown(0);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
const startup = start();
startup.catch((error: Error) => {
	if (stopping) return;
	console.error(`\n  The cluster did not start: ${error.message}`);
	void shutdown(1);
});
