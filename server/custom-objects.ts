/**
 * Custom objects: admins define types (Order, Subscription, Device…) with typed fields; records of
 * them come from integrations over the API or from admins, are checked against their type's fields,
 * and are linked to customers and tickets. The context panel previews a ticket's records.
 */
import { and, desc, eq, inArray, or, sql } from 'drizzle-orm';
import { objectLinks, objectRecords, objectTypes } from '../drizzle/schema';
import { recordValuesSchema, type LinkedRecord, type ObjectField, type ObjectRecord, type ObjectTypeInput, type RecordInput } from '../src/lib/api/context';
import { newId } from '../src/lib/ticket';
import { ticketAccess } from './auth/policy';
import { actorOf, type Principal } from './auth/principal';
import type { Customers } from './customers';
import { ApiError, forbidden, notFound } from './errors';
import type { Events } from './events';
import type { Db } from './storage/database';
import type { TicketIndex } from './ticket-index';

export type ObjectType = typeof objectTypes.$inferSelect;

export class CustomObjects {
	constructor(
		private readonly db: Db,
		private readonly customers: Customers,
		private readonly index: TicketIndex,
		private readonly events: Events
	) {}

	// --- types --------------------------------------------------------------------------------

	listTypes(): ObjectType[] {
		return this.db.select().from(objectTypes).orderBy(sql`${objectTypes.name} COLLATE NOCASE`).all();
	}

	getType(id: string): ObjectType | null {
		return this.db.select().from(objectTypes).where(eq(objectTypes.id, id)).get() ?? null;
	}

	createType(input: ObjectTypeInput, by: Principal): ObjectType {
		const type: ObjectType = { id: newId(), name: input.name, fields: input.fields, createdAt: Date.now() };
		if (this.db.select({ id: objectTypes.id }).from(objectTypes).where(sql`${objectTypes.name} = ${input.name} COLLATE NOCASE`).get()) {
			throw new ApiError(400, 'invalid_field', `name: there is already a type called ${input.name}`, 'name');
		}
		this.db.transaction(() => {
			this.db.insert(objectTypes).values(type).run();
			this.events.record({ actor: actorOf(by), type: 'object_type.created', data: { typeId: type.id, name: type.name } });
		});
		return type;
	}

	/** Deletes a type with its records and their links. */
	deleteType(id: string, by: Principal): void {
		this.db.transaction(() => {
			const deleted = this.db.delete(objectTypes).where(eq(objectTypes.id, id)).returning().get();
			if (!deleted) throw notFound('object type');
			this.events.record({ actor: actorOf(by), type: 'object_type.deleted', data: { typeId: id, name: deleted.name } });
		});
	}

	// --- records ------------------------------------------------------------------------------

	/** Checks `input.values` against the type's fields (a 400 names the field: `values.total`) and stores the record. */
	createRecord(input: RecordInput, by: Principal): ObjectRecord {
		const type = this.getType(input.typeId);
		if (!type) throw new ApiError(400, 'invalid_field', 'typeId: no such object type', 'typeId');
		const values = checkValues(type.fields, input.values);
		input.customerIds.forEach((customerId, i) => {
			if (!this.customers.get(customerId)) throw new ApiError(400, 'invalid_field', `customerIds.${i}: no such customer`, `customerIds.${i}`);
		});
		if (input.externalId && this.db.select({ id: objectRecords.id }).from(objectRecords).where(and(eq(objectRecords.typeId, type.id), eq(objectRecords.externalId, input.externalId))).get()) {
			throw new ApiError(409, 'conflict', `externalId: a ${type.name} ${input.externalId} exists already`, 'externalId');
		}
		const now = Date.now();
		const id = newId();
		this.db.transaction(() => {
			this.db.insert(objectRecords).values({ id, typeId: type.id, externalId: input.externalId ?? null, values, createdAt: now, updatedAt: now }).run();
			for (const customerId of new Set(input.customerIds)) {
				this.db.insert(objectLinks).values({ recordId: id, targetKind: 'customer', targetId: customerId, createdAt: now }).run();
			}
			this.events.record({ actor: actorOf(by), type: 'object_record.created', data: { recordId: id, typeId: type.id, externalId: input.externalId ?? null } });
		});
		return this.getRecord(id)!;
	}

	getRecord(id: string): ObjectRecord | null {
		return this.recordsWhere(eq(objectRecords.id, id), 1)[0] ?? null;
	}

