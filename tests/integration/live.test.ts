import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendEntry, newId, readEntries, type Entry } from '../../src/lib/ticket';
import { noteBy } from '../helpers/entries';
import { prepare, type Fixture } from '../helpers/fixtures';
import { api, connectPeer, startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';

let server: RunningServer;
let fx: Fixture;

beforeAll(async () => {
	const dataDir = tempDataDir();
	fx = await prepare(dataDir, {
		users: { ann: { role: 'agent', groups: ['Support'] }, ben: { role: 'agent', groups: ['Support'] } },
		bots: { mailer: ['email'] }
	});
	server = await startServer({ dataDir });
});
afterAll(async () => {
	await server?.stop();
});

async function createTicket() {
	const res = await api(server, fx.tokens.mailer.token).request('POST', '/api/v1/tickets', {
		subject: 'Printer on fire',
		requester: { email: 'pat@example.com', name: 'Pat' },
		channel: 'email',
		body: 'It is on fire.'
	});
	expect(res.status).toBe(201);
	return res.body.id as string;
}

describe('live ticket documents', () => {
	it('two providers appending at once converge on the same conversation', async () => {
		const id = await createTicket();
		const a = await connectPeer(server, id, fx.users.ann.token);
		const b = await connectPeer(server, id, fx.users.ben.token);
		for (let i = 0; i < 20; i++) {
			appendEntry(a.doc, noteBy(fx.users.ann.id, `ann ${i}`));
			appendEntry(b.doc, noteBy(fx.users.ben.id, `ben ${i}`));
		}
		await Promise.all([a.acknowledged(), b.acknowledged()]);
		await waitFor(() => readEntries(a.doc).length === 41 && readEntries(b.doc).length === 41, 'convergence');
		expect(readEntries(a.doc)).toEqual(readEntries(b.doc));
		const fetched = await api(server, fx.users.ann.token).request('GET', `/api/v1/tickets/${id}`);
		expect(fetched.body.entries.map((e: Entry) => e.id)).toEqual(readEntries(a.doc).map((e) => e.id));
		a.destroy();
		b.destroy();
	});

	it('an HTTP append appears live at a connected provider, once', async () => {
		const id = await createTicket();
		const peer = await connectPeer(server, id, fx.users.ann.token);
		const entryId = newId();
		const body = { id: entryId, channel: 'email', body: 'Following up by email' };
		const first = await api(server, fx.tokens.mailer.token).request('POST', `/api/v1/tickets/${id}/entries`, body);
		expect(first.status).toBe(201);
		const again = await api(server, fx.tokens.mailer.token).request('POST', `/api/v1/tickets/${id}/entries`, body);
		expect(again.status).toBe(200);
		expect(again.body).toEqual(first.body);
		await waitFor(() => readEntries(peer.doc).some((e) => e.id === entryId), 'live HTTP entry');
		expect(readEntries(peer.doc).filter((e) => e.id === entryId)).toHaveLength(1);
		peer.destroy();
	});
});
