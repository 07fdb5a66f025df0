CREATE TABLE `email_messages` (
	`message_id` text PRIMARY KEY NOT NULL,
	`ticket_id` text NOT NULL,
	`entry_id` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `email_messages_ticket` ON `email_messages` (`ticket_id`);