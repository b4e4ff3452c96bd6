import { qs, wsPath } from '../api';
import type { EventPage, ParticipantSession, UserReport } from '../api-types';
import { Card, ErrorNote, Loading, Panel } from '../components/Ui';
import { ago, bytes, dateTime, duration, exact, ms } from '../format';
import { href, type Route } from '../router';
import { useApi } from './Reports';

/** One user: first and last seen, events, sessions, errors, bandwidth, their latest events and room sessions. */
export default function User({ route }: { route: Route }) {
  const { ws, userId } = route as { ws: string; userId: string };
  const user = useApi<{ user: UserReport }>(`${wsPath(ws)}/users/${encodeURIComponent(userId)}${qs({ range: '90d' })}`);
  const events = useApi<EventPage>(`${wsPath(ws)}/events${qs({ userId, range: '90d', limit: 30 })}`);
  const sessions = useApi<{ sessions: ParticipantSession[] }>(`${wsPath(ws)}/sessions${qs({ userId, range: '90d' })}`);
  const u = user.data?.user;
  return (
    <>
      <div class="page-head">
        <a href={href.reports(ws)} class="muted">
          ← Reports
        </a>
        <h1>{userId}</h1>
        {u && <span class="sub">last seen {ago(u.lastSeen)}</span>}
      </div>
      <ErrorNote error={user.error} />
      {!u ? (
        !user.error && <Loading />
      ) : (
        <div class="grid cards">
          <Card label="First seen" value={ago(u.firstSeen)} foot={dateTime(u.firstSeen)} />
          <Card label="Last seen" value={ago(u.lastSeen)} foot={dateTime(u.lastSeen)} />
          <Card label="Events" value={exact(u.events)} />
          <Card label="Sessions" value={exact(u.sessions)} />
          <Card label="Errors" value={exact(u.errors)} bad={u.errors > 0} />
          <Card label="Bandwidth" value={bytes(u.bytesOut)} foot={`in ${bytes(u.bytesIn)}`} />
          <Card label="Duration p95" value={ms(u.durationMs?.p95)} foot={`p50 ${ms(u.durationMs?.p50)}`} />
        </div>
      )}
      <div class="grid cols-2">
        <Panel title="Latest events" hint={<a href={href.events(ws, `?range=90d&userId=${encodeURIComponent(userId)}`)}>all →</a>}>
          {!events.data ? (
            <Loading />
          ) : events.data.events.length === 0 ? (
            <p class="empty-small">No events</p>
          ) : (
            <ol class="feed" style={{ maxHeight: '480px' }}>
              {events.data.events.map((e) => (
                <li key={e.id} class={e.error ? 'error' : ''}>
                  <time dateTime={e.timestamp} title={dateTime(e.timestamp)}>{ago(e.timestamp)}</time>
                  <span class="type">{e.type}</span>
                  <span class="meta">{e.room ? <a href={href.room(ws, e.room)}>#{e.room}</a> : e.error ?? ''}</span>
                </li>
              ))}
            </ol>
          )}
        </Panel>
        <Panel title="Room sessions">
          {!sessions.data ? (
            sessions.error ? <ErrorNote error={sessions.error} /> : <Loading />
          ) : sessions.data.sessions.length === 0 ? (
            <p class="empty-small">Not in any room</p>
          ) : (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>Room</th>
                    <th>Joined</th>
                    <th class="num">Stayed</th>
                    <th>Platform</th>
                  </tr>
                </thead>
                <tbody>
                  {sessions.data.sessions.map((s) => (
                    <tr key={`${s.room}-${s.joinedAt}`}>
                      <td>
                        <a href={href.room(ws, s.room)}>{s.room}</a>
                      </td>
                      <td>{dateTime(s.joinedAt)}</td>
                      <td class="num">{s.leftAt ? duration(s.durationSeconds) : <span class="pill">present</span>}</td>
                      <td>{s.platform ?? '–'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Panel>
      </div>
    </>
  );
}
