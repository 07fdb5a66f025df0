ALTER TABLE "tickets" ADD COLUMN "snoozed_until" bigint;--> statement-breakpoint
CREATE INDEX "tickets_snoozed" ON "tickets" USING btree ("snoozed_until");