/**
 * Agent status: one status (online, away, offline, or an admin-defined one mapped onto these) and
 * availability per channel class. Connections are counted (the workspace holds one stream per
 * tab; in a cluster, on every node): when the last one closes the agent turns away after
 * `awayAfterMs`, then offline after `offlineAfterMs`; coming back before offline restores the
 * status they chose. Stored in the database; every change is told to the listeners (the router,
 * on the node that made it) and to the feed (colleagues' streams, on every node).
 *
 * The away and offline timers are work to do once: they run while this node leads (`lead`, from
 * the start for a sole process) and stop when it stands down.
 */
import { asc, eq, sql } from 'drizzle-orm';
import { newId } from '../../src/lib/ticket';
import { LocalConnections, type ConnectionCounts } from '../cluster/connections';
import { Feed } from '../cluster/feed';
import { ApiError, notFound } from '../errors';
import type { Events } from '../events';
import type { Clock } from './clock';
import { CHANNEL_CLASSES, STATUS_CLASSES, type PerChannel, type StatusClass } from './rules';
import { isUniqueViolation, type Store } from '../storage/store';

export interface PresenceSettings {
	awayAfterMs: number;
	offlineAfterMs: number;
}

export interface StatusOption {
	id: string;
	name: string;
	mapsTo: StatusClass;
	builtIn: boolean;
}

export interface AgentPresence {
	userId: string;
	/** The status in effect: the chosen one, or away/offline set because the agent has no connection. */
	status: string;
	statusName: string;
	/** What `status` counts as for routing. */
	statusClass: StatusClass;
	/** The status the agent chose. */
	chosen: string;
	/** Set while the status in effect was set automatically (no connection). */
	auto: 'away' | 'offline' | null;
	channels: PerChannel<boolean>;
	connected: boolean;
	changedAt: number;
}

/** Awaited before the change that called it resolves: the router has moved offers on by then. */
export type PresenceListener = (presence: AgentPresence) => void | Promise<void>;

interface Row {
	userId: string;
	status: string;
	channels: Partial<PerChannel<boolean>>;
	auto: 'away' | 'offline' | null;
	changedAt: number;
}

const ALL_CHANNELS: PerChannel<boolean> = { messaging: true, chat: true, talk: true };
const BUILT_IN: StatusOption[] = STATUS_CLASSES.map((id) => ({ id, name: id[0].toUpperCase() + id.slice(1), mapsTo: id, builtIn: true }));

export class AgentStatus {
	private readonly listeners = new Set<PresenceListener>();
	/** Every agent's status change, on any node: for colleagues' streams. */
	readonly feed = new Feed<AgentPresence>('presence');
	/** Told when a custom status is added or removed, on any node: each drops what it had cached. */
	readonly statusesChanged = new Feed<null>('custom-statuses');
	private readonly timers = new Map<string, unknown>();
	/** Whether this node runs the away and offline timers (see `lead`). */
	private leading = true;
	private custom: StatusOption[] | null = null;

	constructor(
		private readonly store: Store,
		private readonly events: Events,
		private readonly clock: Clock,
		private readonly settings: PresenceSettings,
		private readonly connections: ConnectionCounts = new LocalConnections()
	) {
		this.statusesChanged.watch(() => (this.custom = null));
		connections.onChange((userId, connected) => {
			if (connected) this.clearTimer(userId);
			else this.scheduleAway(userId, this.settings.awayAfterMs);
		});
		// A status chosen without a connection open (on any node): the grace period runs as if the
		// last one had just closed. (Set away by the timer, the agent has their offline timer already.)
		this.feed.watch((p) => {
			if (p.auto === null && !p.connected && p.statusClass !== 'offline' && !this.timers.has(p.userId)) this.scheduleAway(p.userId, this.settings.awayAfterMs);
		});
	}

	// --- statuses ------------------------------------------------------------------------------

	/** Built-in statuses, then the custom ones by name. */
	async statuses(): Promise<StatusOption[]> {
		const { customStatuses } = this.store.tables;
		this.custom ??= (
			await this.store.db
				.select({ id: customStatuses.id, name: customStatuses.name, mapsTo: customStatuses.mapsTo })
				.from(customStatuses)
				.orderBy(asc(customStatuses.name))
		).map((s) => ({ ...s, builtIn: false }));
		return [...BUILT_IN, ...this.custom];
	}

