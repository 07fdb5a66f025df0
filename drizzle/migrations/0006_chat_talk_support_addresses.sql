CREATE TABLE `calls` (
	`id` text PRIMARY KEY NOT NULL,
	`ref` text NOT NULL,
	`ticket_id` text NOT NULL,
	`customer_id` text NOT NULL,
	`talk_number_id` text,
	`direction` text NOT NULL,
	`from_number` text NOT NULL,
	`to_number` text NOT NULL,
	`state` text NOT NULL,
	`agent_id` text,
	`ring_to` text,
	`answered_by` text,
	`transfers` text DEFAULT '[]' NOT NULL,
	`hold_ms` integer DEFAULT 0 NOT NULL,
	`held_since` integer,
	`created_at` integer NOT NULL,
	`answered_at` integer,
	`ended_at` integer,
	`outcome` text,
	`end_reason` text,
	`entry_at` integer,
	`version` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `calls_ref_unique` ON `calls` (`ref`);--> statement-breakpoint
CREATE INDEX `calls_state` ON `calls` (`state`);--> statement-breakpoint
CREATE INDEX `calls_agent` ON `calls` (`agent_id`,`state`);--> statement-breakpoint
CREATE INDEX `calls_ticket` ON `calls` (`ticket_id`);--> statement-breakpoint
CREATE TABLE `chats` (
	`id` text PRIMARY KEY NOT NULL,
	`visitor_id` text NOT NULL,
	`ticket_id` text NOT NULL,
	`status` text NOT NULL,
	`presence` text NOT NULL,
	`agent_id` text,
	`started_at` integer NOT NULL,
	`served_at` integer,
	`ended_at` integer,
	`ended_by` text,
	FOREIGN KEY (`visitor_id`) REFERENCES `visitors`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `chats_ticket_id_unique` ON `chats` (`ticket_id`);--> statement-breakpoint
CREATE INDEX `chats_visitor` ON `chats` (`visitor_id`,`started_at`);--> statement-breakpoint
CREATE TABLE `support_addresses` (
	`address` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`group_id` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `talk_numbers` (
	`id` text PRIMARY KEY NOT NULL,
	`number` text NOT NULL,
	`label` text NOT NULL,
	`group_id` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`group_id`) REFERENCES `groups`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `talk_numbers_number_unique` ON `talk_numbers` (`number`);--> statement-breakpoint
CREATE TABLE `visitor_pages` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`visitor_id` text NOT NULL,
	`url` text NOT NULL,
	`title` text NOT NULL,
	`viewed_at` integer NOT NULL,
	FOREIGN KEY (`visitor_id`) REFERENCES `visitors`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `visitor_pages_visitor` ON `visitor_pages` (`visitor_id`,`seq`);--> statement-breakpoint
CREATE TABLE `visitors` (
	`id` text PRIMARY KEY NOT NULL,
	`token_hash` text NOT NULL,
	`customer_id` text,
	`created_at` integer NOT NULL,
	`last_seen_at` integer NOT NULL,
	FOREIGN KEY (`customer_id`) REFERENCES `customers`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `visitors_token_hash_unique` ON `visitors` (`token_hash`);--> statement-breakpoint
ALTER TABLE `email_messages` ADD `mailbox` text;