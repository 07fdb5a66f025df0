/**
 * Who may open which ticket, and what each principal may write into it. Used by the websocket
 * path (authenticate, validate extensions) and the HTTP API alike.
 */
import type { Entry, TicketFieldName, WritePolicy } from '../../src/lib/ticket';
import { actorOf, type Principal } from './principal';

export type Access = 'write' | 'read';

export interface TicketScope {
	channel: string;
	groupId: string | null;
	assigneeId: string | null;
}

export function ticketAccess(principal: Principal, ticket: TicketScope): Access | null {
	switch (principal.kind) {
		case 'system':
			return 'write';
		case 'bot':
			return principal.channels.includes(ticket.channel) ? 'write' : null;
		case 'user':
			if (principal.role === 'admin') return 'write';
			if (principal.role === 'supervisor') return 'read';
			if (ticket.assigneeId === principal.id) return 'write';
			if (ticket.groupId === null || principal.groupIds.includes(ticket.groupId)) return 'write';
			return null;
	}
}

export interface PolicyContext {
	/** The ticket's requester: bots may write on behalf of this customer. */
	requesterId: () => string;
	/** Whether a user id may hold tickets (exists, enabled, not a supervisor). */
	canHoldTickets: (userId: string) => boolean;
}

export function writePolicy(principal: Principal, ctx: PolicyContext): WritePolicy {
	return {
		actor: actorOf(principal),
		writerId: principal.kind === 'system' ? null : principal.id,
		entryAllowed(entry: Entry) {
			if (principal.kind === 'system') return null;
			if (entry.authorType === 'system') return 'only the server writes system entries';
			if (principal.kind === 'user') {
				// A supervisor's one way to write: an internal note for the agent (over HTTP; their
				// websocket connections are read-only).
				if (principal.role === 'supervisor' && !(entry.kind === 'note' && entry.authorType === 'agent' && entry.authorId === principal.id)) {
					return 'supervisors are read-only: they may only add internal notes';
				}
				if (entry.authorType !== 'agent' || entry.authorId !== principal.id) {
					return `you write as agent ${principal.id}`;
				}
				return null;
			}
			if (!principal.channels.includes(entry.channel)) return `this token may not write on channel ${entry.channel}`;
			if (entry.authorType === 'bot' && entry.authorId === principal.id) return null;
			if (entry.authorType === 'customer' && entry.authorId === ctx.requesterId()) return null;
			return "a bot writes as itself or as the ticket's customer";
		},
		fieldAllowed(name: TicketFieldName, value: unknown) {
			if (principal.kind === 'user' && principal.role === 'supervisor') return 'supervisors are read-only';
			if (name === 'assigneeId' && value !== null && !ctx.canHoldTickets(value as string)) {
				return `${String(value)} cannot be assigned tickets`;
			}
			return null;
		}
	};
}