	async addStatus(name: string, mapsTo: StatusClass, actor: string): Promise<StatusOption> {
		const { customStatuses } = this.store.tables;
		const exists = () => new ApiError(409, 'status_exists', `a status named ${name} exists`, 'name');
		if (BUILT_IN.some((s) => s.name.toLowerCase() === name.toLowerCase())) throw exists();
		const id = newId();
		try {
			await this.store.transaction(async (tx) => {
				// Additions take turns: the unique name is case-sensitive, the check is not.
				await this.store.serialise(tx, 'custom_statuses.name');
				const [taken] = await tx
					.select({ id: customStatuses.id })
					.from(customStatuses)
					.where(eq(sql`lower(${customStatuses.name})`, name.toLowerCase()))
					.limit(1);
				if (taken) throw exists();
				await tx.insert(customStatuses).values({ id, name, mapsTo, createdAt: this.clock.now() });
				await this.events.record({ actor, type: 'status.created', data: { id, name, mapsTo } });
			});
		} catch (error) {
			// Added meanwhile under the same name: the unique name decides.
			throw isUniqueViolation(error) ? exists() : error;
		} finally {
			this.statusesChanged.publish(null);
		}
		return { id, name, mapsTo, builtIn: false };
	}

	/** Removes a custom status; agents who had it chosen get the built-in status it mapped to. */
	async removeStatus(id: string, actor: string): Promise<void> {
		const { agentPresence, customStatuses } = this.store.tables;
		const status = (await this.statuses()).find((s) => s.id === id && !s.builtIn);
		if (!status) throw notFound('custom status');
		const affected = await this.store.transaction(async (tx) => {
			const affected = await tx
				.update(agentPresence)
				.set({ status: status.mapsTo, changedAt: this.clock.now() })
				.where(eq(agentPresence.status, id))
				.returning({ userId: agentPresence.userId });
			await tx.delete(customStatuses).where(eq(customStatuses.id, id));
			await this.events.record({ actor, type: 'status.deleted', data: { id, name: status.name } });
			return affected;
		});
		this.statusesChanged.publish(null);
		for (const { userId } of affected) await this.emit(await this.get(userId));
	}

	// --- agents --------------------------------------------------------------------------------

	/** An agent without a stored status is offline, available on every channel. */
	async get(userId: string): Promise<AgentPresence> {
		const { agentPresence } = this.store.tables;
		const [row] = await this.store.db.select(this.columns()).from(agentPresence).where(eq(agentPresence.userId, userId)).limit(1);
		return this.view(row ?? { userId, status: 'offline', channels: ALL_CHANNELS, auto: null, changedAt: 0 });
	}

	/** Every stored agent status. */
	async all(): Promise<AgentPresence[]> {
		const rows = await this.store.db.select(this.columns()).from(this.store.tables.agentPresence);
		const statuses = await this.statuses();
		return rows.map((row) => this.viewWith(row, statuses));
	}

	/** The agent chooses a status and channel availability. */
	async set(userId: string, change: { status?: string; channels?: Partial<PerChannel<boolean>> }): Promise<AgentPresence> {
		const statuses = await this.statuses();
		const next = await this.change(userId, async (current) => {
			const status = change.status ?? current.chosen;
			if (!statuses.some((s) => s.id === status)) throw new ApiError(400, 'invalid_field', `status: no status ${status}`, 'status');
			const channels = { ...current.channels, ...change.channels };
			await this.events.record({ userId, actor: `user:${userId}`, type: 'agent.status', data: { status, channels } });
			return { status, channels, auto: this.isConnected(userId) || current.auto === 'offline' ? null : current.auto };
		});
		await this.emit(next!);
		return next!;
	}

	/**
	 * Counts a connection of the agent (a workspace stream), at once. Resolves with its release once
	 * an agent set away or offline for want of a connection has their chosen status back; when the
	 * last connection is released the agent turns away, then offline, unless they come back first.
	 */
	async connect(userId: string): Promise<() => void> {
		this.connections.add(userId);
		let released = false;
		const release = () => {
			if (released) return;
			released = true;
			this.connections.remove(userId);
		};
		try {
			// Back before going offline: the chosen status again. After offline they choose anew.
			const back = await this.change(userId, async (current) =>
				current.auto && this.isConnected(userId) ? { status: current.chosen, channels: current.channels, auto: null } : null
			);
			if (back) await this.emit(back);
		} catch (error) {
			release();
			throw error;
		}
		return release;
	}

	isConnected(userId: string): boolean {
		return this.connections.isConnected(userId);
	}

	/** This node runs the timers from now on (see `timeTheUntimed`). */
	async lead(): Promise<void> {
		this.leading = true;
		await this.timeTheUntimed();
	}

