/** Live chat as the visitor endpoints and the agents' chat endpoints show it (server/channels/chat.ts). */

export type ChatStatus = 'waiting' | 'active' | 'ended';
export type VisitorPresence = 'online' | 'away' | 'left';

export interface ChatInfo {
	id: string;
	ticketId: string;
	status: ChatStatus;
	presence: VisitorPresence;
	agentId: string | null;
	agentName: string | null;
	startedAt: number;
	servedAt: number | null;
	endedAt: number | null;
}

export interface PageView {
	url: string;
	title: string;
	viewedAt: number;
}

/** A message as the visitor sees it: who said it, never internal ids of agents. */
export interface VisitorMessage {
	id: string;
	body: string;
	createdAt: number;
	from: 'visitor' | 'agent';
	name: string;
	channel: string;
}

export type VisitorEvent =
	| { type: 'message'; message: VisitorMessage }
	| { type: 'typing'; typing: boolean; name: string | null }
	| { type: 'chat'; status: ChatStatus; agentName: string | null };

/** What agents see of the visitor in the ticket document's awareness. */
export interface VisitorAwareness {
	chatId: string;
	name: string;
	presence: VisitorPresence;
	typing: boolean;
	status: ChatStatus;
	page: PageView | null;
}
