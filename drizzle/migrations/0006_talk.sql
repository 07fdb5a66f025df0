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
CREATE TABLE `talk_numbers` (
	`id` text PRIMARY KEY NOT NULL,
	`number` text NOT NULL,
	`label` text NOT NULL,
	`group_id` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`group_id`) REFERENCES `groups`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `talk_numbers_number_unique` ON `talk_numbers` (`number`);