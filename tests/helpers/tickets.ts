/** Tickets created over the HTTP API, as a channel bot opens them. */
import { expect } from 'vitest';
import { api } from './server';

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
