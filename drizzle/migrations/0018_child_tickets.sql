ALTER TABLE `tickets` ADD `parent_id` text;--> statement-breakpoint
CREATE INDEX `tickets_parent` ON `tickets` (`parent_id`);