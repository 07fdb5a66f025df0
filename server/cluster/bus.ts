/**
 * How the nodes of a cluster ring each other's doorbells: Redis publish/subscribe. Redis is never
 * the record (DESIGN.md, "Cluster"): a message may be lost, late or, while Redis is down, never
 * sent, and whoever listens reads what it missed from the log. So publishing never waits or
 * queues: a message that cannot go now is dropped.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../log';

export interface Bus {
	/** Sends `message` to the channel's subscribers on every node, if Redis can take it now. */
	publish(channel: string, message: Uint8Array): void;
	/** Hands every message of `channel` to `listener` (one listener a channel) until unsubscribed. */
	subscribe(channel: string, listener: (message: Buffer) => void): Promise<void>;
	/** Stops handing the channel's messages to `listener` (a listener subscribed since is kept). */
	unsubscribe(channel: string, listener: (message: Buffer) => void): Promise<void>;
	/** Called each time the bus is back after Redis was out of reach: messages sent meanwhile are lost. */
	onReconnect(listener: () => void): void;
	/** Whether Redis answered last time: while it does not, silence from other nodes means nothing. */
	readonly reachable: boolean;
	/** Messages that could not be published (Redis out of reach), since the start. */
	readonly droppedMessages: number;
	close(): Promise<void>;
}

/** Redis waits between attempts to reach Redis again, at most. */
const MAX_RETRY_DELAY_MS = 2000;

export class RedisBus implements Bus {
	private readonly publisher: Redis;
	private readonly subscriber: Redis;
	private readonly listeners = new Map<string, (message: Buffer) => void>();
	private readonly reconnectListeners = new Set<() => void>();
	/** Redis was out of reach since it last answered: the next `ready` is a reconnection. */
	private lost = false;
	private dropped = 0;

	constructor(url: string, private readonly logger: Logger) {
		const options = {
			// Nothing waits for Redis: a command it cannot take now fails at once.
			enableOfflineQueue: false,
			maxRetriesPerRequest: 0,
			retryStrategy: (attempt: number) => Math.min(100 * attempt, MAX_RETRY_DELAY_MS),
			lazyConnect: true
		};
		this.publisher = new Redis(url, { ...options, connectionName: 'tandem-publish' });
		this.subscriber = new Redis(url, { ...options, connectionName: 'tandem-subscribe', autoResubscribe: true });
		this.subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => this.listeners.get(channel.toString())?.(message));
		for (const client of [this.publisher, this.subscriber]) {
			// ioredis reports every failed attempt; once per outage is enough for the log.
			client.on('error', (error: Error) => {
				if (!this.lost) this.logger.warn({ err: error.message }, 'redis out of reach; nodes catch up from the log meanwhile');
				this.lost = true;
			});
			client.on('close', () => (this.lost = true));
		}
		this.subscriber.on('ready', () => {
			if (!this.lost) return;
			this.lost = false;
			this.logger.info('redis reached again');
			for (const listener of this.reconnectListeners) listener();
		});
	}

	/** Connects both clients; a Redis out of reach at the start is reported, and reached later. */
	async connect(): Promise<void> {
		const results = await Promise.allSettled([this.publisher.connect(), this.subscriber.connect()]);
		const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
		if (failed) {
			this.lost = true;
			this.logger.warn({ err: (failed.reason as Error).message }, 'redis out of reach at the start; retrying');
		}
	}

	publish(channel: string, message: Uint8Array): void {
		this.publisher.publish(channel, Buffer.from(message.buffer, message.byteOffset, message.byteLength)).catch(() => {
			this.dropped++;
		});
	}

	get reachable(): boolean {
		return !this.lost;
	}

	/** Messages that could not be published (Redis out of reach). */
	get droppedMessages(): number {
		return this.dropped;
	}

	async subscribe(channel: string, listener: (message: Buffer) => void): Promise<void> {
		this.listeners.set(channel, listener);
		// While Redis is out of reach, autoResubscribe cannot know of a channel never subscribed:
		// it is subscribed once Redis is back (see onReconnect users' catch-up) by the retry below.
		await this.subscriber.subscribe(channel).catch(() => this.retrySubscription(channel));
	}

	async unsubscribe(channel: string, listener: (message: Buffer) => void): Promise<void> {
		if (this.listeners.get(channel) !== listener) return;
		this.listeners.delete(channel);
		await this.subscriber.unsubscribe(channel).catch(() => {});
	}

	onReconnect(listener: () => void): void {
		this.reconnectListeners.add(listener);
	}

	async close(): Promise<void> {
		this.listeners.clear();
		this.publisher.disconnect();
		this.subscriber.disconnect();
	}

	private retrySubscription(channel: string) {
		this.subscriber.once('ready', () => {
			if (this.listeners.has(channel)) void this.subscriber.subscribe(channel).catch(() => this.retrySubscription(channel));
		});
	}
}
