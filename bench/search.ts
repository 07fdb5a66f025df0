/**
 * Scenario 9, search: the services in-process over a database of their own (a SQLite file, or a
 * fresh database on the bench's PostgreSQL cluster), filled directly through the store with
 * 100,000 tickets and 1,000,000 entries (their index rows and search rows; generated from a fixed
 * seed, bounded: about 200 characters an entry from a 20,000-word vocabulary with a Zipf-like
 * spread, an order number per ticket), then:
 *
 * - query latency: words (common to rare), phrases and operator mixes, as an admin (every
 *   ticket) and as an agent (their groups), through `TicketSearch.find` (parse, plan, rank, page of
 *   25 with passages: what `GET /api/v1/search` does besides HTTP);
 * - index lag: a bot appends entries to 20 live tickets at 200 entries/s through the services (as
 *   the HTTP API does); for each, the time from its acknowledgement (the append resolving) to its
 *   row in the search index, seen by polling the index every 10 ms.
 */
import fs from 'node:fs';
import { sql } from 'drizzle-orm';
import { parseSearchQuery } from '../src/lib/search-query';
import { newId, PRIORITIES, STATUSES } from '../src/lib/ticket';
import type { BotPrincipal, Principal } from '../server/auth/principal';
import { loadConfig } from '../server/config';
import { createLogger } from '../server/log';
import type { SearchPart } from '../server/search/search-index';
import { createServices, type Services } from '../server/services';
import { createDatabaseAt } from '../tests/helpers/postgres';
import { random } from '../tests/helpers/routing';
import { tempDataDir } from '../tests/helpers/server';
import { progress } from './load';

export interface SearchBenchResult {
	tickets: number;
	entries: number;
	/** Seconds the generation took (rows and their search index). */
	generateSeconds: number;
	queries: { words: Latency; phrases: Latency; operators: Latency };
	/** Appends measured, and from acknowledgement to searchable, ms. */
	lag: { entries: number; p50: number; p99: number; max: number };
}

interface Latency {
	n: number;
	p50: number;
	p95: number;
	max: number;
}

const GROUPS = ['Billing', 'Technical', 'Returns', 'Sales', 'Shipping'];
const VOCABULARY = 20_000;
const SYLLABLES = 'ka lo mi ne ru sa to vi ba de fo gu hi ja ku le mo nu pe ri'.split(' ');

/** Word `rank` of the vocabulary: a pronounceable made-up word, distinct per rank. */
const wordAt = (rank: number) => {
	let word = '';
	for (let n = rank + SYLLABLES.length; n > 0; n = Math.floor(n / SYLLABLES.length)) word += SYLLABLES[n % SYLLABLES.length];
	return word;
};

export async function searchBench(o: { tickets: number; entriesPerTicket: number; databaseUrl: string | null; queryRounds: number; lagSeconds: number }): Promise<SearchBenchResult> {
	const dataDir = tempDataDir('tandem-bench-search-');
	const database = o.databaseUrl ? { DATABASE_URL: await createDatabaseAt(new URL('/postgres', o.databaseUrl).toString(), 'search') } : {};
	const services = await createServices(loadConfig({ DATA_DIR: dataDir, SEED: '0', ...database }), createLogger('silent'));
	try {
		const t0 = performance.now();
		const people = await generate(services, o);
		const generateSeconds = (performance.now() - t0) / 1000;
		progress(`search: ${o.tickets} tickets, ${o.tickets * o.entriesPerTicket} entries generated in ${generateSeconds.toFixed(0)} s`);
		const queries = await measureQueries(services, people, o.queryRounds);
		const lag = await measureLag(services, o.lagSeconds);
		return { tickets: o.tickets, entries: o.tickets * o.entriesPerTicket, generateSeconds, queries, lag };
	} finally {
		await services.collab.hocuspocus.closeConnections();
		await services.store.close();
		fs.rmSync(dataDir, { recursive: true, force: true });
	}
}

interface People {
	admin: Principal;
	agent: Principal;
	/** Words of generated text to search for: by how common, and real bigrams for phrases. */
	common: string[];
	medium: string[];
	rare: string[];
	orders: string[];
	names: string[];
	phrases: string[];
}

