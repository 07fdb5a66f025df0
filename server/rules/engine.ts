/**
 * Runs triggers and acts for rules. Triggers run on the node that stored a change, after it is
 * stored (off the path that acknowledges it), once per change: the ticket index tells this node
 * of each row it projected, with the row before and who wrote it; a new ticket is told once it is
 * recorded. The triggers run in their order against that change; each that matches acts, and one
 * marked "stop here" ends the run. A rule acts through the server like an agent (Tickets.patch
 * and append, checked and logged) as a principal that names it, so its changes are triggers'
 * changes in turn: never its own trigger's, and a chain of rules changing the ticket stops after
 * MAX_CHAIN links, recorded as `rule.chain_stopped`.
 */
import { and, desc, eq } from 'drizzle-orm';
import { fillPlaceholders } from '../../src/lib/macro-placeholders';
import type { Conditions, Rule, RuleKind } from '../../src/lib/api/rules';
import { readFields, type EntryInput, type Status } from '../../src/lib/ticket';
import type { Accounts } from '../accounts';
import { ticketAccess } from '../auth/policy';
import type { Principal, SystemPrincipal } from '../auth/principal';
import type { Outbox } from '../channels/outbox';
import type { Customers } from '../customers';
import { isApiError } from '../errors';
import type { Events } from '../events';
import type { FollowNotify } from '../extensions/follow-notify';
import type { Logger } from '../log';
import type { Store } from '../storage/store';
import type { TicketChange, TicketIndex, TicketRow } from '../ticket-index';
import type { DocumentAccess, FieldChanges, Tickets } from '../tickets';
import { matches, type RuleChange, type RuleSubject, type RuleTicket } from './conditions';
import type { RuleStore, ScheduleLookup } from './rules';

/** How many rule-made changes in a row may run triggers again: past it, the chain stops. */
export const MAX_CHAIN = 5;

/** How many of a ticket's newest field changes are looked through for its last change of status. */
const STATUS_LOOKBACK = 200;

/** How long after a ticket's last change a rule's change still counts as the next link of a chain. */
const CHAIN_WINDOW_MS = 10_000;

export interface RuleEngineDeps {
	store: Store;
	rules: RuleStore;
	tickets: Pick<Tickets, 'patch' | 'append' | 'onRecorded'>;
	index: Pick<TicketIndex, 'onChange' | 'get'>;
	documents: Pick<DocumentAccess, 'withDocument'>;
	customers: Pick<Customers, 'get'>;
	accounts: Pick<Accounts, 'principal' | 'listUsers'>;
	outbox: Pick<Outbox, 'enqueueRuleWebhook' | 'enqueueRuleEmail' | 'recipientOf'>;
	/** Where a notify action's notices go: kept, and on the streams of those they are for. */
	notify: Pick<FollowNotify, 'fromRule'>;
	events: Events;
	logger: Logger;
}

/** Whether the conditions read fields only the document holds (the index row has the others). */
export const needsDocument = (conditions: Conditions) => [...conditions.all, ...conditions.any].some((c) => c.field === 'satisfaction' || c.field.startsWith('custom.'));

const ruleOf = (actor: string) => (actor.startsWith('rule:') ? actor.slice('rule:'.length) : null);

/**
 * Who made a change: the customer when it brings a new public message from them (a projection may
 * fold a customer's message into another writer's change, on another node too: the message is
 * what the change is about), else a rule, an agent, or the system.
 */
function authorOf(row: TicketRow, change: TicketChange): RuleChange['by'] {
	const customerWrote = row.awaitingSince !== null && (change.previous === null || (row.lastPublicAt ?? 0) > (change.previous.lastPublicAt ?? 0));
	// A ticket an agent opens (with the customer's first words) is the agent's doing.
	if (customerWrote && (change.previous !== null || !change.actor.startsWith('user:'))) return 'customer';
	if (ruleOf(change.actor)) return 'rule';
	return change.actor.startsWith('user:') ? 'agent' : 'system';
}

