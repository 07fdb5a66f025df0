CREATE INDEX `tickets_updated` ON `tickets` (`updated_at`,`id`);--> statement-breakpoint
-- Written by hand (drizzle-kit does not generate FTS5 tables): the ticket search index
-- (server/search/). One row per ticket (`part` = '': its subject, and in `fields` its number,
-- tags and requester) and one per entry of its conversation and side conversations (`part` = the
-- entry id), so a passage can be shown and a new entry costs one row. `ticket_search_fts` is an
-- FTS5 index over its text (external content: the text is stored once), kept by the triggers, and
-- ranked by bm25 with the column weights of the help centre: subject 10, fields 4, body 1.
CREATE TABLE `ticket_search` (
	`id` integer PRIMARY KEY NOT NULL,
	`ticket_id` text NOT NULL,
	`part` text NOT NULL,
	`side_id` text,
	`internal` integer DEFAULT false NOT NULL,
	`attachment` integer DEFAULT false NOT NULL,
	`subject` text DEFAULT '' NOT NULL,
	`fields` text DEFAULT '' NOT NULL,
	`body` text DEFAULT '' NOT NULL
);--> statement-breakpoint
CREATE UNIQUE INDEX `ticket_search_part` ON `ticket_search` (`ticket_id`,`part`);--> statement-breakpoint
CREATE VIRTUAL TABLE `ticket_search_fts` USING fts5(`subject`, `fields`, `body`, content = 'ticket_search', content_rowid = 'id', tokenize = 'porter unicode61 remove_diacritics 2');--> statement-breakpoint
INSERT INTO `ticket_search_fts` (`ticket_search_fts`, `rank`) VALUES ('rank', 'bm25(10.0, 4.0, 1.0)');--> statement-breakpoint
CREATE TRIGGER `ticket_search_added` AFTER INSERT ON `ticket_search` BEGIN
	INSERT INTO `ticket_search_fts` (`rowid`, `subject`, `fields`, `body`) VALUES (new.`id`, new.`subject`, new.`fields`, new.`body`);
END;--> statement-breakpoint
CREATE TRIGGER `ticket_search_removed` AFTER DELETE ON `ticket_search` BEGIN
	INSERT INTO `ticket_search_fts` (`ticket_search_fts`, `rowid`, `subject`, `fields`, `body`) VALUES ('delete', old.`id`, old.`subject`, old.`fields`, old.`body`);
END;--> statement-breakpoint
CREATE TRIGGER `ticket_search_changed` AFTER UPDATE ON `ticket_search` BEGIN
	INSERT INTO `ticket_search_fts` (`ticket_search_fts`, `rowid`, `subject`, `fields`, `body`) VALUES ('delete', old.`id`, old.`subject`, old.`fields`, old.`body`);
	INSERT INTO `ticket_search_fts` (`rowid`, `subject`, `fields`, `body`) VALUES (new.`id`, new.`subject`, new.`fields`, new.`body`);
END;
