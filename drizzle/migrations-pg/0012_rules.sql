CREATE TABLE "automation_firings" (
	"rule_id" text NOT NULL,
	"ticket_id" text NOT NULL,
	"since" bigint NOT NULL,
	"fired_at" bigint NOT NULL,
	CONSTRAINT "automation_firings_rule_id_ticket_id_since_pk" PRIMARY KEY("rule_id","ticket_id","since")
);
--> statement-breakpoint
CREATE TABLE "business_hours" (
	"scope" text PRIMARY KEY NOT NULL,
	"time_zone" text NOT NULL,
	"week" jsonb NOT NULL,
	"holidays" jsonb NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rules" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"name" text NOT NULL,
	"position" bigint NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"stop_here" boolean DEFAULT false NOT NULL,
	"conditions" jsonb NOT NULL,
	"actions" jsonb NOT NULL,
	"webhook_secret" text NOT NULL,
	"created_by" text NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "outbox" ADD COLUMN "payload" text;--> statement-breakpoint
CREATE INDEX "rules_kind_position" ON "rules" USING btree ("kind","position");