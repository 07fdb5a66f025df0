CREATE TABLE `automation_firings` (
	`rule_id` text NOT NULL,
	`ticket_id` text NOT NULL,
	`since` integer NOT NULL,
	`fired_at` integer NOT NULL,
	PRIMARY KEY(`rule_id`, `ticket_id`, `since`)
);
--> statement-breakpoint
CREATE TABLE `business_hours` (
	`scope` text PRIMARY KEY NOT NULL,
	`time_zone` text NOT NULL,
	`week` text NOT NULL,
	`holidays` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `rules` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`position` integer NOT NULL,
	`active` integer DEFAULT true NOT NULL,
	`stop_here` integer DEFAULT false NOT NULL,
	`conditions` text NOT NULL,
	`actions` text NOT NULL,
	`webhook_secret` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `rules_kind_position` ON `rules` (`kind`,`position`);--> statement-breakpoint
ALTER TABLE `outbox` ADD `payload` text;