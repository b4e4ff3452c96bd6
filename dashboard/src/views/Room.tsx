import { useEffect, useMemo, useState } from 'preact/hooks';
import { get, qs, wsPath } from '../api';
import type { ParticipantSession, RoomStats, Timeseries } from '../api-types';
import { Chart } from '../components/Chart';
import { GaugePanels } from '../components/GaugePanels';
import { Card, ConnectionBadge, ErrorNote, Loading, Panel } from '../components/Ui';
import { ViewersPanel } from '../components/ViewersPanel';
import { ago, dateTime, duration, num, time } from '../format';
import { LiveConnection } from '../live';
import { href, type Route } from '../router';
import { isShared } from '../share';
import { Feed, Timeline } from './Live';
import { metric } from './Reports';

function JoinsChart({ ws, room }: { ws: string; room: string }) {
  const [data, setData] = useState<Timeseries | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    get<Timeseries>(`${wsPath(ws)}/stats/timeseries${qs({ range: '24h', granularity: 'hour', metrics: 'events,users', room, type: 'presence.join' })}`).then(setData, setError);
  }, [ws, room]);
  const x = useMemo(() => data?.points.map((p) => Date.parse(p.t) / 1000) ?? [], [data]);
  const series = useMemo(() => [{ label: 'joins', values: data?.points.map((p) => metric(p, 'events')) ?? [], color: '--accent', bars: true }], [data]);
  if (error) return <ErrorNote error={error} />;
  if (!data) return <Loading />;
  return <Chart x={x} series={series} height={180} label="Joins per hour over the last 24 hours" />;
}

function Sessions({ ws, room }: { ws: string; room: string }) {
  const [rows, setRows] = useState<ParticipantSession[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    get<{ sessions: ParticipantSession[] }>(`${wsPath(ws)}/sessions${qs({ room, range: '7d' })}`).then((r) => setRows(r.sessions), setError);
  }, [ws, room]);
  if (error) return <ErrorNote error={error} />;
  if (!rows) return <Loading />;
  if (!rows.length) return <p class="empty-small">No participant sessions in the last 7 days</p>;
  return (
    <div class="table-wrap scroll">
      <table>
        <thead>
          <tr>
            <th>User</th>
            <th>Joined</th>
            <th>Left</th>
            <th class="num">Stayed</th>
            <th>Platform</th>
            <th>Connection</th>
          </tr>
        </thead>
        <tbody>
          {rows.slice(0, 100).map((p) => (
            <tr key={`${p.userId}-${p.joinedAt}`}>
              <td>
                <a href={href.user(ws, p.userId)}>{p.userId}</a>
              </td>
              <td>{dateTime(p.joinedAt)}</td>
              <td>{p.leftAt ? dateTime(p.leftAt) : <span class="pill">present</span>}</td>
              <td class="num">{duration(p.durationSeconds ?? (Date.now() - Date.parse(p.joinedAt)) / 1000)}</td>
              <td>{p.platform ?? '–'}</td>
              <td>{p.connectionType ?? '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export default function Room({ route }: { route: Route }) {
  const { ws, room } = route as { ws: string; room: string };
  const conn = useMemo(() => new LiveConnection<RoomStats>(`${wsPath(ws)}/rooms/${encodeURIComponent(room)}/live`), [ws, room]);
  useEffect(() => () => conn.close(), [conn]);
  const s = conn.stats.value;
  // A share link shows aggregates only: no participants, no event feed, no participant sessions (they name users).
  const shared = isShared();
  return (
    <>
      <div class="page-head">
        <a href={href.live(ws)} class="muted">
          ← Live
        </a>
        <h1>#{room}</h1>
        <ConnectionBadge state={conn.state.value} />
        {s && <span class="sub">updated {time(s.timestamp)}</span>}
      </div>
      {!s ? (
        <Loading />
      ) : (
        <>
          <div class="grid cards">
            <Card testid="room-current" label="In the room" value={num(s.current)} foot={`peak ${num(s.peak)}`} />
            <Card label="Joins" value={num(s.totalJoins)} foot={`avg stay ${duration(s.avgSecondsInRoom)}`} />
            <Card label="Events / s" value={num(s.eventsPerSecond)} foot={`${num(s.eventsToday)} today`} />
            <Card label="Online users" value={num(s.onlineUsers)} foot={`${num(s.activeUsers)} active in 30 min`} />
          </div>
          <div class="grid cols-3">
            {!shared && (
              <Panel title="Participants now" hint={`${s.participants.length}`} class="span-2" testid="participants">
                {s.participants.length ? (
                  <div class="table-wrap scroll">
                    <table>
                      <thead>
                        <tr>
                          <th>Who</th>
                          <th>Platform</th>
                          <th>Since</th>
                        </tr>
                      </thead>
                      <tbody>
                        {s.participants.map((p) => (
                          <tr key={p.userId}>
                            <td>
                              <a href={href.user(ws, p.userId)}>{p.name ?? p.userId}</a>
                              {p.name && <span class="muted"> · {p.userId}</span>}
                            </td>
                            <td>{p.platform ?? '–'}</td>
                            <td title={dateTime(p.joinedAt)}>{ago(p.joinedAt)}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                ) : (
                  <p class="empty-small">The room is empty right now</p>
                )}
              </Panel>
            )}
            {!shared && (
              <Panel title="Recent events">
                <Feed events={conn.feed.value} ws={ws} testid="room-feed" empty="Nothing has happened here yet" />
              </Panel>
            )}
            <ViewersPanel ws={ws} room={room} />
            <Panel title="Activity" hint="last 10 minutes" class="span-2">
              <Timeline timeline={s.timeline} height={180} />
            </Panel>
            <GaugePanels ws={ws} gauges={s.gauges} history={false} />
            <Panel title="Joins over time" hint="per hour, 24 h">
              <JoinsChart ws={ws} room={room} />
            </Panel>
            {!shared && (
              <Panel title="Participant sessions" hint="last 7 days" class="span-2">
                <Sessions ws={ws} room={room} />
              </Panel>
            )}
          </div>
        </>
      )}
    </>
  );
}
