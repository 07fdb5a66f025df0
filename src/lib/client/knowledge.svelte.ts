/**
 * The context panel's Knowledge section: help-centre articles suggested from the ticket's subject,
 * a search box, and one click to put a link to an article, or a passage of it, into the draft.
 */
import { MAX_SEARCH_LENGTH, searchQuery } from '$lib/search-words';
import { composerOf } from './composer.svelte';
import type { TicketSession } from './ticket-session.svelte';
import { getJson } from './workspace.svelte';

export interface ArticleHit {
	id: string;
	slug: string;
	title: string;
	section: string;
	/** Server-escaped HTML: matched words in `<mark>`, nothing else. */
	titleHtml: string;
	snippet: string;
	snippetHtml: string;
}

const SEARCH_DEBOUNCE_MS = 200;
const RESULTS = 5;

export class KnowledgeState {
	/** What the agent typed; empty: suggestions from the subject. */
	query = $state('');
	results = $state.raw<ArticleHit[]>([]);
	/** The words the results are for. */
	searchedFor = $state('');
	loading = $state(false);
	error = $state<string | null>(null);
	/** What was last done, said to the agent (and to screen readers). */
	notice = $state('');

	private timer: ReturnType<typeof setTimeout> | null = null;
	private latest = 0;

	constructor(private readonly session: TicketSession) {}

	get suggesting(): boolean {
		return !this.query.trim();
	}

	/** Searches the subject's telling words while the agent has typed nothing. Call from an effect on the subject. */
	suggest(subject: string) {
		if (this.suggesting) void this.search(searchQuery(subject));
	}

	/** The agent typed: search after a short pause (or the subject again when cleared). */
	typed() {
		if (this.timer) clearTimeout(this.timer);
		this.timer = setTimeout(() => {
			this.timer = null;
			void this.search(this.query.trim().slice(0, MAX_SEARCH_LENGTH) || searchQuery(this.session.fields?.subject ?? ''));
		}, SEARCH_DEBOUNCE_MS);
	}

	async search(words: string) {
		const run = ++this.latest;
		if (!words.trim()) {
			this.results = [];
			this.searchedFor = '';
			return;
		}
		this.loading = true;
		try {
			const { articles } = await getJson<{ articles: ArticleHit[] }>(`/api/v1/help/articles?limit=${RESULTS}&q=${encodeURIComponent(words)}`);
			if (run !== this.latest) return;
			this.results = articles;
			this.searchedFor = words;
			this.error = null;
		} catch (error) {
			if (run === this.latest) this.error = 'The help centre could not be searched just now.';
		} finally {
			if (run === this.latest) this.loading = false;
		}
	}

	/** The article's public address. */
	url(hit: ArticleHit): string {
		return `${location.origin}/help/${hit.slug}`;
	}

	/** Puts "<title>: <address>" into the draft at the agent's cursor. */
	insertLink(hit: ArticleHit) {
		this.insert(`${hit.title}: ${this.url(hit)}`, `Link to “${hit.title}” inserted.`);
	}

	/**
	 * Quotes a passage of the article into the draft: the text the agent selected in its snippet,
	 * or else the whole snippet, with where it comes from.
	 */
	quote(hit: ArticleHit, selected = '') {
		const passage = (selected.trim() || hit.snippet).replace(/^…\s*|\s*…$/g, '').replace(/\s+/g, ' ').trim();
		const quoted = `> ${passage}\n\n(${hit.title}: ${this.url(hit)})`;
		this.insert(quoted, `Passage from “${hit.title}” quoted.`);
	}

	private insert(text: string, done: string) {
		const composer = composerOf(this.session);
		if (!composer || this.session.readOnly) {
			this.notice = 'There is no draft to insert into.';
			return;
		}
		composer.insertText(text);
		this.notice = done;
	}

	destroy() {
		if (this.timer) clearTimeout(this.timer);
	}
}
