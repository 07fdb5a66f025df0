CREATE TABLE `ticket_field_definitions` (
	`key` text PRIMARY KEY NOT NULL,
	`label` text NOT NULL,
	`type` text NOT NULL,
	`options` text DEFAULT '[]' NOT NULL,
	`pattern` text,
	`required_on_solve` integer DEFAULT false NOT NULL,
	`archived` integer DEFAULT false NOT NULL,
	`position` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `ticket_field_definitions_position` ON `ticket_field_definitions` (`position`);--> statement-breakpoint
CREATE TABLE `ticket_field_values` (
	`ticket_id` text NOT NULL,
	`field_key` text NOT NULL,
	`value` text NOT NULL,
	PRIMARY KEY(`ticket_id`, `field_key`, `value`)
);
--> statement-breakpoint
CREATE INDEX `ticket_field_values_lookup` ON `ticket_field_values` (`field_key`,`value`);--> statement-breakpoint
CREATE TABLE `ticket_forms` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`field_keys` text NOT NULL,
	`position` integer NOT NULL,
	`archived` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ticket_forms_name_unique` ON `ticket_forms` (`name`);--> statement-breakpoint
ALTER TABLE `tickets` ADD `custom` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `tickets` ADD `form_id` text;