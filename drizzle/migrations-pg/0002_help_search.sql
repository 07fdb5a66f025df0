-- Written by hand (drizzle-kit does not generate text search objects): the help centre's full-text
-- index, PostgreSQL's counterpart of the SQLite FTS5 table `help_articles_fts` (migration
-- 0007_context), under the same name and columns, kept in step with help_articles by
-- server/help-centre.ts in the same transaction as each write. Words are matched as there:
-- accents removed (unaccent), English stems (Snowball, with no stop words: FTS5 has none), and
-- ASCII punctuation splitting words, so `RF-2093` or an email address is found by its parts.
CREATE EXTENSION IF NOT EXISTS unaccent;--> statement-breakpoint
CREATE TEXT SEARCH DICTIONARY "tandem_english_stem" (TEMPLATE = snowball, LANGUAGE = english);--> statement-breakpoint
CREATE TEXT SEARCH CONFIGURATION "tandem_search" (COPY = pg_catalog.english);--> statement-breakpoint
ALTER TEXT SEARCH CONFIGURATION "tandem_search" ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part, numword, numhword, hword_numpart WITH unaccent, "tandem_english_stem";--> statement-breakpoint
-- Weights as FTS5's bm25 column weights: title (A) 10, tags (B) 4, body (D) 1.
CREATE TABLE "help_articles_fts" (
	"article_id" text NOT NULL,
	"title" text NOT NULL,
	"tags" text NOT NULL,
	"body" text NOT NULL,
	"words" tsvector GENERATED ALWAYS AS (
		setweight(to_tsvector('tandem_search'::regconfig, regexp_replace("title", '[!-/:-@[-`{-~]+', ' ', 'g')), 'A') ||
		setweight(to_tsvector('tandem_search'::regconfig, regexp_replace("tags", '[!-/:-@[-`{-~]+', ' ', 'g')), 'B') ||
		setweight(to_tsvector('tandem_search'::regconfig, regexp_replace("body", '[!-/:-@[-`{-~]+', ' ', 'g')), 'D')
	) STORED
);--> statement-breakpoint
CREATE INDEX "help_articles_fts_article" ON "help_articles_fts" ("article_id");--> statement-breakpoint
CREATE INDEX "help_articles_fts_words" ON "help_articles_fts" USING gin ("words");
