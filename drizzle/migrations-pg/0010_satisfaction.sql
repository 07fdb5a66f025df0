CREATE TABLE "satisfaction_settings" (
	"channel" text PRIMARY KEY NOT NULL,
	"enabled" boolean NOT NULL
);
--> statement-breakpoint
CREATE TABLE "satisfaction_surveys" (
	"id" text PRIMARY KEY NOT NULL,
	"ticket_id" text NOT NULL,
	"solve_event_id" bigint NOT NULL,
	"channel" text NOT NULL,
	"via" text,
	"requester_id" text NOT NULL,
	"group_id" text,
	"assignee_id" text,
	"rating" text,
	"comment" text,
	"answers" bigint DEFAULT 0 NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"rated_at" bigint,
	"changed_at" bigint
);
--> statement-breakpoint
CREATE TABLE "server_secrets" (
	"name" text PRIMARY KEY NOT NULL,
	"secret" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "satisfaction_surveys_solve" ON "satisfaction_surveys" USING btree ("ticket_id","solve_event_id");--> statement-breakpoint
CREATE INDEX "satisfaction_surveys_rated" ON "satisfaction_surveys" USING btree ("rated_at");