/**
 * Agent status: one status (online, away, offline, or an admin-defined one mapped onto these) and
 * availability per channel class. Connections are counted (the workspace holds one stream per
 * tab): when the last one closes the agent turns away after `awayAfterMs`, then offline after
 * `offlineAfterMs`; coming back before offline restores the status they chose. Stored in SQLite;
 * every change is told to the listeners (colleagues' streams, the router).
 */
import type Database from 'better-sqlite3';
import { newId } from '../../src/lib/ticket';
import { ApiError, notFound } from '../errors';
import type { Events } from '../events';
import type { Db } from '../storage/database';
import type { Clock } from './clock';
import { CHANNEL_CLASSES, STATUS_CLASSES, type PerChannel, type StatusClass } from './rules';

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

export type PresenceListener = (presence: AgentPresence) => void;

interface Row {
	userId: string;
	status: string;
	channels: string;
	auto: 'away' | 'offline' | null;
	changedAt: number;
}

const ALL_CHANNELS: PerChannel<boolean> = { messaging: true, chat: true, talk: true };
const BUILT_IN: StatusOption[] = STATUS_CLASSES.map((id) => ({ id, name: id[0].toUpperCase() + id.slice(1), mapsTo: id, builtIn: true }));

export class AgentStatus {
	private readonly sqlite: Database.Database;
	private readonly listeners = new Set<PresenceListener>();
	private readonly connections = new Map<string, number>();
	private readonly timers = new Map<string, unknown>();
	private custom: StatusOption[] | null = null;
	// Read on every routing pass and status change: prepared once.
	private readonly selectOne;
	private readonly selectAll;
	private readonly upsert;

	constructor(
		db: Db,
		private readonly events: Events,
		private readonly clock: Clock,
		private readonly settings: PresenceSettings
	) {
		this.sqlite = db.$client;
		const columns = 'user_id AS userId, status, channels, auto, changed_at AS changedAt';
		this.selectOne = this.sqlite.prepare(`SELECT ${columns} FROM agent_presence WHERE user_id = ?`);
		this.selectAll = this.sqlite.prepare(`SELECT ${columns} FROM agent_presence`);
		this.upsert = this.sqlite.prepare(
			`INSERT INTO agent_presence (user_id, status, channels, auto, changed_at) VALUES (?, ?, ?, ?, ?)
			 ON CONFLICT (user_id) DO UPDATE SET status = excluded.status, channels = excluded.channels, auto = excluded.auto, changed_at = excluded.changed_at`
		);
	}

	// --- statuses ------------------------------------------------------------------------------

	/** Built-in statuses, then the custom ones by name. */
	statuses(): StatusOption[] {
		this.custom ??= (
			this.sqlite.prepare('SELECT id, name, maps_to AS mapsTo FROM custom_statuses ORDER BY name').all() as Omit<StatusOption, 'builtIn'>[]
		).map((s) => ({ ...s, builtIn: false }));
		return [...BUILT_IN, ...this.custom];
	}

	addStatus(name: string, mapsTo: StatusClass, actor: string): StatusOption {
		if (this.statuses().some((s) => s.name.toLowerCase() === name.toLowerCase())) {
			throw new ApiError(409, 'status_exists', `a status named ${name} exists`, 'name');
		}
		const id = newId();
		this.sqlite.prepare('INSERT INTO custom_statuses (id, name, maps_to, created_at) VALUES (?, ?, ?, ?)').run(id, name, mapsTo, this.clock.now());
		this.custom = null;
		this.events.record({ actor, type: 'status.created', data: { id, name, mapsTo } });
		return { id, name, mapsTo, builtIn: false };
	}

	/** Removes a custom status; agents who had it chosen get the built-in status it mapped to. */
	removeStatus(id: string, actor: string): void {
		const status = this.statuses().find((s) => s.id === id && !s.builtIn);
		if (!status) throw notFound('custom status');
		const affected = this.sqlite.prepare('SELECT user_id AS userId FROM agent_presence WHERE status = ?').all(id) as { userId: string }[];
		this.sqlite.transaction(() => {
			this.sqlite.prepare('UPDATE agent_presence SET status = ?, changed_at = ? WHERE status = ?').run(status.mapsTo, this.clock.now(), id);
			this.sqlite.prepare('DELETE FROM custom_statuses WHERE id = ?').run(id);
		})();
		this.custom = null;
		this.events.record({ actor, type: 'status.deleted', data: { id, name: status.name } });
		for (const { userId } of affected) this.emit(this.get(userId));
	}

	// --- agents --------------------------------------------------------------------------------

	/** An agent without a stored status is offline, available on every channel. */
	get(userId: string): AgentPresence {
		const row = this.selectOne.get(userId) as
			| Row
			| undefined;
		return this.view(row ?? { userId, status: 'offline', channels: JSON.stringify(ALL_CHANNELS), auto: null, changedAt: 0 });
	}

	/** Every stored agent status. */
	all(): AgentPresence[] {
		const rows = this.selectAll.all() as Row[];
		return rows.map((row) => this.view(row));
	}

