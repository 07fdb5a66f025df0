import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendEntries, setField } from '../../src/lib/ticket';
import { runScript } from '../helpers/cli';
import { replyBy } from '../helpers/entries';
import { prepare, type Fixture } from '../helpers/fixtures';
import { api, connectPeer, startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';

describe('configuration', () => {
	for (const [name, value] of [
		['PORT', 'eighty'],
		['PORT', '70000'],
		['LOG_LEVEL', 'loud'],
		['SEED', 'maybe'],
		['COMPACT_AFTER', '0']
	]) {
		it(`stops the start on ${name}=${value}, naming the variable`, async () => {
			const result = await runScript('server', [], { DATA_DIR: tempDataDir(), [name]: value });
			expect(result.code).toBe(1);
			expect(result.stderr).toContain(`${name}=${JSON.stringify(value)}`);
		});
	}
});

describe('ticket index', () => {
	let server: RunningServer;
	let fx: Fixture;
	beforeAll(async () => {
		const dataDir = tempDataDir();
		fx = await prepare(dataDir, { users: { ann: { role: 'agent' } }, bots: { web: ['web'] } });
		server = await startServer({ dataDir });
	});
	afterAll(async () => {
		expect(await server.stop()).toBe(0);
	});

	it('follows changes made through the document, within a second', async () => {
		const created = await api(server, fx.tokens.web.token).request('POST', '/api/v1/tickets', {
			subject: 'Refund please',
			requester: { email: 'val@example.com' },
			channel: 'web',
			body: 'Order 7 arrived broken.'
		});
		const id = created.body.id as string;
		const peer = await connectPeer(server, id, fx.users.ann.token);
		setField(peer.doc, 'status', 'pending');
		setField(peer.doc, 'assigneeId', fx.users.ann.id);
		appendEntries(peer.doc, [replyBy(fx.users.ann.id, 'A replacement is on its way.', { channel: 'email' })]);
		await peer.acknowledged();
		const client = api(server, fx.users.ann.token);
		const row = await waitFor(async () => {
			const res = await client.request('GET', `/api/v1/tickets?status=pending&assignee=${fx.users.ann.id}`);
			return res.body.tickets.find((t: { id: string }) => t.id === id);
		}, 'index row', 1000);
		expect(row).toMatchObject({ status: 'pending', assigneeId: fx.users.ann.id, entryCount: 2, lastPublicPreview: 'A replacement is on its way.' });
		peer.destroy();
		const events = await client.request('GET', `/api/v1/tickets/${id}/events`);
		expect(events.body.events.map((e: { type: string }) => e.type)).toEqual(expect.arrayContaining(['ticket.created', 'field.changed']));
	});
});
