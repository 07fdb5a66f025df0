/**
 * Internal side conversations reach the colleagues they name: a `side` event on their workspace
 * stream when named and when someone else writes in it; a colleague who cannot see the ticket
 * cannot be named (the update is refused, and they hear nothing of the ticket).
 */
import type * as Y from 'yjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { appendSideEntry, newId, openSide, readSides, setField } from '../../src/lib/ticket';
import { noteBy } from '../helpers/entries';
import { prepare, type Fixture } from '../helpers/fixtures';
import { fileInGroup } from '../helpers/tickets';
import type { EventLog } from '../helpers/sse';
import { userConnections } from '../helpers/user-connections';
import { api, emailTicket, startServer, tempDataDir, waitFor, type RunningServer } from '../helpers/server';

let server: RunningServer;
let fx: Fixture;

beforeAll(async () => {
	const dataDir = tempDataDir('tandem-side-notices-');
	fx = await prepare(dataDir, {
		users: {
			ann: { role: 'agent', groups: ['Support'] },
			ben: { role: 'agent', groups: ['Support'] },
			dee: { role: 'agent', groups: ['Support'] },
			carl: { role: 'agent', groups: ['Billing'] },
			root: { role: 'admin' }
		},
		bots: { mailer: ['email'] }
	});
	server = await startServer({ dataDir });
});

afterAll(async () => {
	await server?.stop();
});

const { connect, streamOf, closeAll } = userConnections(() => server, () => fx);
afterEach(closeAll);

type Who = 'ann' | 'ben' | 'dee' | 'carl' | 'root';
const id = (who: Who) => fx.users[who].id;

const sideEvents = (stream: EventLog, ticketId: string) => stream.events.filter((e) => e.name === 'side' && e.data.ticketId === ticketId).map((e) => e.data);

/** A ticket of the Support group. */
async function supportTicket() {
	const ticket = await emailTicket(server, fx.tokens.mailer.token, 'Where is my parcel?');
	await fileInGroup(server, ticket.id, fx.groups.Support, fx.users.root.token, fx.users.carl.token);
	return ticket;
}

/** Ann's internal side conversation naming `named`, with her first message. */
async function askColleagues(ticketId: string, named: Who[]) {
	const ann = await connect(ticketId, 'ann');
	const sideId = newId();
	ann.doc.transact(() => {
		openSide(ann.doc, { id: sideId, subject: 'Ask the warehouse', channel: 'internal', createdBy: id('ann'), createdAt: Date.now(), participants: named.map(id) });
		appendSideEntry(ann.doc, sideId, noteBy(id('ann'), 'Did parcel 7731 leave the warehouse?'));
	});
	return { ann, sideId };
}

describe('notifications of internal side conversations', () => {
	it('the colleagues named hear of it once, with the ticket and the side conversation to open; the author does not', async () => {
		const ticket = await supportTicket();
		const [ben, dee, annStream] = await Promise.all([streamOf('ben'), streamOf('dee'), streamOf('ann')]);
		const { ann, sideId } = await askColleagues(ticket.id, ['ben', 'dee']);
		await ann.acknowledged();
		for (const stream of [ben, dee]) {
			await waitFor(() => sideEvents(stream, ticket.id).length, 'the notice');
			const [notice] = sideEvents(stream, ticket.id);
			expect(notice).toMatchObject({ ticketId: ticket.id, sideId, subject: 'Ask the warehouse', reason: 'named', fromId: id('ann'), number: expect.any(Number) });
		}
		// Ann's own message is no notice to her; and the first message reached the named with their notice, not twice.
		const reply = await connect(ticket.id, 'ben');
		appendSideEntry(reply.doc, sideId, noteBy(id('ben'), 'It left on Monday.'));
		await reply.acknowledged();
		await waitFor(() => sideEvents(annStream, ticket.id).length, 'Ann hearing of the reply');
		expect(sideEvents(annStream, ticket.id)).toEqual([expect.objectContaining({ reason: 'message', fromId: id('ben'), preview: 'It left on Monday.', sideId })]);
		await waitFor(() => sideEvents(dee, ticket.id).length === 2, 'Dee hearing of the reply');
		expect(sideEvents(dee, ticket.id)[1]).toMatchObject({ reason: 'message', fromId: id('ben') });
		expect(sideEvents(ben, ticket.id)).toHaveLength(1);
	});

	it('naming a colleague who cannot see the ticket is refused with a clear reason, and they hear nothing', async () => {
		const ticket = await supportTicket();
		const carl = await streamOf('carl');
		const { ann } = await askColleagues(ticket.id, ['ben', 'carl']);
		expect(await waitFor(() => ann.closeReason(), 'the refusal')).toBe('forbidden-author');
		const events = await api(server, fx.users.root.token).request('GET', `/api/v1/tickets/${ticket.id}/events`);
		const rejected = events.body.events.filter((e: { type: string }) => e.type === 'update.rejected').at(-1);
		expect(rejected.data.message).toBe(`${id('carl')} cannot see this ticket: an internal side conversation names colleagues who can`);
		const fresh = await connect(ticket.id, 'ben');
		expect(readSides(fresh.doc)).toEqual([]);
		// A change Carl may see goes by on his stream: by then a notice would have come before it.
		const other = await emailTicket(server, fx.tokens.mailer.token, 'Unrelated');
		await waitFor(() => carl.events.some((e) => e.name === 'ticket' && e.data.id === other.id), 'a later event for Carl');
		expect(carl.events.filter((e) => e.name === 'side')).toEqual([]);
		expect(JSON.stringify(carl.events)).not.toContain(ticket.id);
	});

	it('a colleague added later is told then; someone who lost access is told nothing more', async () => {
		const ticket = await supportTicket();
		const [ben, dee] = await Promise.all([streamOf('ben'), streamOf('dee')]);
		const { ann, sideId } = await askColleagues(ticket.id, ['ben']);
		await ann.acknowledged();
		await waitFor(() => sideEvents(ben, ticket.id).length, 'Ben named');
		const side = ann.doc.getMap<Y.Map<unknown>>('sides').get(sideId)!;
		(side.get('participants') as Y.Array<string>).push([id('dee')]);
		await ann.acknowledged();
		await waitFor(() => sideEvents(dee, ticket.id).length, 'Dee named');
		expect(sideEvents(dee, ticket.id)[0]).toMatchObject({ reason: 'named', sideId });

		// The ticket moves to Billing: Ben and Dee can no longer see it, and hear nothing of what is written there.
		const admin = await connect(ticket.id, 'root');
		setField(admin.doc, 'groupId', fx.groups.Billing);
		await admin.acknowledged();
		await waitFor(async () => (await api(server, fx.users.ben.token).request('GET', `/api/v1/tickets/${ticket.id}`)).status === 404, 'the move to take effect');
		appendSideEntry(admin.doc, sideId, noteBy(id('root'), 'Billing has it now.'));
		await admin.acknowledged();
		const later = await emailTicket(server, fx.tokens.mailer.token, 'Later');
		await waitFor(() => ben.events.some((e) => e.name === 'ticket' && e.data.id === later.id), 'a later event for Ben');
		expect(sideEvents(ben, ticket.id)).toHaveLength(1);
		expect(sideEvents(dee, ticket.id)).toHaveLength(1);
	});
});
