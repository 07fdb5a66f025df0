/**
 * The supervisor dashboard's longest wait counts from when the customer started waiting (their
 * unanswered message), not from when the server queued the ticket at its start.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../server/auth/principal';
import { newId, type Entry } from '../../src/lib/ticket';
import { prepare, type Fixture, withServices } from '../helpers/fixtures';
import { api, startServer, tempDataDir, type RunningServer } from '../helpers/server';

const HOUR = 60 * 60_000;
let fx: Fixture;
let server: RunningServer;

/** An unassigned email ticket whose customer wrote `ago` ms before now, written before the server starts (as a seed or import does). */
function recordTicket(dataDir: string, subject: string, ago: number): Promise<string> {
	return withServices(dataDir, async (services) => {
		const createdAt = Date.now() - ago;
		const customer = await services.customers.findOrCreate('email', `${subject.toLowerCase().replace(/\W+/g, '.')}@example.com`, subject);
		const entry: Entry = {
			id: newId(),
			kind: 'message',
			channel: 'email',
			direction: 'in',
			visibility: 'public',
			authorType: 'customer',
			authorId: customer.id,
			body: `${subject}: still waiting`,
			createdAt
		};
		const fields = { subject, status: 'new' as const, priority: 'normal' as const, assigneeId: null, groupId: null, requesterId: customer.id, channel: 'email' as const, createdAt, tags: [] };
		return (await services.tickets.record({ fields, entries: [entry] }, SYSTEM)).id;
	});
}

beforeAll(async () => {
	const dataDir = tempDataDir();
	fx = await prepare(dataDir, { users: { sam: { role: 'supervisor' }, alex: { role: 'agent' } } });
	await recordTicket(dataDir, 'Three hours', 3 * HOUR);
	await recordTicket(dataDir, 'Ten minutes', 10 * 60_000);
	server = await startServer({ dataDir });
});
afterAll(() => server?.kill());

describe('supervisor dashboard: longest wait', () => {
	it('counts from the oldest unanswered customer message, 3 h, not from the server start', async () => {
		const { status, body } = await api(server, fx.users.sam!.token).request('GET', '/api/v1/supervisor/dashboard');
		expect(status).toBe(200);
		const noGroup = body.queues.find((q: { groupId: string | null }) => q.groupId === null);
		expect(noGroup).toMatchObject({ waiting: 2 });
		expect(noGroup.longestWaitMs).toBeGreaterThanOrEqual(3 * HOUR);
		expect(noGroup.longestWaitMs).toBeLessThan(3 * HOUR + 5 * 60_000);
	});

	it('is for supervisors: an agent is refused', async () => {
		expect((await api(server, fx.users.alex!.token).request('GET', '/api/v1/supervisor/dashboard')).status).toBe(403);
	});
});
