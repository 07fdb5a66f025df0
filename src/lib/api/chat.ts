/**
 * Live chat as the visitor endpoints and the agents' chat endpoints answer it (server/channels/chat.ts):
 * schemas for the OpenAPI document, and the types the server and the UI share.
 */
import { z } from 'zod';

export const CHAT_STATUSES = ['waiting', 'active', 'ended'] as const;
export const VISITOR_PRESENCES = ['online', 'away', 'left'] as const;
export type ChatStatus = (typeof CHAT_STATUSES)[number];
export type VisitorPresence = (typeof VISITOR_PRESENCES)[number];

export const chatInfoSchema = z
	.object({
		id: z.string(),
		ticketId: z.string(),
		status: z.enum(CHAT_STATUSES),
		presence: z.enum(VISITOR_PRESENCES).meta({ description: "What the visitor's widget last said; `left` once it has been gone a while." }),
		agentId: z.string().nullable(),
		agentName: z.string().nullable().meta({ description: 'The serving agent, by first name.' }),
		startedAt: z.number().int(),
		servedAt: z.number().int().nullable(),
		endedAt: z.number().int().nullable()
	})
	.meta({ id: 'Chat' });
export type ChatInfo = z.infer<typeof chatInfoSchema>;

export const pageViewSchema = z.object({ url: z.string(), title: z.string(), viewedAt: z.number().int() }).meta({ id: 'PageView' });
export type PageView = z.infer<typeof pageViewSchema>;

/** A message as the visitor sees it: who said it, never internal ids of agents. */
export const visitorMessageSchema = z
	.object({
		id: z.string(),
		body: z.string(),
		createdAt: z.number().int(),
		from: z.enum(['visitor', 'agent']),
		name: z.string().meta({ description: '`You`, or the agent by first name.' }),
		channel: z.string()
	})
	.meta({ id: 'VisitorMessage' });
export type VisitorMessage = z.infer<typeof visitorMessageSchema>;

export type VisitorEvent =
	| { type: 'message'; message: VisitorMessage }
	| { type: 'typing'; typing: boolean; name: string | null }
	| { type: 'chat'; status: ChatStatus; agentName: string | null }
	/** The chat's satisfaction survey was asked or answered (server/satisfaction.ts): read it again. */
	| { type: 'survey' };

/** What agents see of the visitor in the ticket document's awareness (`visitor`). */
export interface VisitorAwareness {
	chatId: string;
	name: string;
	presence: VisitorPresence;
	typing: boolean;
	status: ChatStatus;
	page: PageView | null;
}
