/**
 * `/metrics` (issue #15, Observability): Prometheus text on the main port for holders of
 * METRICS_TOKEN, or on a port of its own, with what the server counted and measured.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { appendEntries } from '../../src/lib/ticket';
import { noteBy } from '../helpers/entries';
import { prepare } from '../helpers/fixtures';
import { api, servers, tempDataDir, waitFor } from '../helpers/server';

const pool = servers();
const { boot, connect } = pool;
afterEach(pool.cleanup);

const TOKEN = 'metrics-token-for-tests';

async function setup(env: Record<string, string>) {
	const dataDir = tempDataDir();
	const fx = await prepare(dataDir, { users: { ann: { role: 'agent' } }, bots: { bot: ['chat'] } });
	const server = await boot(dataDir, env);
	const created = await api(server, fx.tokens.bot.token).request('POST', '/api/v1/tickets', { subject: 'Measured', requester: { email: 'kim@example.com' }, channel: 'chat', body: 'Hello?' });
	expect(created.status).toBe(201);
	return { fx, server, ticketId: created.body.id as string };
}

/** The value of one sample (`name{labels}`) in Prometheus text, or undefined. */
function sample(text: string, series: string): number | undefined {
	const line = text.split('\n').find((l) => l.startsWith(`${series} `));
	return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const scrape = async (url: string, token?: string) => {
	const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
	return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
};

describe('/metrics', () => {
	it('does not exist without METRICS_TOKEN or METRICS_PORT', async () => {
		const { server } = await setup({});
		expect((await scrape(`${server.url}/metrics`)).status).toBe(404);
		expect((await scrape(`${server.url}/metrics`, TOKEN)).status).toBe(404);
	});

	it('answers holders of the token with what the server counted: connections, updates accepted and refused by reason, latencies, outbox and queues', async () => {
		const { fx, server, ticketId } = await setup({ METRICS_TOKEN: TOKEN });
		const url = `${server.url}/metrics`;
		expect((await scrape(url)).status).toBe(401);
		expect((await scrape(url, 'not-the-token-at-all')).status).toBe(401);
		expect((await scrape(url, `${TOKEN}x`)).status).toBe(401);

		const ann = await connect(server, ticketId, fx.users.ann.token);
		for (let i = 0; i < 3; i++) {
			appendEntries(ann.doc, [noteBy(fx.users.ann.id, `note ${i}`)]);
			await ann.acknowledged();
		}
		// A change the checker refuses: a field peers may not write.
		const intruder = await connect(server, ticketId, fx.users.ann.token);
		intruder.doc.getMap('ticket').set('number', 999);
		await waitFor(() => intruder.closeReason(), 'the refusal');
		const reason = intruder.closeReason()!;

		const { status, type, text } = await scrape(url, TOKEN);
		expect(status).toBe(200);
		expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
		expect(sample(text, 'tandem_connections')).toBeGreaterThanOrEqual(1);
		expect(sample(text, 'tandem_documents_loaded')).toBe(1);
		expect(sample(text, 'tandem_updates_accepted_total')).toBeGreaterThanOrEqual(3);
		expect(sample(text, `tandem_updates_refused_total{reason="${reason}"}`)).toBe(1);
		expect(sample(text, 'tandem_ack_seconds_count')).toBeGreaterThanOrEqual(3);
		// Every ticket, entry and note was a log commit.
		expect(sample(text, 'tandem_log_commit_seconds_count')).toBeGreaterThanOrEqual(4);
		expect(sample(text, 'tandem_outbox_rows{status="failed"}')).toBe(0);
		expect(sample(text, 'tandem_leader')).toBe(1);
		expect(sample(text, 'tandem_process_cpu_seconds_total')).toBeGreaterThan(0);
		expect(text).toContain('# TYPE tandem_routing_items gauge');
	});

	it('is served on a port of its own with METRICS_PORT, and nothing else there', async () => {
		const { server } = await setup({ METRICS_PORT: '0' });
		const line = server
			.output()
			.split('\n')
			.find((l) => l.includes('"metrics listening"'));
		const metricsUrl = JSON.parse(line!).url as string;
		const own = await scrape(metricsUrl);
		expect(own.status).toBe(200);
		expect(sample(own.text, 'tandem_updates_accepted_total')).toBe(0);
		expect((await scrape(metricsUrl.replace(/\/metrics$/, '/'))).status).toBe(404);
		// The main port keeps it to itself without a token.
		expect((await scrape(`${server.url}/metrics`)).status).toBe(404);
	});
});
