/**
 * A stand-in SMTP relay for outbound mail tests (smtp-server on a free port): it parses and keeps
 * what it accepts, and can refuse deliveries with 451 on demand.
 */
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { expect } from 'vitest';
import { api, waitFor } from './server';

export interface Relay {
	port: number;
	/** Messages accepted (answered 250), in order. */
	accepted: { mail: ParsedMail; rcptTo: string[] }[];
	/** Deliveries refused with 451 so far. */
	refused: number;
	/** Refuse this many more deliveries with 451. */
	failNext: number;
	/** Refuse every delivery while set. */
	refuseAll: boolean;
	close(): Promise<void>;
}

export async function startRelay(): Promise<Relay> {
	const relay = { accepted: [], refused: 0, failNext: 0, refuseAll: false } as unknown as Relay;
	const server = new SMTPServer({
		disabledCommands: ['AUTH', 'STARTTLS'],
		authOptional: true,
		logger: false,
		onData(stream, session, callback) {
			const chunks: Buffer[] = [];
			stream.on('data', (chunk: Buffer) => chunks.push(chunk));
			stream.once('end', () => {
				if (relay.refuseAll || relay.failNext > 0) {
					if (relay.failNext > 0) relay.failNext--;
					relay.refused++;
					return callback(Object.assign(new Error('Try again later'), { responseCode: 451 }));
				}
				simpleParser(Buffer.concat(chunks)).then(
					(mail) => {
						relay.accepted.push({ mail, rcptTo: session.envelope.rcptTo.map((r) => r.address) });
						callback(null, 'Queued');
					},
					(error: Error) => callback(error)
				);
			});
		}
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	relay.port = (server.server.address() as AddressInfo).port;
	relay.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
	return relay;
}

/** The Message-ID Tandem sends entry `entryId`'s mail under. */
export const messageIdOf = (entryId: string) => `<${entryId}@tandem.local>`;

/** What `relay` accepted of entry `entryId`'s mail. */
export const acceptedOf = (relay: Relay, entryId: string) => relay.accepted.filter((m) => m.mail.messageId === messageIdOf(entryId));

export interface DeliveryState {
	status: string;
	attempts: number;
	lastError?: string;
	sentAt?: number;
}

/** A ticket's outbound mail as the workspace reads it (`GET /api/v1/tickets/:id/deliveries`), for a reader of the ticket. */
export function deliveriesOf(server: { url: string }, token: string, ticketId: string) {
	return {
		async read(): Promise<Record<string, DeliveryState>> {
			const res = await api(server, token).request('GET', `/api/v1/tickets/${ticketId}/deliveries`);
			expect(res.status).toBe(200);
			return res.body.deliveries;
		},
		/** Waits until `relay` accepted entry `entryId`'s mail and the outbox lists it sent; returns what the relay took. */
		async delivered(relay: Relay, entryId: string, timeoutMs = 30_000) {
			await waitFor(async () => acceptedOf(relay, entryId).length > 0 && (await this.read())[entryId]?.status === 'sent', `delivery of ${entryId}`, timeoutMs);
			return acceptedOf(relay, entryId);
		}
	};
}
