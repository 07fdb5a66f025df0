/**
 * The help centre: Markdown articles admins write and publish, readable by customers under /help
 * and searched by agents in the context panel. Search is SQLite FTS5 (`help_articles_fts`), ranked
 * with bm25 (a title match outweighs tags, tags outweigh the body), with highlighted snippets.
 */
import type Database from 'better-sqlite3';
import { and, eq, sql } from 'drizzle-orm';
import { helpArticles } from '../drizzle/schema';
import { slugify, type ArticleInput } from '../src/lib/api/context';
import { searchWords } from '../src/lib/search-words';
import { newId } from '../src/lib/ticket';
import { actorOf, type Principal } from './auth/principal';
import { ApiError, notFound } from './errors';
import type { Events } from './events';
import type { Db } from './storage/database';

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

// Marks FTS5 puts around matches: control characters no article contains, escaped afterwards.
const OPEN = '\u0002';
const CLOSE = '\u0003';
const SNIPPET_TOKENS = 24;
/** bm25 weights by column: article_id (unindexed), title, tags, body. */
const WEIGHTS = '0.0, 10.0, 4.0, 1.0';

export class HelpCentre {
	private readonly ftsInsert: Database.Statement<[string, string, string, string]>;
	private readonly ftsDelete: Database.Statement<[string]>;

	constructor(
		private readonly db: Db,
		private readonly events: Events
	) {
		this.ftsInsert = db.$client.prepare('INSERT INTO help_articles_fts (article_id, title, tags, body) VALUES (?, ?, ?, ?)');
		this.ftsDelete = db.$client.prepare('DELETE FROM help_articles_fts WHERE article_id = ?');
	}

	/** Articles by section and title; only published ones unless `drafts`. */
	list(options: { drafts?: boolean } = {}): Article[] {
		return this.db
			.select()
			.from(helpArticles)
			.where(options.drafts ? undefined : eq(helpArticles.status, 'published'))
			.orderBy(sql`${helpArticles.section} COLLATE NOCASE`, sql`${helpArticles.title} COLLATE NOCASE`)
			.all();
	}

	get(id: string): Article | null {
		return this.db.select().from(helpArticles).where(eq(helpArticles.id, id)).get() ?? null;
	}

	/** A published article by its slug (what /help/<slug> shows), or null. */
	published(slug: string): Article | null {
		return this.db.select().from(helpArticles).where(and(eq(helpArticles.slug, slug), eq(helpArticles.status, 'published'))).get() ?? null;
	}

	create(input: ArticleInput, by: Principal): Article {
		const now = Date.now();
		const article: Article = {
			id: newId(),
			...fieldsOf(input),
			slug: input.slug ?? this.freeSlug(slugify(input.title)),
			createdAt: now,
			updatedAt: now,
			publishedAt: input.status === 'published' ? now : null
		};
		this.write(() => {
			this.db.insert(helpArticles).values(article).run();
			this.index(article);
			this.record(by, 'article.created', article);
		}, article.slug);
		return article;
	}

	/** Replaces an article; its slug stays unless a new one is given. */
	update(id: string, input: ArticleInput, by: Principal): Article {
		const existing = this.get(id);
		if (!existing) throw notFound('article');
		const slug = input.slug ?? existing.slug;
		const publishedAt = input.status === 'published' ? (existing.publishedAt ?? Date.now()) : null;
		return this.write(() => {
			const updated = this.db
				.update(helpArticles)
				.set({ ...fieldsOf(input), slug, publishedAt, updatedAt: Date.now() })
				.where(eq(helpArticles.id, id))
				.returning()
				.get()!;
			this.index(updated);
			this.record(by, existing.status !== updated.status ? `article.${updated.status === 'published' ? 'published' : 'unpublished'}` : 'article.updated', updated);
			return updated;
		}, slug);
	}

