/**
 * Bulk actions on tickets selected in the list: set fields, add or remove tags, apply a macro, merge.
 * Each ticket is changed on its own, as the caller, through the same paths as one change in one
 * ticket (policy, log, live document), so one refused ticket stops nothing else; the answer says
 * what happened to each.
 */
import type { BulkReport as Report, BulkResult as Result } from '../src/lib/api/bulk';
import type { BulkAction } from '../src/lib/api/schemas';
import type { Channel, EntryInput } from '../src/lib/ticket';
import { fillPlaceholders } from '../src/lib/macro-placeholders';
import type { Principal } from './auth/principal';
import type { Customers } from './customers';
import { ApiError, isApiError } from './errors';
import type { Logger } from './log';
import type { Macro, Macros } from './macros';
import type { TicketRow } from './ticket-index';
import type { FieldChanges, Tickets } from './tickets';

type BulkResult = Result<TicketRow>;
type BulkReport = Report<TicketRow>;

/** Tickets changed at once: enough to keep the database busy, few enough to leave room for others. */
const CONCURRENCY = 4;

export class BulkActions {
	constructor(private readonly deps: { tickets: Tickets; macros: Macros; customers: Pick<Customers, 'get'>; logger: Logger }) {}

	/** Applies `action` to each of its tickets as `principal`; the results in the order of `ticketIds`. */
	async apply(action: BulkAction, principal: Principal): Promise<BulkReport> {
		if (action.mergeInto) return this.merge(action.ticketIds, action.mergeInto, principal);
		const macro = action.macroId ? await this.deps.macros.get(action.macroId) : null;
		if (action.macroId && !macro) throw new ApiError(400, 'invalid_field', 'macroId: no such macro', 'macroId');
		// Fields given outright win over the macro's.
		const changes: FieldChanges = {
			...(macro?.actions.status && { status: macro.actions.status }),
			...(macro?.actions.priority && { priority: macro.actions.priority }),
			...action.set,
			addTags: [...new Set([...(macro?.actions.addTags ?? []), ...(action.addTags ?? [])])],
			removeTags: action.removeTags
		};
		if (!changes.addTags!.length) delete changes.addTags;
		const results: BulkResult[] = new Array(action.ticketIds.length);
		let next = 0;
		const worker = async () => {
			while (next < action.ticketIds.length) {
				const i = next++;
				results[i] = await this.applyTo(action.ticketIds[i]!, changes, macro, principal);
			}
		};
		await Promise.all(Array.from({ length: Math.min(CONCURRENCY, action.ticketIds.length) }, worker));
		return report(results);
	}

	/**
	 * Merges every other ticket into `targetId`, one after another (each waits for the target's turn
	 * anyway). The target, when selected too, is reported as updated once a ticket went into it.
	 */
	private async merge(ticketIds: string[], targetId: string, principal: Principal): Promise<BulkReport> {
		const into: { row?: TicketRow } = {};
		const results: BulkResult[] = [];
		for (const ticketId of ticketIds) {
			if (ticketId === targetId) continue;
			results.push(
				await this.attempt(ticketId, async () => {
					const merged = await this.deps.tickets.merge(targetId, ticketId, principal);
					into.row = merged.target;
					return merged.source;
				})
			);
		}
		const at = ticketIds.indexOf(targetId);
		if (at >= 0) results.splice(at, 0, into.row ? { ticketId: targetId, ok: true, ticket: into.row } : refusal(targetId, new ApiError(409, 'nothing_merged', 'no ticket could be merged into it')));
		return report(results);
	}

	private applyTo(ticketId: string, changes: FieldChanges, macro: Macro | null, principal: Principal): Promise<BulkResult> {
		return this.attempt(ticketId, async () => {
			// Fields first: a ticket the caller may not change gets no macro text either.
			const ticket = await this.deps.tickets.patch(ticketId, changes, principal);
			if (macro && macro.body.trim()) await this.deps.tickets.append(ticketId, await this.macroEntry(macro, ticket, principal), principal);
			return ticket;
		});
	}

	/** One ticket's part: its row when done, else why not (a fault is logged and reported in general words). */
	private async attempt(ticketId: string, work: () => Promise<TicketRow>): Promise<BulkResult> {
		try {
			return { ticketId, ok: true, ticket: await work() };
		} catch (error) {
			if (!isApiError(error)) this.deps.logger.error({ err: error, ticketId }, 'a bulk action failed on a ticket');
			return refusal(ticketId, isApiError(error) ? error : new ApiError(500, 'internal', 'the change could not be made; nothing else was affected'));
		}
	}

	/** The macro's text for one ticket: a reply on its channel, or a note when the macro makes notes. */
	private async macroEntry(macro: Macro, ticket: TicketRow, principal: Principal): Promise<EntryInput> {
		const requester = await this.deps.customers.get(ticket.requesterId);
		const body = fillPlaceholders(macro.body, {
			ticket: { number: ticket.number, subject: ticket.subject },
			requester: { name: requester?.name ?? null },
			agent: { name: principal.kind === 'user' ? principal.name : '' }
		});
		return macro.actions.visibility === 'internal'
			? { kind: 'note', channel: 'internal', visibility: 'internal', body }
			: { kind: 'message', channel: ticket.channel as Channel, visibility: 'public', body };
	}
}

const refusal = (ticketId: string, error: ApiError): BulkResult => ({ ticketId, ok: false, error: { status: error.status, code: error.code, message: error.message } });

function report(results: BulkResult[]): BulkReport {
	const updated = results.filter((r) => r.ok).length;
	return { updated, refused: results.length - updated, results };
}