	/** Records newest first, by type, by customer, or matching `q` (external id or any value). */
	listRecords(query: { type?: string; customer?: string; q?: string; limit: number }): ObjectRecord[] {
		const conditions = [];
		if (query.type) conditions.push(eq(objectRecords.typeId, query.type));
		if (query.customer) conditions.push(inArray(objectRecords.id, this.linkedIds('customer', query.customer)));
		if (query.q) {
			const pattern = `%${query.q.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
			conditions.push(or(sql`${objectRecords.externalId} LIKE ${pattern} ESCAPE '\\'`, sql`${objectRecords.values} LIKE ${pattern} ESCAPE '\\'`));
		}
		return this.recordsWhere(and(...conditions), query.limit);
	}

	deleteRecord(id: string, by: Principal): void {
		this.db.transaction(() => {
			const deleted = this.db.delete(objectRecords).where(eq(objectRecords.id, id)).returning().get();
			if (!deleted) throw notFound('record');
			this.events.record({ actor: actorOf(by), type: 'object_record.deleted', data: { recordId: id, typeId: deleted.typeId } });
		});
	}

	// --- tickets ------------------------------------------------------------------------------

	/** Records linked to the ticket and to its requester (whoever may read the ticket). */
	forTicket(ticketId: string, principal: Principal): LinkedRecord[] {
		const row = this.readableTicket(ticketId, principal);
		const ticketIds = new Set(this.linkedIds('ticket', ticketId));
		const customerIds = new Set(this.linkedIds('customer', row.requesterId));
		const records = this.recordsWhere(inArray(objectRecords.id, [...new Set([...ticketIds, ...customerIds])]), 200);
		return records.map((record) => ({
			...record,
			linkedTo: [...(ticketIds.has(record.id) ? ['ticket' as const] : []), ...(customerIds.has(record.id) ? ['customer' as const] : [])]
		}));
	}

	/** Links a record to a ticket (agents and admins who may write to it); linking twice changes nothing. */
	link(ticketId: string, recordId: string, by: Principal): LinkedRecord[] {
		this.writableTicket(ticketId, by);
		if (!this.getRecord(recordId)) throw notFound('record');
		this.db.transaction(() => {
			const added = this.db.insert(objectLinks).values({ recordId, targetKind: 'ticket', targetId: ticketId, createdAt: Date.now() }).onConflictDoNothing().returning().get();
			if (added) this.events.record({ ticketId, actor: actorOf(by), type: 'object.linked', data: { recordId } });
		});
		return this.forTicket(ticketId, by);
	}

	unlink(ticketId: string, recordId: string, by: Principal): LinkedRecord[] {
		this.writableTicket(ticketId, by);
		this.db.transaction(() => {
			const removed = this.db
				.delete(objectLinks)
				.where(and(eq(objectLinks.recordId, recordId), eq(objectLinks.targetKind, 'ticket'), eq(objectLinks.targetId, ticketId)))
				.returning()
				.get();
			if (!removed) throw notFound('link');
			this.events.record({ ticketId, actor: actorOf(by), type: 'object.unlinked', data: { recordId } });
		});
		return this.forTicket(ticketId, by);
	}

	private readableTicket(ticketId: string, principal: Principal) {
		const row = this.index.get(ticketId);
		if (!row || !ticketAccess(principal, row)) throw notFound('ticket');
		return row;
	}

	private writableTicket(ticketId: string, principal: Principal) {
		const row = this.readableTicket(ticketId, principal);
		if (principal.kind !== 'user') throw forbidden('records are linked to tickets by agents');
		if (ticketAccess(principal, row) !== 'write') throw forbidden('supervisors are read-only');
		return row;
	}

	private linkedIds(kind: 'customer' | 'ticket', targetId: string): string[] {
		return this.db
			.select({ id: objectLinks.recordId })
			.from(objectLinks)
			.where(and(eq(objectLinks.targetKind, kind), eq(objectLinks.targetId, targetId)))
			.all()
			.map((r) => r.id);
	}

	private recordsWhere(condition: ReturnType<typeof and>, limit: number): ObjectRecord[] {
		const rows = this.db
			.select({ record: objectRecords, typeName: objectTypes.name })
			.from(objectRecords)
			.innerJoin(objectTypes, eq(objectTypes.id, objectRecords.typeId))
			.where(condition)
			.orderBy(desc(objectRecords.createdAt), desc(objectRecords.id))
			.limit(limit)
			.all();
		if (!rows.length) return [];
		const customersOf = new Map<string, string[]>();
		const links = this.db
			.select({ recordId: objectLinks.recordId, customerId: objectLinks.targetId })
			.from(objectLinks)
			.where(and(eq(objectLinks.targetKind, 'customer'), inArray(objectLinks.recordId, rows.map((r) => r.record.id))))
			.all();
		for (const link of links) customersOf.set(link.recordId, [...(customersOf.get(link.recordId) ?? []), link.customerId]);
		return rows.map(({ record, typeName }) => ({ ...record, typeName, customerIds: customersOf.get(record.id) ?? [] }));
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
