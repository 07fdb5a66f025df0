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

/** Words too common to tell articles apart; left out of the query (suggestions come from subjects). */
const STOPWORDS = new Set(
	'a an and are as at be but by can do does for from have how i in is it its my me no not of on or our so that the this to was we what when where which why with you your'.split(' ')
);

/** The words of `text` worth searching for, lower-cased, in order, at most MAX_SEARCH_WORDS. */
export function searchWords(text: string): string[] {
	const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
	return words.filter((w) => w.length <= MAX_WORD_LENGTH && !STOPWORDS.has(w)).slice(0, MAX_SEARCH_WORDS);
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
