/** Tickets created over the HTTP API, as a channel bot opens them. */
import { expect } from 'vitest';
import { setField } from '../../src/lib/ticket';
import { api, connectPeer, waitFor } from './server';

export interface CreatedTicket {
	id: string;
	number: number;
	subject: string;
	requesterId: string;
}

/** Creates an email ticket with a customer's first message; fails the test unless it is 201. */
export async function createTicket(
	server: { url: string },
	token: string,
	subject: string,
	requester: { email: string; name?: string } = { email: 'maria@example.com', name: 'Maria Lopez' },
	body = 'Hello, my order has not arrived.'
): Promise<CreatedTicket> {
	const res = await api(server, token).request('POST', '/api/v1/tickets', { subject, requester, channel: 'email', body });
	expect(res.status).toBe(201);
	return res.body;
}

/** Files a ticket under a group as an admin's peer would, then waits until `outsiderToken` (a user outside it) no longer sees it. */
export async function fileInGroup(server: { url: string; wsUrl: string }, ticketId: string, groupId: string, adminToken: string, outsiderToken: string): Promise<void> {
	const admin = await connectPeer(server, ticketId, adminToken);
	try {
		setField(admin.doc, 'groupId', groupId);
		await admin.acknowledged();
	} finally {
		admin.destroy();
	}
	await waitFor(async () => (await api(server, outsiderToken).request('GET', `/api/v1/tickets/${ticketId}`)).status === 404, 'the group to take effect');
}
