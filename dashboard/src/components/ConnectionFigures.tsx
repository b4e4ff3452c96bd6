import { useEffect, useState } from 'preact/hooks';
import { get, qs, wsPath } from '../api';
import type { Connections } from '../api-types';
import { duration, num, pct } from '../format';
import { Card, ErrorNote, Loading } from './Ui';
import type { ViewerRange } from './viewer-range';

/** A room's (or the workspace's) connection figures over a range: success rate, participant minutes, by connection type. */
export function ConnectionFigures({ ws, room, range }: { ws: string; room?: string; range: ViewerRange }) {
  const [data, setData] = useState<Connections | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    setError(null);
    let current = true;
    get<Connections>(`${wsPath(ws)}/stats/connections${qs({ from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString(), room })}`).then(
      (d) => current && setData(d),
      (e) => current && setError(e),
    );
    return () => {
      current = false;
    };
  }, [ws, room, range.from, range.to]);
  if (error) return <ErrorNote error={error} />;
  if (!data) return <Loading />;
  const types = Object.entries(data.byConnectionType).filter(([k, f]) => f.attempts > 0 || f.participantMinutes > 0 || ['udp', 'tcp', 'turn'].includes(k));
  return (
    <>
      <div class="grid cards">
        <Card testid="room-success-rate" label="Connection success" value={pct(data.successRate)} foot={`${num(data.succeeded)} of ${num(data.attempts)} · ${num(data.aborted)} aborted`} bad={data.successRate !== null && data.successRate < 0.9} />
        <Card testid="room-participant-minutes" label="Participant minutes" value={num(data.participantMinutes)} foot={`avg session ${duration(data.avgSessionSeconds)}`} />
      </div>
      <div class="table-wrap" data-testid="connection-types">
        <table>
          <thead>
            <tr>
              <th>Connection</th>
              <th class="num">Attempts</th>
              <th class="num">Success</th>
              <th class="num">Minutes</th>
            </tr>
          </thead>
          <tbody>
            {types.map(([type, f]) => (
              <tr key={type} data-type={type}>
                <td>{type}</td>
                <td class="num">{num(f.attempts)}</td>
                <td class="num">{pct(f.successRate)}</td>
                <td class="num">{num(f.participantMinutes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
