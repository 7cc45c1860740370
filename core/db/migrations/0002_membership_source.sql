CREATE TYPE "public"."membership_source" AS ENUM('api', 'oidc');--> statement-breakpoint
ALTER TABLE "team_members" ADD COLUMN "source" "membership_source" DEFAULT 'api' NOT NULL;