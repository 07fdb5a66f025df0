/**
 * Custom objects: admins define types (Order, Subscription, Device…) with typed fields; records of
 * them come from integrations over the API or from admins, are checked against their type's fields,
 * and are linked to customers and tickets. The context panel previews a ticket's records.
 */
import { and, desc, eq, inArray, or, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import type { objectTypes } from '../drizzle/schema';
import { recordValuesSchema, type LinkedRecord, type RecordLink, type ObjectField, type ObjectRecord, type ObjectTypeInput, type RecordInput } from '../src/lib/api/context';
import { newId } from '../src/lib/ticket';
import { mayCreateRecords, recordAccess, ticketAccess, type Access } from './auth/policy';
import { actorOf, type Principal } from './auth/principal';
import type { Customers } from './customers';
import { ApiError, forbidden, notFound } from './errors';
import type { Events } from './events';
import { isUniqueViolation, type Store } from './storage/store';
import type { TicketIndex } from './ticket-index';

export type ObjectType = typeof objectTypes.$inferSelect;

/** A record's link to a customer or ticket, with the caller's access to it. */
interface Link {
	kind: 'customer' | 'ticket';
	id: string;
	access: Access | null;
}

/** `principal`'s access to a record, as the policy rules from its creator and its links. */
const accessOf = (principal: Principal, createdBy: string | null, links: Link[]) => recordAccess(principal, { createdBy, links: links.map((link) => link.access) });

/** How many records a listing reads at most to find those its caller may read. */
const RECORDS_SCANNED = 1000;

export class CustomObjects {
	constructor(
		private readonly store: Store,
		private readonly customers: Customers,
		private readonly index: TicketIndex,
		private readonly events: Events
	) {}

	// --- types --------------------------------------------------------------------------------

	async listTypes(): Promise<ObjectType[]> {
		const { objectTypes } = this.store.tables;
		return this.store.db.select().from(objectTypes).orderBy(sql`lower(${objectTypes.name})`);
	}

	async getType(id: string): Promise<ObjectType | null> {
		const { objectTypes } = this.store.tables;
		const [type] = await this.store.db.select().from(objectTypes).where(eq(objectTypes.id, id)).limit(1);
		return type ?? null;
	}

	/**
	 * A type whose name another has (in any case) is a 400. Creations take turns over the check
	 * (the name's unique index is case-sensitive, so it alone would let "Order" and "ORDER" through
	 * at once).
	 */
	async createType(input: ObjectTypeInput, by: Principal): Promise<ObjectType> {
		const { objectTypes } = this.store.tables;
		const type: ObjectType = { id: newId(), name: input.name, fields: input.fields, createdAt: Date.now() };
		const taken = () => new ApiError(400, 'invalid_field', `name: there is already a type called ${input.name}`, 'name');
		try {
			await this.store.transaction(async (tx) => {
				await this.store.serialise(tx, 'object_types.name');
				const [existing] = await this.store.db.select({ id: objectTypes.id }).from(objectTypes).where(sql`lower(${objectTypes.name}) = lower(${input.name})`).limit(1);
				if (existing) throw taken();
				await this.store.db.insert(objectTypes).values(type);
				await this.events.record({ actor: actorOf(by), type: 'object_type.created', data: { typeId: type.id, name: type.name } });
			});
		} catch (error) {
			if (isUniqueViolation(error)) throw taken();
			throw error;
		}
		return type;
	}

	/** Deletes a type with its records and their links. */
	async deleteType(id: string, by: Principal): Promise<void> {
		const { objectTypes } = this.store.tables;
		await this.store.transaction(async () => {
			const [deleted] = await this.store.db.delete(objectTypes).where(eq(objectTypes.id, id)).returning();
			if (!deleted) throw notFound('object type');
			await this.events.record({ actor: actorOf(by), type: 'object_type.deleted', data: { typeId: id, name: deleted.name } });
		});
	}

	// --- records ------------------------------------------------------------------------------

	/**
	 * Checks `input.values` against the type's fields (a 400 names the field: `values.total`) and
	 * stores the record. Its customers must be ones `by` may see (else, as for an unknown id, a 400).
	 * An external id its type has already is a 409 (the unique index decides between concurrent ones).
	 */
	async createRecord(input: RecordInput, by: Principal): Promise<ObjectRecord> {
		if (!mayCreateRecords(by)) throw forbidden('records are written by integrations (API tokens) and admins');
		const { objectRecords, objectLinks } = this.store.tables;
		const type = await this.getType(input.typeId);
		if (!type) throw new ApiError(400, 'invalid_field', 'typeId: no such object type', 'typeId');
		const values = checkValues(type.fields, input.values);
		for (const [i, customerId] of input.customerIds.entries()) {
			if (!(await this.customers.access(customerId, by))) throw new ApiError(400, 'invalid_field', `customerIds.${i}: no such customer`, `customerIds.${i}`);
		}
		const now = Date.now();
		const id = newId();
		try {
			await this.store.transaction(async () => {
				await this.store.db.insert(objectRecords).values({ id, typeId: type.id, externalId: input.externalId ?? null, values, createdBy: actorOf(by), createdAt: now, updatedAt: now });
				for (const customerId of new Set(input.customerIds)) {
					await this.store.db.insert(objectLinks).values({ recordId: id, targetKind: 'customer', targetId: customerId, createdAt: now });
				}
				await this.events.record({ actor: actorOf(by), type: 'object_record.created', data: { recordId: id, typeId: type.id, externalId: input.externalId ?? null } });
			});
		} catch (error) {
			if (isUniqueViolation(error)) throw new ApiError(409, 'conflict', `externalId: a ${type.name} ${input.externalId} exists already`, 'externalId');
			throw error;
		}
		return (await this.getRecord(id, by))!;
	}

	/** The record, when `principal` may read it (the policy's recordAccess). */
	async getRecord(id: string, principal: Principal): Promise<ObjectRecord | null> {
		const { objectRecords } = this.store.tables;
		return (await this.recordsWhere(eq(objectRecords.id, id), 1, principal))[0] ?? null;
	}

	/**
	 * Records `principal` may read, newest first, by type, by customer, or matching `q` (external id
	 * or any value, in any case: values are compared as their JSON text).
	 */
	async listRecords(query: { type?: string; customer?: string; q?: string; limit: number }, principal: Principal): Promise<ObjectRecord[]> {
		if (query.customer && !(await this.customers.access(query.customer, principal))) throw notFound('customer');
		const { objectRecords } = this.store.tables;
		const conditions = [];
		if (query.type) conditions.push(eq(objectRecords.typeId, query.type));
		if (query.customer) conditions.push(inArray(objectRecords.id, await this.linkedIds('customer', query.customer)));
		if (query.q) {
			const pattern = `%${query.q.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
			const matches = (text: SQLWrapper) => sql`lower(${text}) LIKE lower(${pattern}) ESCAPE '\\'`;
			conditions.push(or(matches(objectRecords.externalId), matches(sql`CAST(${objectRecords.values} AS text)`)));
		}
		return this.recordsWhere(and(...conditions), query.limit, principal);
	}

	/** Deletes a record `by` may write (the policy's recordAccess); one they may only read is a 403, one they may not see a 404. */
	async deleteRecord(id: string, by: Principal): Promise<void> {
		const { objectRecords } = this.store.tables;
		const [row] = await this.store.db.select({ createdBy: objectRecords.createdBy }).from(objectRecords).where(eq(objectRecords.id, id)).limit(1);
		const access = row ? accessOf(by, row.createdBy, (await this.linkAccess([id], by)).get(id) ?? []) : null;
		if (!access) throw notFound('record');
		if (access !== 'write') throw forbidden('you may delete only the records you created');
		await this.store.transaction(async () => {
			const [deleted] = await this.store.db.delete(objectRecords).where(eq(objectRecords.id, id)).returning();
			if (!deleted) throw notFound('record');
			await this.events.record({ actor: actorOf(by), type: 'object_record.deleted', data: { recordId: id, typeId: deleted.typeId } });
		});
	}

	// --- tickets ------------------------------------------------------------------------------

	/** Records linked to the ticket and to its requester (whoever may read the ticket). */
	async forTicket(ticketId: string, principal: Principal): Promise<LinkedRecord[]> {
		const { objectRecords } = this.store.tables;
		const row = await this.readableTicket(ticketId, principal);
		const ticketIds = new Set(await this.linkedIds('ticket', ticketId));
		const customerIds = new Set(await this.linkedIds('customer', row.requesterId));
		const records = await this.recordsWhere(inArray(objectRecords.id, [...new Set([...ticketIds, ...customerIds])]), 200, principal);
		return records.map((record) => ({
			...record,
			linkedTo: [...(ticketIds.has(record.id) ? ['ticket' as const] : []), ...(customerIds.has(record.id) ? ['customer' as const] : [])]
		}));
	}

	/**
	 * Links a record to a ticket (agents and admins who may write to it); linking twice changes
	 * nothing. A record of other customers than the requester is linked only when `confirmOtherOwner`
	 * says the agent saw whose it is: an order of someone else's is otherwise easily taken for theirs.
	 */
	async link(ticketId: string, recordId: string, by: Principal, { confirmOtherOwner }: RecordLink): Promise<LinkedRecord[]> {
		const { objectLinks } = this.store.tables;
		const ticket = await this.writableTicket(ticketId, by);
		const record = await this.getRecord(recordId, by);
		if (!record) throw notFound('record');
		const owners = await this.ownersOf(recordId);
		if (owners.length && !owners.some((id) => id === ticket.requesterId) && !confirmOtherOwner) {
			// Only the owners the caller may see are named.
			const named = (await Promise.all(record.customerIds.map(async (id) => (await this.customers.get(id))?.name))).filter(Boolean);
			const whose = named.length ? named.join(', ') : 'another customer';
			throw new ApiError(409, 'other_owner', `${record.typeName} ${record.externalId ?? record.id} belongs to ${whose}, not to this ticket's requester; link it with confirmOtherOwner: true if that is meant`);
		}
		await this.store.transaction(async () => {
			const [added] = await this.store.db.insert(objectLinks).values({ recordId, targetKind: 'ticket', targetId: ticketId, createdAt: Date.now() }).onConflictDoNothing().returning();
			if (added) await this.events.record({ ticketId, actor: actorOf(by), type: 'object.linked', data: { recordId } });
		});
		return this.forTicket(ticketId, by);
	}

	async unlink(ticketId: string, recordId: string, by: Principal): Promise<LinkedRecord[]> {
		const { objectLinks } = this.store.tables;
		await this.writableTicket(ticketId, by);
		await this.store.transaction(async () => {
			const [removed] = await this.store.db
				.delete(objectLinks)
				.where(and(eq(objectLinks.recordId, recordId), eq(objectLinks.targetKind, 'ticket'), eq(objectLinks.targetId, ticketId)))
				.returning();
			if (!removed) throw notFound('link');
			await this.events.record({ ticketId, actor: actorOf(by), type: 'object.unlinked', data: { recordId } });
		});
		return this.forTicket(ticketId, by);
	}

	private async readableTicket(ticketId: string, principal: Principal) {
		const row = await this.index.get(ticketId);
		if (!row || !ticketAccess(principal, row)) throw notFound('ticket');
		return row;
	}

	private async writableTicket(ticketId: string, principal: Principal) {
		const row = await this.readableTicket(ticketId, principal);
		if (principal.kind !== 'user') throw forbidden('records are linked to tickets by agents');
		if (ticketAccess(principal, row) !== 'write') throw forbidden('supervisors are read-only');
		return row;
	}

	/** The customers a record belongs to, whoever may see them. */
	private async ownersOf(recordId: string): Promise<string[]> {
		const { objectLinks } = this.store.tables;
		const rows = await this.store.db
			.select({ id: objectLinks.targetId })
			.from(objectLinks)
			.where(and(eq(objectLinks.recordId, recordId), eq(objectLinks.targetKind, 'customer')));
		return rows.map((r) => r.id);
	}

	private async linkedIds(kind: 'customer' | 'ticket', targetId: string): Promise<string[]> {
		const { objectLinks } = this.store.tables;
		const rows = await this.store.db
			.select({ id: objectLinks.recordId })
			.from(objectLinks)
			.where(and(eq(objectLinks.targetKind, kind), eq(objectLinks.targetId, targetId)));
		return rows.map((r) => r.id);
	}

	/**
	 * Up to `limit` records matching `condition` that `principal` may read, newest first, each
	 * naming only the customers `principal` may see. Read a page at a time, past the records
	 * `principal` may not read, up to RECORDS_SCANNED.
	 */
	private async recordsWhere(condition: SQL | undefined, limit: number, principal: Principal): Promise<ObjectRecord[]> {
		const { objectRecords, objectTypes } = this.store.tables;
		const found: ObjectRecord[] = [];
		for (let offset = 0; found.length < limit && offset < RECORDS_SCANNED; offset += limit) {
			const rows = await this.store.db
				.select({ record: objectRecords, typeName: objectTypes.name })
				.from(objectRecords)
				.innerJoin(objectTypes, eq(objectTypes.id, objectRecords.typeId))
				.where(condition)
				.orderBy(desc(objectRecords.createdAt), desc(objectRecords.id))
				.limit(limit)
				.offset(offset);
			const links = await this.linkAccess(rows.map((r) => r.record.id), principal);
			for (const { record, typeName } of rows) {
				const { createdBy, ...shown } = record;
				const linked = links.get(record.id) ?? [];
				if (!accessOf(principal, createdBy, linked)) continue;
				const customerIds = linked.filter((link) => link.kind === 'customer' && link.access).map((link) => link.id);
				found.push({ ...shown, typeName, customerIds });
			}
			if (rows.length < limit) break;
		}
		return found.slice(0, limit);
	}

	/** Each record's links (customers and tickets) with `principal`'s access to what they name. */
	private async linkAccess(recordIds: string[], principal: Principal): Promise<Map<string, Link[]>> {
		const { objectLinks } = this.store.tables;
		const byRecord = new Map<string, Link[]>();
		if (!recordIds.length) return byRecord;
		const seen = new Map<string, Access | null>();
		const accessTo = async (kind: 'customer' | 'ticket', id: string) => {
			const key = `${kind}:${id}`;
			if (!seen.has(key)) {
				const ticket = kind === 'ticket' ? await this.index.get(id) : null;
				seen.set(key, kind === 'customer' ? await this.customers.access(id, principal) : ticket && ticketAccess(principal, ticket));
			}
			return seen.get(key)!;
		};
		const links = await this.store.db
			.select({ recordId: objectLinks.recordId, kind: objectLinks.targetKind, id: objectLinks.targetId })
			.from(objectLinks)
			.where(inArray(objectLinks.recordId, recordIds));
		for (const { recordId, kind, id } of links) byRecord.set(recordId, [...(byRecord.get(recordId) ?? []), { kind, id, access: await accessTo(kind, id) }]);
		return byRecord;
	}
}

/** A record's values checked against its type's fields; the first problem is a 400 naming `values.<key>`. */
function checkValues(fields: ObjectField[], values: Record<string, unknown>): Record<string, unknown> {
	const result = recordValuesSchema(fields).safeParse(values);
	if (result.success) return result.data as Record<string, unknown>;
	const issue = result.error.issues[0]!;
	// An unknown key is reported on the record, not on a field: name the key itself.
	const key = issue.code === 'unrecognized_keys' ? issue.keys[0] : issue.path.join('.');
	const field = key ? `values.${key}` : 'values';
	throw new ApiError(400, 'invalid_field', `${field}: ${issue.message}`, field);
}
