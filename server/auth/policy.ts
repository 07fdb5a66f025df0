/**
 * The one place that decides what a principal may read and write: tickets (open, write, which
 * parts of the document), customers and custom object records. The websocket path (authenticate,
 * validate extensions), the services and the HTTP endpoints ask it; none decides for itself. Each
 * rule is a function of the principal and the resource as the caller looked it up.
 */
import { mentionsOf, mentionsProblem, type Entry, type TicketFieldName, type WritableRoot, type WritePolicy } from '../../src/lib/ticket';
import { actorOf, type Principal, type UserPrincipal } from './principal';

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

/**
 * Whether `principal` reads the internal entries (notes, internal side conversations) of the
 * tickets they may open. Everyone who may open a ticket does (the API hands out all its entries);
 * customers never open one: they see their own public entries through their channel. Search asks
 * this, so it never finds a ticket by words its finder could not read there.
 */
export function readsInternalEntries(principal: Principal): boolean {
	// Exhaustive: a new kind of principal (a light agent, a customer) must be decided here.
	switch (principal.kind) {
		case 'system':
		case 'user':
		case 'bot':
			return true;
	}
}

/** What the policy looks up about users and groups (Accounts). */
export interface Directory {
	/** Whether a user id may hold tickets (exists, enabled, not a supervisor). */
	canHoldTickets(userId: string): boolean;
	/** Whether a group id exists: a ticket moved to an unknown group would be hidden from every agent. */
	groupExists(groupId: string): boolean;
	/** The acting identity of an enabled user, null for anyone else. */
	principal(userId: string): UserPrincipal | null;
}

export interface PolicyContext {
	/** The ticket's requester: bots may write on behalf of this customer. */
	requesterId: () => string;
	/** The ticket's scope as it stands: who else may see it. */
	scope: () => TicketScope;
	directory: Directory;
	/**
	 * Null when an entry may carry the attachments it lists (uploaded to this ticket, within the
	 * count), else why not; absent: no entry of a user or token may list attachments.
	 */
	attachmentsRefused?: (entry: Entry) => string | null;
}

/** Why `principal` may change no ticket field nor tag (null: they may, value by value). */
function fieldsRefused(principal: Principal): string | null {
	if (principal.kind === 'user' && principal.role === 'supervisor') return 'supervisors are read-only';
	if (principal.kind === 'bot') return 'a bot writes entries only, not ticket fields';
	return null;
}

export function writePolicy(principal: Principal, ctx: PolicyContext): WritePolicy {
	return {
		actor: actorOf(principal),
		writerId: principal.kind === 'system' ? null : principal.id,
		rootAllowed(root: WritableRoot) {
			// Bots relay a channel's conversation: entries on their channels, nothing else.
			if (principal.kind === 'bot') return `a bot writes entries only, not \`${root}\``;
			return null;
		},
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
				return mentionsRefused(entry, ctx);
			}
			if (!principal.channels.includes(entry.channel)) return `this token may not write on channel ${entry.channel}`;
			if (entry.authorType === 'bot' && entry.authorId === principal.id) return mentionsRefused(entry, ctx);
			if (entry.authorType === 'customer' && entry.authorId === ctx.requesterId()) return mentionsRefused(entry, ctx);
			return "a bot writes as itself or as the ticket's customer";
		},
		attachmentsAllowed(entry: Entry) {
			// The server lists what inbound mail carried; everyone else only their uploads to this ticket.
			if (principal.kind === 'system' || !entry.meta || !('attachments' in entry.meta)) return null;
			return ctx.attachmentsRefused ? ctx.attachmentsRefused(entry) : 'attachments cannot be added here';
		},
		fieldAllowed(name: TicketFieldName, value: unknown) {
			const refused = fieldsRefused(principal);
			if (refused) return refused;
			if (name === 'assigneeId' && value !== null && !ctx.directory.canHoldTickets(value as string)) {
				return `${String(value)} cannot be assigned tickets`;
			}
			if (name === 'groupId' && value !== null && !ctx.directory.groupExists(value as string)) return `there is no group ${String(value)}`;
			return null;
		},
		tagsAllowed() {
			return fieldsRefused(principal);
		},
		customAllowed() {
			return fieldsRefused(principal);
		},
		participantAllowed(channel: string, participant: string) {
			if (channel !== 'internal' || principal.kind === 'system') return null;
			// Naming a colleague notifies them: someone who may not see the ticket must not learn of it.
			const colleague = ctx.directory.principal(participant);
			if (colleague && ticketAccess(colleague, ctx.scope())) return null;
			return `${participant} cannot see this ticket: an internal side conversation names colleagues who can`;
		}
	};
}

/**
 * Why an entry may not mention whom it does (null: it may). A mention tells a colleague of the
 * ticket, so it names only colleagues who may see it; an id of anyone else refuses the entry
 * (from a peer, the whole update) rather than being dropped: entries are immutable, and a list the
 * server shortened would no longer be what its author sent.
 */
function mentionsRefused(entry: Entry, ctx: PolicyContext): string | null {
	const problem = mentionsProblem(entry);
	if (problem) return problem;
	for (const userId of mentionsOf(entry)) {
		const colleague = ctx.directory.principal(userId);
		if (!colleague || !ticketAccess(colleague, ctx.scope())) return `${userId} cannot see this ticket: a note mentions colleagues who can`;
	}
	return null;
}

/**
 * A customer is visible through their tickets: to whoever may open one of them (a bot only
 * reads), and changed (profile, addresses) by an agent who may write one of them. Admins read and
 * change every customer, supervisors read every one. A customer with no ticket the caller may open
 * does not exist for them, so their addresses can neither be read nor re-routed.
 */
export function customerAccess(principal: Principal, ticketsOfCustomer: readonly TicketScope[]): Access | null {
	if (principal.kind === 'system') return 'write';
	if (principal.kind === 'user' && principal.role === 'admin') return 'write';
	if (principal.kind === 'user' && principal.role === 'supervisor') return 'read';
	const accesses = ticketsOfCustomer.map((ticket) => ticketAccess(principal, ticket));
	if (principal.kind === 'bot') return accesses.some(Boolean) ? 'read' : null;
	return accesses.includes('write') ? 'write' : null;
}

/** A custom object record as the policy sees it. */
export interface RecordScope {
	/** Who created it (`actorOf`), null for records from before this was kept. */
	createdBy: string | null;
	/** The caller's access to each customer and ticket the record is linked to. */
	links: readonly (Access | null)[];
}

/**
 * Records come from integrations (API tokens) and admins. Admins read and delete every record,
 * supervisors read every one; a bot reads the records it created and those linked to a customer or
 * ticket it may see, and deletes only its own; an agent reads records linked to a customer or
 * ticket they may see, and records linked to nobody (to find and link them to a ticket).
 */
export function recordAccess(principal: Principal, record: RecordScope): Access | null {
	if (principal.kind === 'system') return 'write';
	if (principal.kind === 'user' && principal.role === 'admin') return 'write';
	if (principal.kind === 'user' && principal.role === 'supervisor') return 'read';
	const linkedVisible = record.links.some(Boolean);
	if (principal.kind === 'bot') return record.createdBy === actorOf(principal) ? 'write' : linkedVisible ? 'read' : null;
	return linkedVisible || record.links.length === 0 ? 'read' : null;
}

/** Who creates records: integrations (API tokens) and admins. */
export function mayCreateRecords(principal: Principal): boolean {
	return principal.kind !== 'user' || principal.role === 'admin';
}