export class RuleEngine {
	/** Each ticket's trigger runs, one after the other. */
	private readonly turns = new Map<string, Promise<void>>();
	/** Each ticket's chain of rule-made changes: its length and when it last grew. */
	private readonly chains = new Map<string, { links: number; at: number }>();
	private readonly stops: (() => void)[] = [];

	constructor(private readonly deps: RuleEngineDeps) {}

	/** Runs triggers on this node's changes from now on, until `close`. */
	follow(): void {
		this.stops.push(
			this.deps.index.onChange((row, change) => {
				// A new ticket is told once recorded (below), with its first entries; a rebuilt index row is no change.
				if (change.previous) void this.queue(row.id, change.actor, (links) => this.runTriggers(row, change, links));
			}),
			this.deps.tickets.onRecorded((ticketId, _doc, actor) => void this.runOnRecorded(ticketId, actor))
		);
	}

	/** Runs the triggers on a ticket just recorded by `actor` (following does for each); resolves once they ran. */
	runOnRecorded(ticketId: string, actor: string): Promise<void> {
		return this.queue(ticketId, actor, async (links) => {
			const row = await this.deps.index.get(ticketId);
			if (row) await this.runTriggers(row, { previous: null, actor }, links);
		});
	}

	/** Stops running triggers on new changes; resolves once the runs under way have finished. */
	async close(): Promise<void> {
		for (const stop of this.stops.splice(0)) stop();
		await this.settled();
	}

	/** Resolves once every trigger run queued so far has finished (tests, shutdown). */
	async settled(): Promise<void> {
		while (this.turns.size) await Promise.all([...this.turns.values()]);
	}

	private queue(ticketId: string, actor: string, run: (links: number) => Promise<void>): Promise<void> {
		const links = this.linksOf(ticketId, actor);
		const turn = (this.turns.get(ticketId) ?? Promise.resolve())
			.then(() => run(links))
			.catch((error: unknown) => this.deps.logger.error({ err: error, ticketId }, 'running triggers failed'));
		this.turns.set(ticketId, turn);
		void turn.then(() => {
			if (this.turns.get(ticketId) === turn) this.turns.delete(ticketId);
		});
		return turn;
	}

	/**
	 * How many rule-made changes in a row lead to this one: a change by a rule within CHAIN_WINDOW_MS
	 * of the ticket's last change is the next link (a rule's note is projected a moment after it
	 * acted, so the chain is followed in time, not only within a run); anyone else's starts afresh.
	 */
	private linksOf(ticketId: string, actor: string): number {
		const now = Date.now();
		const last = this.chains.get(ticketId);
		const links = ruleOf(actor) ? (last && now - last.at < CHAIN_WINDOW_MS ? last.links : 0) + 1 : 0;
		this.chains.delete(ticketId);
		this.chains.set(ticketId, { links, at: now });
		// Oldest first (re-inserted on each change): those past the window are let go.
		for (const [id, chain] of this.chains) {
			if (now - chain.at < CHAIN_WINDOW_MS) break;
			this.chains.delete(id);
		}
		return links;
	}

	private async runTriggers(row: TicketRow, change: TicketChange, links: number): Promise<void> {
		const triggers = (await this.deps.rules.list('trigger')).filter((rule) => rule.active && rule.id !== ruleOf(change.actor));
		if (!triggers.length) return;
		if (links > MAX_CHAIN) {
			await this.deps.events.record({ ticketId: row.id, actor: change.actor, type: 'rule.chain_stopped', data: { links } });
			return;
		}
		const ruleChange: RuleChange = { event: change.previous ? 'updated' : 'created', statusBefore: (change.previous?.status as Status | undefined) ?? null, by: authorOf(row, change) };
		const subject = await this.subjectOf(row, await this.deps.rules.scheduleLookup(), Date.now(), triggers.some((t) => needsDocument(t.conditions)));
		for (const trigger of triggers) {
			if (!matches(trigger.conditions, { ...subject, change: ruleChange })) continue;
			await this.act(trigger, row.id, subject);
			if (trigger.stopHere) break;
		}
	}

