/**
 * Who is connected: agents' workspace streams, counted per user. An agent with none turns away,
 * then offline (server/routing/presence.ts), so in a cluster the count is of every node's
 * connections (DESIGN.md, "Cluster"). Alongside, which ticket each agent has open in front of
 * them on each node (the supervisor dashboard's "viewing"), as that node's awareness says.
 *
 * Each node counts its own and reports the users it holds to the others through Redis: on every
 * change, every `HEARTBEAT_MS`, when a node asks (it just started, or Redis is back), and when it
 * stops. A node not heard from for `SILENT_AFTER_MS` has died: its users count as gone. While this
 * node cannot reach Redis, silence means nothing and nobody is counted out.
 */
import type { Bus } from './bus';

export type ConnectionListener = (userId: string, connected: boolean) => void;

/** The ticket a user was last active in on a node, and when (epoch ms). */
export interface Viewing {
	ticketId: string;
	at: number;
}
export type ViewingSource = () => Map<string, Viewing>;

/** Told when a user's first connection (on any node) opens and when their last one closes. */
export interface ConnectionCounts {
	add(userId: string): void;
	remove(userId: string): void;
	isConnected(userId: string): boolean;
	onChange(listener: ConnectionListener): () => void;
	/** What each user views on the other nodes (none on a sole process). */
	viewingElsewhere(): Map<string, Viewing>;
	/** Where this node's own viewing comes from, to report it to the others. */
	reportViewing(source: ViewingSource): void;
	start(): Promise<void>;
	close(): Promise<void>;
}

/** The connections of one process: a sole node's are all there are. */
export class LocalConnections implements ConnectionCounts {
	protected readonly counts = new Map<string, number>();
	private readonly listeners = new Set<ConnectionListener>();

	add(userId: string): void {
		const was = this.isConnected(userId);
		this.counts.set(userId, (this.counts.get(userId) ?? 0) + 1);
		if (this.counts.get(userId) === 1) this.changed();
		if (!was) this.tell(userId, true);
	}

	remove(userId: string): void {
		const left = (this.counts.get(userId) ?? 1) - 1;
		if (left > 0) return void this.counts.set(userId, left);
		this.counts.delete(userId);
		this.changed();
		if (!this.isConnected(userId)) this.tell(userId, false);
	}

	isConnected(userId: string): boolean {
		return (this.counts.get(userId) ?? 0) > 0;
	}

	onChange(listener: ConnectionListener): () => void {
		this.listeners.add(listener);
		return () => this.listeners.delete(listener);
	}

	viewingElsewhere(): Map<string, Viewing> {
		return new Map();
	}

	reportViewing(_source: ViewingSource): void {}

	async start(): Promise<void> {}

	async close(): Promise<void> {}

	/** The set of users connected here changed. */
	protected changed(): void {}

	protected tell(userId: string, connected: boolean): void {
		for (const listener of [...this.listeners]) listener(userId, connected);
	}
}

export const CONNECTIONS_CHANNEL = 'tandem:connections';
const HEARTBEAT_MS = 5_000;
const SILENT_AFTER_MS = 3 * HEARTBEAT_MS;

/** What a node reports: the users connected to it, what they view, whether it asks the others to report, whether it is stopping. */
interface Report {
	node: string;
	users: string[];
	viewing?: [string, string, number][];
	ask?: boolean;
	leaving?: boolean;
}

export class ClusterConnections extends LocalConnections {
	private readonly others = new Map<string, { users: Set<string>; viewing: Map<string, Viewing>; heardAt: number }>();
	private readonly listener = (message: Buffer) => this.hear(message);
	private timer: NodeJS.Timeout | null = null;
	private viewingHere: ViewingSource = () => new Map();

	constructor(
		private readonly bus: Bus,
		private readonly node: string,
		private readonly now: () => number = Date.now
	) {
		super();
	}

	/** Subscribes, asks the others for their users, and reports and listens for silence from then on. */
	override async start(): Promise<void> {
		await this.bus.subscribe(CONNECTIONS_CHANNEL, this.listener);
		this.bus.onReconnect(() => {
			// Nobody could be heard while Redis was away: every node gets its full time again.
			for (const other of this.others.values()) other.heardAt = this.now();
			this.report({ ask: true });
		});
		this.report({ ask: true });
		this.timer = setInterval(() => {
			this.report();
			this.countOutSilent();
		}, HEARTBEAT_MS);
		this.timer.unref();
	}

	override isConnected(userId: string): boolean {
		if (super.isConnected(userId)) return true;
		for (const other of this.others.values()) if (other.users.has(userId)) return true;
		return false;
	}

	override viewingElsewhere(): Map<string, Viewing> {
		const latest = new Map<string, Viewing>();
		for (const other of this.others.values()) {
			for (const [userId, viewing] of other.viewing) if ((latest.get(userId)?.at ?? -1) < viewing.at) latest.set(userId, viewing);
		}
		return latest;
	}

	override reportViewing(source: ViewingSource): void {
		this.viewingHere = source;
	}

	/** Tells the others this node's users are gone (it stops). */
	override async close(): Promise<void> {
		if (this.timer) clearInterval(this.timer);
		this.report({ leaving: true });
		await this.bus.unsubscribe(CONNECTIONS_CHANNEL, this.listener);
	}

	protected override changed(): void {
		this.report();
	}

	private report(extra: Partial<Report> = {}) {
		const viewing = extra.leaving ? [] : [...this.viewingHere()].map(([userId, v]): [string, string, number] => [userId, v.ticketId, v.at]);
		const report: Report = { node: this.node, users: extra.leaving ? [] : [...this.counts.keys()], viewing, ...extra };
		this.bus.publish(CONNECTIONS_CHANNEL, Buffer.from(JSON.stringify(report)));
	}

	private hear(message: Buffer) {
		let report: Partial<Report>;
		try {
			report = JSON.parse(message.toString('utf8')) as Partial<Report>;
		} catch {
			return;
		}
		if (typeof report.node !== 'string' || report.node === this.node || !Array.isArray(report.users)) return;
		const users = report.leaving ? null : new Set(report.users.filter((u): u is string => typeof u === 'string'));
		this.replace(report.node, users, viewingOf(report.viewing));
		if (report.ask) this.report();
	}

	/** Sets what `node` holds (null: nothing, it is gone) and tells whose connectedness changed. */
	private replace(node: string, users: Set<string> | null, viewing = new Map<string, Viewing>()) {
		const before = this.others.get(node)?.users ?? new Set<string>();
		const touched = new Set([...before, ...(users ?? [])]);
		const was = new Map([...touched].map((u) => [u, this.isConnected(u)]));
		if (users) this.others.set(node, { users, viewing, heardAt: this.now() });
		else this.others.delete(node);
		for (const userId of touched) if (this.isConnected(userId) !== was.get(userId)) this.tell(userId, !was.get(userId));
	}

	private countOutSilent() {
		if (!this.bus.reachable) return;
		for (const [node, other] of this.others) if (this.now() - other.heardAt > SILENT_AFTER_MS) this.replace(node, null);
	}
}

/** The viewing entries of a report that are well formed. */
function viewingOf(entries: unknown): Map<string, Viewing> {
	const viewing = new Map<string, Viewing>();
	if (!Array.isArray(entries)) return viewing;
	for (const entry of entries) {
		if (!Array.isArray(entry)) continue;
		const [userId, ticketId, at] = entry as unknown[];
		if (typeof userId === 'string' && typeof ticketId === 'string' && typeof at === 'number') viewing.set(userId, { ticketId, at });
	}
	return viewing;
}
