-- Written by hand: an index of the pairs of adjacent words in each ticket search row, so that a
-- phrase is found by its pairs rather than by every row holding all of its words (server/search/).
-- A GIN index of words cannot tell which rows have them side by side: for a phrase of two common
-- words PostgreSQL read every row with both (10% of a million here) to check their positions,
-- where SQLite's FTS5 index keeps positions. The pairs are lexemes as `words` holds them (stemmed,
-- unaccented), joined by `_`, which no lexeme of the parser contains; a row found by its pairs is
-- still checked against the phrase itself, so the pairs only narrow and never decide.
CREATE OR REPLACE FUNCTION tandem_word_pairs(words tsvector) RETURNS tsvector
	IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
	AS $$
		SELECT coalesce(array_to_tsvector(array_agg(DISTINCT a.lexeme || '_' || b.lexeme)), ''::tsvector)
		FROM (SELECT lexeme, unnest(positions) AS at FROM unnest(words)) AS a
		JOIN (SELECT lexeme, unnest(positions) AS at FROM unnest(words)) AS b ON b.at = a.at + 1
	$$;--> statement-breakpoint
-- The pairs of a phrase as a query needing all of them (NULL for a phrase of one word): built from
-- lexemes, quoted, never parsed as query syntax. Immutable, so a query's phrase becomes a constant
-- when it is planned and the planner can weigh the index by its statistics.
CREATE OR REPLACE FUNCTION tandem_phrase_pairs(phrase text) RETURNS tsquery
	IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
	AS $$
		SELECT string_agg('''' || replace(replace(pair, '\', '\\'), '''', '''''') || '''', ' & ')::tsquery
		FROM unnest(tsvector_to_array(tandem_word_pairs(to_tsvector('tandem_search'::regconfig, phrase)))) AS pair
	$$;--> statement-breakpoint
-- Without the pending list: its clean-up merges many distinct pairs at once into the index inside
-- whichever insert fills it (seconds on a large index, past the statement timeout); written
-- directly, each row costs about the same in total, a little at a time.
CREATE INDEX IF NOT EXISTS "ticket_search_pairs" ON "ticket_search" USING gin (tandem_word_pairs("words")) WITH (fastupdate = off);
