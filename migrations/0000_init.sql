CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`kind` text NOT NULL,
	`prefix` text NOT NULL,
	`name` text,
	`hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash_unique` ON `api_keys` (`hash`);--> statement-breakpoint
CREATE INDEX `api_keys_workspace` ON `api_keys` (`workspace_id`);--> statement-breakpoint
CREATE TABLE `drain_log` (
	`batch_id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`drained_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `events` (
	`workspace_id` text NOT NULL,
	`ts` integer NOT NULL,
	`id` text NOT NULL,
	`type` text NOT NULL,
	`received_at` integer NOT NULL,
	`user_id` text,
	`session_id` text,
	`room` text,
	`duration_ms` real,
	`bytes_in` integer,
	`bytes_out` integer,
	`error` text,
	`value` real,
	`properties` text,
	`context` text
);
--> statement-breakpoint
CREATE INDEX `events_workspace_ts` ON `events` (`workspace_id`,`ts`);--> statement-breakpoint
CREATE TABLE `workspaces` (
	`id` text PRIMARY KEY NOT NULL,
	`slug` text NOT NULL,
	`name` text NOT NULL,
	`timezone` text DEFAULT 'UTC' NOT NULL,
	`retention_days` integer DEFAULT 90 NOT NULL,
	`allowed_origins` text DEFAULT '[]' NOT NULL,
	`livekit_api_key` text,
	`livekit_api_secret` text,
	`webhook_secret` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `workspaces_slug_unique` ON `workspaces` (`slug`);