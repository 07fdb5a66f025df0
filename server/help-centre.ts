/**
 * The help centre: Markdown articles admins write and publish, readable by customers under /help
 * and searched by agents in the context panel. Search uses each engine's full-text index, the table
 * `help_articles_fts` on both, kept in step with the articles in the same transaction as each
 * write: SQLite's FTS5 ranked with bm25, PostgreSQL's tsvector (GIN index, drizzle/migrations-pg
 * 0002_help_search) ranked with ts_rank. Both fold accents and stem English words, and weigh a title
 * match above tags, tags above the body; both give highlighted titles and snippets.
 */
import { and, eq, sql, type SQL } from 'drizzle-orm';
import type { helpArticles } from '../drizzle/schema';
import { slugify, type ArticleInput } from '../src/lib/api/context';
import { searchWords } from '../src/lib/search-words';
import { newId } from '../src/lib/ticket';
import { actorOf, type Principal } from './auth/principal';
import { ApiError, notFound } from './errors';
import type { Events } from './events';
import { isUniqueViolation, type Store } from './storage/store';

export type Article = typeof helpArticles.$inferSelect;

export interface ArticleHit {
	id: string;
	slug: string;
	title: string;
	section: string;
	status: Article['status'];
	/** The title with matched words in `<mark>`; everything else HTML-escaped. */
	titleHtml: string;
	/** A passage of the body around the matches, as plain text (for quoting). */
	snippet: string;
	/** The same passage, HTML-escaped, matches in `<mark>`. */
	snippetHtml: string;
}

// Marks put around matches: control characters no article contains, escaped afterwards.
const OPEN = '\u0002';
const CLOSE = '\u0003';
const SNIPPET_TOKENS = 24;
/** FTS5 bm25 weights by column: article_id (unindexed), title, tags, body. */
const FTS5_WEIGHTS = sql.raw('0.0, 10.0, 4.0, 1.0');
/**
 * PostgreSQL: ts_rank's default weights of the migration's labels, title (A) 1.0, tags (B) 0.4,
 * body (D) 0.1, are FTS5's ratios; rank 1 divides by 1 + log(length), as bm25 favours short matches.
 */
const RANK_NORMALISATION = 1;
const TITLE_HEADLINE = `StartSel=${OPEN}, StopSel=${CLOSE}, HighlightAll=true`;
/** One passage around the matches, as FTS5's snippet: its length in words, short words kept. */
const SNIPPET_HEADLINE = `StartSel=${OPEN}, StopSel=${CLOSE}, MaxFragments=1, MaxWords=${SNIPPET_TOKENS}, MinWords=${SNIPPET_TOKENS / 2}, ShortWord=0`;

/** Free slugs an article's creation tries before giving up (each try loses only to another creation). */
const SLUG_ATTEMPTS = 5;

type MatchedRow = Pick<Article, 'id' | 'slug' | 'title' | 'section' | 'status'> & { marked_title: string; marked_snippet: string; body?: string };

export class HelpCentre {
	constructor(
		private readonly store: Store,
		private readonly events: Events
	) {}

	/** Articles by section and title; only published ones unless `drafts`. */
	async list(options: { drafts?: boolean } = {}): Promise<Article[]> {
		const { helpArticles } = this.store.tables;
		return this.store.db
			.select()
			.from(helpArticles)
			.where(options.drafts ? undefined : eq(helpArticles.status, 'published'))
			.orderBy(sql`lower(${helpArticles.section})`, sql`lower(${helpArticles.title})`);
	}

	async get(id: string): Promise<Article | null> {
		const { helpArticles } = this.store.tables;
		const [article] = await this.store.db.select().from(helpArticles).where(eq(helpArticles.id, id)).limit(1);
		return article ?? null;
	}

	/** A published article by its slug (what /help/<slug> shows), or null. */
	async published(slug: string): Promise<Article | null> {
		const { helpArticles } = this.store.tables;
		const [article] = await this.store.db
			.select()
			.from(helpArticles)
			.where(and(eq(helpArticles.slug, slug), eq(helpArticles.status, 'published')))
			.limit(1);
		return article ?? null;
	}

