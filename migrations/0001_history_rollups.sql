CREATE TABLE `participant_sessions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`workspace_id` text NOT NULL,
	`room` text NOT NULL,
	`user_id` text NOT NULL,
	`joined_at` integer NOT NULL,
	`left_at` integer,
	`platform` text,
	`connection_type` text
);
--> statement-breakpoint
CREATE INDEX `participant_sessions_key` ON `participant_sessions` (`workspace_id`,`room`,`user_id`,`left_at`);--> statement-breakpoint
CREATE INDEX `participant_sessions_joined` ON `participant_sessions` (`workspace_id`,`joined_at`);--> statement-breakpoint
CREATE TABLE `rollups` (
	`workspace_id` text NOT NULL,
	`grain` text NOT NULL,
	`bucket` integer NOT NULL,
	`type` text NOT NULL,
	`dim` text NOT NULL,
	`key` text NOT NULL,
	`events` integer NOT NULL,
	`errors` integer NOT NULL,
	`bytes_in` integer NOT NULL,
	`bytes_out` integer NOT NULL,
	`value` real NOT NULL,
	`duration_count` integer NOT NULL,
	`duration_sum` real NOT NULL,
	`users` text,
	`sessions` text,
	`durations` text,
	PRIMARY KEY(`workspace_id`, `grain`, `bucket`, `type`, `dim`, `key`)
);
--> statement-breakpoint
CREATE TABLE `room_sessions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`workspace_id` text NOT NULL,
	`room` text NOT NULL,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	`max_participants` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `room_sessions_key` ON `room_sessions` (`workspace_id`,`room`,`ended_at`);--> statement-breakpoint
CREATE INDEX `room_sessions_started` ON `room_sessions` (`workspace_id`,`started_at`);