	delete(id: string, by: Principal): void {
		this.db.transaction(() => {
			const deleted = this.db.delete(helpArticles).where(eq(helpArticles.id, id)).returning().get();
			if (!deleted) throw notFound('article');
			this.ftsDelete.run(id);
			this.record(by, 'article.deleted', deleted);
		});
	}

	/**
	 * Articles matching `query`, best first. Every word must match (as a prefix); when no article
	 * has them all, articles with any of them, still ranked by bm25 — so a ticket's subject finds
	 * articles sharing some of its words.
	 */
	search(query: string, options: { drafts?: boolean; limit?: number } = {}): ArticleHit[] {
		const words = searchWords(query);
		if (!words.length) return [];
		const terms = words.map((w) => `"${w}"*`);
		const all = this.match(terms.join(' AND '), options);
		return all.length || terms.length === 1 ? all : this.match(terms.join(' OR '), options);
	}

	private match(expression: string, { drafts = false, limit = 10 }: { drafts?: boolean; limit?: number }): ArticleHit[] {
		const rows = this.db.$client
			.prepare(
				`SELECT a.id, a.slug, a.title, a.section, a.status,
				   highlight(help_articles_fts, 1, '${OPEN}', '${CLOSE}') AS marked_title,
				   snippet(help_articles_fts, 3, '${OPEN}', '${CLOSE}', '…', ${SNIPPET_TOKENS}) AS marked_snippet
				 FROM help_articles_fts JOIN help_articles a ON a.id = help_articles_fts.article_id
				 WHERE help_articles_fts MATCH ? ${drafts ? '' : "AND a.status = 'published'"}
				 ORDER BY bm25(help_articles_fts, ${WEIGHTS}), a.title
				 LIMIT ?`
			)
			.all(expression, limit) as (Pick<Article, 'id' | 'slug' | 'title' | 'section' | 'status'> & { marked_title: string; marked_snippet: string })[];
		return rows.map(({ marked_title, marked_snippet, ...row }) => ({
			...row,
			titleHtml: markedHtml(marked_title),
			snippet: marked_snippet.replaceAll(OPEN, '').replaceAll(CLOSE, ''),
			snippetHtml: markedHtml(marked_snippet)
		}));
	}

	/** Runs a write; a slug another article has already becomes a 400 naming `slug`. */
	private write<T>(run: () => T, slug: string): T {
		try {
			return this.db.transaction(run);
		} catch (error) {
			if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
				throw new ApiError(400, 'invalid_field', `slug: another article already has the address /help/${slug}`, 'slug');
			}
			throw error;
		}
	}

	/** A slug no article has yet: `slug`, else `slug-2`, `slug-3`… */
	private freeSlug(slug: string): string {
		const taken = new Set(
			this.db
				.select({ slug: helpArticles.slug })
				.from(helpArticles)
				.where(sql`${helpArticles.slug} = ${slug} OR ${helpArticles.slug} LIKE ${slug + '-%'}`)
				.all()
				.map((r) => r.slug)
		);
		let candidate = slug;
		for (let n = 2; taken.has(candidate); n++) candidate = `${slug}-${n}`;
		return candidate;
	}

	/**
	 * The article's words in the full-text table, replacing what was there (same transaction). The
	 * body goes in as plain text, so snippets read as prose and can be quoted as they are.
	 */
	private index(article: Article): void {
		this.ftsDelete.run(article.id);
		this.ftsInsert.run(article.id, article.title, article.tags.join(' '), plainText(article.body));
	}

	private record(by: Principal, type: string, article: Article): void {
		this.events.record({ actor: actorOf(by), type, data: { articleId: article.id, title: article.title, slug: article.slug } });
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

/** FTS5's marked text as HTML: escaped, then the marks as `<mark>`. */
function markedHtml(marked: string): string {
	return escapeHtml(marked).replaceAll(OPEN, '<mark>').replaceAll(CLOSE, '</mark>');
}
