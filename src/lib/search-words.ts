/**
 * The words a help-centre search looks for, shared by the server's search and the workspace that
 * builds suggestion queries from a ticket's subject: bounded in count, length and characters, so
 * a subject of any length makes a query the API accepts.
 */

/** The longest `q` the articles API accepts. */
export const MAX_SEARCH_LENGTH = 200;
/** Words a search keeps at most: the first ones say what a subject is about. */
export const MAX_SEARCH_WORDS = 12;
/** Longer "words" are pasted ids or noise, never a word an article is found by. */
const MAX_WORD_LENGTH = 40;

/**
 * Words too common to tell articles apart: left out of the query, so they neither narrow a
 * suggestion (they come from subjects and chat openings) nor get highlighted in the results.
 */
const STOPWORDS = new Set(
	(
		'a about after again all also am an and any are as at be been before but by can could did do does for from get got had has have he her hi ' +
		'hello here how i if in into is it its just me more my no not now of on or our out please she so some still than thank thanks that the ' +
		'their them then there they this to too up us very was we were what when where which who why will with would yet you your'
	).split(' ')
);

/**
 * The words of `text` worth searching for, lower-cased, in order, at most MAX_SEARCH_WORDS: no
 * stop words and no single characters. A contraction is one word ("hasn't" is not "hasn" and
 * "t", whose "t*" would match every t-word): a negation or a stop word's contraction is dropped,
 * a possessive keeps its noun ("Maggie's" → "maggie").
 */
export function searchWords(text: string): string[] {
	const words: string[] = [];
	for (const [token] of text.toLowerCase().matchAll(/[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu)) {
		const [stem, ...rest] = token.split(/['’]/);
		if (rest.length && (rest.at(-1) === 't' || STOPWORDS.has(stem))) continue;
		if (stem.length < 2 || stem.length > MAX_WORD_LENGTH || STOPWORDS.has(stem)) continue;
		words.push(stem);
		if (words.length === MAX_SEARCH_WORDS) break;
	}
	return words;
}

/** A search query for `text` (a subject of any length) within MAX_SEARCH_LENGTH characters. */
export function searchQuery(text: string): string {
	let query = '';
	for (const word of searchWords(text)) {
		if (query.length + word.length + 1 > MAX_SEARCH_LENGTH) break;
		query = query ? `${query} ${word}` : word;
	}
	return query;
}
