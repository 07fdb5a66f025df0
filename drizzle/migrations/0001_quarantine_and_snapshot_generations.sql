CREATE TABLE `ticket_quarantine` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ticket_id` text NOT NULL,
	`kind` text NOT NULL,
	`seq` integer NOT NULL,
	`data` blob NOT NULL,
	`error` text NOT NULL,
	`quarantined_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `ticket_quarantine_ticket` ON `ticket_quarantine` (`ticket_id`);--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_ticket_snapshots` (
	`ticket_id` text NOT NULL,
	`up_to_seq` integer NOT NULL,
	`state` blob NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`ticket_id`, `up_to_seq`)
);
--> statement-breakpoint
INSERT INTO `__new_ticket_snapshots`("ticket_id", "up_to_seq", "state", "created_at") SELECT "ticket_id", "up_to_seq", "state", "created_at" FROM `ticket_snapshots`;--> statement-breakpoint
DROP TABLE `ticket_snapshots`;--> statement-breakpoint
ALTER TABLE `__new_ticket_snapshots` RENAME TO `ticket_snapshots`;--> statement-breakpoint
PRAGMA foreign_keys=ON;