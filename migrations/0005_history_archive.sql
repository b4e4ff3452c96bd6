CREATE TABLE `user_rollups` (
	`workspace_id` text NOT NULL,
	`user_id` text NOT NULL,
	`day` integer NOT NULL,
	`events` integer NOT NULL,
	`errors` integer NOT NULL,
	`bytes_in` integer NOT NULL,
	`bytes_out` integer NOT NULL,
	`value` real NOT NULL,
	`duration_count` integer NOT NULL,
	`duration_sum` real NOT NULL,
	`durations` text,
	`sessions` text,
	`first_seen` integer NOT NULL,
	`last_seen` integer NOT NULL,
	PRIMARY KEY(`workspace_id`, `user_id`, `day`)
);
--> statement-breakpoint
CREATE INDEX `user_rollups_day` ON `user_rollups` (`workspace_id`,`day`);--> statement-breakpoint
CREATE TABLE `erasures` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`user_id` text NOT NULL,
	`status` text NOT NULL,
	`events_erased` integer DEFAULT 0 NOT NULL,
	`progress` text,
	`requested_at` integer NOT NULL,
	`done_at` integer
);
--> statement-breakpoint
CREATE INDEX `erasures_workspace_status` ON `erasures` (`workspace_id`,`status`);--> statement-breakpoint
CREATE TABLE `job_state` (
	`name` text PRIMARY KEY NOT NULL,
	`state` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `workspaces` ADD `rollup_properties` text DEFAULT '[]' NOT NULL;