CREATE TABLE `concurrency_rollups` (
	`workspace_id` text NOT NULL,
	`grain` text NOT NULL,
	`bucket` integer NOT NULL,
	`room` text NOT NULL,
	`max_users` integer NOT NULL,
	`participant_ms` integer NOT NULL,
	PRIMARY KEY(`workspace_id`, `grain`, `bucket`, `room`)
);
--> statement-breakpoint
CREATE TABLE `gauge_rollups` (
	`workspace_id` text NOT NULL,
	`grain` text NOT NULL,
	`bucket` integer NOT NULL,
	`name` text NOT NULL,
	`min` real NOT NULL,
	`max` real NOT NULL,
	`sum` real NOT NULL,
	`samples` integer NOT NULL,
	`last` real NOT NULL,
	`last_ts` integer NOT NULL,
	PRIMARY KEY(`workspace_id`, `grain`, `bucket`, `name`)
);
--> statement-breakpoint
CREATE TABLE `alert_rules` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`name` text NOT NULL,
	`metric` text NOT NULL,
	`filter` text DEFAULT '{}' NOT NULL,
	`op` text NOT NULL,
	`threshold` real NOT NULL,
	`window_minutes` integer NOT NULL,
	`for_minutes` integer NOT NULL,
	`destination_url` text NOT NULL,
	`destination_format` text NOT NULL,
	`secret` text NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`state` text DEFAULT 'ok' NOT NULL,
	`since` integer,
	`value` real,
	`origin` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `alert_rules_workspace` ON `alert_rules` (`workspace_id`);--> statement-breakpoint
CREATE TABLE `report_schedules` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`name` text NOT NULL,
	`every` text NOT NULL,
	`hour` integer NOT NULL,
	`weekday` integer,
	`destination_url` text NOT NULL,
	`destination_format` text NOT NULL,
	`secret` text NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`last_period_start` integer,
	`last_sent_at` integer,
	`origin` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `report_schedules_workspace` ON `report_schedules` (`workspace_id`);--> statement-breakpoint
CREATE TABLE `user_first_seen` (
	`workspace_id` text NOT NULL,
	`user_id` text NOT NULL,
	`first_seen` integer NOT NULL,
	PRIMARY KEY(`workspace_id`, `user_id`)
);
--> statement-breakpoint
CREATE INDEX `user_first_seen_time` ON `user_first_seen` (`workspace_id`,`first_seen`);