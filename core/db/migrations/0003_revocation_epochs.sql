CREATE TABLE "revocation_epochs" (
	"person_id" text PRIMARY KEY NOT NULL,
	"epoch" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "revocation_epochs_epoch_check" CHECK ("revocation_epochs"."epoch" >= 0)
);
--> statement-breakpoint
ALTER TABLE "revocation_epochs" ADD CONSTRAINT "revocation_epochs_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;