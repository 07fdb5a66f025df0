ALTER TABLE "tickets" ADD COLUMN "merged_into_id" text;--> statement-breakpoint
CREATE INDEX "tickets_merged_into" ON "tickets" USING btree ("merged_into_id");