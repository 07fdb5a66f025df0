CREATE TABLE `sequences` (
	`name` text PRIMARY KEY NOT NULL,
	`value` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `tickets` ADD `number` integer;--> statement-breakpoint
-- Hand-written (keep when regenerating): tickets that exist get numbers in creation order, and
-- the sequence continues after them.
UPDATE `tickets` SET `number` = `numbered`.`n`
FROM (SELECT `id`, ROW_NUMBER() OVER (ORDER BY `created_at`, `id`) AS `n` FROM `tickets`) AS `numbered`
WHERE `tickets`.`id` = `numbered`.`id`;--> statement-breakpoint
INSERT INTO `sequences` (`name`, `value`) SELECT 'ticket_number', COALESCE(MAX(`number`), 0) FROM `tickets`;--> statement-breakpoint
CREATE UNIQUE INDEX `tickets_number` ON `tickets` (`number`);