	/**
	 * Agents not offline, connected nowhere and without a timer start their grace period now: after
	 * a restart, when this node takes over from a leader that died, and now and then for a status
	 * change made on another node that this one did not hear of (Redis out of reach).
	 */
	async timeTheUntimed(): Promise<void> {
		if (!this.leading) return;
		for (const presence of await this.all()) {
			if (presence.statusClass === 'offline' || presence.connected || this.timers.has(presence.userId)) continue;
			if (presence.auto === 'away') this.scheduleOffline(presence.userId, this.settings.offlineAfterMs - this.settings.awayAfterMs);
			else this.scheduleAway(presence.userId, this.settings.awayAfterMs);
		}
	}

	/** Stops the timers: another node runs them (or the process stops). */
	standDown(): void {
		this.leading = false;
		for (const userId of [...this.timers.keys()]) this.clearTimer(userId);
	}

	close(): void {
		this.standDown();
	}

	/** Calls `listener` with every agent's status change. Returns the unsubscribe function. */
	onChange(listener: PresenceListener): () => void {
		this.listeners.add(listener);
		return () => this.listeners.delete(listener);
	}

	/** What a stored or custom status counts as. */
	async classOf(status: string, auto: 'away' | 'offline' | null = null): Promise<StatusClass> {
		return auto ?? (await this.statuses()).find((s) => s.id === status)?.mapsTo ?? 'offline';
	}

	// --- internals -----------------------------------------------------------------------------

	private scheduleAway(userId: string, ms: number) {
		if (!this.leading) return;
		this.clearTimer(userId);
		this.timers.set(
			userId,
			this.clock.setTimeout(async () => {
				this.timers.delete(userId);
				const away = await this.change(userId, async (current) =>
					this.isConnected(userId) || current.statusClass === 'offline' ? null : { status: current.chosen, channels: current.channels, auto: 'away' }
				);
				if (!away) return;
				await this.emit(away);
				if (!this.isConnected(userId)) this.scheduleOffline(userId, this.settings.offlineAfterMs - this.settings.awayAfterMs);
			}, ms)
		);
	}

	private scheduleOffline(userId: string, ms: number) {
		if (!this.leading) return;
		this.clearTimer(userId);
		this.timers.set(
			userId,
			this.clock.setTimeout(async () => {
				this.timers.delete(userId);
				const offline = await this.change(userId, async (current) =>
					this.isConnected(userId) ? null : { status: 'offline', channels: current.channels, auto: 'offline' }
				);
				if (offline) await this.emit(offline);
			}, Math.max(0, ms))
		);
	}

	private clearTimer(userId: string) {
		const timer = this.timers.get(userId);
		if (timer === undefined) return;
		this.clock.clearTimeout(timer);
		this.timers.delete(userId);
	}

	/**
	 * One change of the agent's status: `decide` reads the current status under the agent's row lock
	 * and returns what to store (null: nothing). Resolves with the stored status, or null.
	 */
	private async change(
		userId: string,
		decide: (current: AgentPresence) => Promise<{ status: string; channels: PerChannel<boolean>; auto: 'away' | 'offline' | null } | null>
	): Promise<AgentPresence | null> {
		const { agentPresence, users } = this.store.tables;
		return this.store.transaction(async (tx) => {
			await this.store.lock(tx, users, eq(users.id, userId));
			const next = await decide(await this.get(userId));
			if (!next) return null;
			const row = { userId, status: next.status, channels: next.channels, auto: next.auto, changedAt: this.clock.now() };
			await tx
				.insert(agentPresence)
				.values(row)
				.onConflictDoUpdate({ target: agentPresence.userId, set: { status: row.status, channels: row.channels, auto: row.auto, changedAt: row.changedAt } });
			return this.get(userId);
		});
	}

	private columns() {
		const { agentPresence: p } = this.store.tables;
		return { userId: p.userId, status: p.status, channels: p.channels, auto: p.auto, changedAt: p.changedAt };
	}

	private async view(row: Row): Promise<AgentPresence> {
		return this.viewWith(row, await this.statuses());
	}

	private viewWith(row: Row, statuses: StatusOption[]): AgentPresence {
		const shown = row.auto ?? row.status;
		const channels = Object.fromEntries(CHANNEL_CLASSES.map((c) => [c, row.channels[c] ?? true])) as PerChannel<boolean>;
		return {
			userId: row.userId,
			status: shown,
			statusName: statuses.find((s) => s.id === shown)?.name ?? shown,
			statusClass: row.auto ?? statuses.find((s) => s.id === row.status)?.mapsTo ?? 'offline',
			chosen: row.status,
			auto: row.auto,
			channels,
			connected: this.isConnected(row.userId),
			changedAt: row.changedAt
		};
	}

	private async emit(presence: AgentPresence) {
		this.feed.publish(presence);
		for (const listener of [...this.listeners]) {
			try {
				await listener(presence);
			} catch {
				this.listeners.delete(listener);
			}
		}
	}
}
