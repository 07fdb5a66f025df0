/**
 * The HTML part of an outgoing email reply, rendered from the agent's plain text: blank lines
 * make paragraphs, single line breaks `<br>`, lines starting with ">" a blockquote (nested for
 * ">>"), http(s) and mailto links clickable. The text is untrusted: every piece of it is escaped
 * before any tag is added, and sanitize-html then keeps only those tags (and link schemes) as a
 * second guard. The signature follows after "-- ", rendered the same way.
 */
import sanitizeHtml from 'sanitize-html';

const ALLOWED: sanitizeHtml.IOptions = {
	allowedTags: ['p', 'br', 'blockquote', 'a', 'div'],
	allowedAttributes: { a: ['href'], blockquote: ['type'], div: ['class'] },
	allowedSchemes: ['http', 'https', 'mailto'],
	allowProtocolRelative: false
};

/** A link: http(s):// or mailto: up to white space or a character that cannot end one in text. */
const LINK = /\b(?:https?:\/\/|mailto:)[^\s<>"']+/gi;
/** Punctuation that ends a sentence rather than the link before it. */
const TRAILING = /[.,;:!?)\]}]+$/;

const escapeHtml = (text: string) =>
	text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** One line of text, escaped, its links made clickable. */
function inline(line: string): string {
	let html = '';
	let at = 0;
	for (const match of line.matchAll(LINK)) {
		const url = match[0].replace(TRAILING, '');
		// A scheme alone ("https://") is no link.
		if (/^(?:https?:\/\/|mailto:)$/i.test(url)) continue;
		html += escapeHtml(line.slice(at, match.index)) + `<a href="${escapeHtml(url)}">${escapeHtml(url)}</a>`;
		at = match.index + url.length;
	}
	return html + escapeHtml(line.slice(at));
}

/** Plain text as HTML blocks: paragraphs and blockquotes. */
function blocks(text: string, depth = 0): string {
	const lines = text.replace(/\r\n?/g, '\n').split('\n');
	let html = '';
	let paragraph: string[] = [];
	const flush = () => {
		if (paragraph.length) html += `<p>${paragraph.map(inline).join('<br>\n')}</p>\n`;
		paragraph = [];
	};
	for (let i = 0; i < lines.length; ) {
		const line = lines[i]!;
		// Deep nesting costs stack for nothing a reader could follow: past 8 levels quotes stay text.
		if (line.startsWith('>') && depth < 8) {
			flush();
			const quoted: string[] = [];
			while (i < lines.length && lines[i]!.startsWith('>')) quoted.push(lines[i++]!.replace(/^> ?/, ''));
			html += `<blockquote type="cite">\n${blocks(quoted.join('\n'), depth + 1)}</blockquote>\n`;
			continue;
		}
		if (line.trim()) paragraph.push(line);
		else flush();
		i++;
	}
	flush();
	return html;
}

/** The HTML part of a reply with body `text` and, if any, the support address's `signature`. */
export function replyHtml(text: string, signature: string | null): string {
	const body = blocks(text);
	const signed = signature ? `<div class="signature">\n<p>-- </p>\n${blocks(signature)}</div>\n` : '';
	return `<!doctype html>\n<html><body>\n${sanitizeHtml(body + signed, ALLOWED)}</body></html>\n`;
}
