/**
 * Help-centre Markdown as HTML: a small renderer for what articles use (headings, paragraphs,
 * lists, quotes, code, emphasis, links), no Markdown library being installed. Every piece of text
 * is escaped before markup is added, raw HTML is never passed through, link targets are limited to
 * http(s), mailto and site paths, and sanitize-html checks the result once more against a short
 * allow-list.
 */
import sanitizeHtml from 'sanitize-html';
import { escapeHtml } from './help-centre';

const ALLOWED = {
	allowedTags: ['h2', 'h3', 'h4', 'p', 'ul', 'ol', 'li', 'blockquote', 'pre', 'code', 'strong', 'em', 'a', 'br'],
	allowedAttributes: { a: ['href', 'rel'] },
	allowedSchemes: ['http', 'https', 'mailto']
};

export function renderMarkdown(markdown: string): string {
	return sanitizeHtml(blocks(markdown.replace(/\r\n?/g, '\n')), ALLOWED);
}

function blocks(text: string): string {
	const lines = text.split('\n');
	const out: string[] = [];
	let i = 0;
	while (i < lines.length) {
		const line = lines[i]!;
		if (!line.trim()) {
			i++;
			continue;
		}
		if (line.startsWith('```')) {
			const code: string[] = [];
			for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) code.push(lines[i]!);
			i++;
			out.push(`<pre><code>${escapeHtml(code.join('\n'))}</code></pre>`);
			continue;
		}
		const heading = /^(#{1,3})\s+(.*)$/.exec(line);
		if (heading) {
			// An article's title is the page's h1: its own headings start at h2.
			const level = heading[1]!.length + 1;
			out.push(`<h${level}>${inline(heading[2]!)}</h${level}>`);
			i++;
			continue;
		}
		const list = /^\s*([-*]|\d+[.)])\s+/.exec(line);
		if (list) {
			const ordered = /\d/.test(list[1]!);
			const items: string[] = [];
			for (; i < lines.length && /^\s*([-*]|\d+[.)])\s+/.test(lines[i]!); i++) items.push(lines[i]!.replace(/^\s*([-*]|\d+[.)])\s+/, ''));
			const tag = ordered ? 'ol' : 'ul';
			out.push(`<${tag}>${items.map((item) => `<li>${inline(item)}</li>`).join('')}</${tag}>`);
			continue;
		}
		if (line.startsWith('>')) {
			const quoted: string[] = [];
			for (; i < lines.length && lines[i]!.startsWith('>'); i++) quoted.push(lines[i]!.replace(/^>\s?/, ''));
			out.push(`<blockquote>${blocks(quoted.join('\n'))}</blockquote>`);
			continue;
		}
		const paragraph: string[] = [];
		for (; i < lines.length && lines[i]!.trim() && !/^(#{1,3}\s|```|>|\s*([-*]|\d+[.)])\s)/.test(lines[i]!); i++) paragraph.push(lines[i]!.trim());
		out.push(`<p>${inline(paragraph.join('\n')).replaceAll('\n', ' ')}</p>`);
	}
	return out.join('\n');
}

/** Inline markup on escaped text: `code`, **strong**, *em* / _em_, [text](url). */
function inline(text: string): string {
	const codes: string[] = [];
	let html = escapeHtml(text).replace(/`([^`]+)`/g, (_, code: string) => `\u0000${codes.push(code) - 1}\u0000`);
	html = html
		.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_, label: string, href: string) => {
			const target = href.replaceAll('&amp;', '&');
			if (!/^(https?:\/\/|mailto:|\/(?!\/))/i.test(target)) return label;
			return `<a href="${escapeHtml(target)}" rel="noopener">${label}</a>`;
		})
		.replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>')
		.replace(/(^|[^\w*])\*(?!\s)(.+?)\*(?!\w)/g, '$1<em>$2</em>')
		.replace(/(^|[^\w])_(?!\s)(.+?)_(?!\w)/g, '$1<em>$2</em>');
	return html.replace(/\u0000(\d+)\u0000/g, (_, n: string) => `<code>${codes[Number(n)]}</code>`);
}
