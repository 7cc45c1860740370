CREATE TYPE "public"."api_role" AS ENUM('admin', 'security', 'auditor');--> statement-breakpoint
CREATE TYPE "public"."assistant_status" AS ENUM('pending', 'provisioning', 'ready', 'suspended', 'failed', 'deleting');--> statement-breakpoint
CREATE TYPE "public"."grant_effect" AS ENUM('allow', 'deny');--> statement-breakpoint
CREATE TYPE "public"."person_status" AS ENUM('active', 'suspended');--> statement-breakpoint
CREATE TYPE "public"."resource_kind" AS ENUM('tool', 'skill', 'knowledge');--> statement-breakpoint
CREATE TYPE "public"."subject_kind" AS ENUM('person', 'team', 'department');--> statement-breakpoint
CREATE TYPE "public"."tool_transport" AS ENUM('streamable-http', 'sse');--> statement-breakpoint
CREATE TABLE "api_tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"secret_hash" text NOT NULL,
	"role" "api_role" NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone,
	"last_used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "assistants" (
	"id" text PRIMARY KEY NOT NULL,
	"person_id" text NOT NULL,
	"status" "assistant_status" DEFAULT 'pending' NOT NULL,
	"status_message" text,
	"endpoint" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_events" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"id" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"target_kind" text NOT NULL,
	"target_id" text NOT NULL,
	"before" jsonb,
	"after" jsonb,
	"request_id" text
);
--> statement-breakpoint
CREATE TABLE "departments" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "grants" (
	"id" text PRIMARY KEY NOT NULL,
	"subject_kind" "subject_kind" NOT NULL,
	"subject_person_id" text,
	"subject_team_id" text,
	"subject_department_id" text,
	"resource_kind" "resource_kind" NOT NULL,
	"resource_tool_id" text,
	"resource_skill_id" text,
	"resource_knowledge_id" text,
	"tool_pattern" text,
	"effect" "grant_effect" NOT NULL,
	"expires_at" timestamp with time zone,
	"reason" text,
	"granted_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "grants_subject_one" CHECK (num_nonnulls("grants"."subject_person_id", "grants"."subject_team_id", "grants"."subject_department_id") = 1
    and ("grants"."subject_kind" <> 'person' or "grants"."subject_person_id" is not null)
    and ("grants"."subject_kind" <> 'team' or "grants"."subject_team_id" is not null)
    and ("grants"."subject_kind" <> 'department' or "grants"."subject_department_id" is not null)),
	CONSTRAINT "grants_resource_one" CHECK (num_nonnulls("grants"."resource_tool_id", "grants"."resource_skill_id", "grants"."resource_knowledge_id") = 1
    and ("grants"."resource_kind" <> 'tool' or "grants"."resource_tool_id" is not null)
    and ("grants"."resource_kind" <> 'skill' or "grants"."resource_skill_id" is not null)
    and ("grants"."resource_kind" <> 'knowledge' or "grants"."resource_knowledge_id" is not null)),
	CONSTRAINT "grants_pattern_only_for_tools" CHECK ("grants"."tool_pattern" is null or "grants"."resource_kind" = 'tool')
);
--> statement-breakpoint
CREATE TABLE "knowledge_collections" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "people" (
	"id" text PRIMARY KEY NOT NULL,
	"email" text NOT NULL,
	"display_name" text NOT NULL,
	"department_id" text,
	"status" "person_status" DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "skills" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "team_members" (
	"team_id" text NOT NULL,
	"person_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "team_members_team_id_person_id_pk" PRIMARY KEY("team_id","person_id")
);
--> statement-breakpoint
CREATE TABLE "teams" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"department_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tools" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"url" text NOT NULL,
	"transport" "tool_transport" DEFAULT 'streamable-http' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "assistants" ADD CONSTRAINT "assistants_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "grants" ADD CONSTRAINT "grants_subject_person_id_people_id_fk" FOREIGN KEY ("subject_person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "grants" ADD CONSTRAINT "grants_subject_team_id_teams_id_fk" FOREIGN KEY ("subject_team_id") REFERENCES "public"."teams"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "grants" ADD CONSTRAINT "grants_subject_department_id_departments_id_fk" FOREIGN KEY ("subject_department_id") REFERENCES "public"."departments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "grants" ADD CONSTRAINT "grants_resource_tool_id_tools_id_fk" FOREIGN KEY ("resource_tool_id") REFERENCES "public"."tools"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "grants" ADD CONSTRAINT "grants_resource_skill_id_skills_id_fk" FOREIGN KEY ("resource_skill_id") REFERENCES "public"."skills"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "grants" ADD CONSTRAINT "grants_resource_knowledge_id_knowledge_collections_id_fk" FOREIGN KEY ("resource_knowledge_id") REFERENCES "public"."knowledge_collections"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "people" ADD CONSTRAINT "people_department_id_departments_id_fk" FOREIGN KEY ("department_id") REFERENCES "public"."departments"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "team_members" ADD CONSTRAINT "team_members_team_id_teams_id_fk" FOREIGN KEY ("team_id") REFERENCES "public"."teams"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "team_members" ADD CONSTRAINT "team_members_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "teams" ADD CONSTRAINT "teams_department_id_departments_id_fk" FOREIGN KEY ("department_id") REFERENCES "public"."departments"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "api_tokens_secret_hash_key" ON "api_tokens" USING btree ("secret_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "assistants_person_key" ON "assistants" USING btree ("person_id");--> statement-breakpoint
CREATE UNIQUE INDEX "audit_events_id_key" ON "audit_events" USING btree ("id");--> statement-breakpoint
CREATE INDEX "audit_events_target_idx" ON "audit_events" USING btree ("target_kind","target_id");--> statement-breakpoint
CREATE INDEX "audit_events_actor_idx" ON "audit_events" USING btree ("actor");--> statement-breakpoint
CREATE INDEX "audit_events_at_idx" ON "audit_events" USING btree ("at");--> statement-breakpoint
CREATE UNIQUE INDEX "departments_name_key" ON "departments" USING btree (lower("name"));--> statement-breakpoint
CREATE INDEX "grants_subject_person_idx" ON "grants" USING btree ("subject_person_id");--> statement-breakpoint
CREATE INDEX "grants_subject_team_idx" ON "grants" USING btree ("subject_team_id");--> statement-breakpoint
CREATE INDEX "grants_subject_department_idx" ON "grants" USING btree ("subject_department_id");--> statement-breakpoint
CREATE INDEX "grants_resource_tool_idx" ON "grants" USING btree ("resource_tool_id");--> statement-breakpoint
CREATE INDEX "grants_resource_skill_idx" ON "grants" USING btree ("resource_skill_id");--> statement-breakpoint
CREATE INDEX "grants_resource_knowledge_idx" ON "grants" USING btree ("resource_knowledge_id");--> statement-breakpoint
CREATE UNIQUE INDEX "knowledge_collections_name_key" ON "knowledge_collections" USING btree ("name");--> statement-breakpoint
CREATE UNIQUE INDEX "people_email_key" ON "people" USING btree (lower("email"));--> statement-breakpoint
CREATE INDEX "people_department_idx" ON "people" USING btree ("department_id");--> statement-breakpoint
CREATE UNIQUE INDEX "skills_name_key" ON "skills" USING btree ("name");--> statement-breakpoint
CREATE INDEX "team_members_person_idx" ON "team_members" USING btree ("person_id");--> statement-breakpoint
CREATE UNIQUE INDEX "teams_name_key" ON "teams" USING btree (lower("name"));--> statement-breakpoint
CREATE INDEX "teams_department_idx" ON "teams" USING btree ("department_id");--> statement-breakpoint
CREATE UNIQUE INDEX "tools_name_key" ON "tools" USING btree ("name");