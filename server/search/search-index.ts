/**
 * Ticket search: the full-text index `ticket_search` (drizzle migrations 0022 / pg 0004) and the
 * queries of the search language (src/lib/search-query.ts) over it and the ticket index.
 *
 * One index row per ticket (`part` ''; its subject, and in `fields` its number, tags and
 * requester's name, organisation and addresses) and one per entry, in the conversation or a side
 * conversation (`part` = the entry id; body, and attachment names in `fields`). Per-entry rows make
 * a new entry one small insert whatever the ticket's length, and let a result show the passage
 * that matched and where. A ticket matches when each word or phrase of the query matches one of
 * its rows the viewer may read (not necessarily the same row), and ranks by the sum, over the
 * words and phrases, of its best row's rank: SQLite's bm25, PostgreSQL's ts_rank, with the same
 * column weights (subject 10, fields 4, body 1) as the help centre.
 */
import { and, eq, inArray, isNull, lt, gt, sql, type Column, type SQL } from 'drizzle-orm';
import type { SearchPassage } from '../../src/lib/api/search';
import { parseSearchTime, SEARCH_TIME_FORMS, wordsOf, type SearchQuery, type SearchTerm, type SearchTime, type TextTerm } from '../../src/lib/search-query';
import type * as Y from 'yjs';
import { entryIndex, FIELD_LIMITS, FIELD_TYPE_NAMES, NO_FIELD_RULES, readSides, searchableValues, sideStatuses, type Entry, type FieldRules, type SideConversation } from '../../src/lib/ticket';
import type { Principal } from '../auth/principal';
import { ApiError } from '../errors';
import type { Store } from '../storage/store';
import { visibleTo, type TicketRow } from '../ticket-index';

/** One row of the index. */
export interface SearchPart {
	ticketId: string;
	/** '' for the ticket's own row, else the entry's id. */
	part: string;
	sideId: string | null;
	internal: boolean;
	attachment: boolean;
	subject: string;
	fields: string;
	body: string;
}

export type { SearchPassage };

export interface SearchHit {
	ticket: TicketRow;
	passage: SearchPassage | null;
}

export interface SearchOptions {
	viewer: Principal;
	/** Whether the viewer reads internal entries (notes, internal side conversations): the policy decides. */
	internal: boolean;
	limit: number;
	cursor?: string;
	now?: number;
}

/**
 * A word or phrase found in more passages than this narrows the results without ranking them:
 * ranking means reading every passage it is in (a word of every other message would cost a
 * second at a million entries), and so common a word tells the tickets apart least.
 */
const RANKED_PASSAGES = 10_000;
/** Rows written per statement (SQLite allows 32,766 parameters). */
const WRITE_CHUNK = 200;
// Marks put around matches by the engines: control characters no indexed text keeps (see textOf).
const OPEN = '\u0002';
const CLOSE = '\u0003';
const SNIPPET_TOKENS = 24;
const PG_SUBJECT = `StartSel=${OPEN}, StopSel=${CLOSE}, HighlightAll=true`;
const PG_SNIPPET = `StartSel=${OPEN}, StopSel=${CLOSE}, MaxFragments=1, MaxWords=${SNIPPET_TOKENS}, MinWords=${SNIPPET_TOKENS / 2}, ShortWord=0`;
/** A passage with no marked words (the engines disagreed about a word) shows the text's start. */
const PLAIN_PASSAGE = 200;



/**
 * A number a search compares a field with: digits with a sign, a decimal point or an exponent,
 * within the magnitude values are held to (so `NaN`, `Infinity`, `0x10`, `1e309` and a hundred
 * digits are refused, not compared).
 */
const SEARCH_NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/;
const NUMBER_EXPECTED = `expected a number (42, -3.5, 10.25) within ±${FIELD_LIMITS.magnitude.toLocaleString('en')}`;
function searchNumber(value: string): number | null {
	const number = SEARCH_NUMBER.test(value) ? Number(value) : NaN;
	return Math.abs(number) <= FIELD_LIMITS.magnitude ? number : null;
}
/** The moment a time names, relative ones counted back from when the query runs. */
const momentOf = (time: SearchTime, now: number) => ('at' in time ? time.at : now - time.ago);

/** Text as indexed: without the control characters that would be taken for match marks. */
const textOf = (text: string) => text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, ' ');
const bool = (value: boolean) => sql.raw(value ? 'true' : 'false');

export class SearchIndex {
	constructor(
		private readonly store: Store,
		/** Passages a word or phrase may be in and still rank (tests lower it). */
		private readonly rankedPassages = RANKED_PASSAGES,
		/** The custom field definitions `field.key:value` is read by. */
		private readonly fields: { rules(): Promise<FieldRules> } = { rules: async () => NO_FIELD_RULES }
	) {}

	// --- writing ----------------------------------------------------------------------------

