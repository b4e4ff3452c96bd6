import { z } from 'zod';

/** `GET …/stats/connections` (API.md, "Reports, continued"); the dashboard imports these. */

/** The connection types LiveKit users look for first: always present in `byConnectionType`. */
export const CONNECTION_TYPES = ['udp', 'tcp', 'turn'] as const;

export const ConnectionFigures = z
  .object({
    attempts: z.number().int().meta({ description: 'succeeded + aborted' }),
    succeeded: z.number().int().meta({ description: 'Participant sessions that began in the range (a LiveKit join, a presence.join, a browser viewer’s first heartbeat)' }),
    aborted: z.number().int().meta({ description: 'Connections that failed in the range: presence.leave events carrying an error (LiveKit’s participant_connection_aborted)' }),
    successRate: z.number().nullable().meta({ description: 'succeeded / attempts; null without attempts' }),
    participantMinutes: z.number().meta({ description: 'Time participants spent connected inside the range (sessions clipped to it; open ones count to now), in minutes' }),
    avgSessionSeconds: z.number().nullable().meta({ description: 'Mean length of the sessions that began in the range and have ended' }),
  })
  .meta({ id: 'ConnectionFigures' });
export type ConnectionFigures = z.infer<typeof ConnectionFigures>;

export const Connections = ConnectionFigures.extend({
  byConnectionType: z.record(z.string(), ConnectionFigures).meta({ description: 'udp, tcp and turn always; any other type seen; `unknown` for connections without one' }),
  byPlatform: z.record(z.string(), ConnectionFigures).meta({ description: 'Platforms seen (the session’s platform at its join); `unknown` for none' }),
}).meta({ id: 'Connections' });
export type Connections = z.infer<typeof Connections>;