	/**
	 * A new article at `input.slug`, else at a free slug made from its title: taken again when
	 * another article took that one meanwhile (articles of one title created at once).
	 */
	async create(input: ArticleInput, by: Principal): Promise<Article> {
		const { helpArticles } = this.store.tables;
		for (let attempt = 1; ; attempt++) {
			const now = Date.now();
			const slug = input.slug ?? (await this.freeSlug(slugify(input.title)));
			const article: Article = { id: newId(), ...fieldsOf(input), slug, createdAt: now, updatedAt: now, publishedAt: input.status === 'published' ? now : null };
			try {
				await this.write(async () => {
					await this.store.db.insert(helpArticles).values(article);
					await this.index(article);
					await this.record(by, 'article.created', article);
				}, slug);
				return article;
			} catch (error) {
				if (input.slug || attempt === SLUG_ATTEMPTS || !(error instanceof ApiError && error.field === 'slug')) throw error;
			}
		}
	}

	/**
	 * Replaces an article; its slug stays unless a new one is given. The article is locked while
	 * what it was (published or not) decides the event and the publication time.
	 */
	async update(id: string, input: ArticleInput, by: Principal): Promise<Article> {
		const { helpArticles } = this.store.tables;
		const slug = input.slug ?? (await this.get(id))?.slug;
		if (!slug) throw notFound('article');
		return this.write(async () => {
			const db = this.store.db;
			await this.store.lock(db, helpArticles, eq(helpArticles.id, id));
			const [existing] = await db.select().from(helpArticles).where(eq(helpArticles.id, id)).limit(1);
			if (!existing) throw notFound('article');
			const publishedAt = input.status === 'published' ? (existing.publishedAt ?? Date.now()) : null;
			const [updated] = await db
				.update(helpArticles)
				.set({ ...fieldsOf(input), slug: input.slug ?? existing.slug, publishedAt, updatedAt: Date.now() })
				.where(eq(helpArticles.id, id))
				.returning();
			await this.index(updated!);
			await this.record(by, existing.status !== updated!.status ? `article.${updated!.status === 'published' ? 'published' : 'unpublished'}` : 'article.updated', updated!);
			return updated!;
		}, slug);
	}

	async delete(id: string, by: Principal): Promise<void> {
		const { helpArticles } = this.store.tables;
		await this.store.transaction(async () => {
			const [deleted] = await this.store.db.delete(helpArticles).where(eq(helpArticles.id, id)).returning();
			if (!deleted) throw notFound('article');
			await this.store.run(sql`DELETE FROM help_articles_fts WHERE article_id = ${id}`);
			await this.record(by, 'article.deleted', deleted);
		});
	}

	/**
	 * Articles matching `query`, best first. Every word must match (as a prefix); when no article
	 * has them all, articles with any of them, still ranked — so a ticket's subject finds articles
	 * sharing some of its words. A query's own syntax never reaches the engine: only its words do.
	 */
	async search(query: string, options: { drafts?: boolean; limit?: number } = {}): Promise<ArticleHit[]> {
		const words = searchWords(query);
		if (!words.length) return [];
		const all = await this.match(words, 'AND', options);
		return all.length || words.length === 1 ? all : this.match(words, 'OR', options);
	}

	/** Articles with all (AND) or any (OR) of `words` as word prefixes, ranked, with marked title and snippet. */
	private async match(words: string[], operator: 'AND' | 'OR', { drafts = false, limit = 10 }: { drafts?: boolean; limit?: number }): Promise<ArticleHit[]> {
		const a = this.store.tables.helpArticles;
		const shown = sql`${a.id} AS id, ${a.slug} AS slug, ${a.title} AS title, ${a.section} AS section, ${a.status} AS status`;
		const published = drafts ? sql`` : sql`AND ${a.status} = 'published'`;
		// Words are letters and digits only (searchWords), so quoting each one cannot break out.
		let query: SQL;
		if (this.store.engine === 'sqlite') {
			const expression = words.map((w) => `"${w}"*`).join(` ${operator} `);
			query = sql`SELECT ${shown},
				   highlight(help_articles_fts, 1, ${OPEN}, ${CLOSE}) AS marked_title,
				   snippet(help_articles_fts, 3, ${OPEN}, ${CLOSE}, '…', ${SNIPPET_TOKENS}) AS marked_snippet
				 FROM help_articles_fts JOIN ${a} ON ${a.id} = help_articles_fts.article_id
				 WHERE help_articles_fts MATCH ${expression} ${published}
				 ORDER BY bm25(help_articles_fts, ${FTS5_WEIGHTS}), ${a.title}
				 LIMIT ${limit}`;
		} else {
			const expression = words.map((w) => `'${w}':*`).join(operator === 'AND' ? ' & ' : ' | ');
			query = sql`SELECT ${shown},
				   ts_headline('tandem_search', help_articles_fts.title, q.query, ${TITLE_HEADLINE}) AS marked_title,
				   ts_headline('tandem_search', help_articles_fts.body, q.query, ${SNIPPET_HEADLINE}) AS marked_snippet, help_articles_fts.body
				 FROM help_articles_fts JOIN ${a} ON ${a.id} = help_articles_fts.article_id,
				   to_tsquery('tandem_search', ${expression}) AS q(query)
				 WHERE help_articles_fts.words @@ q.query ${published}
				 ORDER BY ts_rank(help_articles_fts.words, q.query, ${RANK_NORMALISATION}) DESC, ${a.title}
				 LIMIT ${limit}`;
		}
		const rows = await this.store.all<MatchedRow>(query);
		return rows.map(({ marked_title, marked_snippet, body, ...row }) => {
			const snippet = body === undefined ? marked_snippet : cutMarks(body, marked_snippet);
			return { ...row, titleHtml: markedHtml(marked_title), snippet: snippet.replaceAll(OPEN, '').replaceAll(CLOSE, ''), snippetHtml: markedHtml(snippet) };
		});
	}

