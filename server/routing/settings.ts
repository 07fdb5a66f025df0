/** What admins set for routing: offer timeout, default capacities, declining; per agent capacities and skills. */
import type Database from 'better-sqlite3';
import type { Db } from '../storage/database';
import type { ChannelClass, PerChannel } from './rules';

export interface RoutingOptions {
	/** How long an agent has to accept an offer before it moves on. */
	offerTimeoutSeconds: number;
	/** Capacities of agents who have none of their own. */
	capacities: PerChannel<number>;
	/** Whether agents may decline offers (else they let them time out). */
	declineAllowed: boolean;
}

export interface AgentRouting {
	capacities: Partial<PerChannel<number>>;
	skills: string[];
}

export const DEFAULT_OPTIONS: RoutingOptions = { offerTimeoutSeconds: 30, capacities: { messaging: 10, chat: 3, talk: 1 }, declineAllowed: true };

export class RoutingSettings {
	private readonly sqlite: Database.Database;
	private cached: RoutingOptions | null = null;
	// Read on every routing pass: prepared once.
	private readonly selectAgents;

	constructor(db: Db) {
		this.sqlite = db.$client;
		this.selectAgents = this.sqlite.prepare('SELECT user_id AS userId, capacities, skills FROM agent_routing');
	}

	get(): RoutingOptions {
		if (this.cached) return this.cached;
		const row = this.sqlite.prepare('SELECT offer_timeout_seconds AS t, capacities AS c, decline_allowed AS d FROM routing_settings WHERE id = 1').get() as
			| { t: number; c: string; d: number }
			| undefined;
		this.cached = row ? { offerTimeoutSeconds: row.t, capacities: JSON.parse(row.c), declineAllowed: !!row.d } : DEFAULT_OPTIONS;
		return this.cached;
	}

	update(change: Partial<Omit<RoutingOptions, 'capacities'>> & { capacities?: Partial<PerChannel<number>> }): RoutingOptions {
		const next = { ...this.get(), ...change, capacities: { ...this.get().capacities, ...change.capacities } };
		this.sqlite
			.prepare(
				`INSERT INTO routing_settings (id, offer_timeout_seconds, capacities, decline_allowed) VALUES (1, ?, ?, ?)
				 ON CONFLICT (id) DO UPDATE SET offer_timeout_seconds = excluded.offer_timeout_seconds, capacities = excluded.capacities, decline_allowed = excluded.decline_allowed`
			)
			.run(next.offerTimeoutSeconds, JSON.stringify(next.capacities), next.declineAllowed ? 1 : 0);
		this.cached = next;
		return next;
	}

	agent(userId: string): AgentRouting {
		const row = this.sqlite.prepare('SELECT capacities, skills FROM agent_routing WHERE user_id = ?').get(userId) as { capacities: string; skills: string } | undefined;
		return row ? { capacities: JSON.parse(row.capacities), skills: JSON.parse(row.skills) } : { capacities: {}, skills: [] };
	}

	/** Every agent's own capacities and skills, for a routing pass. */
	agents(): Map<string, AgentRouting> {
		const rows = this.selectAgents.all() as { userId: string; capacities: string; skills: string }[];
		return new Map(rows.map((r) => [r.userId, { capacities: JSON.parse(r.capacities), skills: JSON.parse(r.skills) }]));
	}

	/** Replaces what is given; a capacity set to null falls back to the default again. */
	setAgent(userId: string, change: { capacities?: Partial<Record<ChannelClass, number | null>>; skills?: string[] }): AgentRouting {
		const current = this.agent(userId);
		const capacities = { ...current.capacities };
		for (const [channel, value] of Object.entries(change.capacities ?? {}) as [ChannelClass, number | null][]) {
			if (value === null) delete capacities[channel];
			else capacities[channel] = value;
		}
		const next: AgentRouting = { capacities, skills: change.skills ?? current.skills };
		this.sqlite
			.prepare(
				`INSERT INTO agent_routing (user_id, capacities, skills) VALUES (?, ?, ?)
				 ON CONFLICT (user_id) DO UPDATE SET capacities = excluded.capacities, skills = excluded.skills`
			)
			.run(userId, JSON.stringify(next.capacities), JSON.stringify(next.skills));
		return next;
	}
}
