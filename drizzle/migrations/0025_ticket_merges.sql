ALTER TABLE `tickets` ADD `merged_into_id` text;--> statement-breakpoint
CREATE INDEX `tickets_merged_into` ON `tickets` (`merged_into_id`);