CREATE TABLE `email_verifications` (
	`id` text PRIMARY KEY NOT NULL,
	`token_hash` text NOT NULL,
	`pending_token` text,
	`customer_id` text NOT NULL,
	`email` text NOT NULL,
	`origin` text NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`customer_id`) REFERENCES `customers`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `email_verifications_token_hash_unique` ON `email_verifications` (`token_hash`);--> statement-breakpoint
CREATE INDEX `email_verifications_customer` ON `email_verifications` (`customer_id`);--> statement-breakpoint
ALTER TABLE `customers` ADD `unverified` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `customers` ADD `claimed_email` text;