/**
 * The ticket search language, one parser for the workspace's search box, `GET /api/v1/search` and
 * saved views (which store the query string): words, "quoted phrases", `-` to exclude any term,
 * and operators (`status:open`, `created>7d`, `#1042`…). Pure: what names and relative times
 * mean is decided by the server when it runs the query (server/search/).
 *
 * Words reach the search engines only as runs of letters and digits, so nothing a person types
 * (quotes, `*`, `NEAR(`, `OR`, `col:`) can become engine syntax.
 */
import { CHANNELS, PRIORITIES, SATISFACTION_VALUES, STATUSES, type Channel, type Priority, type Satisfaction, type Status } from './ticket';

/** The longest query accepted (characters). */
export const MAX_QUERY_LENGTH = 500;
/** Terms a query may hold (words, phrases and operators together). */
export const MAX_QUERY_TERMS = 24;
/** Words one phrase (or a word with punctuation inside, such as an email address) may hold. */
const MAX_PHRASE_WORDS = 16;
/** Longer "words" are pasted noise, never a word anything is found by. */
const MAX_WORD_LENGTH = 64;
/** A relative time reaches back at most this far (about ten years, in its unit's terms). */
const MAX_RELATIVE_MS = 10 * 366 * 24 * 3600_000;

/** A time an operator compares with: a moment, or a span before the moment the query runs. */
export type SearchTime = { at: number } | { ago: number };

export type SearchTerm = { negated: boolean } & (
	| { kind: 'text'; words: string[]; phrase: boolean }
	| { kind: 'status'; values: Status[] }
	| { kind: 'priority'; values: Priority[] }
	| { kind: 'channel'; values: Channel[] }
	/** The survey of the ticket's latest solve: asked and unanswered, or the answer. */
	| { kind: 'satisfaction'; values: Satisfaction[] }
	/** `me`, `none`, or a colleague's name or email address. */
	| { kind: 'assignee'; value: string }
	| { kind: 'group'; value: string }
	| { kind: 'tag'; value: string }
	| { kind: 'requester'; value: string }
	| { kind: 'has'; value: 'attachment' }
	| { kind: 'is'; value: 'unread' }
	| { kind: 'time'; field: 'created' | 'updated'; comparison: '>' | '<'; time: SearchTime }
	| { kind: 'number'; value: number }
	/**
	 * A custom field's value: `:` exact for choices, numbers, dates and checkboxes, words for text
	 * (`field.order_number:12345`); `>` and `<` above or below it, for numbers, decimals and dates
	 * (`field.amount>-3.5`). What the value means depends on the field's type, known to the server.
	 */
	| { kind: 'field'; key: string; comparison: ':' | '>' | '<'; value: string }
);

export type TextTerm = Extract<SearchTerm, { kind: 'text' }>;

export interface SearchQuery {
	terms: SearchTerm[];
}

/** A query that cannot be run, naming the term at fault (shown under the search box, or a 400). */
export class SearchQueryError extends Error {
	override readonly name = 'SearchQueryError';
	constructor(
		readonly term: string,
		readonly reason: string
	) {
		super(`${term.length > 40 ? term.slice(0, 39) + '…' : term}: ${reason}`);
	}
}

/** Operators, with what they take: shown in errors and the README. */
const SEARCH_OPERATORS = [
	'status:',
	'priority:',
	'assignee:',
	'group:',
	'tag:',
	'channel:',
	'satisfaction:',
	'requester:',
	'has:attachment',
	'is:unread',
	'created>',
	'created<',
	'updated>',
	'updated<',
	'#123',
	'field.<key>:',
	'field.<key>>',
	'field.<key><'
] as const;

/** What a time compares with, as errors say it. */
export const SEARCH_TIME_FORMS = 'a date (2025-01-31) or a time ago (30m, 12h, 7d, 2w)';

const RELATIVE_UNITS: Record<string, number> = { m: 60_000, h: 3600_000, d: 86400_000, w: 7 * 86400_000 };

/** The words of `text` as the engines split it: runs of letters and digits, lower-cased. */
export function wordsOf(text: string): string[] {
	return [...text.toLowerCase().matchAll(/[\p{L}\p{N}]+/gu)].map(([word]) => word);
}

