CREATE TABLE `satisfaction_settings` (
	`channel` text PRIMARY KEY NOT NULL,
	`enabled` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `satisfaction_surveys` (
	`id` text PRIMARY KEY NOT NULL,
	`ticket_id` text NOT NULL,
	`solve_event_id` integer NOT NULL,
	`channel` text NOT NULL,
	`via` text,
	`requester_id` text NOT NULL,
	`group_id` text,
	`assignee_id` text,
	`rating` text,
	`comment` text,
	`answers` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`rated_at` integer,
	`changed_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `satisfaction_surveys_solve` ON `satisfaction_surveys` (`ticket_id`,`solve_event_id`);--> statement-breakpoint
CREATE INDEX `satisfaction_surveys_rated` ON `satisfaction_surveys` (`rated_at`);--> statement-breakpoint
CREATE TABLE `server_secrets` (
	`name` text PRIMARY KEY NOT NULL,
	`secret` text NOT NULL,
	`created_at` integer NOT NULL
);