	/**
	 * Writes index rows: entry rows already indexed are left as they are (entries never change),
	 * a ticket's own row (part '') is replaced when its text changed (a ticket's row is projected
	 * again on every message: rewriting the same words would only reindex them).
	 */
	async write(parts: SearchPart[]): Promise<void> {
		for (let i = 0; i < parts.length; i += WRITE_CHUNK) {
			const chunk = parts.slice(i, i + WRITE_CHUNK);
			const values = chunk.map(
				(p) =>
					sql`(${p.ticketId}, ${p.part}, ${p.sideId}, ${bool(p.internal)}, ${bool(p.attachment)}, ${textOf(p.subject)}, ${textOf(p.fields)}, ${textOf(p.body)})`
			);
			await this.store.run(sql`INSERT INTO ticket_search (ticket_id, part, side_id, internal, attachment, subject, fields, body)
				VALUES ${sql.join(values, sql`, `)}
				ON CONFLICT (ticket_id, part) DO UPDATE SET subject = excluded.subject, fields = excluded.fields
				WHERE ticket_search.part = '' AND (ticket_search.subject <> excluded.subject OR ticket_search.fields <> excluded.fields)`);
		}
	}

	/** Removes a ticket's rows (a rebuild writes them again). */
	async remove(ticketId: string): Promise<void> {
		await this.store.run(sql`DELETE FROM ticket_search WHERE ticket_id = ${ticketId}`);
	}

	/** How many entry rows a ticket has in the conversation (side conversations apart), and whether it has its own row. */
	async indexed(ticketId: string): Promise<{ conversation: number; all: number; own: boolean }> {
		const [row] = await this.store.all<{ conversation: number | string; all: number | string; own: number | string }>(
			sql`SELECT count(*) FILTER (WHERE side_id IS NULL AND part <> '') AS conversation, count(*) AS "all", count(*) FILTER (WHERE part = '') AS own
				FROM ticket_search WHERE ticket_id = ${ticketId}`
		);
		return { conversation: Number(row!.conversation), all: Number(row!.all), own: Number(row!.own) > 0 };
	}

	/** The rows of a document's `entries` (by default all of them, its side conversations' too). */
	static entryParts(ticketId: string, doc: Y.Doc, entries: Iterable<Entry> = entryIndex(doc).byId.values()): SearchPart[] {
		const sides = sidesOf(doc);
		return [...entries].map((entry) => {
			const side = sides.get(entry.id) ?? null;
			const attachments = entry.meta && 'attachments' in entry.meta && Array.isArray(entry.meta.attachments) ? (entry.meta.attachments as { name?: unknown }[]) : [];
			return {
				ticketId,
				part: entry.id,
				sideId: side?.id ?? null,
				internal: entry.visibility === 'internal' || side?.channel === 'internal',
				attachment: attachments.length > 0,
				subject: '',
				fields: attachments.map((a) => (typeof a.name === 'string' ? a.name : '')).join(' '),
				body: entry.body ?? ''
			};
		});
	}

	/** The ticket's own rows, from its index rows and their requesters as the customers table has them. */
	async ticketParts(rows: readonly TicketRow[]): Promise<SearchPart[]> {
		if (!rows.length) return [];
		const { customers, customerAddresses } = this.store.tables;
		const ids = [...new Set(rows.map((row) => row.requesterId))];
		const people = new Map<string, string[]>();
		for (const c of await this.store.db.select({ id: customers.id, name: customers.name, organisation: customers.organisation }).from(customers).where(inArray(customers.id, ids))) {
			people.set(c.id, [c.name, c.organisation]);
		}
		for (const a of await this.store.db.select().from(customerAddresses).where(inArray(customerAddresses.customerId, ids))) {
			// A phone number is also found by its digits as typed without spaces.
			people.get(a.customerId)?.push(a.address, ...(a.channel === 'talk' ? [a.address.replace(/\D/g, '')] : []));
		}
		return rows.map((row) => ({
			ticketId: row.id,
			part: '',
			sideId: null,
			internal: false,
			attachment: false,
			subject: row.subject,
			// Custom field values too: a plain word search finds a ticket by its order number.
			fields: [row.number === null ? '' : `#${row.number}`, ...row.tags, ...(people.get(row.requesterId) ?? []), ...Object.values(row.custom ?? {}).flatMap((value) => (typeof value === 'boolean' ? [] : searchableValues(value)))].join(' '),
			body: ''
		}));
	}

	/** Up to `limit` tickets the search index has no row of. */
	async unindexed(limit: number): Promise<TicketRow[]> {
		const { tickets } = this.store.tables;
		return this.store.db
			.select()
			.from(tickets)
			.where(sql`NOT EXISTS (SELECT 1 FROM ticket_search s WHERE s.ticket_id = ${tickets.id} AND s.part = '')`)
			.limit(limit);
	}

	/** The index rows of the tickets a customer asked, for when they changed. */
	async ticketsOfRequester(customerId: string): Promise<TicketRow[]> {
		const { tickets } = this.store.tables;
		return this.store.db.select().from(tickets).where(eq(tickets.requesterId, customerId));
	}

