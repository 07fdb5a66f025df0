CREATE INDEX "tickets_updated" ON "tickets" USING btree ("updated_at","id");--> statement-breakpoint
-- Written by hand (drizzle-kit does not generate text search objects): the ticket search index
-- (server/search/), PostgreSQL's counterpart of the SQLite table `ticket_search` and its FTS5
-- index (migration 0026_ticket_search), under the same name and columns. One row per ticket
-- (`part` = '') and one per entry. Words are matched as the help centre's (configuration
-- `tandem_search`, migration 0002_help_search), weighted as FTS5's bm25 columns: subject (A) 10,
-- fields (B) 4, body (D) 1.
CREATE TABLE "ticket_search" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"ticket_id" text NOT NULL,
	"part" text NOT NULL,
	"side_id" text,
	"internal" boolean DEFAULT false NOT NULL,
	"attachment" boolean DEFAULT false NOT NULL,
	"subject" text DEFAULT '' NOT NULL,
	"fields" text DEFAULT '' NOT NULL,
	"body" text DEFAULT '' NOT NULL,
	"words" tsvector GENERATED ALWAYS AS (
		setweight(to_tsvector('tandem_search'::regconfig, regexp_replace("subject", '[!-/:-@[-`{-~]+', ' ', 'g')), 'A') ||
		setweight(to_tsvector('tandem_search'::regconfig, regexp_replace("fields", '[!-/:-@[-`{-~]+', ' ', 'g')), 'B') ||
		setweight(to_tsvector('tandem_search'::regconfig, regexp_replace("body", '[!-/:-@[-`{-~]+', ' ', 'g')), 'D')
	) STORED
);--> statement-breakpoint
CREATE UNIQUE INDEX "ticket_search_part" ON "ticket_search" ("ticket_id", "part");--> statement-breakpoint
CREATE INDEX "ticket_search_words" ON "ticket_search" USING gin ("words");