	/** The ticket as conditions read it, from its index row (and its document when the conditions need it). */
	async subjectOf(row: TicketRow, schedules: ScheduleLookup, now: number, withDocument = false): Promise<RuleSubject> {
		const fromRow: RuleTicket = {
			id: row.id,
			subject: row.subject,
			status: row.status as RuleTicket['status'],
			priority: row.priority as RuleTicket['priority'],
			assigneeId: row.assigneeId,
			groupId: row.groupId,
			requesterId: row.requesterId,
			channel: row.channel as RuleTicket['channel'],
			createdAt: row.createdAt,
			tags: row.tags,
			...(row.number === null ? {} : { number: row.number })
		};
		const ticket = withDocument ? { ...fromRow, ...(await this.deps.documents.withDocument(row.id, readFields)) } : fromRow;
		const organisation = (await this.deps.customers.get(row.requesterId))?.organisation ?? '';
		return { ticket, organisation, schedule: schedules(row.groupId), now };
	}

	/**
	 * Runs `rule`'s actions on the ticket, as the rule: field changes in one write, then the notes,
	 * emails and webhook calls, each once; records `rule.fired` first (the activity names the rule
	 * before the changes it made), and `rule.failed` when the server refuses one of them.
	 */
	async act(rule: Rule, ticketId: string, subject: RuleSubject): Promise<void> {
		const actor = `rule:${rule.id}`;
		await this.deps.events.record({ ticketId, actor, type: 'rule.fired', data: { ruleId: rule.id, name: rule.name, kind: rule.kind, actions: rule.actions.map((a) => a.type) } });
		try {
			await this.perform(rule, ticketId, subject);
		} catch (error) {
			// A change the server refuses (an assignee disabled since the rule was saved…) is recorded, not tried again.
			if (!isApiError(error)) throw error;
			await this.deps.events.record({ ticketId, actor, type: 'rule.failed', data: { ruleId: rule.id, name: rule.name, reason: error.message } });
		}
	}

	private async perform(rule: Rule, ticketId: string, subject: RuleSubject): Promise<void> {
		const principal: SystemPrincipal = { kind: 'system', rule: { id: rule.id, name: rule.name } };
		const actor = `rule:${rule.id}`;
		const skipped: string[] = [];
		const changes: FieldChanges = {};
		const addTags: string[] = [];
		const removeTags: string[] = [];
		for (const action of rule.actions) {
			if (action.type === 'setStatus') changes.status = action.value;
			else if (action.type === 'setPriority') changes.priority = action.value;
			else if (action.type === 'setGroup') changes.groupId = action.value;
			else if (action.type === 'setAssignee') changes.assigneeId = action.value;
			else if (action.type === 'addTags') addTags.push(...action.tags);
			else if (action.type === 'removeTags') removeTags.push(...action.tags);
		}
		if (addTags.length) changes.addTags = addTags;
		if (removeTags.length) changes.removeTags = removeTags;
		if (Object.keys(changes).length) await this.deps.tickets.patch(ticketId, changes, principal);
		const row = (await this.deps.index.get(ticketId))!;
		for (const [i, action] of rule.actions.entries()) {
			const runId = `${rule.id}.${ticketId}.${Date.now()}.${i}`;
			if (action.type === 'note' || action.type === 'emailRequester') {
				if (action.type === 'emailRequester' && !(await this.deps.outbox.recipientOf(ticketId))) {
					skipped.push('emailRequester: the requester has no email address');
					continue;
				}
				const body = await this.filled(action.body, row, subject);
				const entry: EntryInput =
					action.type === 'note' ? { kind: 'note', channel: 'internal', visibility: 'internal', body } : { kind: 'message', channel: 'email', visibility: 'public', body };
				await this.deps.tickets.append(ticketId, entry, principal);
			} else if (action.type === 'emailGroup') {
				const members = await this.groupAgents(action.groupId);
				const message = { subject: row.subject, text: await this.filled(action.body, row, subject) };
				await this.deps.store.transaction(async () => {
					for (const member of members) await this.deps.outbox.enqueueRuleEmail(ticketId, `${runId}.${member.id}`, member.email, message);
				});
				if (!members.length) skipped.push('emailGroup: the group has no agents');
			} else if (action.type === 'notify') {
				const told = action.to === 'assignee' ? (row.assigneeId ? [row.assigneeId] : []) : (await this.groupAgents(row.groupId)).map((u) => u.id);
				if (told.length) await this.deps.notify.fromRule(ticketId, row, told, rule.name, await this.filled(action.body, row, subject));
				else skipped.push(`notify: the ticket has no ${action.to === 'assignee' ? 'assignee' : 'group agents'}`);
			} else if (action.type === 'webhook') {
				const payload = {
					event: 'rule.fired',
					rule: { id: rule.id, name: rule.name, kind: rule.kind },
					ticket: { id: row.id, number: row.number, subject: row.subject, status: row.status, priority: row.priority, groupId: row.groupId, assigneeId: row.assigneeId, requesterId: row.requesterId, channel: row.channel, tags: row.tags },
					firedAt: Date.now()
				};
				await this.deps.store.transaction(() => this.deps.outbox.enqueueRuleWebhook(ticketId, runId, action.url, payload));
			}
		}
		if (skipped.length) await this.deps.events.record({ ticketId, actor, type: 'rule.skipped', data: { ruleId: rule.id, name: rule.name, reasons: skipped } });
	}