/** Customers, ticket rows and search rows straight into the store, in transactions of a few thousand rows. */
async function generate(services: Services, o: { tickets: number; entriesPerTicket: number }): Promise<People> {
	const { store, accounts } = services;
	const { customers, customerAddresses, tickets } = store.tables;
	const rnd = random(7);
	const admin = await accounts.createUser({ email: 'admin@bench.local', name: 'Admin', role: 'admin', password: 'correct horse battery', groups: [] });
	const agent = await accounts.createUser({ email: 'agent@bench.local', name: 'Agent Smith', role: 'agent', password: 'correct horse battery', groups: ['Billing', 'Returns'] });
	const groupIds: string[] = [];
	for (const name of GROUPS) groupIds.push(await accounts.ensureGroup(name));
	// Zipf-like: rank r is drawn with weight 1/(r+1), by inverting the cumulative harmonic sum.
	const zipf = () => Math.min(VOCABULARY - 1, Math.floor(Math.exp(rnd() * Math.log(VOCABULARY + 1)) - 1));
	const sentence = (words: number) => Array.from({ length: words }, zipf).map(wordAt).join(' ');
	const customerCount = Math.max(1, Math.floor(o.tickets / 5));
	const names: string[] = [];
	await store.transaction(async () => {
		for (let i = 0; i < customerCount; i += 500) {
			const batch = Array.from({ length: Math.min(500, customerCount - i) }, (_, j) => ({ id: `c${i + j}`, name: `${wordAt(1000 + ((i + j) % 5000))} ${wordAt(7000 + ((i + j) % 3000))}`, createdAt: 0 }));
			names.push(...batch.slice(0, 2).map((c) => c.name));
			await store.db.insert(customers).values(batch);
			await store.db.insert(customerAddresses).values(batch.map((c) => ({ customerId: c.id, channel: 'email', address: `${c.id}@example.com` })));
		}
	});
	const now = Date.now();
	const phrases: string[] = [];
	const orders: string[] = [];
	const search = services.search.index;
	for (let start = 0; start < o.tickets; start += 1000) {
		await store.transaction(async () => {
			const rows = Array.from({ length: Math.min(1000, o.tickets - start) }, (_, j) => {
				const n = start + j;
				const createdAt = now - Math.floor(rnd() * 365 * 86400_000);
				return {
					id: `t${String(n).padStart(7, '0')}`,
					number: n + 1,
					subject: sentence(4),
					status: STATUSES[Math.floor(rnd() * STATUSES.length)]!,
					priority: PRIORITIES[Math.floor(rnd() * PRIORITIES.length)]!,
					assigneeId: rnd() < 0.3 ? agent.id : null,
					groupId: rnd() < 0.9 ? groupIds[Math.floor(rnd() * groupIds.length)]! : null,
					requesterId: `c${n % customerCount}`,
					channel: rnd() < 0.6 ? 'email' : 'chat',
					tags: rnd() < 0.2 ? ['vip'] : [],
					createdAt,
					updatedAt: createdAt + Math.floor(rnd() * 86400_000),
					entryCount: o.entriesPerTicket,
					lastPublicPreview: null,
					lastPublicAt: null,
					firstReplyAt: null,
					awaitingSince: rnd() < 0.3 ? createdAt : null,
					parentId: null,
					snoozedUntil: null,
					mergedIntoId: null,
					custom: {},
					formId: null
				};
			});
			for (let i = 0; i < rows.length; i += 250) await store.db.insert(tickets).values(rows.slice(i, i + 250));
			const parts: SearchPart[] = await search.ticketParts(rows);
			for (const row of rows) {
				const order = String(100_000 + Number(row.number) * 7);
				for (let e = 0; e < o.entriesPerTicket; e++) {
					const body = e === 0 ? `My order ${order} ${sentence(30)}` : sentence(32);
					parts.push({ ticketId: row.id, part: newId(), sideId: null, internal: e % 7 === 6, attachment: e === 3 && rnd() < 0.2, subject: '', fields: '', body });
					if (phrases.length < 40 && e === 1 && rnd() < 0.01) phrases.push(body.split(' ').slice(5, 7).join(' '));
				}
				if (orders.length < 40 && rnd() < 0.001) orders.push(order);
			}
			await search.write(parts);
		});
		if (start % 10_000 === 0) progress(`search: ${start + 1000} tickets generated`);
	}
	// Tickets created from here on continue the numbers (as tickets the server created would).
	const { sequences } = store.tables;
	await store.db.insert(sequences).values({ name: 'ticket_number', value: o.tickets }).onConflictDoUpdate({ target: sequences.name, set: { value: o.tickets } });
	return {
		admin: (await accounts.currentPrincipal(admin.id))!,
		agent: (await accounts.currentPrincipal(agent.id))!,
		common: [0, 2, 5, 9].map(wordAt),
		medium: [200, 500, 900, 1500].map(wordAt),
		rare: [12_000, 15_000, 18_000, 19_500].map(wordAt),
		orders,
		names,
		phrases
	};
}

