CREATE TABLE `imap_mailboxes` (
	`address` text PRIMARY KEY NOT NULL,
	`host` text NOT NULL,
	`port` integer NOT NULL,
	`tls` text NOT NULL,
	`username` text NOT NULL,
	`auth` text NOT NULL,
	`secret` text NOT NULL,
	`folder` text NOT NULL,
	`after_fetch` text NOT NULL,
	`move_to` text,
	`uid_validity` text,
	`stored_uid` integer DEFAULT 0 NOT NULL,
	`acted_uid` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
