ALTER TABLE `tickets` ADD `snoozed_until` integer;--> statement-breakpoint
CREATE INDEX `tickets_snoozed` ON `tickets` (`snoozed_until`);