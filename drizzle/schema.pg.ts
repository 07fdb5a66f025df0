/**
 * Tandem's PostgreSQL schema, derived table by table from the SQLite schema (drizzle/schema.ts),
 * which stays the one place a table is defined: a column added there exists here by construction.
 * drizzle-kit reads this module for the PostgreSQL migrations (drizzle.pg.config.ts), and
 * tests/integration/schema-parity.test.ts compares the two migrated databases, so hand-written
 * migration SQL cannot make them drift either.
 *
 * Types map so that every value reads back as the same JavaScript value on both engines:
 * integer → bigint (milliseconds overflow int4) as a number, an autoincrement key → bigserial,
 * integer booleans → boolean, JSON text → jsonb, blobs → bytea as a Buffer, text → text.
 */
import { getTableConfig, type SQLiteColumn, type SQLiteTable } from 'drizzle-orm/sqlite-core';
import {
	bigint,
	bigserial,
	boolean,
	customType,
	index,
	jsonb,
	pgTable,
	primaryKey,
	text,
	uniqueIndex,
	type PgColumn,
	type PgColumnBuilderBase,
	type PgTable
} from 'drizzle-orm/pg-core';
import { is, SQL } from 'drizzle-orm';
import * as sqlite from './schema';

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

/** PostgreSQL tables by SQLite table name, filled before any reference is resolved (they are lazy). */
const byName = new Map<string, PgTable>();

function columnOf(table: SQLiteTable, column: SQLiteColumn): PgColumn {
	const pg = byName.get(getTableConfig(table).name);
	const found = pg && Object.values(pg).find((c) => (c as PgColumn | undefined)?.name === column.name);
	if (!found) throw new Error(`schema.pg: no PostgreSQL column for ${getTableConfig(table).name}.${column.name}`);
	return found as PgColumn;
}

function builderFor(column: SQLiteColumn): PgColumnBuilderBase {
	const autoIncrement = (column as { autoIncrement?: boolean }).autoIncrement === true;
	switch (column.columnType) {
		case 'SQLiteText':
			return text(column.name, column.enumValues ? { enum: column.enumValues as [string, ...string[]] } : undefined);
		case 'SQLiteTextJson':
			return jsonb(column.name);
		case 'SQLiteInteger':
			return autoIncrement ? bigserial(column.name, { mode: 'number' }) : bigint(column.name, { mode: 'number' });
		case 'SQLiteBoolean':
			return boolean(column.name);
		case 'SQLiteBlobBuffer':
			return bytea(column.name);
		default:
			throw new Error(`schema.pg: no PostgreSQL type for ${column.columnType} (column ${column.name})`);
	}
}

function derive(table: SQLiteTable): PgTable {
	const config = getTableConfig(table);
	const references = new Map(
		config.foreignKeys.map((fk) => {
			const ref = fk.reference();
			if (ref.columns.length !== 1) throw new Error(`schema.pg: composite foreign key on ${config.name} is not derived`);
			return [ref.columns[0]!.name, { foreignTable: ref.foreignTable, foreignColumn: ref.foreignColumns[0]!, onDelete: fk.onDelete, onUpdate: fk.onUpdate }];
		})
	);
	const columns: Record<string, PgColumnBuilderBase> = {};
	for (const [key, column] of Object.entries(table) as [string, unknown][]) {
		if (!config.columns.includes(column as SQLiteColumn)) continue;
		const source = column as SQLiteColumn;
		// The builders' fluent methods are typed per builder; these are the ones every builder has.
		let built = builderFor(source) as unknown as {
			notNull(): typeof built;
			primaryKey(): typeof built;
			unique(name?: string): typeof built;
			default(value: unknown): typeof built;
			references(ref: () => PgColumn, actions: object): typeof built;
		};
		if (source.primary) built = built.primaryKey();
		else if (source.notNull) built = built.notNull();
		if (source.isUnique) built = built.unique(source.uniqueName);
		if (source.hasDefault && source.default !== undefined) built = built.default(source.default);
		const reference = references.get(source.name);
		if (reference) built = built.references(() => columnOf(reference.foreignTable, reference.foreignColumn as SQLiteColumn), { onDelete: reference.onDelete, onUpdate: reference.onUpdate });
		columns[key] = built as unknown as PgColumnBuilderBase;
	}
	const pgColumn = (t: Record<string, PgColumn>, c: SQLiteColumn) => Object.values(t).find((x) => x.name === c.name)!;
	const derived = pgTable(config.name, columns, (t) => [
		...config.primaryKeys.map((pk) => primaryKey({ columns: pk.columns.map((c) => pgColumn(t, c)) as [PgColumn, ...PgColumn[]] })),
		...config.indexes.map((ix) => {
			const on = (ix.config.columns as SQLiteColumn[]).map((c) => pgColumn(t, c)) as [PgColumn, ...PgColumn[]];
			const made = (ix.config.unique ? uniqueIndex : index)(ix.config.name).on(...on);
			return ix.config.where && is(ix.config.where, SQL) ? made.where(ix.config.where) : made;
		})
	]);
	byName.set(config.name, derived);
	return derived;
}

const isTable = (value: unknown): value is SQLiteTable => {
	try {
		return typeof value === 'object' && value !== null && getTableConfig(value as SQLiteTable).name !== undefined;
	} catch {
		return false;
	}
};

/** Every table of drizzle/schema.ts, under the same name. */
export const pgSchema = Object.fromEntries(
	(Object.entries(sqlite) as [string, unknown][])
		.filter((entry): entry is [string, SQLiteTable] => isTable(entry[1]))
		.map(([key, table]) => [key, derive(table)])
) as { [K in keyof typeof sqlite]: PgTable };

// Named exports, as drizzle-kit finds tables by them; the parity test checks none is missing.
export const { users, groups, userGroups, sessions, accessEpoch, apiTokens, customers, customerAddresses, tickets, sequences, ticketUpdates, ticketHeads, ticketEntryIds, ticketClientOwners, ticketSnapshots, events, ticketQuarantine, macros, savedViews, emailMessages, ticketAttachments, ticketFollowers, notices, files, fileChunks, supportAddresses, imapMailboxes, outbox, channels, webhookEvents, visitors, emailVerifications, visitorPages, chats, talkNumbers, calls, helpArticles, objectTypes, objectRecords, objectLinks, apps, agentPresence, customStatuses, agentRouting, routingSettings, workItems, offers, slaPolicies, slaBreaches, satisfactionSurveys, satisfactionSettings, serverSecrets, ticketFieldDefinitions, ticketForms, ticketFieldValues, rules, businessHours, automationFirings } = pgSchema;
