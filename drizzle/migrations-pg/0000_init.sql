CREATE TABLE "access_epoch" (
	"id" bigint PRIMARY KEY NOT NULL,
	"epoch" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "agent_presence" (
	"user_id" text PRIMARY KEY NOT NULL,
	"status" text NOT NULL,
	"channels" jsonb NOT NULL,
	"auto" text,
	"changed_at" bigint NOT NULL,
	"last_assigned_at" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "agent_routing" (
	"user_id" text PRIMARY KEY NOT NULL,
	"capacities" jsonb NOT NULL,
	"skills" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "api_tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"token_hash" text NOT NULL,
	"channels" jsonb NOT NULL,
	"created_by" text,
	"created_at" bigint NOT NULL,
	"last_used_at" bigint,
	"revoked_at" bigint,
	CONSTRAINT "api_tokens_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "apps" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"url" text NOT NULL,
	"scopes" jsonb NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "apps_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "calls" (
	"id" text PRIMARY KEY NOT NULL,
	"ref" text NOT NULL,
	"ticket_id" text NOT NULL,
	"customer_id" text NOT NULL,
	"talk_number_id" text,
	"direction" text NOT NULL,
	"from_number" text NOT NULL,
	"to_number" text NOT NULL,
	"state" text NOT NULL,
	"agent_id" text,
	"ring_to" jsonb,
	"answered_by" text,
	"transfers" jsonb DEFAULT '[]' NOT NULL,
	"hold_ms" bigint DEFAULT 0 NOT NULL,
	"held_since" bigint,
	"created_at" bigint NOT NULL,
	"answered_at" bigint,
	"ended_at" bigint,
	"outcome" text,
	"end_reason" text,
	"entry_at" bigint,
	"version" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "calls_ref_unique" UNIQUE("ref")
);
--> statement-breakpoint
CREATE TABLE "channels" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"name" text NOT NULL,
	"secret" text NOT NULL,
	"outbound_url" text,
	"created_at" bigint NOT NULL,
	CONSTRAINT "channels_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "chats" (
	"id" text PRIMARY KEY NOT NULL,
	"visitor_id" text NOT NULL,
	"ticket_id" text NOT NULL,
	"status" text NOT NULL,
	"presence" text NOT NULL,
	"agent_id" text,
	"started_at" bigint NOT NULL,
	"served_at" bigint,
	"ended_at" bigint,
	"ended_by" text,
	CONSTRAINT "chats_ticket_id_unique" UNIQUE("ticket_id")
);
--> statement-breakpoint
CREATE TABLE "custom_statuses" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"maps_to" text NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "custom_statuses_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "customer_addresses" (
	"customer_id" text NOT NULL,
	"channel" text NOT NULL,
	"address" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "customers" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" bigint NOT NULL,
	"organisation" text DEFAULT '' NOT NULL,
	"notes" text DEFAULT '' NOT NULL,
	"tags" jsonb DEFAULT '[]' NOT NULL,
	"unverified" boolean DEFAULT false NOT NULL,
	"claimed_email" text
);
--> statement-breakpoint
CREATE TABLE "email_messages" (
	"message_id" text PRIMARY KEY NOT NULL,
	"ticket_id" text NOT NULL,
	"entry_id" text NOT NULL,
	"mailbox" text,
	"side_id" text,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "email_verifications" (
	"id" text PRIMARY KEY NOT NULL,
	"token_hash" text NOT NULL,
	"pending_token" text,
	"customer_id" text NOT NULL,
	"email" text NOT NULL,
	"origin" text NOT NULL,
	"expires_at" bigint NOT NULL,
	"used_at" bigint,
	"created_at" bigint NOT NULL,
	CONSTRAINT "email_verifications_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"ticket_id" text,
	"user_id" text,
	"actor" text NOT NULL,
	"type" text NOT NULL,
	"data" jsonb NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "groups" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "groups_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "help_articles" (
	"id" text PRIMARY KEY NOT NULL,
	"slug" text NOT NULL,
	"title" text NOT NULL,
	"section" text NOT NULL,
	"tags" jsonb NOT NULL,
	"body" text NOT NULL,
	"status" text NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"published_at" bigint,
	CONSTRAINT "help_articles_slug_unique" UNIQUE("slug")
);
--> statement-breakpoint
CREATE TABLE "imap_mailboxes" (
	"address" text PRIMARY KEY NOT NULL,
	"host" text NOT NULL,
	"port" bigint NOT NULL,
	"tls" text NOT NULL,
	"username" text NOT NULL,
	"auth" text NOT NULL,
	"secret" text NOT NULL,
	"folder" text NOT NULL,
	"after_fetch" text NOT NULL,
	"move_to" text,
	"uid_validity" text,
	"stored_uid" bigint DEFAULT 0 NOT NULL,
	"acted_uid" bigint DEFAULT 0 NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "macros" (
	"id" text PRIMARY KEY NOT NULL,
	"title" text NOT NULL,
	"body" text NOT NULL,
	"actions" jsonb NOT NULL,
	"created_by" text NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "object_links" (
	"record_id" text NOT NULL,
	"target_kind" text NOT NULL,
	"target_id" text NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "object_links_record_id_target_kind_target_id_pk" PRIMARY KEY("record_id","target_kind","target_id")
);
--> statement-breakpoint
CREATE TABLE "object_records" (
	"id" text PRIMARY KEY NOT NULL,
	"type_id" text NOT NULL,
	"external_id" text,
	"values" jsonb NOT NULL,
	"created_by" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "object_types" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"fields" jsonb NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "object_types_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "offers" (
	"id" text PRIMARY KEY NOT NULL,
	"item_id" text NOT NULL,
	"agent_id" text NOT NULL,
	"status" text NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"resolved_at" bigint
);
--> statement-breakpoint
CREATE TABLE "outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"ticket_id" text NOT NULL,
	"entry_id" text NOT NULL,
	"kind" text NOT NULL,
	"recipient" text,
	"status" text DEFAULT 'queued' NOT NULL,
	"attempts" bigint DEFAULT 0 NOT NULL,
	"next_attempt_at" bigint NOT NULL,
	"last_error" text,
	"created_at" bigint NOT NULL,
	"sent_at" bigint
);
--> statement-breakpoint
CREATE TABLE "routing_settings" (
	"id" bigint PRIMARY KEY NOT NULL,
	"offer_timeout_seconds" bigint NOT NULL,
	"capacities" jsonb NOT NULL,
	"decline_allowed" boolean NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sequences" (
	"name" text PRIMARY KEY NOT NULL,
	"value" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"expires_at" bigint NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sla_breaches" (
	"ticket_id" text NOT NULL,
	"metric" text NOT NULL,
	"due_at" bigint NOT NULL,
	"recorded_at" bigint NOT NULL,
	CONSTRAINT "sla_breaches_ticket_id_metric_due_at_pk" PRIMARY KEY("ticket_id","metric","due_at")
);
--> statement-breakpoint
CREATE TABLE "sla_policies" (
	"priority" text NOT NULL,
	"channel" text NOT NULL,
	"first_reply_minutes" bigint,
	"next_reply_minutes" bigint,
	"resolution_minutes" bigint,
	CONSTRAINT "sla_policies_priority_channel_pk" PRIMARY KEY("priority","channel")
);
--> statement-breakpoint
CREATE TABLE "support_addresses" (
	"address" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"group_id" text,
	"signature" text,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "talk_numbers" (
	"id" text PRIMARY KEY NOT NULL,
	"number" text NOT NULL,
	"label" text NOT NULL,
	"group_id" text,
	"created_at" bigint NOT NULL,
	CONSTRAINT "talk_numbers_number_unique" UNIQUE("number")
);
--> statement-breakpoint
CREATE TABLE "ticket_attachments" (
	"ticket_id" text NOT NULL,
	"sha256" text NOT NULL,
	"uploaded_by" text NOT NULL,
	"name" text NOT NULL,
	"content_type" text NOT NULL,
	"size" bigint NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "ticket_attachments_ticket_id_sha256_pk" PRIMARY KEY("ticket_id","sha256")
);
--> statement-breakpoint
CREATE TABLE "ticket_client_owners" (
	"ticket_id" text NOT NULL,
	"client_id" bigint NOT NULL,
	"owner" text NOT NULL,
	"claimed_at" bigint NOT NULL,
	CONSTRAINT "ticket_client_owners_ticket_id_client_id_pk" PRIMARY KEY("ticket_id","client_id")
);
--> statement-breakpoint
CREATE TABLE "ticket_entry_ids" (
	"ticket_id" text NOT NULL,
	"entry_id" text NOT NULL,
	CONSTRAINT "ticket_entry_ids_ticket_id_entry_id_pk" PRIMARY KEY("ticket_id","entry_id")
);
--> statement-breakpoint
CREATE TABLE "ticket_heads" (
	"ticket_id" text PRIMARY KEY NOT NULL,
	"last_seq" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ticket_quarantine" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"ticket_id" text NOT NULL,
	"kind" text NOT NULL,
	"seq" bigint NOT NULL,
	"data" "bytea" NOT NULL,
	"error" text NOT NULL,
	"quarantined_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ticket_snapshots" (
	"ticket_id" text NOT NULL,
	"up_to_seq" bigint NOT NULL,
	"state" "bytea" NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "ticket_snapshots_ticket_id_up_to_seq_pk" PRIMARY KEY("ticket_id","up_to_seq")
);
--> statement-breakpoint
CREATE TABLE "ticket_updates" (
	"ticket_id" text NOT NULL,
	"seq" bigint NOT NULL,
	"data" "bytea" NOT NULL,
	"received_at" bigint NOT NULL,
	"actor" text NOT NULL,
	CONSTRAINT "ticket_updates_ticket_id_seq_pk" PRIMARY KEY("ticket_id","seq")
);
--> statement-breakpoint
CREATE TABLE "tickets" (
	"id" text PRIMARY KEY NOT NULL,
	"number" bigint,
	"subject" text NOT NULL,
	"status" text NOT NULL,
	"priority" text NOT NULL,
	"assignee_id" text,
	"group_id" text,
	"requester_id" text NOT NULL,
	"channel" text NOT NULL,
	"tags" jsonb DEFAULT '[]' NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"entry_count" bigint DEFAULT 0 NOT NULL,
	"last_public_preview" text,
	"last_public_at" bigint,
	"first_reply_at" bigint,
	"awaiting_since" bigint,
	"parent_id" text
);
--> statement-breakpoint
CREATE TABLE "user_groups" (
	"user_id" text NOT NULL,
	"group_id" text NOT NULL,
	CONSTRAINT "user_groups_user_id_group_id_pk" PRIMARY KEY("user_id","group_id")
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" text PRIMARY KEY NOT NULL,
	"email" text NOT NULL,
	"name" text NOT NULL,
	"role" text NOT NULL,
	"password_hash" text NOT NULL,
	"disabled" boolean DEFAULT false NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "users_email_unique" UNIQUE("email")
);
--> statement-breakpoint
CREATE TABLE "visitor_pages" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"visitor_id" text NOT NULL,
	"url" text NOT NULL,
	"title" text NOT NULL,
	"viewed_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "visitors" (
	"id" text PRIMARY KEY NOT NULL,
	"token_hash" text NOT NULL,
	"customer_id" text,
	"created_at" bigint NOT NULL,
	"last_seen_at" bigint NOT NULL,
	CONSTRAINT "visitors_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "webhook_events" (
	"channel_id" text NOT NULL,
	"event_id" text NOT NULL,
	"received_at" bigint NOT NULL,
	CONSTRAINT "webhook_events_channel_id_event_id_pk" PRIMARY KEY("channel_id","event_id")
);
--> statement-breakpoint
CREATE TABLE "work_items" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"ref" text NOT NULL,
	"ticket_id" text,
	"channel" text NOT NULL,
	"group_id" text,
	"skill" text,
	"priority" text NOT NULL,
	"sla_due_at" bigint,
	"status" text NOT NULL,
	"agent_id" text,
	"previous_agent_id" text,
	"written" boolean DEFAULT false NOT NULL,
	"enqueued_at" bigint NOT NULL,
	"assigned_at" bigint,
	"done_at" bigint,
	"done_reason" text
);
--> statement-breakpoint
ALTER TABLE "agent_presence" ADD CONSTRAINT "agent_presence_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agent_routing" ADD CONSTRAINT "agent_routing_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "chats" ADD CONSTRAINT "chats_visitor_id_visitors_id_fk" FOREIGN KEY ("visitor_id") REFERENCES "public"."visitors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "customer_addresses" ADD CONSTRAINT "customer_addresses_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "public"."customers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "email_verifications" ADD CONSTRAINT "email_verifications_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "public"."customers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "object_links" ADD CONSTRAINT "object_links_record_id_object_records_id_fk" FOREIGN KEY ("record_id") REFERENCES "public"."object_records"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "object_records" ADD CONSTRAINT "object_records_type_id_object_types_id_fk" FOREIGN KEY ("type_id") REFERENCES "public"."object_types"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "offers" ADD CONSTRAINT "offers_item_id_work_items_id_fk" FOREIGN KEY ("item_id") REFERENCES "public"."work_items"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "talk_numbers" ADD CONSTRAINT "talk_numbers_group_id_groups_id_fk" FOREIGN KEY ("group_id") REFERENCES "public"."groups"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_groups" ADD CONSTRAINT "user_groups_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_groups" ADD CONSTRAINT "user_groups_group_id_groups_id_fk" FOREIGN KEY ("group_id") REFERENCES "public"."groups"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "visitor_pages" ADD CONSTRAINT "visitor_pages_visitor_id_visitors_id_fk" FOREIGN KEY ("visitor_id") REFERENCES "public"."visitors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "visitors" ADD CONSTRAINT "visitors_customer_id_customers_id_fk" FOREIGN KEY ("customer_id") REFERENCES "public"."customers"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_events" ADD CONSTRAINT "webhook_events_channel_id_channels_id_fk" FOREIGN KEY ("channel_id") REFERENCES "public"."channels"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "calls_state" ON "calls" USING btree ("state");--> statement-breakpoint
CREATE INDEX "calls_agent" ON "calls" USING btree ("agent_id","state");--> statement-breakpoint
CREATE INDEX "calls_ticket" ON "calls" USING btree ("ticket_id");--> statement-breakpoint
CREATE INDEX "chats_visitor" ON "chats" USING btree ("visitor_id","started_at");--> statement-breakpoint
CREATE UNIQUE INDEX "customer_addresses_channel_address" ON "customer_addresses" USING btree ("channel","address");--> statement-breakpoint
CREATE INDEX "customer_addresses_customer" ON "customer_addresses" USING btree ("customer_id");--> statement-breakpoint
CREATE INDEX "email_messages_ticket" ON "email_messages" USING btree ("ticket_id");--> statement-breakpoint
CREATE INDEX "email_verifications_customer" ON "email_verifications" USING btree ("customer_id");--> statement-breakpoint
CREATE INDEX "events_ticket" ON "events" USING btree ("ticket_id","id");--> statement-breakpoint
CREATE INDEX "events_user" ON "events" USING btree ("user_id","id");--> statement-breakpoint
CREATE INDEX "help_articles_section" ON "help_articles" USING btree ("status","section");--> statement-breakpoint
CREATE INDEX "object_links_target" ON "object_links" USING btree ("target_kind","target_id");--> statement-breakpoint
CREATE UNIQUE INDEX "object_records_type_external" ON "object_records" USING btree ("type_id","external_id");--> statement-breakpoint
CREATE INDEX "offers_item" ON "offers" USING btree ("item_id","status","agent_id");--> statement-breakpoint
CREATE INDEX "offers_agent" ON "offers" USING btree ("status","agent_id","item_id");--> statement-breakpoint
CREATE INDEX "offers_pending_expiry" ON "offers" USING btree ("status","expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "offers_one_pending" ON "offers" USING btree ("item_id") WHERE status = 'pending';--> statement-breakpoint
CREATE UNIQUE INDEX "outbox_entry_kind" ON "outbox" USING btree ("entry_id","kind");--> statement-breakpoint
CREATE INDEX "outbox_due" ON "outbox" USING btree ("status","next_attempt_at");--> statement-breakpoint
CREATE INDEX "outbox_ticket" ON "outbox" USING btree ("ticket_id");--> statement-breakpoint
CREATE INDEX "sessions_user" ON "sessions" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "ticket_quarantine_ticket" ON "ticket_quarantine" USING btree ("ticket_id");--> statement-breakpoint
CREATE INDEX "tickets_status_updated" ON "tickets" USING btree ("status","updated_at");--> statement-breakpoint
CREATE INDEX "tickets_parent" ON "tickets" USING btree ("parent_id");--> statement-breakpoint
CREATE INDEX "tickets_assignee" ON "tickets" USING btree ("assignee_id","updated_at");--> statement-breakpoint
CREATE INDEX "tickets_group" ON "tickets" USING btree ("group_id","updated_at");--> statement-breakpoint
CREATE INDEX "tickets_requester" ON "tickets" USING btree ("requester_id");--> statement-breakpoint
CREATE UNIQUE INDEX "tickets_number" ON "tickets" USING btree ("number");--> statement-breakpoint
CREATE INDEX "visitor_pages_visitor" ON "visitor_pages" USING btree ("visitor_id","seq");--> statement-breakpoint
CREATE INDEX "work_items_status" ON "work_items" USING btree ("status","agent_id","channel");--> statement-breakpoint
CREATE INDEX "work_items_ref" ON "work_items" USING btree ("kind","ref","enqueued_at");--> statement-breakpoint
CREATE INDEX "work_items_agent" ON "work_items" USING btree ("agent_id","status");--> statement-breakpoint
CREATE UNIQUE INDEX "work_items_active_ref" ON "work_items" USING btree ("kind","ref") WHERE status != 'done';