	/** Those who hold tickets in group `groupId` now: supervisors watch, disabled users are gone. */
	private async groupAgents(groupId: string | null) {
		if (!groupId) return [];
		return (await this.deps.accounts.listUsers()).filter((u) => u.groupIds.includes(groupId) && !u.disabled && u.role !== 'supervisor');
	}

	/** A template with the ticket's placeholders filled in; "agent" is the assignee, else the support team. */
	private async filled(body: string, row: TicketRow, subject: RuleSubject): Promise<string> {
		const requester = await this.deps.customers.get(subject.ticket.requesterId);
		const assignee = row.assigneeId ? this.deps.accounts.principal(row.assigneeId) : null;
		return fillPlaceholders(body, { ticket: { number: row.number, subject: row.subject }, requester: { name: requester?.name ?? null }, agent: { name: assignee?.name ?? 'Support team' } });
	}

	/**
	 * The tickets `principal` may see that rules of `kind` with `conditions` would match now, newest
	 * first, at most `limit` (of the most recently updated 500 looked at). A trigger's conditions
	 * about the change read as for an update by an agent that just set the status the ticket has.
	 */
	async matching(kind: RuleKind, conditions: Conditions, principal: Principal, limit: number): Promise<TicketRow[]> {
		const { tickets } = this.deps.store.tables;
		const rows = await this.deps.store.db.select().from(tickets).orderBy(desc(tickets.updatedAt)).limit(500);
		const schedules = await this.deps.rules.scheduleLookup();
		const now = Date.now();
		const found: TicketRow[] = [];
		for (const row of rows) {
			if (!ticketAccess(principal, row)) continue;
			const subject = await this.subjectOf(row, schedules, now, needsDocument(conditions));
			const change: RuleChange | undefined = kind === 'trigger' ? { event: 'updated', statusBefore: null, by: 'agent' } : undefined;
			if (matches(conditions, { ...subject, change, since: kind === 'automation' ? await this.sinceOf(row) : undefined })) found.push(row);
			if (found.length >= limit) break;
		}
		return found;
	}

	/**
	 * When a ticket was created, last updated, last changed status (its newest `field.changed` of
	 * status, else its creation), and the customer's last message while it waits for our answer.
	 */
	async sinceOf(row: TicketRow): Promise<NonNullable<RuleSubject['since']>> {
		const { events } = this.deps.store.tables;
		const changes = await this.deps.store.db
			.select({ data: events.data, createdAt: events.createdAt })
			.from(events)
			.where(and(eq(events.ticketId, row.id), eq(events.type, 'field.changed')))
			.orderBy(desc(events.id))
			.limit(STATUS_LOOKBACK);
		const statusChanged = changes.find((e) => (e.data as { field?: string } | null)?.field === 'status')?.createdAt ?? row.createdAt;
		return { created: row.createdAt, updated: row.updatedAt, statusChanged, ...(row.awaitingSince !== null && row.lastPublicAt !== null ? { customerMessage: row.lastPublicAt } : {}) };
	}
}
