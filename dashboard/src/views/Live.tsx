import { useEffect, useMemo } from 'preact/hooks';
import { wsPath } from '../api';
import type { LiveEvent, Stats } from '../api-types';
import { Bars, Shares, toRows } from '../components/Bars';
import { Chart } from '../components/Chart';
import { GaugePanels } from '../components/GaugePanels';
import { FiringAlerts } from '../components/FiringAlerts';
import { Card, ConnectionBadge, FirstEvent, Loading, Panel } from '../components/Ui';
import { ViewersPanel } from '../components/ViewersPanel';
import { bytes, dateTime, feedTime, ms, num, pct, time } from '../format';
import { LiveConnection } from '../live';
import { href, type Route } from '../router';
import { isShared } from '../share';

export function Feed({ events, ws, testid, empty }: { events: LiveEvent[]; ws: string; testid: string; empty: string }) {
  if (!events.length) return <p class="empty-small">{empty}</p>;
  return (
    <ol class="feed" data-testid={testid} tabIndex={0} aria-label="Event feed">
      {events.map((e) => (
        <li key={e.id} class={e.error ? 'error' : ''} data-id={e.id}>
          <time dateTime={e.timestamp} title={dateTime(e.timestamp)}>{feedTime(e.timestamp)}</time>
          <span class="type" title={e.type}>
            {e.type}
            {e.error && <span class="pill bad" style={{ marginLeft: '6px' }}>{e.error}</span>}
          </span>
          <span class="meta">
            {e.userId && <a href={href.user(ws, e.userId)}>{e.userId}</a>}
            {e.room && (
              <>
                {e.userId ? ' · ' : ''}
                <a href={href.room(ws, e.room)}>#{e.room}</a>
              </>
            )}
          </span>
        </li>
      ))}
    </ol>
  );
}

/** The metric cards every live view shows (workspace and room). */
export function StatCards({ s }: { s: Stats }) {
  return (
    <div class="grid cards">
      <Card testid="card-online" label="Online now" value={num(s.onlineUsers)} foot={`${num(s.activeUsers)} active in 30 min`} />
      <Card testid="card-users-today" label="Users today" value={num(s.usersToday)} foot={`${num(s.activeSessions)} active sessions`} />
      <Card testid="card-eps" label="Events / s" value={num(s.eventsPerSecond)} foot={`${num(s.eventsLastMinute)} in the last minute`} />
      <Card testid="card-events-today" label="Events today" value={num(s.eventsToday)} foot={`${num(s.eventsLastHour)} in the last hour`} />
      <Card testid="card-error-rate" label="Error rate (1 h)" value={pct(s.errorRate)} foot={`${num(s.errorsLastHour)} errors`} bad={s.errorRate > 0.05} />
      <Card testid="card-p50" label="Latency p50" value={ms(s.latencyMs.p50)} foot="last 5 min" />
      <Card testid="card-p95" label="Latency p95" value={ms(s.latencyMs.p95)} foot={`p99 ${ms(s.latencyMs.p99)}`} />
      <Card testid="card-bandwidth" label="Bandwidth out" value={bytes(s.bandwidth.bytesOutPerSecond, '/s')} foot={`in ${bytes(s.bandwidth.bytesInPerSecond, '/s')}`} />
    </div>
  );
}

export function Timeline({ timeline, height = 260 }: { timeline: Stats['timeline']; height?: number }) {
  const x = useMemo(() => timeline.map((p) => Date.parse(p.t) / 1000), [timeline]);
  const series = useMemo(
    () => [
      { label: 'events', values: timeline.map((p) => p.events), color: '--accent', bars: true },
      { label: 'users', values: timeline.map((p) => p.users), color: '--accent-2' },
    ],
    [timeline],
  );
  return <Chart x={x} series={series} height={height} label="Events and users per 10 seconds over the last 10 minutes" />;
}

export function Live({ route }: { route: Route }) {
  const ws = (route as { ws: string }).ws;
  const conn = useMemo(() => new LiveConnection<Stats>(`${wsPath(ws)}/live`), [ws]);
  useEffect(() => () => conn.close(), [conn]);
  const s = conn.stats.value;
  const feed = conn.feed.value;
  const quiet = s && s.eventsToday === 0 && s.eventsLastHour === 0 && feed.length === 0;
  // A share link shows aggregates only: its stats carry no events, errors or users, so those panels go.
  const shared = isShared();

  return (
    <>
      <div class="page-head">
        <h1>Live</h1>
        <ConnectionBadge state={conn.state.value} />
        {s && <span class="sub">{s.connections} viewer{s.connections === 1 ? '' : 's'} connected · updated {time(s.timestamp)}</span>}
      </div>
      {!s ? (
        conn.state.value === 'offline' || conn.state.value === 'reconnecting' ? (
          <div class="empty">
            <h2>Waiting for the live connection…</h2>
            <p>The dashboard retries on its own with growing pauses; it also polls the snapshot while WebSockets fail.</p>
          </div>
        ) : (
          <Loading />
        )
      ) : (
        <>
          <FiringAlerts alerts={s.firingAlerts} ws={ws} />
          {quiet && <FirstEvent ws={ws} />}
          {quiet && <div style={{ height: '14px' }} />}
          <StatCards s={s} />
          <div class="grid cols-3">
            <Panel title="Timeline" hint="10-second buckets, last 10 minutes" class={shared ? 'span-all' : 'span-2'}>
              <Timeline timeline={s.timeline} />
            </Panel>
            {!shared && (
              <Panel title="Recent events" hint={`${feed.length}`} testid="recent-events">
                <Feed events={feed} ws={ws} testid="feed" empty="Events appear here as they arrive" />
              </Panel>
            )}
            <GaugePanels ws={ws} gauges={s.gauges} />
            <ViewersPanel ws={ws} />
            <Panel title="Event types" hint="today">
              <Bars rows={toRows(s.eventCounts).map((r) => ({ ...r, href: href.reports(ws, `?range=today&type=${encodeURIComponent(r.key)}`) }))} empty="No events today" />
            </Panel>
            <Shares distribution={s.distribution} />
            <Panel title="Rooms" hint="now / peak" testid="rooms">
              {s.rooms.length ? (
                <div class="table-wrap">
                  <table>
                    <thead>
                      <tr>
                        <th>Room</th>
                        <th class="num">Now</th>
                        <th class="num">Peak</th>
                      </tr>
                    </thead>
                    <tbody>
                      {[...s.rooms].sort((a, b) => b.current - a.current || b.peak - a.peak).slice(0, 12).map((r) => (
                        <tr key={r.room}>
                          <td>
                            <a href={href.room(ws, r.room)}>{r.room}</a>
                          </td>
                          <td class="num">{num(r.current)}</td>
                          <td class="num">{num(r.peak)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              ) : (
                <p class="empty-small">
                  No rooms yet: send <code>presence.join</code> with a <code>room</code>
                </p>
              )}
            </Panel>
            {!shared && (
              <>
                <Panel title="Recent errors" hint={s.errorsLastHour ? `${num(s.errorsLastHour)} in the last hour` : undefined} testid="recent-errors" class="span-2">
                  <Feed events={s.recentErrors} ws={ws} testid="errors" empty="No errors — nice." />
                </Panel>
                <Panel title="Top users" hint="today">
                  <Bars rows={s.topUsers.map((u) => ({ key: u.userId, value: u.events, href: href.user(ws, u.userId) }))} empty="No identified users yet" />
                </Panel>
              </>
            )}
          </div>
        </>
      )}
    </>
  );
}
