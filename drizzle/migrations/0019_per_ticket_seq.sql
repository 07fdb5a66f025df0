CREATE TABLE `ticket_entry_ids` (
	`ticket_id` text NOT NULL,
	`entry_id` text NOT NULL,
	PRIMARY KEY(`ticket_id`, `entry_id`)
);
--> statement-breakpoint
CREATE TABLE `ticket_heads` (
	`ticket_id` text PRIMARY KEY NOT NULL,
	`last_seq` integer NOT NULL
);
--> statement-breakpoint
-- Written by hand: seq was one counter for all tickets and becomes each ticket's own. Every seq a
-- ticket's rows, snapshots and quarantined rows mention is renumbered 1, 2, 3… in the same order
-- (0, "nothing yet", stays 0), so a snapshot still contains exactly the rows it contained; entry
-- ids of existing tickets are recorded when each ticket is next loaded (they live in the documents).
CREATE TABLE `__ticket_seqs` (
	`ticket_id` text NOT NULL,
	`old_seq` integer NOT NULL,
	`new_seq` integer NOT NULL,
	PRIMARY KEY(`ticket_id`, `old_seq`)
);
--> statement-breakpoint
INSERT INTO `__ticket_seqs` SELECT `ticket_id`, `seq`, ROW_NUMBER() OVER (PARTITION BY `ticket_id` ORDER BY `seq`) FROM (
	SELECT `ticket_id`, `seq` FROM `ticket_updates`
	UNION SELECT `ticket_id`, `up_to_seq` FROM `ticket_snapshots` WHERE `up_to_seq` > 0
	UNION SELECT `ticket_id`, `seq` FROM `ticket_quarantine` WHERE `seq` > 0
);--> statement-breakpoint
-- Through negative values: a snapshot's new number may be another's old one.
UPDATE `ticket_snapshots` SET `up_to_seq` = -(SELECT `new_seq` FROM `__ticket_seqs` s WHERE s.`ticket_id` = `ticket_snapshots`.`ticket_id` AND s.`old_seq` = `ticket_snapshots`.`up_to_seq`) WHERE `up_to_seq` > 0;--> statement-breakpoint
UPDATE `ticket_snapshots` SET `up_to_seq` = -`up_to_seq` WHERE `up_to_seq` < 0;--> statement-breakpoint
UPDATE `ticket_quarantine` SET `seq` = (SELECT `new_seq` FROM `__ticket_seqs` s WHERE s.`ticket_id` = `ticket_quarantine`.`ticket_id` AND s.`old_seq` = `ticket_quarantine`.`seq`) WHERE `seq` > 0;--> statement-breakpoint
INSERT INTO `ticket_heads` SELECT `ticket_id`, max(`new_seq`) FROM `__ticket_seqs` GROUP BY `ticket_id`;--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_ticket_updates` (
	`ticket_id` text NOT NULL,
	`seq` integer NOT NULL,
	`data` blob NOT NULL,
	`received_at` integer NOT NULL,
	`actor` text NOT NULL,
	PRIMARY KEY(`ticket_id`, `seq`)
);
--> statement-breakpoint
INSERT INTO `__new_ticket_updates`("ticket_id", "seq", "data", "received_at", "actor") SELECT u."ticket_id", s."new_seq", u."data", u."received_at", u."actor" FROM `ticket_updates` u JOIN `__ticket_seqs` s ON s."ticket_id" = u."ticket_id" AND s."old_seq" = u."seq";--> statement-breakpoint
DROP TABLE `ticket_updates`;--> statement-breakpoint
ALTER TABLE `__new_ticket_updates` RENAME TO `ticket_updates`;--> statement-breakpoint
DROP TABLE `__ticket_seqs`;--> statement-breakpoint
PRAGMA foreign_keys=ON;
