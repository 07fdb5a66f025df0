CREATE TABLE `access_epoch` (
	`id` integer PRIMARY KEY NOT NULL,
	`epoch` integer NOT NULL
);
--> statement-breakpoint
-- Written by hand (drizzle-kit does not generate triggers): every write that may take access
-- away moves the epoch, from any process or database handle.
INSERT INTO `access_epoch` (`id`, `epoch`) VALUES (1, 0);--> statement-breakpoint
CREATE TRIGGER `access_epoch_session_deleted` AFTER DELETE ON `sessions` BEGIN UPDATE `access_epoch` SET `epoch` = `epoch` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `access_epoch_session_shortened` AFTER UPDATE OF `expires_at` ON `sessions` WHEN NEW.`expires_at` < OLD.`expires_at` BEGIN UPDATE `access_epoch` SET `epoch` = `epoch` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `access_epoch_user_changed` AFTER UPDATE OF `disabled`, `role` ON `users` WHEN NEW.`disabled` IS NOT OLD.`disabled` OR NEW.`role` IS NOT OLD.`role` BEGIN UPDATE `access_epoch` SET `epoch` = `epoch` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `access_epoch_user_deleted` AFTER DELETE ON `users` BEGIN UPDATE `access_epoch` SET `epoch` = `epoch` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `access_epoch_group_left` AFTER DELETE ON `user_groups` BEGIN UPDATE `access_epoch` SET `epoch` = `epoch` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `access_epoch_group_joined` AFTER INSERT ON `user_groups` BEGIN UPDATE `access_epoch` SET `epoch` = `epoch` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `access_epoch_token_changed` AFTER UPDATE OF `revoked_at`, `channels` ON `api_tokens` WHEN NEW.`revoked_at` IS NOT OLD.`revoked_at` OR NEW.`channels` IS NOT OLD.`channels` BEGIN UPDATE `access_epoch` SET `epoch` = `epoch` + 1 WHERE `id` = 1; END;--> statement-breakpoint
CREATE TRIGGER `access_epoch_token_deleted` AFTER DELETE ON `api_tokens` BEGIN UPDATE `access_epoch` SET `epoch` = `epoch` + 1 WHERE `id` = 1; END;
