// Wire types the dashboard reads: all from src/shared (type-only imports, so no zod in the bundle).
export type { LiveEvent, LiveMessage, LiveSnapshot, LiveToken, Participant, RoomStats, Stats } from '../../src/shared/live';
export type { Breakdown, DurationStats, Summary, Timeseries, UserReport } from '../../src/shared/reports';
export type { CohortGrain, Retention } from '../../src/shared/growth';
export type { EventPage, StoredEvent } from '../../src/shared/events';
export type { ApiKey, KeyKind, Workspace } from '../../src/shared/workspaces';
export type { Session, SessionBody } from '../../src/shared/session';
export type { ErrorBody, ErrorIssue } from '../../src/shared/errors';
export type { Share, ShareCreated, ShareInfo, ShareList } from '../../src/shared/shares';
export type { Alert, AlertInput, AlertMetric, AlertPatch, Delivery, DeliveryFormat, FiringAlert, Schedule, ScheduleInput } from '../../src/shared/alerts';

import type { z } from 'zod';
import type { ParticipantSession as ParticipantSessionSchema, RoomSession as RoomSessionSchema } from '../../src/shared/reports';

export type ParticipantSession = z.infer<typeof ParticipantSessionSchema>;
export type RoomSession = z.infer<typeof RoomSessionSchema>;
export type { Granularity } from '../../src/shared/report-params';
export type { GaugeNames, GaugePoint, GaugeSeries } from '../../src/shared/gauges';
export type { ConnectionFigures, Connections } from '../../src/shared/connections';