	// --- reading ----------------------------------------------------------------------------

	/**
	 * The tickets matching `query` that the viewer may see, a page at a time: with words or
	 * phrases, best first with the passage that matched best; with operators only, most recently
	 * updated first.
	 */
	async search(query: SearchQuery, options: SearchOptions): Promise<{ hits: SearchHit[]; next: string | null }> {
		const { tickets } = this.store.tables;
		const plan = await this.plan(query, options);
		const order = plan.score ? 'rank' : 'updated';
		const after = options.cursor ? this.after(plan.score, ...decodeCursor(options.cursor, order)) : undefined;
		const found = plan.score
			? await this.rankedPage(plan.score, plan, [...plan.conditions, after], options.limit + 1)
			: await this.store.all<{ id: string; key: number | string }>(
					// Newest first along the index of last updates, looking words up ticket by ticket until the
					// page is full (SQLite would otherwise look them up in every ticket of a group first).
					sql`SELECT ${tickets.id} AS id, ${tickets.updatedAt} AS key FROM ${tickets} ${this.store.engine === 'sqlite' && plan.text.length ? sql`INDEXED BY tickets_updated` : sql``}
					WHERE ${and(...plan.conditions, ...plan.common, after) ?? sql`1 = 1`} ORDER BY ${tickets.updatedAt} DESC, ${tickets.id} DESC LIMIT ${options.limit + 1}`
				);
		const page = found.slice(0, options.limit);
		const rows = page.length ? await this.store.db.select().from(tickets).where(inArray(tickets.id, page.map((r) => r.id))) : [];
		const byId = new Map(rows.map((row) => [row.id, row]));
		const passages = plan.text.length ? await this.passages(plan.text, page.map((r) => r.id), options.internal, plan.rankPassages) : new Map<string, SearchPassage>();
		const last = page.at(-1);
		return {
			hits: page.flatMap(({ id }) => (byId.has(id) ? [{ ticket: byId.get(id)!, passage: passages.get(id) ?? null }] : [])),
			next: found.length > options.limit && last ? encodeCursor(order, Number(last.key), last.id) : null
		};
	}

	/** The tickets after `key` and `id` in the order of `score` (ranked, ascending) or else of last update (descending). */
	private after(score: SQL | null, key: number, id: string): SQL {
		const { tickets } = this.store.tables;
		return score
			? sql`(${score} > ${key} OR (${score} = ${key} AND ${tickets.id} > ${id}))`
			: sql`(${tickets.updatedAt} < ${key} OR (${tickets.updatedAt} = ${key} AND ${tickets.id} < ${id}))`;
	}

	/**
	 * Up to `count` ranked tickets. Words too common to rank are looked up in the ranked candidates
	 * a chunk at a time, best first, until enough have them: the candidates of rarer words can be
	 * many, and a common word is in nearly all of them, so the first chunk is usually the last.
	 */
	private async rankedPage(score: SQL, plan: { ctes: SQL; from: SQL; common: SQL[] }, conditions: (SQL | undefined)[], count: number) {
		const { tickets } = this.store.tables;
		const found: { id: string; key: number | string }[] = [];
		let after: SQL | undefined;
		for (let size = plan.common.length ? 100 : count; ; size = Math.min(size * 4, 5000)) {
			const chunk = await this.store.all<{ id: string; key: number | string }>(
				sql`WITH ${plan.ctes} SELECT ${tickets.id} AS id, ${score} AS key FROM ${plan.from} WHERE ${and(...conditions, after) ?? sql`1 = 1`} ORDER BY key, ${tickets.id} LIMIT ${size}`
			);
			const kept =
				plan.common.length && chunk.length
					? new Set((await this.store.all<{ id: string }>(sql`SELECT ${tickets.id} AS id FROM ${tickets} WHERE ${and(inArray(tickets.id, chunk.map((r) => r.id)), ...plan.common)}`)).map((r) => r.id))
					: null;
			for (const row of chunk) {
				if (kept && !kept.has(row.id)) continue;
				found.push(row);
				if (found.length === count) return found;
			}
			const last = chunk.at(-1);
			if (chunk.length < size || !last) return found;
			after = this.after(score, Number(last.key), last.id);
		}
	}

	/**
	 * What `query` finds as conditions on the ticket index, unranked: a saved view lists its
	 * tickets in an order of its own (ticket-index.ts `list`).
	 */
	async filter(query: SearchQuery, options: Omit<SearchOptions, 'limit' | 'cursor'>): Promise<SQL[]> {
		const plan = await this.plan(query, options);
		return [...plan.conditions.filter((c): c is SQL => !!c), ...plan.text.map((term) => this.containing(term, options.internal))];
	}

