CREATE TABLE `ticket_client_owners` (
	`ticket_id` text NOT NULL,
	`client_id` integer NOT NULL,
	`owner` text NOT NULL,
	`claimed_at` integer NOT NULL,
	PRIMARY KEY(`ticket_id`, `client_id`)
);
