/** What admins set for routing: offer timeout, default capacities, declining; per agent capacities and skills. */
import { eq } from 'drizzle-orm';
import { Feed } from '../cluster/feed';
import type { Store } from '../storage/store';
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
	private cached: RoutingOptions | null = null;
	/** Told when the options change, on any node: each drops what it had cached. */
	readonly changed = new Feed<null>('routing-settings');

	constructor(private readonly store: Store) {
		this.changed.watch(() => (this.cached = null));
	}

	async get(): Promise<RoutingOptions> {
		return (this.cached ??= await this.read());
	}

	/**
	 * Merges `change` into the stored options. Concurrent updates each keep the others' changes: the
	 * row (written with the defaults first when missing) is locked while it is read and written.
	 */
	async update(change: Partial<Omit<RoutingOptions, 'capacities'>> & { capacities?: Partial<PerChannel<number>> }): Promise<RoutingOptions> {
		const { routingSettings } = this.store.tables;
		const next = await this.store.transaction(async (tx) => {
			await tx.insert(routingSettings).values({ id: 1, ...DEFAULT_OPTIONS }).onConflictDoNothing();
			await this.store.lock(tx, routingSettings, eq(routingSettings.id, 1));
			const current = await this.read();
			const next = { ...current, ...change, capacities: { ...current.capacities, ...change.capacities } };
			await tx.update(routingSettings).set(next).where(eq(routingSettings.id, 1));
			return next;
		});
		this.changed.publish(null);
		this.cached = next;
		return next;
	}

	async agent(userId: string): Promise<AgentRouting> {
		const { agentRouting } = this.store.tables;
		const [row] = await this.store.db
			.select({ capacities: agentRouting.capacities, skills: agentRouting.skills })
			.from(agentRouting)
			.where(eq(agentRouting.userId, userId))
			.limit(1);
		return row ?? { capacities: {}, skills: [] };
	}

	/** Every agent's own capacities and skills, for a routing pass. */
	async agents(): Promise<Map<string, AgentRouting>> {
		const { agentRouting } = this.store.tables;
		const rows = await this.store.db.select().from(agentRouting);
		return new Map(rows.map((r) => [r.userId, { capacities: r.capacities, skills: r.skills }]));
	}

	/**
	 * Replaces what is given; a capacity set to null falls back to the default again. The agent's row
	 * (written empty first when missing) is locked while it is merged, so no concurrent change is lost.
	 */
	async setAgent(userId: string, change: { capacities?: Partial<Record<ChannelClass, number | null>>; skills?: string[] }): Promise<AgentRouting> {
		const { agentRouting } = this.store.tables;
		return this.store.transaction(async (tx) => {
			await tx.insert(agentRouting).values({ userId, capacities: {}, skills: [] }).onConflictDoNothing();
			await this.store.lock(tx, agentRouting, eq(agentRouting.userId, userId));
			const current = await this.agent(userId);
			const capacities = { ...current.capacities };
			for (const [channel, value] of Object.entries(change.capacities ?? {}) as [ChannelClass, number | null][]) {
				if (value === null) delete capacities[channel];
				else capacities[channel] = value;
			}
			const next: AgentRouting = { capacities, skills: change.skills ?? current.skills };
			await tx.update(agentRouting).set(next).where(eq(agentRouting.userId, userId));
			return next;
		});
	}

	private async read(): Promise<RoutingOptions> {
		const { routingSettings } = this.store.tables;
		const [row] = await this.store.db
			.select({ offerTimeoutSeconds: routingSettings.offerTimeoutSeconds, capacities: routingSettings.capacities, declineAllowed: routingSettings.declineAllowed })
			.from(routingSettings)
			.where(eq(routingSettings.id, 1))
			.limit(1);
		return row ?? DEFAULT_OPTIONS;
	}
}