	/** How many tickets the viewer may see match `query` (a saved view's count). */
	async count(query: SearchQuery, options: Omit<SearchOptions, 'limit' | 'cursor'>): Promise<number> {
		const { tickets } = this.store.tables;
		const plan = await this.plan(query, options);
		const [row] = plan.score
			? await this.store.all<{ n: number | string }>(sql`WITH ${plan.ctes} SELECT count(*) AS n FROM ${plan.from} WHERE ${and(...plan.conditions, ...plan.common) ?? sql`1 = 1`}`)
			: await this.store.db.select({ n: sql<number>`count(*)` }).from(tickets).where(and(...plan.conditions, ...plan.common));
		return Number(row?.n ?? 0);
	}

	/**
	 * A query as SQL over the ticket index: the conditions of its operators and excluded words,
	 * and for its words and phrases one table each (`t0`, `t1`…) of the tickets with a row
	 * matching it and their best rank, joined, with the score they add up to (lower is better).
	 * Words and phrases in very many passages are conditions instead (see RANKED_PASSAGES); with
	 * none left to rank, the results are listed most recently updated first.
	 */
	private async plan(query: SearchQuery, options: Omit<SearchOptions, 'limit' | 'cursor'>) {
		const { tickets } = this.store.tables;
		const now = options.now ?? Date.now();
		const conditions: (SQL | undefined)[] = [visibleTo(tickets, options.viewer)];
		const text: TextTerm[] = [];
		for (const term of query.terms) {
			if (term.kind === 'text' && !term.negated) {
				text.push(term);
				continue;
			}
			const condition = term.kind === 'text' ? sql`${tickets.id} IN (${this.matching(term, options.internal)})` : await this.condition(term, options.viewer, now, options.internal);
			// IS NOT TRUE: a condition on an empty column (no assignee) counts as not met, so it is excluded by `-`.
			conditions.push(term.negated ? sql`(${condition}) IS NOT TRUE` : condition);
		}
		const ranked: TextTerm[] = [];
		const common: SQL[] = [];
		for (const term of text) {
			if (await this.common(term)) common.push(this.containing(term, options.internal));
			else ranked.push(term);
		}
		// Passages are chosen by rank only when every word is rare enough to rank (see passages).
		const rankPassages = ranked.length === text.length;
		if (!ranked.length) return { conditions, common, text, rankPassages, score: null, ctes: sql``, from: sql`${tickets}` };
		const names = ranked.map((_, i) => sql.raw(`t${i}`));
		return {
			conditions,
			common,
			text,
			rankPassages,
			ctes: sql.join(
				ranked.map((term, i) => sql`${names[i]} AS (${this.ranked(term, options.internal)})`),
				sql`, `
			),
			// From the matches to their tickets: on SQLite, CROSS JOIN keeps that order (its planner would
			// otherwise start from every ticket an agent's groups hold).
			from: sql`${names[0]} ${this.store.engine === 'sqlite' ? sql`CROSS JOIN` : sql`JOIN`} ${tickets} ON ${tickets.id} = ${names[0]}.ticket_id ${sql.join(
				names.slice(1).map((name) => sql`JOIN ${name} ON ${name}.ticket_id = ${tickets.id}`),
				sql` `
			)}`,
			score: sql`(${sql.join(
				names.map((name) => sql`${name}.rank`),
				sql` + `
			)})`
		};
	}

	/** Whether a word or phrase is in more than `rankedPassages` passages (counting stops there). */
	private async common(term: TextTerm): Promise<boolean> {
		const matches =
			this.store.engine === 'sqlite'
				? sql`SELECT 1 FROM ticket_search_fts WHERE ticket_search_fts MATCH ${ftsPhrase(term)} LIMIT ${this.rankedPassages + 1}`
				: sql`SELECT 1 FROM ticket_search s WHERE ${tsMatch(term)} LIMIT ${this.rankedPassages + 1}`;
		const [row] = await this.store.all<{ n: number | string }>(sql`SELECT count(*) AS n FROM (${matches}) AS found`);
		return Number(row?.n ?? 0) > this.rankedPassages;
	}

	/**
	 * Whether the ticket has a readable row matching a word or phrase, looked up by its own rows:
	 * cheap for each ticket whatever the word's frequency, so a list can stop at its page.
	 */
	private containing(term: TextTerm, internal: boolean): SQL {
		const { tickets } = this.store.tables;
		const readable = internal ? sql`` : sql`AND NOT s.internal`;
		const matched =
			this.store.engine === 'sqlite'
				? sql`EXISTS (SELECT 1 FROM ticket_search_fts WHERE ticket_search_fts.rowid = s.id AND ticket_search_fts MATCH ${ftsPhrase(term)})`
				: sql`s.words @@ ${tsPhrase(term)}`;
		return sql`EXISTS (SELECT 1 FROM ticket_search s WHERE s.ticket_id = ${tickets.id} ${readable} AND ${matched})`;
	}

