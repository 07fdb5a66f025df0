CREATE TABLE `apps` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`url` text NOT NULL,
	`scopes` text NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `apps_name_unique` ON `apps` (`name`);--> statement-breakpoint
CREATE TABLE `help_articles` (
	`id` text PRIMARY KEY NOT NULL,
	`slug` text NOT NULL,
	`title` text NOT NULL,
	`section` text NOT NULL,
	`tags` text NOT NULL,
	`body` text NOT NULL,
	`status` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`published_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `help_articles_slug_unique` ON `help_articles` (`slug`);--> statement-breakpoint
CREATE INDEX `help_articles_section` ON `help_articles` (`status`,`section`);--> statement-breakpoint
CREATE TABLE `object_links` (
	`record_id` text NOT NULL,
	`target_kind` text NOT NULL,
	`target_id` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`record_id`, `target_kind`, `target_id`),
	FOREIGN KEY (`record_id`) REFERENCES `object_records`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `object_links_target` ON `object_links` (`target_kind`,`target_id`);--> statement-breakpoint
CREATE TABLE `object_records` (
	`id` text PRIMARY KEY NOT NULL,
	`type_id` text NOT NULL,
	`external_id` text,
	`values` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`type_id`) REFERENCES `object_types`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `object_records_type_external` ON `object_records` (`type_id`,`external_id`);--> statement-breakpoint
CREATE TABLE `object_types` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`fields` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `object_types_name_unique` ON `object_types` (`name`);--> statement-breakpoint
ALTER TABLE `customers` ADD `organisation` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `customers` ADD `notes` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `customers` ADD `tags` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
/* Written by hand (drizzle-kit does not generate virtual tables): the help centre's full-text index, kept in step with help_articles by server/help-centre.ts in the same transaction as each write. */
CREATE VIRTUAL TABLE `help_articles_fts` USING fts5(`article_id` UNINDEXED, `title`, `tags`, `body`, tokenize = 'porter unicode61 remove_diacritics 2');
