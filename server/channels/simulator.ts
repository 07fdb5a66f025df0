/**
 * A pretend messaging or social network for demos and tests (`channel simulate` on the command
 * line): it sends customers' messages to Tandem as signed webhooks, and receives Tandem's signed
 * deliveries of agents' replies on a local HTTP server.
 *
 * For deliveries to reach it, the channel's outbound URL must point at the simulator's port
 * (`http://127.0.0.1:<port>/`; any path is accepted).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { newId } from '../../src/lib/ticket';
import type { Store } from '../storage/store';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signedHeaders, verifySignature } from './webhooks';

/** Largest delivery body accepted (Tandem's own request limit). */
const MAX_BODY_BYTES = 1024 * 1024;

/** What Tandem's outbox POSTs to a channel's outbound URL. */
export interface Delivery {
	eventId: string;
	to: { id: string };
	text: string;
	ticketId: string;
}

export type SendAnswer = { ticketId: string; entryId: string } | { duplicate: true };

export interface SimulatorOptions {
	/** The channel's id and signing secret. */
	channelId: string;
	secret: string;
	/** Tandem's base URL, e.g. http://127.0.0.1:3000. */
	url: string;
	/** Port for deliveries; 0 picks a free one. */
	port: number;
	host?: string;
	/** The pretend customer. */
	from: { id: string; name?: string };
	/** Called once per delivery (a redelivered event id is acknowledged but not reported again). */
	onDelivery?: (delivery: Delivery) => void;
}

/** The signing secret of channel `id`, from the database; undefined for an unknown channel. */
export async function channelSecret(store: Store, id: string): Promise<string | undefined> {
	const { channels } = store.tables;
	const [row] = await store.db.select({ secret: channels.secret }).from(channels).where(eq(channels.id, id)).limit(1);
	return row?.secret;
}

export class Simulator {
	private readonly seen = new Set<string>();

	private constructor(
		private readonly options: SimulatorOptions,
		private readonly server: http.Server
	) {}

	/** Starts the delivery server; resolves once it listens. */
	static async start(options: SimulatorOptions): Promise<Simulator> {
		let simulator: Simulator | undefined;
		const server = http.createServer((req, res) => simulator!.handle(req, res));
		simulator = new Simulator(options, server);
		await new Promise<void>((resolve, reject) => {
			server.once('error', reject);
			server.listen(options.port, options.host ?? '127.0.0.1', () => {
				server.off('error', reject);
				resolve();
			});
		});
		return simulator;
	}

	get port(): number {
		return (this.server.address() as AddressInfo).port;
	}

	private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
		const answer = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
		if (req.method !== 'POST') {
			answer(405, { error: 'POST only' });
			return;
		}
		const chunks: Buffer[] = [];
		let size = 0;
		let tooLarge = false;
		req.on('data', (chunk: Buffer) => {
			size += chunk.length;
			if (size > MAX_BODY_BYTES) tooLarge = true;
			else chunks.push(chunk);
		});
		req.on('end', () => {
			if (tooLarge) return answer(413, { error: 'payload too large' });
			const raw = Buffer.concat(chunks).toString('utf8');
			const header = (name: string) => {
				const value = req.headers[name];
				return typeof value === 'string' ? value : null;
			};
			if (!verifySignature(this.options.secret, header(TIMESTAMP_HEADER), header(SIGNATURE_HEADER), raw)) {
				return answer(401, { error: 'missing or invalid signature' });
			}
			let delivery: Delivery;
			try {
				delivery = JSON.parse(raw) as Delivery;
			} catch {
				return answer(400, { error: 'invalid JSON' });
			}
			if (!delivery || typeof delivery !== 'object' || typeof delivery.eventId !== 'string') return answer(400, { error: 'eventId missing' });
			if (!this.seen.has(delivery.eventId)) {
				this.seen.add(delivery.eventId);
				this.options.onDelivery?.(delivery);
			}
			answer(200, { ok: true });
		});
		req.on('error', () => res.destroy());
	}

	/** Sends `text` as the pretend customer, signed, with a fresh ULID event id; returns Tandem's answer. */
	async say(text: string): Promise<SendAnswer> {
		const payload = { eventId: newId(), from: this.options.from, text, sentAt: Date.now() };
		const body = JSON.stringify(payload);
		const url = `${this.options.url.replace(/\/+$/, '')}/api/v1/channels/${encodeURIComponent(this.options.channelId)}/webhook`;
		let response: Response;
		try {
			response = await fetch(url, {
				method: 'POST',
				headers: { 'content-type': 'application/json', ...signedHeaders(this.options.secret, body) },
				body
			});
		} catch (error) {
			const cause = (error as { cause?: { code?: string; message?: string } }).cause;
			throw new Error(`could not reach ${url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
		}
		const text_ = await response.text();
		if (!response.ok) {
			let message = text_.slice(0, 300);
			try {
				message = (JSON.parse(text_) as { error?: { message?: string } }).error?.message ?? message;
			} catch {
				/* not JSON */
			}
			throw new Error(`${url} answered ${response.status}: ${message}`);
		}
		return JSON.parse(text_) as SendAnswer;
	}

	/** Stops listening and drops open connections. */
	close(): Promise<void> {
		return new Promise<void>((resolve) => {
			this.server.close(() => resolve());
			this.server.closeAllConnections();
		});
	}
}