/** Parses a query; throws SearchQueryError naming the first term it cannot take. */
export function parseSearchQuery(input: string): SearchQuery {
	if (input.length > MAX_QUERY_LENGTH) throw new SearchQueryError(input.slice(0, 20) + '…', `a search is at most ${MAX_QUERY_LENGTH} characters`);
	const terms: SearchTerm[] = [];
	for (const token of tokens(input)) {
		const term = termOf(token);
		if (!term) continue;
		if (terms.length === MAX_QUERY_TERMS) throw new SearchQueryError(token.raw, `a search has at most ${MAX_QUERY_TERMS} terms`);
		terms.push(term);
	}
	return { terms };
}

/** The query as text again, in the form the parser reads back as the same terms. */
export function formatSearchQuery(query: SearchQuery): string {
	return query.terms.map(formatTerm).join(' ');
}

function formatTerm(term: SearchTerm): string {
	const sign = term.negated ? '-' : '';
	const quoted = (value: string) => (/^[^\s"]+$/.test(value) ? value : `"${value.replaceAll('"', '')}"`);
	switch (term.kind) {
		case 'text':
			return sign + (term.phrase || term.words.length > 1 ? `"${term.words.join(' ')}"` : term.words[0]);
		case 'status':
		case 'priority':
		case 'channel':
		case 'satisfaction':
			return `${sign}${term.kind}:${term.values.join(',')}`;
		case 'assignee':
		case 'group':
		case 'tag':
		case 'requester':
		case 'has':
		case 'is':
			return `${sign}${term.kind}:${quoted(term.value)}`;
		case 'time':
			return `${sign}${term.field}${term.comparison}${'at' in term.time ? new Date(term.time.at).toISOString() : spanOf(term.time.ago)}`;
		case 'number':
			return `${sign}#${term.value}`;
		case 'field':
			return `${sign}field.${term.key}${term.comparison}${quoted(term.value)}`;
	}
}

/** A span in its largest whole unit: `7d`, not `10080m`. */
function spanOf(ms: number): string {
	const [unit, size] = Object.entries(RELATIVE_UNITS)
		.sort((a, b) => b[1] - a[1])
		.find(([, size]) => ms % size === 0) ?? ['m', RELATIVE_UNITS.m!];
	return `${Math.round(ms / size)}${unit}`;
}

interface Token {
	/** As typed, for errors. */
	raw: string;
	negated: boolean;
	/** An operator's name and its sign (`:`, `>` or `<`), absent for words and phrases. */
	operator?: { name: string; sign: ':' | '>' | '<' };
	value: string;
	quoted: boolean;
}

/**
 * Splits a query into terms: `-` before a term excludes it, double quotes group words (an
 * unclosed quote runs to the end), `name:value` / `name>value` / `name<value` is an operator
 * whose value may be quoted.
 */
function* tokens(input: string): Generator<Token> {
	let at = 0;
	const quotedFrom = (start: number) => {
		const end = input.indexOf('"', start + 1);
		const stop = end === -1 ? input.length : end;
		return { value: input.slice(start + 1, stop), next: end === -1 ? input.length : end + 1 };
	};
	while (at < input.length) {
		if (/\s/.test(input[at]!)) {
			at++;
			continue;
		}
		const start = at;
		const negated = input[at] === '-' && at + 1 < input.length && !/\s/.test(input[at + 1]!);
		if (negated) at++;
		if (input[at] === '"') {
			const { value, next } = quotedFrom(at);
			at = next;
			yield { raw: input.slice(start, at), negated, value, quoted: true };
			continue;
		}
		const operator = /^([a-z]+(?:\.[a-z][a-z0-9_]*)?)([:<>])/i.exec(input.slice(at));
		if (operator) {
			at += operator[0].length;
			let value: string;
			let quoted = false;
			if (input[at] === '"') {
				({ value, next: at } = quotedFrom(at));
				quoted = true;
			} else {
				const end = input.slice(at).search(/\s/);
				value = end === -1 ? input.slice(at) : input.slice(at, at + end);
				at += value.length;
			}
			yield { raw: input.slice(start, at), negated, operator: { name: operator[1]!.toLowerCase(), sign: operator[2] as ':' | '>' | '<' }, value, quoted };
			continue;
		}
		const end = input.slice(at).search(/\s/);
		const value = end === -1 ? input.slice(at) : input.slice(at, at + end);
		at += value.length;
		yield { raw: input.slice(start, at), negated, value, quoted: false };
	}
}

function termOf(token: Token): SearchTerm | null {
	const { negated, raw } = token;
	if (!token.operator) {
		const number = !token.quoted && /^#(\d{1,9})$/.exec(token.value);
		if (number) return { kind: 'number', value: Number(number[1]), negated };
		const words = wordsOf(token.value);
		if (words.length === 0) return null; // punctuation only: nothing to look for
		if (words.length > MAX_PHRASE_WORDS) throw new SearchQueryError(raw, `a phrase has at most ${MAX_PHRASE_WORDS} words`);
		const long = words.find((word) => word.length > MAX_WORD_LENGTH);
		if (long) throw new SearchQueryError(raw, `a word is at most ${MAX_WORD_LENGTH} characters`);
		return { kind: 'text', words, phrase: token.quoted, negated };
	}
	const { name, sign } = token.operator;
	const value = token.value.trim();
	const fail = (message: string): never => {
		throw new SearchQueryError(raw, message);
	};
	if (name === 'created' || name === 'updated') {
		if (sign === ':') return fail(`compare with > or < (${name}>7d, ${name}<2025-01-31)`);
		return { kind: 'time', field: name, comparison: sign, time: parseSearchTime(value) ?? fail(`expected ${SEARCH_TIME_FORMS}`), negated };
	}
	const customField = name.startsWith('field.');
	if (sign !== ':' && !customField) fail(`unknown operator; known ones: ${SEARCH_OPERATORS.join(' ')}`);
	if (!value) fail('a value is missing');
	if (value.length > 200) fail('the value is too long');
	const listOf = <T extends string>(allowed: readonly T[]): T[] => {
		const values = value.toLowerCase().split(',').filter(Boolean);
		const unknown = values.find((v) => !allowed.includes(v as T));
		if (unknown !== undefined || values.length === 0) fail(`expected ${allowed.join(', ')} (several separated by commas)`);
		return [...new Set(values as T[])];
	};
	if (customField) return { kind: 'field', key: name.slice('field.'.length), comparison: sign, value, negated };
	switch (name) {
		case 'status':
			return { kind: 'status', values: listOf(STATUSES), negated };
		case 'priority':
			return { kind: 'priority', values: listOf(PRIORITIES), negated };
		case 'channel':
			return { kind: 'channel', values: listOf(CHANNELS), negated };
		case 'satisfaction':
			return { kind: 'satisfaction', values: listOf(SATISFACTION_VALUES), negated };
		case 'assignee':
		case 'group':
		case 'requester':
			return { kind: name, value, negated };
		case 'tag':
			return { kind: 'tag', value: value.toLowerCase(), negated };
		case 'has':
			if (value.toLowerCase() !== 'attachment') fail('only has:attachment is known');
			return { kind: 'has', value: 'attachment', negated };
		case 'is':
			if (value.toLowerCase() !== 'unread') fail('only is:unread is known');
			return { kind: 'is', value: 'unread', negated };
		default:
			return fail(`unknown operator; known ones: ${SEARCH_OPERATORS.join(' ')}`);
	}
}

/** A date (`2025-01-31`, UTC midnight), an ISO time, or a span ago (`7d`); null when it is none of them. */
export function parseSearchTime(value: string): SearchTime | null {
	const relative = /^(\d{1,6})([mhdw])$/i.exec(value);
	if (relative) {
		const ago = Number(relative[1]) * RELATIVE_UNITS[relative[2]!.toLowerCase()]!;
		return ago <= MAX_RELATIVE_MS ? { ago } : null;
	}
	if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/.test(value)) return null;
	// A date alone, or a time without a zone, is read as UTC: the same on every server.
	const at = Date.parse(value.length === 10 || /T[\d:.]+$/.test(value) ? `${value.length === 10 ? value + 'T00:00' : value}Z` : value);
	return Number.isFinite(at) ? { at } : null;
}
