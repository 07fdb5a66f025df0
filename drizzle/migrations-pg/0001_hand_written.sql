-- Written by hand (drizzle-kit does not generate rows or triggers); the SQLite migrations
-- 0009_access_epoch and 0012_ticket_numbers do the same there.
INSERT INTO "access_epoch" ("id", "epoch") VALUES (1, 0);--> statement-breakpoint
INSERT INTO "sequences" ("name", "value") VALUES ('ticket_number', 0);--> statement-breakpoint
-- Every write that may take access away moves the epoch, from any process or connection.
CREATE FUNCTION "access_epoch_bump"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE "access_epoch" SET "epoch" = "epoch" + 1 WHERE "id" = 1;
	RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "access_epoch_session_deleted" AFTER DELETE ON "sessions" FOR EACH ROW EXECUTE FUNCTION "access_epoch_bump"();--> statement-breakpoint
CREATE TRIGGER "access_epoch_session_shortened" AFTER UPDATE OF "expires_at" ON "sessions" FOR EACH ROW WHEN (NEW."expires_at" < OLD."expires_at") EXECUTE FUNCTION "access_epoch_bump"();--> statement-breakpoint
CREATE TRIGGER "access_epoch_user_changed" AFTER UPDATE OF "disabled", "role" ON "users" FOR EACH ROW WHEN (NEW."disabled" IS DISTINCT FROM OLD."disabled" OR NEW."role" IS DISTINCT FROM OLD."role") EXECUTE FUNCTION "access_epoch_bump"();--> statement-breakpoint
CREATE TRIGGER "access_epoch_user_deleted" AFTER DELETE ON "users" FOR EACH ROW EXECUTE FUNCTION "access_epoch_bump"();--> statement-breakpoint
CREATE TRIGGER "access_epoch_group_left" AFTER DELETE ON "user_groups" FOR EACH ROW EXECUTE FUNCTION "access_epoch_bump"();--> statement-breakpoint
CREATE TRIGGER "access_epoch_group_joined" AFTER INSERT ON "user_groups" FOR EACH ROW EXECUTE FUNCTION "access_epoch_bump"();--> statement-breakpoint
CREATE TRIGGER "access_epoch_token_changed" AFTER UPDATE OF "revoked_at", "channels" ON "api_tokens" FOR EACH ROW WHEN (NEW."revoked_at" IS DISTINCT FROM OLD."revoked_at" OR NEW."channels" IS DISTINCT FROM OLD."channels") EXECUTE FUNCTION "access_epoch_bump"();--> statement-breakpoint
CREATE TRIGGER "access_epoch_token_deleted" AFTER DELETE ON "api_tokens" FOR EACH ROW EXECUTE FUNCTION "access_epoch_bump"();
