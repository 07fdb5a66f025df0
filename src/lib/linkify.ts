/**
 * Entry text as the workspace shows it: plain text cut into segments, some of them links. The
 * components render segments as text nodes and <a> elements (never as HTML), so whatever a
 * customer writes stays text; only http(s) and mailto targets ever become links.
 */

export type TextSegment = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string };

/**
 * A candidate: a scheme the workspace links (http, https, mailto), a `www.` host, or a bare email
 * address, not glued to a word before it. Runs to the next white space or character that cannot
 * stand unescaped in a URL; trailing punctuation is trimmed afterwards.
 */
const CANDIDATE = /(?<![\p{L}\p{N}_@./:+-])(?:https?:\/\/|mailto:|www\.)[^\s<>"`\u0000-\u001f\u007f]+|(?<![\p{L}\p{N}_@./:+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\p{L}\p{N}_@-])/giu;

/** Sentence punctuation that ends a URL written in prose rather than belonging to it. */
const TRAILING = /[.,;:!?'"*_~\u2019\u201d\u00bb]+$/u;
const CLOSERS: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

/** Longest link considered; longer runs stay text (a link of megabytes helps nobody). */
export const MAX_LINK_LENGTH = 2048;

/** `text` cut into text and link segments; joined, their texts are `text` exactly. */
export function linkify(text: string): TextSegment[] {
	const segments: TextSegment[] = [];
	let done = 0;
	for (const match of text.matchAll(CANDIDATE)) {
		const start = match.index;
		const raw = trimTrailing(match[0]);
		const href = raw.length <= MAX_LINK_LENGTH ? hrefOf(raw) : null;
		if (!href) continue;
		if (start > done) segments.push({ kind: 'text', text: text.slice(done, start) });
		segments.push({ kind: 'link', text: raw, href });
		done = start + raw.length;
	}
	if (done < text.length) segments.push({ kind: 'text', text: text.slice(done) });
	return segments;
}

/** Drops trailing punctuation and closing brackets that have no opening one inside the link. */
function trimTrailing(candidate: string): string {
	let link = candidate;
	for (;;) {
		const trimmed = link.replace(TRAILING, '');
		const last = trimmed.at(-1);
		const opener = last ? CLOSERS[last] : undefined;
		if (opener && count(trimmed, opener) < count(trimmed, last!)) link = trimmed.slice(0, -1);
		else return trimmed;
	}
}

const count = (text: string, char: string) => text.split(char).length - 1;

/** The link target for a candidate, or null when it is no http(s) or mailto URL worth linking. */
function hrefOf(link: string): string | null {
	const lower = link.toLowerCase();
	const written = lower.startsWith('http://') || lower.startsWith('https://') || lower.startsWith('mailto:') ? link : lower.startsWith('www.') ? `https://${link}` : `mailto:${link}`;
	let url: URL;
	try {
		url = new URL(written);
	} catch {
		return null;
	}
	if (url.protocol === 'mailto:') return url.pathname.includes('@') ? url.href : null;
	if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
	// A host needs a dot or is localhost: "http://." or "https://-" is punctuation, not a place.
	return /^[^.].*\.[^.]+$|^localhost$|^\[.+\]$/i.test(url.hostname) ? url.href : null;
}

/** Link attributes: a new page that cannot reach back into the workspace or learn where it came from. */
export const LINK_ATTRIBUTES = { target: '_blank', rel: 'noopener noreferrer nofollow' } as const;

/** Text longer than this many estimated lines shows folded, with "Show more". */
export const FOLD_ABOVE_LINES = 14;
/** Lines a folded text shows. */
export const FOLDED_LINES = 10;
/** Characters a line of an entry holds at the narrowest, for estimating wrapped lines. */
const CHARACTERS_PER_LINE = 120;

/**
 * Whether `text` is long enough to fold: more than FOLD_ABOVE_LINES lines, counting a long line as
 * the lines it wraps to. Decided from the text alone (not measured), so a folded entry has its
 * final height when it is first laid out and the conversation still ends at its newest entry.
 */
export function isLongText(text: string): boolean {
	let lines = 0;
	let start = 0;
	while (start <= text.length) {
		const end = text.indexOf('\n', start);
		const length = (end === -1 ? text.length : end) - start;
		lines += Math.max(1, Math.ceil(length / CHARACTERS_PER_LINE));
		if (lines > FOLD_ABOVE_LINES) return true;
		if (end === -1) break;
		start = end + 1;
	}
	return false;
}
