/**
 * Help-centre Markdown as HTML, with markdown-it (raw HTML off: it is shown as text) and
 * sanitize-html after it, against a short allow-list: link targets limited to http(s), mailto and
 * site paths. Headings move down a level: the article's title is the page's only top heading.
 */
import MarkdownIt from 'markdown-it';
import sanitizeHtml from 'sanitize-html';

const markdown = new MarkdownIt({ html: false, linkify: false, typographer: false });
markdown.core.ruler.push('headings_below_title', (state) => {
	for (const token of state.tokens) {
		if (token.type === 'heading_open' || token.type === 'heading_close') token.tag = `h${Math.min(6, Number(token.tag.slice(1)) + 1)}`;
	}
});

const ALLOWED: sanitizeHtml.IOptions = {
	allowedTags: ['h2', 'h3', 'h4', 'h5', 'h6', 'p', 'ul', 'ol', 'li', 'blockquote', 'pre', 'code', 'strong', 'em', 'a', 'br', 'hr'],
	allowedAttributes: { a: ['href', 'rel'] },
	allowedSchemes: ['http', 'https', 'mailto'],
	allowProtocolRelative: false,
	transformTags: { a: sanitizeHtml.simpleTransform('a', { rel: 'noopener' }) }
};

export function renderMarkdown(text: string): string {
	return sanitizeHtml(markdown.render(text), ALLOWED);
}
