/** Routing's HTTP schemas (zod): agent status, offers, admin settings, SLA policies, reassignment. */
import { z } from 'zod';
import { satisfactionTodaySchema } from './satisfaction';
import { idSchema, PRIORITIES } from '../ticket/schema';

export const CHANNEL_CLASSES = ['messaging', 'chat', 'talk'] as const;
export const STATUS_CLASSES = ['online', 'away', 'offline'] as const;
export const SLA_METRICS = ['firstReply', 'nextReply', 'resolution'] as const;

const perChannel = <T extends z.ZodType>(value: T) => z.strictObject({ messaging: value, chat: value, talk: value });
const capacity = z.number().int().min(0).max(1000);
const minutes = z.number().int().min(1).max(365 * 24 * 60).nullable();

/** `PUT /me/status`: the status (a built-in or custom status id) and/or channel availability. */
export const setStatusSchema = z.strictObject({
	status: z.string().min(1).max(64).optional(),
	channels: perChannel(z.boolean()).partial().optional()
});

export const customStatusSchema = z.strictObject({
	name: z.string().trim().min(1).max(60),
	mapsTo: z.enum(STATUS_CLASSES).meta({ description: 'What the status counts as for routing.' })
});

export const routingSettingsSchema = z.strictObject({
	offerTimeoutSeconds: z.number().int().min(5).max(3600).optional(),
	capacities: perChannel(capacity).partial().optional().meta({ description: 'Defaults for agents without their own.' }),
	declineAllowed: z.boolean().optional()
});

export const userRoutingSchema = z.strictObject({
	capacities: perChannel(capacity.nullable()).partial().optional().meta({ description: 'null: back to the default.' }),
	skills: z.array(z.string().trim().min(1).max(64)).max(50).optional()
});

export const slaPolicySchema = z.strictObject({
	priority: z.enum(PRIORITIES),
	channel: z.enum(CHANNEL_CLASSES),
	firstReplyMinutes: minutes,
	nextReplyMinutes: minutes,
	resolutionMinutes: minutes
});
export const slaPoliciesSchema = z.strictObject({ policies: z.array(slaPolicySchema).min(1).max(PRIORITIES.length * CHANNEL_CLASSES.length) });

export const reassignSchema = z.strictObject({ assigneeId: idSchema });

/** What an agent's presence says about taking a call now; only `available` agents are rung by a transfer. */
export type CallAvailability = 'available' | 'not taking calls' | 'away' | 'offline';

/** Available: online (or a status that counts as online) with Talk on. No presence at all is offline. */
export function callAvailability(presence: { statusClass: (typeof STATUS_CLASSES)[number]; channels: Record<'talk', boolean> } | null | undefined): CallAvailability {
	if (!presence || presence.statusClass === 'offline') return 'offline';
	if (presence.statusClass === 'away') return 'away';
	return presence.channels.talk ? 'available' : 'not taking calls';
}

// Answers, for the OpenAPI description.

export const agentPresenceSchema = z
	.object({
		userId: idSchema,
		status: z.string(),
		statusName: z.string(),
		statusClass: z.enum(STATUS_CLASSES),
		chosen: z.string().meta({ description: 'The status the agent chose; `status` differs while set automatically.' }),
		auto: z.enum(['away', 'offline']).nullable(),
		channels: perChannel(z.boolean()),
		connected: z.boolean(),
		changedAt: z.number().int()
	})
	.meta({ id: 'AgentPresence' });

export const statusOptionSchema = z
	.object({ id: z.string(), name: z.string(), mapsTo: z.enum(STATUS_CLASSES), builtIn: z.boolean() })
	.meta({ id: 'StatusOption' });

export const offerSchema = z
	.object({
		id: idSchema,
		agentId: idSchema,
		itemId: idSchema,
		kind: z.enum(['ticket', 'call']),
		ref: z.string().meta({ description: 'The ticket id, or the call id.' }),
		ticketId: idSchema.nullable(),
		number: z.number().int().positive().nullable().meta({ description: "The ticket's number (`#1042`)." }),
		subject: z.string().nullable(),
		channel: z.enum(CHANNEL_CLASSES),
		groupId: idSchema.nullable(),
		priority: z.enum(PRIORITIES),
		slaDueAt: z.number().int().nullable(),
		enqueuedAt: z.number().int(),
		createdAt: z.number().int(),
		expiresAt: z.number().int(),
		declineAllowed: z.boolean()
	})
	.meta({ id: 'Offer' });

export const routingOptionsSchema = z
	.object({ offerTimeoutSeconds: z.number().int(), capacities: perChannel(z.number().int()), declineAllowed: z.boolean() })
	.meta({ id: 'RoutingSettings' });

export const agentRoutingSchema = z
	.object({ capacities: perChannel(z.number().int()).partial(), skills: z.array(z.string()) })
	.meta({ id: 'AgentRouting' });

export const slaStateSchema = z
	.object({
		firstReplyDueAt: z.number().int().nullable(),
		nextReplyDueAt: z.number().int().nullable(),
		resolutionDueAt: z.number().int().nullable(),
		dueAt: z.number().int().nullable(),
		breached: z.array(z.enum(SLA_METRICS))
	})
	.meta({ id: 'SlaState' });
export type SlaState = z.infer<typeof slaStateSchema>;

export const dashboardSchema = z
	.object({
		at: z.number().int(),
		agents: z.array(
			z.object({
				id: idSchema,
				name: z.string(),
				role: z.string(),
				groupIds: z.array(idSchema),
				status: z.string(),
				statusName: z.string(),
				statusClass: z.enum(STATUS_CLASSES),
				channels: perChannel(z.boolean()),
				connected: z.boolean(),
				load: perChannel(z.object({ assigned: z.number().int(), offered: z.number().int(), capacity: z.number().int() })),
				currentTicketId: idSchema.nullable().meta({ description: 'The ticket open in their workspace where they were last active (from presence).' })
			})
		),
		queues: z.array(
			z.object({
				groupId: idSchema.nullable(),
				groupName: z.string(),
				waiting: z.number().int(),
				longestWaitMs: z.number().int(),
				slaAtRisk: z.number().int().meta({ description: 'Waiting items whose SLA target passed or falls within 15 minutes.' })
			})
		),
		satisfaction: satisfactionTodaySchema
	})
	.meta({ id: 'SupervisorDashboard' });

export type ChannelClass = (typeof CHANNEL_CLASSES)[number];
export type StatusClass = (typeof STATUS_CLASSES)[number];
export type AgentPresence = z.infer<typeof agentPresenceSchema>;
export type StatusOption = z.infer<typeof statusOptionSchema>;
export type Offer = z.infer<typeof offerSchema>;
export type Dashboard = z.infer<typeof dashboardSchema>;
