CREATE TABLE `agent_presence` (
	`user_id` text PRIMARY KEY NOT NULL,
	`status` text NOT NULL,
	`channels` text NOT NULL,
	`auto` text,
	`changed_at` integer NOT NULL,
	`last_assigned_at` integer DEFAULT 0 NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `agent_routing` (
	`user_id` text PRIMARY KEY NOT NULL,
	`capacities` text NOT NULL,
	`skills` text NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `custom_statuses` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`maps_to` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `custom_statuses_name_unique` ON `custom_statuses` (`name`);--> statement-breakpoint
CREATE TABLE `offers` (
	`id` text PRIMARY KEY NOT NULL,
	`item_id` text NOT NULL,
	`agent_id` text NOT NULL,
	`status` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`resolved_at` integer,
	FOREIGN KEY (`item_id`) REFERENCES `work_items`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `offers_item` ON `offers` (`item_id`);--> statement-breakpoint
CREATE INDEX `offers_agent` ON `offers` (`status`,`agent_id`,`item_id`);--> statement-breakpoint
CREATE INDEX `offers_pending_expiry` ON `offers` (`status`,`expires_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `offers_one_pending` ON `offers` (`item_id`) WHERE status = 'pending';--> statement-breakpoint
CREATE TABLE `routing_settings` (
	`id` integer PRIMARY KEY NOT NULL,
	`offer_timeout_seconds` integer NOT NULL,
	`capacities` text NOT NULL,
	`decline_allowed` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `sla_breaches` (
	`ticket_id` text NOT NULL,
	`metric` text NOT NULL,
	`due_at` integer NOT NULL,
	`recorded_at` integer NOT NULL,
	PRIMARY KEY(`ticket_id`, `metric`, `due_at`)
);
--> statement-breakpoint
CREATE TABLE `sla_policies` (
	`priority` text NOT NULL,
	`channel` text NOT NULL,
	`first_reply_minutes` integer,
	`next_reply_minutes` integer,
	`resolution_minutes` integer,
	PRIMARY KEY(`priority`, `channel`)
);
--> statement-breakpoint
CREATE TABLE `work_items` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`ref` text NOT NULL,
	`ticket_id` text,
	`channel` text NOT NULL,
	`group_id` text,
	`skill` text,
	`priority` text NOT NULL,
	`sla_due_at` integer,
	`status` text NOT NULL,
	`agent_id` text,
	`previous_agent_id` text,
	`written` integer DEFAULT false NOT NULL,
	`enqueued_at` integer NOT NULL,
	`assigned_at` integer,
	`done_at` integer,
	`done_reason` text
);
--> statement-breakpoint
CREATE INDEX `work_items_status` ON `work_items` (`status`,`agent_id`,`channel`);--> statement-breakpoint
CREATE INDEX `work_items_ref` ON `work_items` (`kind`,`ref`,`enqueued_at`);--> statement-breakpoint
CREATE INDEX `work_items_agent` ON `work_items` (`agent_id`,`status`);--> statement-breakpoint
CREATE UNIQUE INDEX `work_items_active_ref` ON `work_items` (`kind`,`ref`) WHERE status != 'done';--> statement-breakpoint
ALTER TABLE `tickets` ADD `first_reply_at` integer;--> statement-breakpoint
ALTER TABLE `tickets` ADD `awaiting_since` integer;