	/** Runs a write in a transaction; a slug another article has already becomes a 400 naming `slug`. */
	private async write<T>(run: () => Promise<T>, slug: string): Promise<T> {
		try {
			return await this.store.transaction(run);
		} catch (error) {
			if (isUniqueViolation(error)) throw new ApiError(400, 'invalid_field', `slug: another article already has the address /help/${slug}`, 'slug');
			throw error;
		}
	}

	/** A slug no article has yet: `slug`, else `slug-2`, `slug-3`… */
	private async freeSlug(slug: string): Promise<string> {
		const { helpArticles } = this.store.tables;
		const rows = await this.store.db
			.select({ slug: helpArticles.slug })
			.from(helpArticles)
			.where(sql`${helpArticles.slug} = ${slug} OR ${helpArticles.slug} LIKE ${slug + '-%'}`);
		const taken = new Set(rows.map((r) => r.slug));
		let candidate = slug;
		for (let n = 2; taken.has(candidate); n++) candidate = `${slug}-${n}`;
		return candidate;
	}

	/**
	 * The article's words in the full-text table, replacing what was there (same transaction). The
	 * body goes in as plain text, so snippets read as prose and can be quoted as they are.
	 */
	private async index(article: Article): Promise<void> {
		await this.store.run(sql`DELETE FROM help_articles_fts WHERE article_id = ${article.id}`);
		await this.store.run(sql`INSERT INTO help_articles_fts (article_id, title, tags, body) VALUES (${article.id}, ${article.title}, ${article.tags.join(' ')}, ${plainText(article.body)})`);
	}

	private async record(by: Principal, type: string, article: Article): Promise<void> {
		await this.events.record({ actor: actorOf(by), type, data: { articleId: article.id, title: article.title, slug: article.slug } });
	}
}

/** Exactly the stored fields of an input. */
const fieldsOf = ({ title, section, tags, body, status }: ArticleInput) => ({ title, section, tags, body, status });

/** Markdown as the words a reader sees: links keep their text, markup and code fences go. */
export function plainText(markdown: string): string {
	return markdown
		.replace(/^```.*$/gm, '')
		.replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
		.replace(/^[ \t]{0,3}(#{1,6}|>|[-*]|\d+[.)])[ \t]+/gm, '')
		.replace(/(\*\*|\*|`)(?=\S)([^]*?\S)\1/g, '$2')
		.replace(/(^|\W)(__|_)(?=\S)([^]*?\S)\2(?!\w)/g, '$1$3');
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** A PostgreSQL headline of `body` with '…' where it cuts the body, as FTS5's snippet has. */
function cutMarks(body: string, marked: string): string {
	const passage = marked.replaceAll(OPEN, '').replaceAll(CLOSE, '');
	return `${body.startsWith(passage) ? '' : '…'}${marked}${body.endsWith(passage) ? '' : '…'}`;
}

/** Marked text as HTML: escaped, then the marks as `<mark>`. */
function markedHtml(marked: string): string {
	return escapeHtml(marked).replaceAll(OPEN, '<mark>').replaceAll(CLOSE, '</mark>');
}
