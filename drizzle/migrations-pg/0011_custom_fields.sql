CREATE TABLE "ticket_field_definitions" (
	"key" text PRIMARY KEY NOT NULL,
	"label" text NOT NULL,
	"type" text NOT NULL,
	"options" jsonb DEFAULT '[]' NOT NULL,
	"pattern" text,
	"required_on_solve" boolean DEFAULT false NOT NULL,
	"archived" boolean DEFAULT false NOT NULL,
	"position" bigint NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ticket_field_values" (
	"ticket_id" text NOT NULL,
	"field_key" text NOT NULL,
	"value" text NOT NULL,
	CONSTRAINT "ticket_field_values_ticket_id_field_key_value_pk" PRIMARY KEY("ticket_id","field_key","value")
);
--> statement-breakpoint
CREATE TABLE "ticket_forms" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"field_keys" jsonb NOT NULL,
	"position" bigint NOT NULL,
	"archived" boolean DEFAULT false NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "ticket_forms_name_unique" UNIQUE("name")
);
--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "custom" jsonb DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "form_id" text;--> statement-breakpoint
CREATE INDEX "ticket_field_definitions_position" ON "ticket_field_definitions" USING btree ("position");--> statement-breakpoint
CREATE INDEX "ticket_field_values_lookup" ON "ticket_field_values" USING btree ("field_key","value");