	/** The tickets with a readable row matching a word or phrase. */
	private matching(term: TextTerm, internal: boolean): SQL {
		const readable = internal ? sql`` : sql`AND NOT s.internal`;
		if (this.store.engine === 'sqlite') {
			return sql`SELECT s.ticket_id FROM ticket_search_fts JOIN ticket_search s ON s.id = ticket_search_fts.rowid WHERE ticket_search_fts MATCH ${ftsPhrase(term)} ${readable}`;
		}
		return sql`SELECT s.ticket_id FROM ticket_search s WHERE ${tsMatch(term)} ${readable}`;
	}

	/** The tickets with a readable row matching a word or phrase, with the best such row's rank (lower is better). */
	private ranked(term: TextTerm, internal: boolean): SQL {
		const readable = internal ? sql`` : sql`AND NOT s.internal`;
		if (this.store.engine === 'sqlite') {
			// `rank` is bm25 with the column weights the migration configured.
			return sql`SELECT s.ticket_id AS ticket_id, min(ticket_search_fts.rank) AS rank FROM ticket_search_fts JOIN ticket_search s ON s.id = ticket_search_fts.rowid
				WHERE ticket_search_fts MATCH ${ftsPhrase(term)} ${readable} GROUP BY s.ticket_id`;
		}
		// ts_rank's default weights, A 1.0, B 0.4, D 0.1, are the bm25 weights' ratios; normalisation 1
		// divides by 1 + log(length), as bm25 favours short matches. Negated: lower is better, as bm25.
		return sql`SELECT s.ticket_id AS ticket_id, min(-ts_rank(s.words, q.query, 1)::float8) AS rank FROM ticket_search s, ${tsPhrase(term)} AS q(query)
			WHERE ${tsMatch(term, sql`q.query`)} ${readable} GROUP BY s.ticket_id`;
	}

