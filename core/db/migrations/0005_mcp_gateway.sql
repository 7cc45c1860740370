CREATE TYPE "public"."tool_auth_kind" AS ENUM('none', 'bearer', 'header', 'client_credentials', 'per_person', 'token_exchange');--> statement-breakpoint
CREATE TABLE "tool_credentials" (
	"id" text PRIMARY KEY NOT NULL,
	"tool_id" text NOT NULL,
	"person_id" text,
	"version" integer NOT NULL,
	"sealed" text NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "tools" ADD COLUMN "auth_kind" "tool_auth_kind" DEFAULT 'none' NOT NULL;--> statement-breakpoint
ALTER TABLE "tools" ADD COLUMN "auth_config" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "tools" ADD COLUMN "rate_limit_per_minute" integer;--> statement-breakpoint
ALTER TABLE "tool_credentials" ADD CONSTRAINT "tool_credentials_tool_id_tools_id_fk" FOREIGN KEY ("tool_id") REFERENCES "public"."tools"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tool_credentials" ADD CONSTRAINT "tool_credentials_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "tool_credentials_version_key" ON "tool_credentials" USING btree ("tool_id",coalesce("person_id", ''),"version");--> statement-breakpoint
CREATE INDEX "tool_credentials_person_idx" ON "tool_credentials" USING btree ("person_id");