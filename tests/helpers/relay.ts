/**
 * A stand-in for the SMTP relay outbound mail goes to (SMTP_RELAY_URL): smtp-server on a free
 * port that keeps what it accepted (parsed, with the raw bytes and the envelope), and can refuse
 * deliveries with 451 on demand; `mailTo`, mail into the server's own SMTP listener; and the
 * outbox's delivery states as the workspace reads them.
 */
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { expect } from 'vitest';
import { api, smtpPort, waitFor } from './server';

export interface Relay {
	port: number;
	/** Messages accepted (answered 250), in order. */
	accepted: { mail: ParsedMail; raw: Buffer; rcptTo: string[] }[];
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
				const raw = Buffer.concat(chunks);
				simpleParser(raw).then(
					(mail) => {
						relay.accepted.push({ mail, raw, rcptTo: session.envelope.rcptTo.map((r) => r.address) });
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

/** Sends `message` to the Tandem server's SMTP listener, as a customer's mail server would. */
export async function mailTo(server: { output(): string }, message: SendMailOptions): Promise<void> {
	const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort(server), secure: false, ignoreTLS: true });
	try {
		await transport.sendMail(message);
	} finally {
		transport.close();
	}
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
