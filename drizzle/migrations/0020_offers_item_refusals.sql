DROP INDEX `offers_item`;--> statement-breakpoint
CREATE INDEX `offers_item` ON `offers` (`item_id`,`status`,`agent_id`);