	/** The agent chooses a status and channel availability. */
	set(userId: string, change: { status?: string; channels?: Partial<PerChannel<boolean>> }): AgentPresence {
		const current = this.get(userId);
		const status = change.status ?? current.chosen;
		if (!this.statuses().some((s) => s.id === status)) throw new ApiError(400, 'invalid_field', `status: no status ${status}`, 'status');
		const channels = { ...current.channels, ...change.channels };
		const connected = this.isConnected(userId);
		this.store(userId, status, channels, connected || current.auto === 'offline' ? null : current.auto);
		// Chosen without a connection open: the grace period runs as if the last one had just closed.
		if (!connected && !this.timers.has(userId)) this.scheduleAway(userId, this.settings.awayAfterMs);
		this.events.record({ userId, actor: `user:${userId}`, type: 'agent.status', data: { status, channels } });
		const next = this.get(userId);
		this.emit(next);
		return next;
	}

	/**
	 * Counts a connection of the agent (a workspace stream). Returns its release; when the last one
	 * is released the agent turns away, then offline, unless they come back first.
	 */
	connect(userId: string): () => void {
		this.connections.set(userId, (this.connections.get(userId) ?? 0) + 1);
		this.clearTimer(userId);
		const current = this.get(userId);
		if (current.auto) {
			// Back before going offline: the chosen status again. After offline they choose anew.
			this.store(userId, current.chosen, current.channels, null);
			this.emit(this.get(userId));
		}
		let released = false;
		return () => {
			if (released) return;
			released = true;
			const left = (this.connections.get(userId) ?? 1) - 1;
			if (left > 0) return void this.connections.set(userId, left);
			this.connections.delete(userId);
			this.scheduleAway(userId, this.settings.awayAfterMs);
		};
	}

	isConnected(userId: string): boolean {
		return (this.connections.get(userId) ?? 0) > 0;
	}

	/** After a restart nobody is connected: agents not offline start their grace period now. */
	start(): void {
		for (const presence of this.all()) {
			if (presence.statusClass === 'offline') continue;
			if (presence.auto === 'away') this.scheduleOffline(presence.userId, this.settings.offlineAfterMs - this.settings.awayAfterMs);
			else this.scheduleAway(presence.userId, this.settings.awayAfterMs);
		}
	}

	close(): void {
		for (const userId of [...this.timers.keys()]) this.clearTimer(userId);
	}

	/** Calls `listener` with every agent's status change. Returns the unsubscribe function. */
	onChange(listener: PresenceListener): () => void {
		this.listeners.add(listener);
		return () => this.listeners.delete(listener);
	}

	/** What a stored or custom status counts as. */
	classOf(status: string, auto: 'away' | 'offline' | null = null): StatusClass {
		return auto ?? this.statuses().find((s) => s.id === status)?.mapsTo ?? 'offline';
	}

	// --- internals -----------------------------------------------------------------------------

	private scheduleAway(userId: string, ms: number) {
		this.clearTimer(userId);
		this.timers.set(
			userId,
			this.clock.setTimeout(() => {
				this.timers.delete(userId);
				const current = this.get(userId);
				if (this.isConnected(userId) || current.statusClass === 'offline') return;
				this.store(userId, current.chosen, current.channels, 'away');
				this.emit(this.get(userId));
				this.scheduleOffline(userId, this.settings.offlineAfterMs - this.settings.awayAfterMs);
			}, ms)
		);
	}

	private scheduleOffline(userId: string, ms: number) {
		this.clearTimer(userId);
		this.timers.set(
			userId,
			this.clock.setTimeout(() => {
				this.timers.delete(userId);
				if (this.isConnected(userId)) return;
				this.store(userId, 'offline', this.get(userId).channels, 'offline');
				this.emit(this.get(userId));
			}, Math.max(0, ms))
		);
	}

	private clearTimer(userId: string) {
		const timer = this.timers.get(userId);
		if (timer === undefined) return;
		this.clock.clearTimeout(timer);
		this.timers.delete(userId);
	}

	private store(userId: string, status: string, channels: PerChannel<boolean>, auto: 'away' | 'offline' | null) {
		this.upsert.run(userId, status, JSON.stringify(channels), auto, this.clock.now());
	}

	private view(row: Row): AgentPresence {
		const shown = row.auto ?? row.status;
		const stored = JSON.parse(row.channels) as Partial<PerChannel<boolean>>;
		const channels = Object.fromEntries(CHANNEL_CLASSES.map((c) => [c, stored[c] ?? true])) as PerChannel<boolean>;
		return {
			userId: row.userId,
			status: shown,
			statusName: this.statuses().find((s) => s.id === shown)?.name ?? shown,
			statusClass: this.classOf(row.status, row.auto),
			chosen: row.status,
			auto: row.auto,
			channels,
			connected: this.isConnected(row.userId),
			changedAt: row.changedAt
		};
	}

	private emit(presence: AgentPresence) {
		for (const listener of [...this.listeners]) {
			try {
				listener(presence);
			} catch {
				this.listeners.delete(listener);
			}
		}
	}
}