	/** An operator's condition on the ticket index (the words of an excluded phrase are handled by the caller). */
	private async condition(term: Exclude<SearchTerm, { kind: 'text' }>, viewer: Principal, now: number, internal: boolean): Promise<SQL> {
		const { tickets } = this.store.tables;
		switch (term.kind) {
			case 'status':
				return inArray(tickets.status, term.values);
			case 'priority':
				return inArray(tickets.priority, term.values);
			case 'channel':
				return inArray(tickets.channel, term.values);
			case 'satisfaction': {
				// As the ticket's `satisfaction` field says it: the survey of the latest solve that asked (none: '').
				const { satisfactionSurveys: surveys } = this.store.tables;
				const latest = sql`(SELECT CASE WHEN ${surveys.rating} IS NULL THEN 'offered' ELSE ${surveys.rating} END FROM ${surveys}
					WHERE ${surveys.ticketId} = ${tickets.id} AND ${surveys.via} IS NOT NULL ORDER BY ${surveys.createdAt} DESC, ${surveys.id} DESC LIMIT 1)`;
				return sql`COALESCE(${latest}, '') IN (${sql.join(term.values.map((value) => sql`${value}`), sql`, `)})`;
			}
			case 'number':
				return eq(tickets.number, term.value);
			case 'time': {
				const column = term.field === 'created' ? tickets.createdAt : tickets.updatedAt;
				const at = momentOf(term.time, now);
				return term.comparison === '>' ? gt(column, at) : lt(column, at);
			}
			case 'assignee': {
				const value = term.value.toLowerCase();
				if (value === 'none') return isNull(tickets.assigneeId);
				if (value === 'me') return eq(tickets.assigneeId, this.me(viewer, 'assignee:me'));
				return inArray(tickets.assigneeId, await this.colleagues(term.value));
			}
			case 'group':
				return eq(tickets.groupId, await this.group(term.value));
			case 'tag':
				return this.store.engine === 'sqlite'
					? sql`EXISTS (SELECT 1 FROM json_each(${tickets.tags}) WHERE lower(json_each.value) = ${term.value})`
					: sql`EXISTS (SELECT 1 FROM jsonb_array_elements_text(${tickets.tags}) AS tag(value) WHERE lower(tag.value) = ${term.value})`;
			case 'requester': {
				const { customers, customerAddresses } = this.store.tables;
				const value = term.value.toLowerCase();
				const named = `%${value.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
				return sql`${tickets.requesterId} IN (SELECT ${customers.id} FROM ${customers} WHERE lower(${customers.name}) LIKE ${named} ESCAPE '\\'
					UNION SELECT ${customerAddresses.customerId} FROM ${customerAddresses} WHERE lower(${customerAddresses.address}) = ${value})`;
			}
			case 'has':
				return sql`EXISTS (SELECT 1 FROM ticket_search s WHERE s.ticket_id = ${tickets.id} AND s.attachment ${internal ? sql`` : sql`AND NOT s.internal`})`;
			case 'field':
				return this.fieldCondition(term, now, internal);
			case 'is':
				// Unread, as the server can know it: the customer wrote last and awaits a reply on a
				// ticket assigned to me (what each person has opened is kept in their browser only).
				return and(eq(tickets.assigneeId, this.me(viewer, 'is:unread')), sql`${tickets.awaitingSince} IS NOT NULL`)!;
		}
	}

	/**
	 * `field.key:value` by the values table (ticket_field_values): choices, numbers, dates and
	 * checkboxes exactly; text by its words, in order, within the field's value, and as words (not
	 * parts of words) of the ticket's own search row, which holds its custom values.
	 * `field.key>value` and `<`: numbers and decimals by their value, dates by their day.
	 */
	private async fieldCondition(term: Extract<SearchTerm, { kind: 'field' }>, now: number, internal: boolean): Promise<SQL> {
		const { tickets, ticketFieldValues: v } = this.store.tables;
		const field = (await this.fields.rules()).fields.get(term.key);
		const fail = (message: string): never => {
			throw new ApiError(400, 'invalid_field', `q: field.${term.key}${term.comparison}${term.value}: ${message}`, 'q');
		};
		if (!field) return fail(`there is no custom field ${term.key}`);
		const having = (condition: SQL) => sql`${tickets.id} IN (SELECT ${v.ticketId} FROM ${v} WHERE ${v.fieldKey} = ${field.key} AND ${condition})`;
		const value = term.value.toLowerCase();
		if (term.comparison !== ':') {
			const compare = term.comparison === '>' ? gt : lt;
			switch (field.type) {
				case 'number':
				case 'decimal':
					return having(compare(this.numberIn(v.value), searchNumber(value) ?? fail(NUMBER_EXPECTED)));
				case 'date': {
					const time = parseSearchTime(term.value) ?? fail(`expected ${SEARCH_TIME_FORMS}`);
					// Values are YYYY-MM-DD, so their order as bytes is the days' order (whatever the database's collation).
					const day = new Date(momentOf(time, now)).toISOString().slice(0, 10);
					return having(compare(this.store.engine === 'sqlite' ? sql`${v.value}` : sql`${v.value} COLLATE "C"`, day));
				}
				default:
					return fail(`only number, decimal and date fields take > and <; ${field.key} is a field of type ${FIELD_TYPE_NAMES[field.type]}`);
			}
		}
		if (field.type === 'text' || field.type === 'multiline' || field.type === 'regex') {
			const words = wordsOf(term.value);
			if (!words.length) fail('name a word to look for');
			const inOrder = `%${words.join('%')}%`;
			return and(having(sql`${v.value} LIKE ${inOrder}`), this.containing({ kind: 'text', words, phrase: true, negated: false }, internal))!;
		}
		switch (field.type) {
			case 'number':
			case 'decimal': {
				const number = searchNumber(value) ?? fail(NUMBER_EXPECTED);
				return having(sql`${v.value} = ${String(number)}`);
			}
			case 'checkbox': {
				const ticked = ['true', 'yes', '1'].includes(value) ? 'true' : ['false', 'no', '0'].includes(value) ? 'false' : fail('expected true or false');
				return having(sql`${v.value} = ${ticked}`);
			}
			default:
				return having(sql`${v.value} = ${value}`);
		}
	}

	/**
	 * A value of a number or decimal field as a number, or null when it is not written as one: as
	 * a JSON number, the form String(number) gives it (searchableValues). On PostgreSQL a cast of
	 * anything else would fail the whole query, and the planner may evaluate it before the key
	 * filter, on other fields' values too; SQLite would read text as 0. So both look first.
	 */
	private numberIn(value: Column): SQL {
		return this.store.engine === 'sqlite'
			? sql`CASE WHEN json_valid(${value}) THEN CASE WHEN json_type(${value}) IN ('integer', 'real') THEN CAST(${value} AS REAL) END END`
			: sql`CASE WHEN ${value} ~ '^-?(0|[1-9][0-9]*)([.][0-9]+)?(e[-+]?[0-9]+)?$' THEN ${value}::float8 END`;
	}

	private me(viewer: Principal, term: string): string {
		if (viewer.kind !== 'user') throw new ApiError(400, 'invalid_field', `q: ${term} is for signed-in colleagues, not for ${viewer.kind === 'bot' ? 'API tokens' : 'the server'}`, 'q');
		return viewer.id;
	}

	/** The users a name (or first name) or email address names; a 400 when none. */
	private async colleagues(name: string): Promise<string[]> {
		const { users } = this.store.tables;
		const value = name.toLowerCase();
		const found = await this.store.db
			.select({ id: users.id })
			.from(users)
			.where(sql`lower(${users.name}) = ${value} OR lower(${users.email}) = ${value} OR lower(${users.name}) LIKE ${value.replace(/[\\%_]/g, (c) => '\\' + c) + ' %'} ESCAPE '\\'`);
		if (!found.length) throw new ApiError(400, 'invalid_field', `q: assignee:${name}: no colleague is called ${name}`, 'q');
		return found.map((u) => u.id);
	}

	private async group(name: string): Promise<string> {
		const { groups } = this.store.tables;
		const [found] = await this.store.db
			.select({ id: groups.id })
			.from(groups)
			.where(sql`lower(${groups.name}) = ${name.toLowerCase()}`)
			.limit(1);
		if (!found) throw new ApiError(400, 'invalid_field', `q: group:${name}: there is no group called ${name}`, 'q');
		return found.id;
	}

	/**
	 * For each ticket, its readable row that best matches any of the words and phrases, as a
	 * passage: the best ranked, or when a word is too common to rank (bm25 reads every passage it is
	 * in to weigh it), the ticket's own row, else its first entry that matches. On SQLite, the
	 * passages of rare words are read whole and kept for the page's tickets; those of a common word
	 * are looked up row by row in the page's tickets.
	 */
	private async passages(text: TextTerm[], ticketIds: string[], internal: boolean, ranked: boolean): Promise<Map<string, SearchPassage>> {
		const passages = new Map<string, SearchPassage>();
		if (!ticketIds.length) return passages;
		const readable = internal ? sql`` : sql`AND NOT s.internal`;
		const inPage = sql`s.ticket_id IN (${sql.join(
			ticketIds.map((id) => sql`${id}`),
			sql`, `
		)})`;
		type Marked = { ticket_id: string; part: string; side_id: string | null; subject: string; fields: string; body: string; subject_text?: string; fields_text?: string; body_text?: string };
		let rows: Marked[];
		if (this.store.engine === 'sqlite') {
			const any = text.map(ftsPhrase).join(' OR ');
			const best = await this.store.all<{ id: number }>(
				sql`SELECT id FROM (SELECT s.id AS id, row_number() OVER (PARTITION BY s.ticket_id ORDER BY ${ranked ? sql`ticket_search_fts.rank, ` : sql`s.part = '' DESC, `}s.id) AS n
					FROM ticket_search_fts JOIN ticket_search s ON s.id = ticket_search_fts.rowid
					WHERE ticket_search_fts MATCH ${any} AND ${ranked ? inPage : sql`ticket_search_fts.rowid IN (SELECT s.id FROM ticket_search s WHERE ${inPage})`} ${readable}) AS ranked WHERE n = 1`
			);
			if (!best.length) return passages;
			rows = await this.store.all<Marked>(
				sql`SELECT s.ticket_id, s.part, s.side_id, highlight(ticket_search_fts, 0, ${OPEN}, ${CLOSE}) AS subject,
					snippet(ticket_search_fts, 1, ${OPEN}, ${CLOSE}, '…', ${SNIPPET_TOKENS}) AS fields, snippet(ticket_search_fts, 2, ${OPEN}, ${CLOSE}, '…', ${SNIPPET_TOKENS}) AS body
					FROM ticket_search_fts JOIN ticket_search s ON s.id = ticket_search_fts.rowid
					WHERE ticket_search_fts MATCH ${any} AND ticket_search_fts.rowid IN (${sql.join(
						best.map((b) => sql`${b.id}`),
						sql`, `
					)})`
			);
		} else {
			const any = sql`(SELECT ${sql.join(text.map(tsPhrase), sql` || `)})`;
			rows = await this.store.all<Marked>(
				sql`SELECT s.ticket_id, s.part, s.side_id, ts_headline('tandem_search', s.subject, q.query, ${PG_SUBJECT}) AS subject,
					ts_headline('tandem_search', s.fields, q.query, ${PG_SNIPPET}) AS fields, ts_headline('tandem_search', s.body, q.query, ${PG_SNIPPET}) AS body,
					s.subject AS subject_text, s.fields AS fields_text, s.body AS body_text
					FROM (SELECT DISTINCT ON (s.ticket_id) s.* FROM ticket_search s, ${any} AS q(query)
						WHERE s.words @@ q.query AND ${inPage} ${readable}
						ORDER BY s.ticket_id, ${ranked ? sql`ts_rank(s.words, q.query, 1) DESC` : sql`s.part = '' DESC`}, s.id) AS s, ${any} AS q(query)`
			);
		}
		for (const row of rows) {
			const where: SearchPassage['in'] = row.part === '' ? (row.subject.includes(OPEN) || !row.fields.includes(OPEN) ? 'subject' : 'fields') : row.side_id ? 'side' : 'entry';
			const column = where === 'subject' ? 'subject' : where === 'fields' || (!row.body.includes(OPEN) && row.fields.includes(OPEN)) ? 'fields' : 'body';
			const whole = row[`${column}_text`];
			const passage = whole === undefined ? rangesOf(row[column]) : excerpt(whole, markedWords(row[column]));
			passages.set(row.ticket_id, { in: where, entryId: row.part || null, sideId: row.side_id, ...passage });
		}
		return passages;
	}
}

/** The side conversation each entry of a ticket is in, by entry id (empty for a ticket with none: the common case). */
function sidesOf(doc: Y.Doc): Map<string, Pick<SideConversation, 'id' | 'channel'>> {
	const bySide = new Map<string, Pick<SideConversation, 'id' | 'channel'>>();
	if (sideStatuses(doc).size === 0) return bySide;
	for (const side of readSides(doc)) for (const entry of side.entries) bySide.set(entry.id, { id: side.id, channel: side.channel });
	return bySide;
}

/** An FTS5 phrase of the term's words: letters and digits only (the parser's words), so it cannot break out of its quotes. */
const ftsPhrase = (term: TextTerm) => `"${term.words.join(' ')}"`;

/** PostgreSQL's phrase of the term's words: phraseto_tsquery reads no operators, only words. */
const tsPhrase = (term: TextTerm) => sql`phraseto_tsquery('tandem_search', ${term.words.join(' ')})`;

/**
 * Whether the row `s` matches the term on PostgreSQL. A phrase is looked up by its pairs of
 * adjacent words (index `ticket_search_pairs`, pg migration 0013) and checked against the phrase
 * in those rows only: through the words index alone, a phrase of two common words would read every
 * row holding both. `coalesce` keeps the planner from also scanning the words index for the phrase
 * and intersecting (that scan is the cost avoided); a phrase with no pairs (NULL) is folded away.
 */
export const tsMatch = (term: TextTerm, phrase: SQL = tsPhrase(term)) => {
	if (term.words.length < 2) return sql`s.words @@ ${phrase}`;
	const pairs = sql`tandem_phrase_pairs(${term.words.join(' ')})`;
	return sql`(${pairs} IS NULL OR tandem_word_pairs(s.words) @@ ${pairs}) AND coalesce(s.words, '') @@ ${phrase}`;
};

/** The words an engine marked in `marked`, as they are written. */
const markedWords = (marked: string) => new Set([...marked.matchAll(/\u0002([^\u0003]*)\u0003/g)].map((m) => m[1]!).filter(Boolean));

/**
 * A passage of `whole` around the first of `words` (as PostgreSQL's headline marked them), each of
 * them in it highlighted. Cut from the text itself: the headline drops whatever looks like markup
 * (`<b>` in a customer's message), and a passage must quote the message as it is.
 */
function excerpt(whole: string, words: Set<string>): { text: string; highlights: [number, number][] } {
	const found: [number, number][] = [];
	if (words.size) {
		const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(?:${[...words].map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})(?![\\p{L}\\p{N}])`, 'gu');
		for (const match of whole.matchAll(pattern)) found.push([match.index, match.index + match[0].length]);
	}
	const first = found[0];
	if (!first) return { text: whole.length > PLAIN_PASSAGE ? whole.slice(0, PLAIN_PASSAGE) + '…' : whole, highlights: [] };
	// About PLAIN_PASSAGE characters, some of them before the first match, cut at spaces: a short text whole.
	let start = Math.max(0, Math.min(first[0] - PLAIN_PASSAGE / 3, whole.length - PLAIN_PASSAGE));
	if (start > 0) start = whole.indexOf(' ', start) + 1 || first[0];
	if (start > first[0]) start = first[0];
	let end = Math.min(whole.length, start + PLAIN_PASSAGE);
	if (end < whole.length) end = Math.max(first[1], whole.lastIndexOf(' ', end));
	const lead = start > 0 ? '…' : '';
	return {
		text: lead + whole.slice(start, end) + (end < whole.length ? '…' : ''),
		highlights: found.filter(([from, to]) => from >= start && to <= end).map(([from, to]) => [from - start + lead.length, to - start + lead.length])
	};
}

/** Text with match marks as plain text and the ranges that were marked. */
function rangesOf(marked: string): { text: string; highlights: [number, number][] } {
	let text = '';
	const highlights: [number, number][] = [];
	let start: number | null = null;
	for (const piece of marked.split(/([\u0002\u0003])/)) {
		if (piece === OPEN) start = text.length;
		else if (piece === CLOSE) {
			if (start !== null && text.length > start) highlights.push([start, text.length]);
			start = null;
		} else text += piece;
	}
	return { text, highlights };
}

/** A cursor says which order it continues and after which key: `[order, key, id]`. */
function encodeCursor(order: 'rank' | 'updated', key: number, id: string): string {
	return Buffer.from(JSON.stringify([order, key, id])).toString('base64url');
}

function decodeCursor(cursor: string, order: 'rank' | 'updated'): [number, string] {
	let decoded: unknown;
	try {
		decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString());
	} catch {
		decoded = null;
	}
	if (!Array.isArray(decoded) || decoded.length !== 3 || decoded[0] !== order || typeof decoded[1] !== 'number' || !Number.isFinite(decoded[1]) || typeof decoded[2] !== 'string') {
		throw new ApiError(400, 'invalid_field', 'cursor: not a cursor of this search', 'cursor');
	}
	return [decoded[1], decoded[2]];
}