async function measureQueries(services: Services, people: People, rounds: number): Promise<SearchBenchResult['queries']> {
	const { common, medium, rare, orders, names, phrases } = people;
	const sets = {
		words: [...common, ...medium, ...rare, ...orders.slice(0, 4), names[0]!, `${medium[0]} ${rare[0]}`, `${common[0]} ${medium[1]}`],
		phrases: phrases.slice(0, 8).map((p) => `"${p}"`),
		operators: [
			'status:open priority:high',
			`${medium[0]} status:open,pending -tag:vip`,
			`assignee:none group:billing created>30d ${medium[2]}`,
			'has:attachment updated>7d',
			`${common[1]} -${medium[3]} priority:urgent`,
			`requester:${names[0]!.split(' ')[0]} status:new`,
			'#4242',
			'is:unread'
		]
	};
	const result = {} as SearchBenchResult['queries'];
	const slowest = new Map<string, number>();
	for (const [kind, queries] of Object.entries(sets) as [keyof typeof sets, string[]][]) {
		const times: number[] = [];
		for (let round = 0; round < rounds; round++) {
			for (const q of queries) {
				for (const viewer of [people.admin, people.agent]) {
					if (q === 'is:unread' && viewer === people.admin) continue;
					const t0 = performance.now();
					await services.search.find(parseSearchQuery(q), viewer, { limit: 25 });
					const ms = performance.now() - t0;
					times.push(ms);
					const key = `${q} (${viewer === people.admin ? 'admin' : 'agent'})`;
					slowest.set(key, Math.max(ms, slowest.get(key) ?? 0));
				}
			}
		}
		result[kind] = latency(times);
	}
	const worst = [...slowest].sort((a, b) => b[1] - a[1]).slice(0, 6);
	progress(`search: slowest queries: ${worst.map(([q, ms]) => `${q} ${ms.toFixed(0)} ms`).join('; ')}`);
	return result;
}

/** 200 entries/s to 20 live tickets; each entry's time from acknowledgement to its search row. */
async function measureLag(services: Services, seconds: number): Promise<SearchBenchResult['lag']> {
	const bot: BotPrincipal = { kind: 'bot', id: 'bench-bot', name: 'Bench', channels: ['email'] };
	const live: string[] = [];
	for (let i = 0; i < 20; i++) {
		const created = await services.tickets.create({ subject: `Live ${i}`, requester: { email: `live${i}@example.com` }, channel: 'email', body: 'Opening message.' }, bot);
		live.push(created.id);
	}
	const acked = new Map<string, number>();
	const lags: number[] = [];
	let polling = true;
	const poll = (async () => {
		while (polling || acked.size) {
			if (acked.size) {
				const ids = [...acked.keys()];
				const rows = await services.store.all<{ part: string }>(
					sql`SELECT part FROM ticket_search WHERE ticket_id IN (${sql.join(live.map((id) => sql`${id}`), sql`, `)}) AND part IN (${sql.join(ids.map((id) => sql`${id}`), sql`, `)})`
				);
				const seen = performance.now();
				for (const { part } of rows) {
					lags.push(seen - acked.get(part)!);
					acked.delete(part);
				}
			}
			await new Promise((resolve) => setTimeout(resolve, 10));
		}
	})();
	const total = Math.round(200 * seconds);
	const start = performance.now();
	const appends: Promise<void>[] = [];
	for (let i = 0; i < total; i++) {
		const due = start + (i * 1000) / 200;
		const wait = due - performance.now();
		if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
		const id = newId();
		appends.push(
			services.tickets
				.append(live[i % live.length]!, { id, kind: 'message', channel: 'email', visibility: 'public', authorType: 'customer', body: `Follow-up ${i}: ${wordAt(i % VOCABULARY)} ${wordAt((i * 7) % VOCABULARY)}` }, bot)
				.then(() => void acked.set(id, performance.now()))
		);
	}
	await Promise.all(appends);
	polling = false;
	const deadline = performance.now() + 10_000;
	while (acked.size && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
	const unseen = acked.size;
	acked.clear();
	await poll;
	if (unseen) throw new Error(`${unseen} appended entries never reached the search index`);
	const { p50, max } = latency(lags);
	const sorted = [...lags].sort((a, b) => a - b);
	return { entries: lags.length, p50, p99: sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))]!, max };
}

function latency(times: number[]): Latency {
	const sorted = [...times].sort((a, b) => a - b);
	const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
	return { n: sorted.length, p50: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1]! };
}
