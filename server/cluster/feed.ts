/**
 * What happens on one node and is watched on all of them (DESIGN.md, "Cluster": streams are fed
 * from Redis): a ticket's index row, an agent's status, a routing offer, a call, a notice from a
 * side conversation. Watchers on this node hear it at once; in a cluster, the `FeedRelay` carries
 * it to the watchers of every other node.
 *
 * The sources keep their own listeners for the work a change sets off (routing a ticket, ringing a
 * call): that runs once, on the node where the change happened; a feed only tells.
 */
import type { Bus } from './bus';
import type { Logger } from '../log';

export type Watcher<T> = (value: T) => void;

export class Feed<T> {
	private readonly watchers = new Set<Watcher<T>>();
	private carry: ((value: T) => void) | null = null;

	constructor(readonly name: string) {}

	/** Tells this node's watchers, and every other node's when carried. */
	publish(value: T): void {
		this.deliver(value);
		this.carry?.(value);
	}

	/** Tells this node's watchers only (what another node published). A watcher that throws is dropped. */
	deliver(value: T): void {
		for (const watcher of [...this.watchers]) {
			try {
				watcher(value);
			} catch {
				this.watchers.delete(watcher);
			}
		}
	}

	/** Calls `watcher` with every value published from now on, on any node. Returns the stop. */
	watch(watcher: Watcher<T>): () => void {
		this.watchers.add(watcher);
		return () => this.watchers.delete(watcher);
	}

	/** How many watch (streams open): a leak shows here. */
	get size(): number {
		return this.watchers.size;
	}

	/** Hands every value published here to `send` too (the relay). */
	carriedBy(send: (value: T) => void): void {
		this.carry = send;
	}
}

export const FEED_CHANNEL = 'tandem:feeds';

/** A message larger than this is not read: every value a feed carries is a row or a view of one. */
const MAX_MESSAGE_BYTES = 1024 * 1024;

/** A feed as the relay sees it: values it carries as JSON, whatever their type. */
interface Carried {
	readonly name: string;
	deliver(value: unknown): void;
	carriedBy(send: (value: unknown) => void): void;
}

/**
 * Carries feeds between the nodes of a cluster over one Redis channel. Lost messages stay lost,
 * but not unnoticed: when Redis is reached again after an outage, this node's gap listeners are
 * told (it may have missed what others published), and so are every other node's when this node
 * could not publish meanwhile; the streams end, and their clients read afresh as they reconnect.
 */
export class FeedRelay {
	private readonly feeds = new Map<string, Carried>();
	private readonly gapListeners = new Set<() => void>();
	private readonly listener = (message: Buffer) => this.hear(message);
	/** Messages this node had failed to publish when it last told the others of a gap. */
	private droppedBefore = 0;

	constructor(
		private readonly bus: Bus,
		private readonly node: string,
		private readonly logger: Logger
	) {
		bus.onReconnect(() => {
			this.gap();
			if (bus.droppedMessages === this.droppedBefore) return;
			this.droppedBefore = bus.droppedMessages;
			bus.publish(FEED_CHANNEL, Buffer.from(JSON.stringify({ node, gap: true })));
		});
	}

	/** Calls `listener` whenever this node's watchers may have missed values (see the class). Returns the stop. */
	onGap(listener: () => void): () => void {
		this.gapListeners.add(listener);
		return () => this.gapListeners.delete(listener);
	}

	async carry(...feeds: Carried[]): Promise<void> {
		for (const feed of feeds) {
			this.feeds.set(feed.name, feed);
			feed.carriedBy((value) => this.bus.publish(FEED_CHANNEL, Buffer.from(JSON.stringify({ node: this.node, feed: feed.name, value }))));
		}
		await this.bus.subscribe(FEED_CHANNEL, this.listener);
	}

	async close(): Promise<void> {
		await this.bus.unsubscribe(FEED_CHANNEL, this.listener);
	}

	private hear(message: Buffer) {
		if (message.length > MAX_MESSAGE_BYTES) return void this.logger.warn({ bytes: message.length }, 'a feed message too large to read was dropped');
		let parsed: { node?: unknown; feed?: unknown; value?: unknown; gap?: unknown };
		try {
			parsed = JSON.parse(message.toString('utf8')) as typeof parsed;
		} catch {
			return void this.logger.warn('a feed message that is not JSON was dropped');
		}
		if (parsed.node === this.node) return;
		if (parsed.gap === true) return this.gap();
		if (typeof parsed.feed !== 'string') return;
		this.feeds.get(parsed.feed)?.deliver(parsed.value);
	}

	private gap() {
		this.logger.info('feed messages may have been missed; streams end so their clients read afresh');
		for (const listener of [...this.gapListeners]) listener();
	}
}
